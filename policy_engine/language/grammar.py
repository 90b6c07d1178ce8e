"""Loading the grammar: from the installed package, or from the checkout's grammar/ folder."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark

GRAMMAR_NAME = "mlpolicy.lark"


def grammar_text() -> str:
    """The grammar source; a wheel ships it as package data, a checkout in ``grammar/``."""
    packaged = resources.files("policy_engine").joinpath("_grammar", GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "grammar" / GRAMMAR_NAME
    return checkout.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)
