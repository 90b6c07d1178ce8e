"""Fuzzing the policy parser and compiler: every input parses or gives diagnostics,
never an exception, and the diagnostics render."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy_engine.compiler import compile_modules
from policy_engine.diagnostics import render_all
from policy_engine.language import parse_text
from tests.fuzz.fuzzing import POLICY_EXAMPLES, counted, fuzz_settings, shards

WORDS = (
    'policy "p"',
    "attestations in",
    "key",
    "keys",
    "matching",
    "from",
    "role",
    "stage",
    "steps",
    "artifacts",
    "attestations",
    "models",
    "runs",
    "control",
    "C-1",
    '"t"',
    "{",
    "}",
    "severity",
    "high",
    "require",
    "every",
    "some",
    "no",
    "at",
    "least",
    "of",
    "is",
    "not",
    "signed",
    "by",
    "derives",
    "and",
    "or",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "==",
    "<",
    ">=",
    "within",
    "30d",
    "9" * 50,
    "99999999999999999999d",
    "1.5",
    "-3",
    "2026-12-31",
    "2026-02-30",
    '"models/**"',
    '"[z-a]"',
    '"[!"',
    '"../x"',
    '"/etc/passwd"',
    '"keys/a.pub"',
    '"a\\0b"',
    "param",
    '"p"',
    "metric",
    "attested",
    "with",
    "where",
    "m.x",
    "exists",
    "in",
    "pack",
    "parameter",
    "import",
    "waive",
    "owner",
    "reason",
    "expires",
    "ca",
    "identity",
    "layout",
    "mlflow",
    "signatures",
    "true",
    "false",
    "name",
    "a",
    "team",
    "\n",
    "  ",
    "#c\n",
    '"',
    "\x00",
    "\x1d",
    "\x85",
    "\u2028",
    "\r",
    "\t",
    "\x1b",
    "é",
)

policies = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=80).map(" ".join),
    st.text(max_size=300),
    st.lists(st.sampled_from(("(", ")", "not ", "[", "]")), max_size=400).map(
        lambda parts: 'control C-1 "t" {\n require every step matching "a" ' + "".join(parts)
    ),
)

ROOT = Path(tempfile.mkdtemp(prefix="mlpolicy-fuzz-"))
(ROOT / "keys").mkdir()
(ROOT / "keys" / "a.pub").write_text("not a key")


@counted("policy")
def check_policy(text: str) -> None:
    """The property: parse, compile when it parsed, render; no exception escapes."""
    parsed = parse_text(text, "f.policy")
    if not parsed.diagnostics:
        result = compile_modules([parsed.module], ROOT)
        render_all(result.diagnostics, {"f.policy": text})
    render_all(parsed.diagnostics, {"f.policy": text})


@pytest.mark.parametrize("shard", shards(POLICY_EXAMPLES))
@fuzz_settings(POLICY_EXAMPLES)
@given(policies)
def test_any_policy_text_parses_or_gives_diagnostics(shard: int, text: str) -> None:
    check_policy(text)
