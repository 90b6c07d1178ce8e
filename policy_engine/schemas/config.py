"""The schema of a repository's configuration file (``.mlpolicy.toml`` or the
``[tool.mlpolicy]`` table of ``pyproject.toml``), imported only when one exists."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConfigFile(BaseModel):
    """The settings a configuration file may give; every one optional, no other key."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    policy: tuple[str, ...] = ()
    attestations: tuple[str, ...] = ()
    fail_on: Literal["info", "low", "medium", "high", "critical"] | None = Field(
        default=None, alias="fail-on"
    )
    silence: tuple[str, ...] = Field(default=(), max_length=100)
    dvc_cache: bool = Field(default=True, alias="dvc-cache")
