"""The built parser is cached as JSON; a cached parser parses exactly as a fresh one."""

from __future__ import annotations

from pathlib import Path

import pytest
from lark import Lark

from policy_engine.language import grammar
from policy_engine.language.ast_builder import AstBuilder

POLICIES = sorted((Path(__file__).resolve().parents[2] / "policies").glob("*.policy"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(tmp_path))
    grammar.parser.cache_clear()
    yield tmp_path
    grammar.parser.cache_clear()


def test_the_cache_is_written_once_and_parses_like_a_fresh_parser(cache_dir: Path) -> None:
    built = grammar.parser()
    (cached_file,) = cache_dir.glob("grammar-*.json")
    grammar.parser.cache_clear()
    cached = grammar.parser()
    assert cached is not built
    fresh = Lark(grammar.grammar_text(), **grammar.OPTIONS)
    assert POLICIES
    for path in POLICIES:
        text = path.read_text()
        assert AstBuilder("p").transform(cached.parse(text)) == AstBuilder("p").transform(
            fresh.parse(text)
        )
    assert cached_file.stat().st_size > 0


def test_a_corrupt_cache_is_rebuilt(cache_dir: Path) -> None:
    grammar.parser()
    (cached_file,) = cache_dir.glob("grammar-*.json")
    cached_file.write_text("{not json")
    grammar.parser.cache_clear()
    assert grammar.parser().parse('policy "p"\n') is not None
    assert cached_file.read_text().startswith('{"data"')
