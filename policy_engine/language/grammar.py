"""Loading the grammar: from the installed package, or from the checkout's grammar/ folder.

Building the LALR tables takes longer than parsing a large policy, so the
built parser is kept, as JSON (never pickle), in the user's cache folder,
keyed by the grammar's text, the lark version, the options and the terminals
with lexer callbacks. A missing, stale or unreadable cache is rebuilt; the
cache is never required.

The lexer hands every ``#`` comment to a callback, so a parse inside
:func:`comments_lexed` collects the comment tokens with their positions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token

from policy_engine.files import cache_dir, write_atomically

GRAMMAR_NAME = "mlpolicy.lark"
OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "maybe_placeholders": False,
}
_COMMENTS: ContextVar[list[Token] | None] = ContextVar("mlpolicy_comments", default=None)


def _keep_comment(token: Token) -> Token:
    found = _COMMENTS.get()
    if found is not None:
        found.append(token)
    return token


# Given when the parser is built or loaded; functions stay out of the JSON cache.
LEXER_CALLBACKS: dict[str, Callable[[Token], Token]] = {"COMMENT": _keep_comment}


@contextmanager
def comments_lexed() -> Iterator[list[Token]]:
    """The ``COMMENT`` tokens the parser's lexer meets inside the ``with`` block, in order."""
    found: list[Token] = []
    reset = _COMMENTS.set(found)
    try:
        yield found
    finally:
        _COMMENTS.reset(reset)


def grammar_text() -> str:
    """The grammar source; a wheel ships it as package data, a checkout in ``grammar/``."""
    packaged = resources.files("policy_engine").joinpath("_grammar").joinpath(GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return checkout.read_text(encoding="utf-8")


def _cache_file(text: str) -> Path:
    config = f"{lark.__version__}\0{sorted(OPTIONS.items())}\0{sorted(LEXER_CALLBACKS)}"
    key = hashlib.sha256(f"{config}\0{text}".encode())
    return cache_dir() / f"grammar-{key.hexdigest()[:24]}.json"


def _encode(value: Any) -> Any:
    """JSON keeps only string keys: dicts with other keys become tagged pair lists."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__pairs__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: dict[str, Any]) -> Any:
    if set(value) == {"__pairs__"}:
        return {_key(k): v for k, v in value["__pairs__"]}
    return value


def _key(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _load_cached(path: Path) -> Lark | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"), object_hook=_decode)
        # lark leaves this loader of a serialised parser unannotated.
        loaded: Lark = Lark._load_from_dict(  # type: ignore[no-untyped-call]
            document["data"], document["memo"], lexer_callbacks=LEXER_CALLBACKS
        )
        return loaded
    except Exception:
        return None


def _store(path: Path, built: Lark) -> None:
    try:
        data, memo = built.memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
        data["options"] = {k: v for k, v in data["options"].items() if k != "lexer_callbacks"}
        text = json.dumps({"data": _encode(data), "memo": _encode(memo)})
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text.encode("utf-8"))
    except (OSError, TypeError, ValueError):
        return  # an unwritable cache only costs time


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The policy parser: from the JSON cache when it matches, else built (and cached)."""
    text = grammar_text()
    path = _cache_file(text)
    cached = _load_cached(path) if path.is_file() else None
    if cached is not None:
        return cached
    built = Lark(text, **OPTIONS, lexer_callbacks=LEXER_CALLBACKS)
    _store(path, built)
    return built
