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


def test_a_cached_parser_hands_comments_to_the_lexer_callback(cache_dir: Path) -> None:
    grammar.parser()
    grammar.parser.cache_clear()
    with grammar.comments_lexed() as tokens:
        grammar.parser().parse('policy "p" # kept\n')
    assert [(t.line, t.column, str(t)) for t in tokens] == [(1, 12, "# kept")]


def test_the_cache_key_follows_the_options_and_the_lexer_callbacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = {grammar._cache_file("g")}
    monkeypatch.setitem(grammar.LEXER_CALLBACKS, "STRING", lambda token: token)
    keys.add(grammar._cache_file("g"))
    monkeypatch.setitem(grammar.OPTIONS, "lexer", "basic")
    keys.add(grammar._cache_file("g"))
    assert len(keys) == 3
