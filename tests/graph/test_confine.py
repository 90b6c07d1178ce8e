"""The attestation path normaliser gives exactly what ``paths.normalise`` gives, faster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.graph.builders.attestations.confine import Normaliser
from policy_engine.graph.paths import PathEscape, normalise

PARTS = st.sampled_from(["a", "b", "in", "out", "up", "..", ".", "", "x.csv", "C:", "\\"])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with symlinks inside it and out of it, at several depths."""
    base = tmp_path_factory.mktemp("confine")
    repo = base / "repo"
    (repo / "a" / "b").mkdir(parents=True)
    (base / "outside").mkdir()
    os.symlink(base / "outside", repo / "out")
    os.symlink("..", repo / "a" / "up")  # stays inside
    os.symlink("b", repo / "a" / "in")
    os.symlink(base / "outside", repo / "a" / "b" / "x.csv")
    return repo


def reference(root: Path, raw: str) -> str:
    try:
        return normalise(root, raw)
    except PathEscape as exc:
        return f"escape: {exc}"


def ours(normaliser: Normaliser, raw: str) -> str:
    try:
        return normaliser(raw)
    except PathEscape as exc:
        return f"escape: {exc}"


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PARTS, min_size=1, max_size=6), absolute=st.booleans())
def test_same_result_as_the_reference(root: Path, parts: list[str], absolute: bool) -> None:
    raw = ("/" if absolute else "") + "/".join(parts)
    normaliser = Normaliser(root)
    assert ours(normaliser, raw) == reference(root, raw)
    assert ours(normaliser, raw) == reference(root, raw)  # remembered, same answer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a/b/c.csv", "a/b/c.csv"),
        ("a/up/a/b", "a/up/a/b"),
        ("out/file", "escape: path `out/file` is a symlink leaving the repository"),
        ("a/b/x.csv", "escape: path `a/b/x.csv` is a symlink leaving the repository"),
        ("../x", "escape: path `../x` leaves the repository"),
        ("/etc/passwd", "escape: absolute path `/etc/passwd`"),
    ],
)
def test_known_cases(root: Path, raw: str, expected: str) -> None:
    assert ours(Normaliser(root), raw) == expected


def test_an_equal_table_after_one_without_issues_shares_its_result(root: Path) -> None:
    """The links of one step by two keys: the second table is answered by the first's dict;
    another role, another normaliser, another table or an issue means confining again."""
    from policy_engine.graph.builders.attestations.confine import confined
    from policy_engine.graph.model import Issue

    normaliser, issues = Normaliser(root), list[Issue]()
    table = {"a/b/c.csv": {"sha256": "ab"}, "a/./d": {"sha256": "cd"}}
    where = ("s.a.link", "link", "s")
    first = confined(normaliser, table, where, "product", issues)
    assert first == {"a/b/c.csv": {"sha256": "ab"}, "a/d": {"sha256": "cd"}}
    assert confined(normaliser, dict(table), where, "product", issues) is first
    assert confined(normaliser, dict(table), where, "material", issues) is not first
    other = confined(Normaliser(root), dict(table), where, "product", issues)
    assert other == first and other is not first
    assert confined(normaliser, dict(table), where, "product", issues) is not first
    escaping = {**table, "out/file": {"sha256": "ef"}}
    for _ in range(2):  # an issue each time: confined again, and remembered never
        assert confined(normaliser, escaping, where, "product", issues) == first
    assert [issue.code for issue in issues] == ["path-escape", "path-escape"]
    changed = {**table, "a/./d": {"sha256": "ee"}}
    assert confined(normaliser, changed, where, "product", issues)["a/d"] == {"sha256": "ee"}


def test_a_paths_equal_digests_in_later_tables_are_its_first_dict(root: Path) -> None:
    """A step's product named as the next step's material, with the same digests: one dict
    for both; other digests for it stay the table's own (and conflict within a table)."""
    from policy_engine.graph.builders.attestations.confine import confined
    from policy_engine.graph.model import Issue

    normaliser, issues = Normaliser(root), list[Issue]()
    products = confined(
        normaliser, {"a/b/c.csv": {"sha256": "ab"}}, ("p", "link", "p"), "product", issues
    )
    same = confined(
        normaliser, {"a/./b/c.csv": {"sha256": "ab"}}, ("m", "link", "m"), "material", issues
    )
    other = {"a/b/c.csv": {"sha256": "cd"}}
    changed = confined(normaliser, other, ("o", "link", "o"), "material", issues)
    assert same["a/b/c.csv"] is products["a/b/c.csv"]
    assert changed["a/b/c.csv"] is other["a/b/c.csv"] and changed == other
    twice = {"a/b/c.csv": {"sha256": "ab"}, "a/./b/c.csv": {"sha256": "cd"}}
    confined(normaliser, twice, ("t", "link", "t"), "product", issues)
    assert [issue.code for issue in issues] == ["conflicting-digest"]
    assert not confined(Normaliser(root), {}, ("e", "link", "e"), "product", issues)
