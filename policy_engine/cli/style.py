"""Colour and quietness, the terminal conventions: ``--color auto|always|never`` (``auto``:
a terminal, ``NO_COLOR`` unset or empty, ``TERM`` not ``dumb``) and ``--quiet``.

Reporters write plain text; colour is added here, to the text the CLI prints on a
terminal, by the status words and marks the text formats use. Files never get colour.
"""

from __future__ import annotations

import os
import re
import sys
from typing import IO

import click

_STYLES: dict[str, tuple[str, bool]] = {  # colour, bold
    "fail": ("red", True),
    "pass": ("green", False),
    "waived": ("yellow", False),
    "undecided": ("magenta", False),
    "error": ("red", True),
    "warning": ("yellow", True),
}
_WORDS = re.compile(
    r"^(?P<lead>\s*(?:[│├└─ ]*)?)(?P<word>FAIL|PASS|pass|WAIVED|✗|✓|~|\?|error(?:\[\w+\])?|"
    r"warning(?:\[\w+\])?)(?=[\s:])",
    re.MULTILINE,
)
_KIND = {"FAIL": "fail", "✗": "fail", "PASS": "pass", "pass": "pass", "✓": "pass"}
_KIND |= {"WAIVED": "waived", "~": "waived", "?": "undecided"}


def _settings() -> dict[str, object]:
    context = click.get_current_context(silent=True)
    return context.find_root().params if context is not None else {}


def quiet() -> bool:
    """Whether ``--quiet`` was given: notes, warnings and progress are not printed."""
    return bool(_settings().get("quiet"))


def color_enabled(stream: IO[str] | None = None) -> bool:
    """Whether to colour what goes to ``stream`` (standard output by default)."""
    choice = _settings().get("color") or "auto"
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    target: IO[str] = sys.stdout if stream is None else stream
    try:
        return target.isatty()
    except ValueError:  # a closed stream
        return False


def colorize(text: str) -> str:
    """``text`` with its status words and marks (FAIL, pass, ✗, ✓, error[E001]) coloured."""

    def paint(match: re.Match[str]) -> str:
        word: str = match["word"]
        colour, bold = _STYLES[_KIND.get(word) or word.split("[")[0]]
        lead: str = match["lead"]
        return lead + click.style(word, fg=colour, bold=bold)

    return _WORDS.sub(paint, text)


def unwrapped(stream: IO[str]) -> IO[str]:
    """``stream`` without the colorama wrapper a library may have put around it (it strips
    colour from a stream that is no terminal, which ``--color always`` must not)."""
    inner: IO[str] = getattr(stream, "_StreamWrapper__wrapped", stream)
    return inner


def echo(text: str, colour: bool, err: bool = False, nl: bool = True) -> None:
    """Print ``text``, coloured when ``colour``."""
    if not colour:
        click.echo(text, err=err, nl=nl)
        return
    stream = unwrapped(sys.stderr if err else sys.stdout)
    click.echo(colorize(text), file=stream, nl=nl, color=True)
