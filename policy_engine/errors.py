"""Exceptions that stop a run with exit status 2: the engine could not judge."""

from __future__ import annotations


class InputError(Exception):
    """An input could not be read or understood (missing file, bad JSON, escape from the repo).

    ``location`` is a ``path[:line[:column]]`` string when one is known.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message
