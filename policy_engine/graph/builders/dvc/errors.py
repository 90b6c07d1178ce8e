"""DVC's exceptions as :class:`InputError` s located at the DVC file they are about."""

from __future__ import annotations

import os
from pathlib import PurePath

from policy_engine.errors import InputError
from policy_engine.graph.paths import shown

MAX_ERRORS = 3  # errors of a cause listed in a message
MAX_DESCRIBED_CHARS = 600  # DVC's message and its cause's detail, at most


def relative(root_dir: str, path: str) -> str:
    """``path`` relative to ``root_dir``, as a posix path."""
    return PurePath(os.path.relpath(path, root_dir)).as_posix()


def input_error(exc: BaseException, root_dir: str, fallback: str | None) -> InputError:
    """An :class:`InputError` located at the DVC file ``exc`` names (or ``fallback``).

    DVC names files relative to the working directory; the message names them
    relative to ``root_dir`` (the repository) instead.
    """
    raw = getattr(exc, "path", None) or getattr(exc, "filename", None)
    raw = raw if isinstance(raw, str) and raw else fallback
    if not raw:
        return InputError(f"cannot load the DVC pipelines: {describe(exc)}")
    absolute = os.path.abspath(raw)
    file = relative(root_dir, absolute)
    line = yaml_line(exc)
    message = describe(exc)
    shown = os.path.relpath(absolute)
    for alias in dict.fromkeys((raw, shown, f"./{shown}", absolute)):
        message = message.replace(f"'{alias}'", f"'{file}'")
    return InputError(f"invalid DVC file: {message}", f"{file}:{line}" if line else file)


def yaml_line(exc: BaseException) -> int | None:
    """The 1-based line of a YAML parser error behind ``exc``, if any."""
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None:
            return None
        mark = getattr(cause, "problem_mark", None) or getattr(cause, "context_mark", None)
        line = getattr(mark, "line", None)
        if isinstance(line, int):
            return line + 1
        cause = cause.__cause__ or cause.__context__
    return None


def describe(exc: BaseException) -> str:
    """DVC's message, and the detail of its direct cause (YAML or schema problem).

    At most :data:`MAX_ERRORS` of the cause's errors are listed, and the whole is cut
    to :data:`MAX_DESCRIBED_CHARS`: the errors quote the file's lines.
    """
    message = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is None:
        return shown(message, MAX_DESCRIBED_CHARS)
    problem, errors = getattr(cause, "problem", None), getattr(cause, "errors", None)
    if problem:
        parts = (getattr(cause, "context", None), problem)
        detail = ", ".join(str(part) for part in parts if part)
    elif isinstance(errors, list):
        detail = "; ".join(str(error) for error in errors[:MAX_ERRORS])
        more = len(errors) - MAX_ERRORS
        detail += f"; and {more} more" if more > 0 else ""
    else:
        detail = str(cause)
    described = f"{message}: {detail}" if detail and detail not in message else message
    return shown(described, MAX_DESCRIBED_CHARS)
