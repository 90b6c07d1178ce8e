"""Loading the grammar: from the installed package, or from the checkout's grammar/ folder.

Building the LALR tables takes longer than parsing a large policy, so the
built parser is kept, as JSON (never pickle), in the user's cache folder,
keyed by the grammar's text and the lark version. A missing, stale or
unreadable cache is rebuilt; the cache is never required.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark

GRAMMAR_NAME = "mlpolicy.lark"
OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "propagate_positions": True,
    "maybe_placeholders": False,
}


def grammar_text() -> str:
    """The grammar source; a wheel ships it as package data, a checkout in ``grammar/``."""
    packaged = resources.files("policy_engine").joinpath("_grammar").joinpath(GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return checkout.read_text(encoding="utf-8")


def _cache_file(text: str) -> Path:
    base = os.environ.get("MLPOLICY_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mlpolicy"
    )
    key = hashlib.sha256(f"{lark.__version__}\0{sorted(OPTIONS.items())}\0{text}".encode())
    return Path(base) / f"grammar-{key.hexdigest()[:24]}.json"


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
        parser: Lark = Lark._load_from_dict(document["data"], document["memo"])  # type: ignore[no-untyped-call]
        return parser
    except Exception:
        return None


def _store(path: Path, built: Lark) -> None:
    try:
        data, memo = built.memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump({"data": _encode(data), "memo": _encode(memo)}, f)
        os.replace(f.name, path)
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
    built = Lark(text, **OPTIONS)
    _store(path, built)
    return built
