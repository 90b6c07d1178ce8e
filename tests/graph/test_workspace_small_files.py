"""Small files read by one call each and hashed in batches: hashlib's answers, same safety."""

from __future__ import annotations

import errno
import hashlib
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from policy_engine import forked, inputs
from policy_engine.graph.builders import progress
from policy_engine.graph.builders import workspace as workspace_module
from policy_engine.graph.builders.hashcache import FileDigests, FileKey, HashCache
from policy_engine.graph.builders.workspace import (
    CHUNK_BYTES,
    SMALL_BATCH,
    LazyMd5,
    _batches,
    _digests,
    _read_digests,
    hash_file_keyed,
)

SIZES = (0, 1, 17, 2047, 2048, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES)


def library(data: bytes) -> FileDigests:
    return FileDigests(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))


@pytest.mark.parametrize("size", SIZES)
def test_stopping_at_the_known_size_gives_what_reading_to_the_end_gives(
    tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    fd = inputs.open_regular(path)
    try:
        fast = _read_digests(fd, size, md5=True)
        os.lseek(fd, 0, os.SEEK_SET)
        to_the_end = _read_digests(fd, -1, md5=True)  # a size never reached: read to EOF
    finally:
        os.close(fd)
    assert fast == to_the_end == library(data)


def test_many_small_files_in_batches_get_hashlibs_digests_and_are_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(tmp_path / "cache"))
    rng = random.Random(7)
    root = tmp_path / "repo"
    (root / "out").mkdir(parents=True)
    contents: dict[str, bytes] = {}
    for i in range(3 * SMALL_BATCH + 5):
        data = rng.randbytes(rng.choice((0, 1, 17, 4096, 70_000)))
        contents[str(root / "out" / f"{i:04d}.bin")] = data
    contents[str(root / "big.bin")] = rng.randbytes(CHUNK_BYTES + 3)
    for path, data in contents.items():
        Path(path).write_bytes(data)
    cache = HashCache.open(root)
    assert cache is not None
    found = _digests(list(contents), cache=cache, workers=2, root=str(root))
    cache.close()
    assert found == {path: library(data) for path, data in contents.items()}
    again = HashCache.open(root)
    assert again is not None
    keys = {path: FileKey.of(os.stat(path)) for path in contents}
    assert again.hits(keys, str(root)) == found  # every file remembered, none missed
    again.close()


def test_a_failing_file_in_a_batch_leaves_the_others_in_their_place(tmp_path: Path) -> None:
    paths = []
    for i in range(SMALL_BATCH + 10):
        path = tmp_path / f"{i:04d}.bin"
        path.write_bytes(str(i).encode())
        paths.append(str(path))
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    os.symlink(paths[0], tmp_path / "link")
    odd = [str(tmp_path / name) for name in ("fifo", "folder", "link", "missing")]
    mixed = paths[:5] + odd + paths[5:]
    found = _digests(mixed, workers=2)
    for name in paths:
        assert found[name] == library(Path(name).read_bytes())
    assert isinstance(found[odd[0]], inputs.NotRegularFile)  # a FIFO is never read
    assert isinstance(found[odd[1]], inputs.NotRegularFile)
    assert isinstance(found[odd[2]], OSError)  # a final symlink is not followed
    assert isinstance(found[odd[3]], FileNotFoundError)


def with_readv(monkeypatch: pytest.MonkeyPatch, before_first: Callable[[], None]) -> None:
    """Run ``before_first`` just before the first read of a file."""
    real, calls = os.readv, {"n": 0}

    def readv(fd: int, buffers: list[bytearray]) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            before_first()
        return real(fd, buffers)

    monkeypatch.setattr(os, "readv", readv)


@pytest.mark.parametrize("change", ["grow", "shrink", "rewrite"])
def test_a_small_file_that_changes_while_read_is_hashed_as_read_and_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    after = {"grow": b"0123456789abcde", "shrink": b"0123", "rewrite": b"abcdefghij"}[change]

    def edit() -> None:
        with open(path, "r+b") as handle:
            handle.write(after)
            handle.truncate(len(after))
            os.utime(handle.fileno(), ns=(1, 1))  # the size may stay, the mtime is set back

    with_readv(monkeypatch, edit)
    found, key = hash_file_keyed(str(path))
    assert found == library(after) and key is None


def test_a_short_read_before_the_known_size_reads_on_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(5000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    real = os.readv

    def short(fd: int, buffers: list[bytearray]) -> int:  # as some file systems read
        return real(fd, [memoryview(buffers[0])[:3]])

    monkeypatch.setattr(os, "readv", short)
    found, key = hash_file_keyed(str(path))
    assert found == library(data) and key is not None


def test_a_file_that_grows_after_its_one_read_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    real_fstat, calls = os.fstat, {"n": 0}

    def fstat(fd: int) -> os.stat_result:
        calls["n"] += 1
        if calls["n"] == 2:  # after the read: the file grew meanwhile
            with open(path, "ab") as handle:
                handle.write(b"more")
        return real_fstat(fd)

    monkeypatch.setattr(os, "fstat", fstat)
    found, key = hash_file_keyed(str(path))
    assert found == library(b"0123456789") and key is None


def test_an_error_while_reading_is_the_files_result_and_closes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"data")
    closed: list[int] = []
    real_close = os.close

    def failing(fd: int, buffers: list[bytearray]) -> int:
        raise OSError(errno.EIO, "Input/output error")

    def close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "readv", failing)
    monkeypatch.setattr(os, "close", close)
    found = _digests([str(path)], lazy=LazyMd5())
    assert isinstance(found[str(path)], OSError) and len(closed) == 1


def test_large_files_are_tasks_of_their_own_and_small_ones_are_batched() -> None:
    sizes = {f"l{i}": FileKey(CHUNK_BYTES + i, 0, i, 0, 0) for i in range(3)}
    sizes |= {f"s{i}": FileKey(i, 0, 100 + i, 0, 0) for i in range(SMALL_BATCH + 1)}
    paths = [*sorted(sizes, key=lambda p: sizes[p].size, reverse=True), "unknown"]
    batches = _batches(paths, sizes)
    assert batches[:3] == [["l2"], ["l1"], ["l0"]]
    assert [len(b) for b in batches[3:]] == [SMALL_BATCH, 2]
    assert [p for b in batches for p in b] == paths
    assert _batches([], sizes) == [] and _batches(["l0"], sizes) == [["l0"]]


def test_progress_counts_each_file_read_and_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[progress.Progress] = []

    class Recorded(progress.Progress):
        def __enter__(self) -> progress.Progress:
            shown.append(self)
            return super().__enter__()

    monkeypatch.setattr(workspace_module, "Progress", Recorded)
    paths = []
    for i in range(SMALL_BATCH + 3):
        path = tmp_path / f"{i:04d}.bin"
        path.write_bytes(b"x" * i)
        paths.append(str(path))
    _digests([*paths, str(tmp_path / "missing")], workers=2, progress=True)
    assert [(p.done_files, p.done_bytes) for p in shown] == [(len(paths), sum(range(len(paths))))]


@pytest.mark.parametrize("how", ["forked", "the child fails", "no fork"])
def test_half_the_small_files_hashed_by_a_forked_child_give_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(workspace_module, "FORKED_MIN_BATCHES", 2)
    monkeypatch.setattr(forked, "can_fork", lambda: how != "no fork")
    parent, started = os.getpid(), []
    start = forked.start

    def recorded(compute: Callable[[], object]) -> object:
        child = start(compute)
        started.append(child)
        return child

    monkeypatch.setattr(forked, "start", recorded)
    if how == "the child fails":
        hash_one = workspace_module._hash_one

        def fails_in_a_child(*args: object) -> object:
            if os.getpid() != parent:
                os._exit(3)
            return hash_one(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(workspace_module, "_hash_one", fails_in_a_child)
    root = tmp_path / "repo"
    (root / "out").mkdir(parents=True)
    contents = {str(root / "out" / f"{i:04d}.bin"): str(i).encode() for i in range(4 * SMALL_BATCH)}
    for path, data in contents.items():
        Path(path).write_bytes(data)
    odd = [str(root / "missing"), str(root / "fifo")]  # the last: in the child's half
    os.mkfifo(odd[1])
    cache = HashCache.open(root)
    assert cache is not None
    found = _digests([*contents, *odd], cache=cache, root=str(root))
    cache.close()
    assert len(started) == 1 and (started[0] is None) == (how == "no fork")  # one child asked
    assert {p: found[p] for p in contents} == {p: library(d) for p, d in contents.items()}
    assert isinstance(found[odd[0]], FileNotFoundError)
    assert isinstance(found[odd[1]], inputs.NotRegularFile)
    again = HashCache.open(root)
    assert again is not None
    keys = {path: FileKey.of(os.stat(path)) for path in contents}
    assert again.hits(keys, str(root)) == {p: found[p] for p in contents}  # all remembered
    again.close()
