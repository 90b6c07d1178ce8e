"""The formatter: YAML cases of exact output, fixed points, comments kept, and `mlpolicy fmt`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from policy_engine.cli import main
from policy_engine.language.comments import scan_comments
from policy_engine.language.printer import FormatError, format_text

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "fmt.yaml").read_text(encoding="utf-8"))
UGLY = 'key  a from"a.pub"\nrole r=a\n'
PRETTY = 'key a from "a.pub"\n\nrole r = a\n'
BROKEN = 'key a from "a.pub"\nrole r = a b\n'


def _comments(text: str) -> list[str]:
    return [c.text for c in scan_comments(text)]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_case_formats_exactly(case: dict) -> None:
    expected = case.get("output", case["input"])
    assert format_text(case["input"]) == expected


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_output_is_a_fixed_point(case: dict) -> None:
    expected = case.get("output", case["input"])
    assert format_text(expected) == expected


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_comment_is_kept_once(case: dict) -> None:
    formatted = format_text(case["input"])
    assert Counter(_comments(formatted)) == Counter(_comments(case["input"]))


def test_the_cases_cover_every_grammar_keyword() -> None:
    grammar = (Path(__file__).parents[2] / "grammar" / "mlpolicy.lark").read_text()
    keywords = {w for w in _quoted_words(grammar) if w.isalpha()}
    inputs = " ".join(case["input"] for case in CASES)
    missing = {w for w in keywords if f"{w} " not in inputs and f"{w}\n" not in inputs}
    assert missing == set()


def _quoted_words(grammar: str) -> set[str]:
    words = set()
    for line in grammar.splitlines():
        if line.lstrip().startswith("//"):
            continue
        parts = line.split('"')
        words.update(parts[1::2])
    return words


def test_comments_keep_their_order_when_no_item_moves() -> None:
    text = (
        '# a\npolicy "p" # b\n# c\ncontrol C-1 "t" { # d\n'
        "  # e\n  severity low # f\n  # g\n} # h\n# i\n"
    )
    assert _comments(format_text(text)) == [
        "# a",
        "# b",
        "# c",
        "# d",
        "# e",
        "# f",
        "# g",
        "# h",
        "# i",
    ]


def test_a_text_with_syntax_errors_is_not_formatted() -> None:
    with pytest.raises(FormatError) as raised:
        format_text(BROKEN, "bad.policy")
    assert [(d.code, d.span.line if d.span else 0) for d in raised.value.diagnostics] == [
        ("E001", 2)
    ]


# -- the command ------------------------------------------------------------------


def mlpolicy(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one canonical and one ugly policy file under policies/."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "good.policy").write_text(PRETTY)
    (policies / "ugly.policy").write_text(UGLY)
    return tmp_path


def test_fmt_rewrites_the_files_that_change_in_place(repo: Path) -> None:
    good = repo / "policies" / "good.policy"
    before = good.stat().st_mtime_ns
    result = mlpolicy("fmt", "--repo", repo)
    assert result.exit_code == 0, result.output
    assert (repo / "policies" / "ugly.policy").read_text() == PRETTY
    assert good.stat().st_mtime_ns == before
    assert result.stderr.splitlines() == [f"formatted {repo / 'policies' / 'ugly.policy'}"]
    assert sorted(p.name for p in (repo / "policies").iterdir()) == ["good.policy", "ugly.policy"]


def test_fmt_check_writes_nothing_and_exits_1_when_a_file_would_change(repo: Path) -> None:
    result = mlpolicy("fmt", "--check", "--repo", repo)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"would reformat {repo / 'policies' / 'ugly.policy'}"]
    assert (repo / "policies" / "ugly.policy").read_text() == UGLY


def test_fmt_check_exits_0_when_every_file_is_canonical(repo: Path) -> None:
    result = mlpolicy("fmt", "--check", repo / "policies" / "good.policy")
    assert (result.exit_code, result.output) == (0, "")


def test_fmt_diff_prints_a_unified_diff_and_writes_nothing(repo: Path) -> None:
    ugly = repo / "policies" / "ugly.policy"
    result = mlpolicy("fmt", "--diff", ugly)
    assert result.exit_code == 0
    assert result.stdout == (
        f"--- {ugly}\n+++ {ugly} (formatted)\n@@ -1,2 +1,3 @@\n"
        '-key  a from"a.pub"\n-role r=a\n+key a from "a.pub"\n+\n+role r = a\n'
    )
    assert ugly.read_text() == UGLY


def test_fmt_check_with_diff_exits_1(repo: Path) -> None:
    result = mlpolicy("fmt", "--check", "--diff", "--repo", repo)
    assert result.exit_code == 1
    assert "+role r = a\n" in result.stdout


def test_a_file_with_syntax_errors_is_left_untouched_with_exit_2(repo: Path) -> None:
    broken = repo / "policies" / "broken.policy"
    broken.write_text(BROKEN)
    result = mlpolicy("fmt", "--repo", repo)
    assert result.exit_code == 2
    assert f"error[E001]: unexpected `b`\n  --> {broken}:2:12" in result.stderr
    assert broken.read_text() == BROKEN
    assert (repo / "policies" / "ugly.policy").read_text() == PRETTY


def test_an_unreadable_file_is_exit_2(repo: Path) -> None:
    binary = repo / "policies" / "binary.policy"
    binary.write_bytes(b"\xff\xfe")
    result = mlpolicy("fmt", "--check", binary)
    assert result.exit_code == 2
    assert "error[E005]" in result.stderr
    assert binary.read_bytes() == b"\xff\xfe"


def test_a_missing_path_is_exit_2(tmp_path: Path) -> None:
    result = mlpolicy("fmt", tmp_path / "nope.policy")
    assert result.exit_code == 2
    assert "no such policy file or folder" in result.stderr


def test_the_rewrite_keeps_the_file_mode(repo: Path) -> None:
    ugly = repo / "policies" / "ugly.policy"
    ugly.chmod(0o640)
    assert mlpolicy("fmt", ugly).exit_code == 0
    assert ugly.stat().st_mode & 0o777 == 0o640
