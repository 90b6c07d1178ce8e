"""A progress line on stderr while hashing takes long: only on a terminal, only after a delay.

Nothing is written when stderr is not a terminal (so never into a report or a
log), nor when the work ends within :data:`DELAY_SECONDS`. The line is erased
when the work ends.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TextIO

DELAY_SECONDS = 1.0
INTERVAL_SECONDS = 0.25


class Progress:
    """Counts files and bytes done; a background thread draws ``label: n/N files, x/Y MB``."""

    def __init__(
        self, label: str, files: int, total_bytes: int, stream: TextIO | None = None
    ) -> None:
        self.label, self.files, self.total_bytes = label, files, total_bytes
        self.stream = stream if stream is not None else sys.stderr
        self.done_files = self.done_bytes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    @property
    def enabled(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self.done_files += 1
            self.done_bytes += nbytes

    def line(self) -> str:
        megabytes = f"{self.done_bytes / 1e6:,.0f}/{self.total_bytes / 1e6:,.0f} MB"
        return f"{self.label}: {self.done_files}/{self.files} files, {megabytes}"

    def _run(self) -> None:
        if self._stop.wait(DELAY_SECONDS):
            return
        while not self._stop.is_set():
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()
            self._drawn = True
            self._stop.wait(INTERVAL_SECONDS)

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
