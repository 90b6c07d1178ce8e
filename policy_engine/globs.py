"""Globs, one dialect: ``*`` and ``?`` stay within one path segment, ``**`` spans segments,
``[abc]`` / ``[!abc]`` match one character of a set.

Over text that is no path (a command line), ``segments=False`` lets ``*`` and ``?``
match ``/`` too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache


class GlobError(ValueError):
    """A glob that cannot be compiled (e.g. an unclosed ``[``)."""


@lru_cache(maxsize=4096)
def compile_glob(pattern: str, segments: bool = True) -> re.Pattern[str]:
    """Translate a glob into an anchored regular expression (see the module docstring)."""
    star, one = ("[^/]*", "[^/]") if segments else (".*", ".")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append(star)
        elif c == "?":
            out.append(one)
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise GlobError(f"unclosed `[` in `{pattern}`")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error as exc:  # e.g. a reversed range `[z-a]`
        raise GlobError(f"invalid glob: {exc.msg}") from None


def matches(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


def matches_any(patterns: tuple[str, ...], path: str) -> bool:
    return any(matches(p, path) for p in patterns)


@lru_cache(maxsize=1024)
def matcher(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """``matches_any(patterns, ·)`` as one compiled expression (a match, or None): to test
    many paths against the same globs (``tests/test_globs.py`` checks they agree)."""
    if not patterns:
        return _no_match
    if len(patterns) == 1:
        return compile_glob(patterns[0]).match
    joined = "|".join(f"(?:{compile_glob(p).pattern})" for p in patterns)
    return re.compile(joined, re.DOTALL).match


def _no_match(path: str) -> None:
    return None


def matches_text(pattern: str, text: str) -> bool:
    """Whether ``text`` (not a path: ``*`` matches ``/`` too) matches ``pattern``."""
    return compile_glob(pattern, segments=False).match(text) is not None
