"""The repository's configuration: ``.mlpolicy.toml``, else ``[tool.mlpolicy]`` of
``pyproject.toml``, at the top of the repository.

A configuration file is an input from the repository: it is read like the others,
confined to the repository (a symlink leaving it is refused), a regular file,
bounded in size, and checked against a schema; a problem is an :class:`InputError`
naming the file and the key, never echoing the content. Command-line options win
over it. `mlpolicy diff` reads none (a pull request could change it).

.. code-block:: toml

    [tool.mlpolicy]                  # or, in .mlpolicy.toml, the same keys at the top
    policy = ["policies"]            # policy files or folders, relative to the repository
    attestations = ["attestations"]  # added to the policy's `attestations in`
    fail-on = "medium"               # lowest severity that fails `check`
    silence = ["W206"]               # warning codes not printed
    dvc-cache = true                 # read outputs missing from the workspace from the DVC cache
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from policy_engine import inputs
from policy_engine.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with tomli, the same parser
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

FILES = (".mlpolicy.toml", "pyproject.toml")
MAX_CONFIG_BYTES = 512 * 1024


@dataclass(frozen=True)
class Config:
    """The settings a repository gave (:class:`~policy_engine.schemas.config.ConfigFile`
    checks the file), or the defaults. A plain record, so that a repository without a
    configuration file costs no schema library at start-up."""

    policy: tuple[str, ...] = ()
    attestations: tuple[str, ...] = ()
    fail_on: Literal["info", "low", "medium", "high", "critical"] | None = None
    silence: tuple[str, ...] = ()
    dvc_cache: bool = True
    source: str | None = None  # the file it came from


def load_config(repo: Path) -> Config:
    """The configuration of ``repo``: the first of :data:`FILES` that configures mlpolicy."""
    for name in FILES:
        path = repo / name
        if not os.path.lexists(path):
            continue
        table = _table(_parse(repo, path), name)
        if table is not None:
            return _validate(table, name)
    return Config()


def _table(document: dict[str, Any], name: str) -> dict[str, Any] | None:
    if name != "pyproject.toml":
        return document
    tool = document.get("tool")
    found = tool.get("mlpolicy") if isinstance(tool, dict) else None
    if found is not None and not isinstance(found, dict):
        raise InputError("`tool.mlpolicy` must be a table", name)
    return found


def _validate(table: dict[str, Any], name: str) -> Config:
    from pydantic import ValidationError

    from policy_engine.schemas.config import ConfigFile

    try:
        config = Config(**ConfigFile.model_validate(table).model_dump(), source=name)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid configuration: `{key}`: {first['msg'].lower()}", name) from None
    for raw in (*config.policy, *config.attestations):
        _confined_path(raw, name)
    return config


def _confined_path(raw: str, name: str) -> None:
    parts = Path(raw).parts
    if Path(raw).is_absolute() or ".." in parts:
        raise InputError("configured paths must be relative and stay in the repository", name)


def _parse(repo: Path, path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = tomllib.loads(_read(repo, path))
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        reason = str(exc).split("(")[0].strip() if isinstance(exc, tomllib.TOMLDecodeError) else ""
        raise InputError(f"invalid TOML {reason}".strip(), path.name) from None
    return document


def _read(repo: Path, path: Path) -> str:
    """The file's text: confined to ``repo``, regular, at most :data:`MAX_CONFIG_BYTES`."""
    return inputs.read_text(path, path.name, MAX_CONFIG_BYTES, (repo,), "the configuration")
