"""Resources that statements name (subjects, SLSA dependencies), and pydantic errors as text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from policy_engine.graph.paths import shown

_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Resource:
    """A subject or a dependency: its name, its URI and the digests it states."""

    name: str
    uri: str
    digest: Mapping[str, str]

    @property
    def label(self) -> str:
        """How messages name it: its name, else its URI, else its digests."""
        return self.name or self.uri or ", ".join(f"{a}:{v}" for a, v in self.digest.items())


def resource(name: str | None, uri: str | None, digest: Mapping[str, str] | None) -> Resource:
    """A :class:`Resource` with hexadecimal digest values lower-cased."""
    digests = {
        algorithm: value.lower() if value and set(value) <= _HEX else value
        for algorithm, value in (digest or {}).items()
    }
    return Resource(name or "", uri or "", digests)


def describe(error: ValidationError) -> str:
    """A pydantic error as one line: ```field.path`: message`` for the first problem."""
    first = error.errors()[0]
    path = shown(".".join(str(part) for part in first["loc"]) or "document")  # keys are input
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    message = shown(first["msg"])
    return f"`{path}`: {message[:1].lower()}{message[1:]}{more}"
