"""Every error and warning code is documented in docs/diagnostics.md with an example."""

from __future__ import annotations

from pathlib import Path

from policy_engine.diagnostics import CODES

DOC = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"


def test_every_code_has_a_row_with_an_example_and_a_fix() -> None:
    rows = {
        line.split("|")[1].strip(): line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() in CODES
    }
    assert sorted(rows) == sorted(CODES)
    for code, row in rows.items():
        cells = [cell.strip() for cell in row.split("|")[1:-1]]
        assert len(cells) == 4 and all(cells), code
        if code.startswith("W"):
            assert f'silence = ["{code}"]' in row, code
