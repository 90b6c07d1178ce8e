"""A batch split with a forked child gives the list computed here, even when the child fails."""

from __future__ import annotations

import os
import threading

import pytest

from policy_engine import forked
from policy_engine.supplychain import halves

ITEMS = list(range(20))
WEIGHTS = [100] * 20


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "MIN_WEIGHT", 1)
    monkeypatch.setattr(halves, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # earlier tests may leave threads
    monkeypatch.delenv("MLPOLICY_WORKERS", raising=False)


def square_where(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_the_tail_is_computed_by_a_child_in_order(forking: None) -> None:
    results = halves.map_halves(square_where, ITEMS, WEIGHTS)
    assert [value for value, _ in results] == [i * i for i in ITEMS]
    pids = [pid for _, pid in results]
    cut = pids.index(next(p for p in pids if p != os.getpid()))
    assert 0 < cut < len(ITEMS) and cut == halves._cut(WEIGHTS)
    assert set(pids[:cut]) == {os.getpid()} and len(set(pids[cut:])) == 1


def test_the_head_is_a_little_more_than_half_the_weight() -> None:
    assert halves._cut([100] * 20) == 12  # 60% of the weight
    assert halves._cut([1000, 1, 1, 1]) == 1  # never an empty head
    assert halves._cut([1, 1, 1, 1000]) == 3


def test_a_failing_child_leaves_its_tail_to_this_process(forking: None) -> None:
    parent = os.getpid()

    def fails_in_child(item: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("child only")
        return item + 1

    assert halves.map_halves(fails_in_child, ITEMS, WEIGHTS) == [i + 1 for i in ITEMS]


def test_a_crashing_child_leaves_its_tail_to_this_process(forking: None) -> None:
    parent = os.getpid()

    def crashes_in_child(item: int) -> int:
        if os.getpid() != parent:
            os._exit(3)
        return -item

    assert halves.map_halves(crashes_in_child, ITEMS, WEIGHTS) == [-i for i in ITEMS]


def test_an_error_here_is_raised_and_the_child_stopped(forking: None) -> None:
    def fails_on_first(item: int) -> int:
        if item == 0:
            raise ValueError("bad item")
        return item

    with pytest.raises(ValueError, match="bad item"):
        halves.map_halves(fails_on_first, ITEMS, WEIGHTS)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind, not even a zombie


def test_an_error_the_child_met_is_raised_here_as_without_a_child(forking: None) -> None:
    def fails_on_last(item: int) -> int:
        if item == ITEMS[-1]:
            raise ValueError("bad last item")
        return item

    with pytest.raises(ValueError, match="bad last item"):
        halves.map_halves(fails_on_last, ITEMS, WEIGHTS)


@pytest.mark.parametrize(
    "reason", ["light", "one worker", "in a child", "busy", "one cpu", "threads"]
)
def test_no_fork(forking: None, monkeypatch: pytest.MonkeyPatch, reason: str) -> None:
    if reason == "light":
        monkeypatch.setattr(halves, "MIN_WEIGHT", sum(WEIGHTS) + 1)
    elif reason == "one worker":
        monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    elif reason == "in a child":
        monkeypatch.setattr(forked, "_IN_CHILD", True)
    elif reason == "busy":
        monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 0.5, 0.5))
    elif reason == "one cpu":
        monkeypatch.setattr(halves, "cpu_count", lambda: 1)
    else:
        monkeypatch.setattr(threading, "active_count", lambda: 2)
    results = halves.map_halves(square_where, ITEMS, WEIGHTS)
    assert {pid for _, pid in results} == {os.getpid()}


def test_two_workers_fork_on_a_busy_machine(forking: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    results = halves.map_halves(square_where, ITEMS, WEIGHTS)
    assert len({pid for _, pid in results}) == 2
