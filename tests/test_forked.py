"""A forked child's result comes back equal; a child that fails in any way gives None."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

from policy_engine import forked


@pytest.fixture(autouse=True)
def single_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # earlier tests may leave threads


def no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True  # not even a zombie
    return False


class Unloadable:
    """Pickled by the child; unpickling it here fails (a damaged message)."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (int, ("not a number",))


def test_the_result_is_the_childs_computation_sent_whole() -> None:
    big = {"pid": 0, "rows": [(i, str(i) * 3) for i in range(50_000)]}  # far more than a pipe holds
    child = forked.start(lambda: {**big, "pid": os.getpid()})
    assert child is not None
    result = child.collect()
    assert result is not None and result["rows"] == big["rows"]
    assert result["pid"] == child.pid != os.getpid()
    assert no_child_left()


def raises() -> int:
    raise RuntimeError("in the child")


def exits() -> int:
    os._exit(0)  # ended without sending anything


def killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 1


@pytest.mark.parametrize(
    "compute",
    [raises, exits, killed, lambda: lambda: 1, lambda: Unloadable()],
    ids=["raises", "exits-silently", "killed", "unpicklable", "damaged"],
)
def test_a_failing_child_gives_none(compute: Any) -> None:
    child = forked.start(compute)
    assert child is not None
    assert child.collect() is None
    assert no_child_left()


def test_an_abandoned_child_is_stopped_and_reaped() -> None:
    child = forked.start(lambda: threading.Event().wait())
    assert child is not None
    child.abandon()
    child.abandon()  # a second time does nothing
    assert no_child_left()


def test_a_collected_child_is_not_abandoned() -> None:
    child = forked.start(lambda: 7)
    assert child is not None and child.collect() == 7
    child.abandon()
    assert no_child_left()


@pytest.mark.parametrize("reason", ["threads", "in a child", "fork fails"])
def test_no_child(monkeypatch: pytest.MonkeyPatch, reason: str) -> None:
    if reason == "threads":
        monkeypatch.setattr(threading, "active_count", lambda: 2)
    elif reason == "in a child":
        monkeypatch.setattr(forked, "_IN_CHILD", True)
    else:

        def fails() -> int:
            raise OSError("no more processes")

        monkeypatch.setattr(os, "fork", fails)
    assert forked.start(lambda: 1) is None
    assert no_child_left()


def test_a_child_forks_no_child_of_its_own() -> None:
    child = forked.start(lambda: forked.start(lambda: 1) is None)
    assert child is not None and child.collect() is True


def test_without_a_file_in_memory_no_child_is_forked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(name: str, flags: int) -> int:
        raise OSError("memfd_create: not permitted")

    monkeypatch.setattr(os, "memfd_create", refused)
    assert forked.start(lambda: 1) is None
    assert no_child_left()


def test_without_a_pipe_no_child_is_forked_and_nothing_is_left_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []
    memfd_create = os.memfd_create

    def made_here(name: str, flags: int) -> int:
        made.append(memfd_create(name, flags))
        return made[-1]

    def refused() -> tuple[int, int]:
        raise OSError("pipe: too many open files")

    monkeypatch.setattr(os, "memfd_create", made_here)
    monkeypatch.setattr(os, "pipe", refused)
    assert forked.stream(lambda: [1]) is None
    assert len(made) == 1
    with pytest.raises(OSError):
        os.fstat(made[0])  # the file in memory was closed
    assert no_child_left()


def parts_then(end: str) -> Any:
    """Two parts, then: the end, a failure, or a wait for ever (the parts left unread)."""
    yield [1]
    yield [2, 3]
    if end == "raises":
        raise RuntimeError("in the child, after two parts")
    if end == "waits":
        threading.Event().wait()


@pytest.mark.parametrize("end", ["ends", "raises"])
def test_parts_come_whole_and_in_order_and_a_failure_after_them_is_told(end: str) -> None:
    child = forked.stream(lambda: parts_then(end))
    assert child is not None
    assert list(child.parts()) == [[1], [2, 3]]
    assert child.failed is (end == "raises")
    assert child.collect() is None  # taken already
    assert no_child_left()


def test_a_part_is_taken_while_the_child_works_on_and_leaving_the_rest_stops_it() -> None:
    child = forked.stream(lambda: parts_then("waits"))
    assert child is not None
    parts = child.parts()
    assert next(parts) == [1] and next(parts) == [2, 3]  # the child has not ended
    parts.close()
    assert child.failed and no_child_left()
