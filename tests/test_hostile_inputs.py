"""Hostile pull requests: each case is a copy of the example with one change, and the
exact exit code and located message `mlpolicy check` must give. None may end in an
internal error, and none may echo the hostile content at length."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from policy_engine.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "example-ml"
POLICY = "policies/pipeline.policy"
LONG_PATH = "a/" * 5000  # 10,000 characters


def _append_control(require: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        control = f'control X-01 "x" {{\n  severity high\n  stage model_training\n  {require}\n}}\n'
        with open(root / POLICY, "a", encoding="utf-8") as handle:
            handle.write(control)

    return change


def _replace(file: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        text = (root / file).read_text(encoding="utf-8")
        assert old in text
        (root / file).write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


def _long_integer_in_a_bundle(root: Path) -> None:
    bundle = root / "attestations" / "evidence.intoto.jsonl"
    bundle.write_text('{"n": ' + "7" * 5000 + "}\n" + bundle.read_text(encoding="utf-8"))


def _long_material_in_a_link(root: Path) -> None:
    link = root / "attestations" / "ingest.6046a4dd.link"
    document = json.loads(link.read_text(encoding="utf-8"))
    document["signed"]["materials"]["b/" * 5000] = {"sha256": "0" * 64}
    link.write_text(json.dumps(document), encoding="utf-8")


CASES: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "5,000-digit integer in a JSON bundle": (
        _long_integer_in_a_bundle,
        2,
        "attestations/evidence.intoto.jsonl:1: JSON number longer than 100 characters",
    ),
    "10,000-character material path in a link": (
        _long_material_in_a_link,
        1,
        "a path is longer than 4096 characters",
    ),
    "10,000-character attestation folder in the policy": (
        _replace(POLICY, 'attestations in "attestations"', f'attestations in "{LONG_PATH}"'),
        2,
        "error[E120]: a path is longer than 4096 characters",
    ),
    "10,000-character key path in the policy": (
        _replace(POLICY, "keys/ml-engineer.pub", LONG_PATH),
        2,
        "error[E105]: key `ml_engineer`: a path is longer than 4096 characters",
    ),
    "NUL byte in an out of dvc.yaml": (
        _replace("dvc.yaml", "- data/raw/transactions.csv\n", '- "data/raw/tr\\0.csv"\n'),
        1,
        "a path contains a NUL byte",
    ),
    "glob with a reversed range": (
        _replace(POLICY, '"models/**" is signed', '"models/[z-a]" is signed'),
        2,
        "error[E109]: invalid glob: bad character range z-a\n  --> policies/pipeline.policy:41:35",
    ),
}
CASES["a DVC config that is not UTF-8"] = (
    lambda root: (root / ".dvc" / "config").write_bytes(b"[core]\n  remote = \xff\xfe\n"),
    2,
    ".dvc/config: cannot open the DVC repository: config file error",
)
CASES["a DVC config of many long invalid lines"] = (
    lambda root: (root / ".dvc" / "config").write_text("[core]\n" + ("a/" * 400 + "\n") * 50),
    2,
    ".dvc/config: cannot open the DVC repository: config file error",
)


def _float_in_a_signed_link(root: Path) -> None:
    link = root / "attestations" / "ingest.6046a4dd.link"
    document = json.loads(link.read_text(encoding="utf-8"))
    document["signed"]["environment"] = {"ratio": 0.5, "pad": "b/" * 5000}
    link.write_text(json.dumps(document), encoding="utf-8")


CASES["a float in a signed link, beside a long string"] = (
    _float_in_a_signed_link,
    2,
    "attestations/ingest.6046a4dd.link: signed metadata cannot be canonical JSON: "
    "it has a number with a fraction or an exponent",
)


def _float_in_a_dsse_layout(root: Path) -> None:
    layout = {
        "_type": "layout",
        "expires": "2030-01-01T00:00:00Z",
        "readme": "b/" * 5000,
        "keys": {},
        "steps": [{"_type": "step", "name": "train", "expected_command": [0.5]}],
        "inspect": [],
    }
    payload = base64.b64encode(json.dumps(layout).encode()).decode()
    envelope = {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": []}
    (root / "attestations" / "root.layout").write_text(json.dumps(envelope), encoding="utf-8")


CASES["a float in a DSSE layout with a long readme"] = (
    _float_in_a_dsse_layout,
    2,
    "attestations/root.layout: invalid in-toto layout: Could not encode",
)
CASES["a YAML alias bomb in params.yaml"] = (
    lambda root: (root / "params.yaml").write_text(
        "a0: &a0 [x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 12)}]\n" for i in range(1, 10))
    ),
    2,
    "params.yaml: YAML aliases expand to more than 100000 extra nodes; the file was not read",
)
CASES["a stage's meta that is a list"] = (
    _replace("dvc.yaml", "      lifecycle: data_preparation\n", "      - data_preparation\n"),
    2,
    "dvc.yaml:2: stage `ingest`: `meta` must be a mapping, not a list",
)
CASES["a number as the digest of a .dvc file's output"] = (
    lambda root: (root / "extra.dvc").write_text("outs:\n- md5: 123\n  path: extra\n  hash: md5\n"),
    2,
    "extra.dvc: invalid DVC file",
)
CASES["huge duration"] = (
    _append_control(
        'require every artifact matching "m" is attested with "x" within 99999999999999999999d'
    ),
    2,
    "error[E114]: the duration is longer than 999999999 days\n  --> policies/pipeline.policy:54:",
)
CASES["5,000-digit threshold"] = (
    _append_control(
        f'require every artifact matching "m" is signed by at least {"9" * 5000} of ml_team'
    ),
    2,
    "error[E107]: `at least` needs a whole number of at least 1\n"
    "  --> policies/pipeline.policy:54:",
)
CASES["5,000-digit number compared"] = (
    _append_control(f'require every step matching "x" param "a" > {"9" * 5000}'),
    2,
    "error[E114]: the number is too large\n  --> policies/pipeline.policy:54:",
)
CASES["300 nested parentheses"] = (
    _append_control(
        'require every step matching "x" ' + "(" * 300 + "is performed by ml_team" + ")" * 300
    ),
    2,
    "error[E007]: the policy nests too deeply\n  --> policies/pipeline.policy:54:",
)
CASES["line-break-like characters in a syntax error's line"] = (
    _append_control('require every step matching "x" is \x1d performed \x85 by \u2028 ml_team ('),
    2,
    "error[E002]: unexpected character `U+001D`\n  --> policies/pipeline.policy:54:38\n   |\n"
    '54 |   require every step matching "x" is   performed   by   ml_team (\n',
)


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_change_gives_its_outcome(tmp_path: Path, name: str) -> None:
    change, exit_code, message = CASES[name]
    root = Path(shutil.copytree(EXAMPLE, tmp_path / "repo"))
    change(root)
    result = CliRunner().invoke(main, ["check", str(root)], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output[:2000]
    assert message in result.output, result.output[:2000]
    assert "internal error" not in result.output and "Traceback" not in result.output
    for echoed in ("7" * 300, "9" * 300, "a/" * 300, "b/" * 300, "(" * 300):
        assert echoed not in result.output
