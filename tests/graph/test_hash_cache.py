"""The persistent hash cache: outside the repository, trusted while a file's key is unchanged."""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import struct
from pathlib import Path

import pytest

from policy_engine.graph.builders import BuildContext, progress, workspace
from policy_engine.graph.builders.hashcache import (
    FILE_NAME,
    FileDigests,
    FileKey,
    HashCache,
    default_path,
)
from policy_engine.graph.builders.workspace import build_workspace, hash_file_keyed
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    for i in range(5):
        (root / "data" / f"{i}.bin").write_bytes(bytes([i]) * (1000 + i))
    (root / "model.pkl").write_bytes(b"weights")
    return root


class Reads:
    """Counts the files actually read (hashed), by wrapping the keyed hasher."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real = workspace.hash_file_keyed

        def counting(path: str, md5: bool = True) -> tuple[FileDigests, FileKey | None]:
            self.paths.append(path)
            return real(path, md5)

        monkeypatch.setattr(workspace, "hash_file_keyed", counting)


def build(root: Path, cache: bool = True) -> ProvenanceGraph:
    graph = ProvenanceGraph(str(root))
    graph.add_artifact("data")
    graph.add_artifact("model.pkl")
    build_workspace(graph, BuildContext(root, Keyring({}), hash_cache=cache))
    return graph


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_default_location_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(tmp_path / "c"))
    assert default_path() == tmp_path / "c" / FILE_NAME
    monkeypatch.delenv("MLPOLICY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "mlpolicy" / FILE_NAME
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".cache" / "mlpolicy" / FILE_NAME


def test_a_warm_run_reads_no_bytes_and_gives_the_same_digests(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = Reads(monkeypatch)
    before = snapshot(repo)
    cold = build(repo)
    assert len(reads.paths) == 6 and (cache_dir / FILE_NAME).is_file()
    reads.paths.clear()
    warm = build(repo)
    assert reads.paths == []
    assert warm.workspace("data") == cold.workspace("data")
    assert warm.workspace("model.pkl") == cold.workspace("model.pkl")
    assert snapshot(repo) == before  # nothing written in the repository


def test_an_edit_is_seen_even_when_size_and_mtime_are_restored(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(repo)
    model = repo / "model.pkl"
    info = model.stat()
    with model.open("r+b") as handle:  # same size, same inode
        handle.write(b"WEIGHTS")
    os.utime(model, ns=(info.st_atime_ns, info.st_mtime_ns))  # mtime set back
    reads = Reads(monkeypatch)
    graph = build(repo)
    assert reads.paths == [os.path.realpath(model)]  # ctime moved: read again
    assert graph.workspace("model.pkl").sha256 == hashlib.sha256(b"WEIGHTS").hexdigest()  # type: ignore[union-attr]


def test_a_row_whose_key_differs_is_never_trusted(repo: Path, cache_dir: Path) -> None:
    build(repo)
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        for folder, keys in db.execute("SELECT folder, keys FROM folders_v2").fetchall():
            count = len(keys) // 40
            numbers = list(struct.unpack("<" + "qqQQq" * count, keys))
            numbers[::5] = [size + 1 for size in numbers[::5]]  # every size off by one
            packed = struct.pack("<" + "qqQQq" * count, *numbers)
            db.execute(
                "UPDATE folders_v2 SET keys = ?, sha256 = ? WHERE folder = ?",
                (packed, "0" * 64 * count, folder),
            )
    graph = build(repo)
    assert graph.workspace("model.pkl").sha256 == hashlib.sha256(b"weights").hexdigest()  # type: ignore[union-attr]


@pytest.mark.parametrize("field", FileKey._fields)
def test_a_change_of_any_key_field_is_a_miss(repo: Path, cache_dir: Path, field: str) -> None:
    path = str(repo / "model.pkl")
    key = FileKey.of(os.stat(path))
    cache = HashCache.open(repo)
    assert cache is not None
    cache.remember(path, key, FileDigests("a" * 64, "b" * 32, key.size))
    cache.commit()
    assert cache.hits({path: key}, str(repo)) == {path: FileDigests("a" * 64, "b" * 32, key.size)}
    changed = key._replace(**{field: getattr(key, field) + 1})
    assert cache.hits({path: changed}, str(repo)) == {}
    assert cache.hits({path: changed}) == {}
    cache.close()


def test_files_of_one_folder_are_kept_when_others_are_remembered(
    repo: Path, cache_dir: Path
) -> None:
    paths = [str(repo / "data" / f"{i}.bin") for i in range(5)]
    keys = {path: FileKey.of(os.stat(path)) for path in paths}
    cache = HashCache.open(repo)
    assert cache is not None
    for i, path in enumerate(paths):  # one commit per file: each merged into the folder's row
        cache.remember(path, keys[path], FileDigests(f"{i:064x}", None, keys[path].size))
        cache.commit()
    again = paths[2]  # read once more, with its md5 this time: its entry is replaced
    cache.remember(again, keys[again], FileDigests("f" * 64, "e" * 32, keys[again].size))
    cache.commit()
    expected = {
        path: FileDigests(f"{i:064x}", None, keys[path].size) for i, path in enumerate(paths)
    }
    expected[again] = FileDigests("f" * 64, "e" * 32, keys[again].size)
    assert cache.hits(keys, str(repo)) == expected == cache.hits(keys)
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        assert db.execute("SELECT count(*) FROM folders_v2").fetchone() == (1,)
    cache.close()


def test_a_key_beyond_64_bits_is_not_remembered(repo: Path, cache_dir: Path) -> None:
    path = str(repo / "model.pkl")
    far = FileKey(7, 2**63, 1, 1, 1)  # a modification time past the year 2262
    unsigned = FileKey(7, 1, 2**64 - 1, 2**64 - 1, -(2**63))  # the largest inode and device
    cache = HashCache.open(repo)
    assert cache is not None
    cache.remember(path, far, FileDigests("a" * 64, None, 7))
    cache.remember(str(repo / "other"), unsigned, FileDigests("b" * 64, None, 7))
    cache.commit()
    assert cache.hits({path: far}, str(repo)) == {}
    assert cache.hits({str(repo / "other"): unsigned}) == {
        str(repo / "other"): FileDigests("b" * 64, None, 7)
    }
    cache.close()


def test_a_corrupt_cache_is_ignored(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir.mkdir()
    (cache_dir / FILE_NAME).write_bytes(b"this is not a database" * 100)
    reads = Reads(monkeypatch)
    graph = build(repo)
    assert len(reads.paths) == 6
    assert graph.workspace("model.pkl") is not None
    assert (cache_dir / FILE_NAME).read_bytes().startswith(b"this is not a database")


def test_an_unwritable_cache_location_is_ignored(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(blocker / "cache"))
    assert HashCache.open(repo) is None
    assert build(repo).workspace("model.pkl") is not None


def test_a_cache_inside_the_repository_is_not_used(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPOLICY_CACHE_DIR", str(repo / ".cache"))
    before = snapshot(repo)
    build(repo)
    assert not (repo / ".cache").exists()
    assert snapshot(repo) == before


def test_no_cache_reads_every_file_and_writes_no_cache(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(repo)
    reads = Reads(monkeypatch)
    build(repo, cache=False)
    assert len(reads.paths) == 6


def test_a_file_that_changes_while_read_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * 10)
    real_fstat = os.fstat
    calls = {"n": 0}

    def fstat(fd: int) -> os.stat_result:
        calls["n"] += 1
        result = real_fstat(fd)
        if calls["n"] == 2:  # the status taken after reading differs
            values = list(result)
            values[8] += 1  # st_mtime
            return os.stat_result(values)
        return result

    monkeypatch.setattr(workspace.os, "fstat", fstat)
    digest, key = hash_file_keyed(str(path))
    assert digest.size == 10 and key is None


def test_progress_is_drawn_on_a_terminal_only_and_erased(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0.01)
    stream = Terminal()
    with progress.Progress("hashing", 2, 2_000_000, stream) as shown:
        shown.advance(1_000_000)
        import time

        time.sleep(0.05)
    text = stream.getvalue()
    assert "hashing: 1/2 files, 1/2 MB" in text and text.endswith("\r\x1b[K")
    quiet = io.StringIO()
    with progress.Progress("hashing", 2, 2, quiet) as shown:
        shown.advance(1)
    assert quiet.getvalue() == ""


def test_a_warm_run_writes_nothing_and_stats_no_file_twice(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(repo)
    database = cache_dir / FILE_NAME
    before = database.stat()
    stated: list[str] = []
    real_stat, real_lstat = os.stat, os.lstat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        stated.append(os.fsdecode(path))  # type: ignore[arg-type]
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        stated.append(os.fsdecode(path))  # type: ignore[arg-type]
        return real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace.os, "stat", stat)
    monkeypatch.setattr(workspace.os, "lstat", lstat)
    build(repo)
    monkeypatch.undo()
    files = {os.path.realpath(p) for p in (repo / "data").iterdir()}
    assert files and not files.intersection(stated)  # the walk's status only
    after = database.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)


def test_a_name_that_is_not_utf8_is_hashed_and_not_remembered(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = os.path.join(os.fsencode(repo / "data"), b"\xff\xfe.bin")
    try:
        with open(odd, "wb") as handle:
            handle.write(b"odd")
    except OSError:
        pytest.skip("the file system takes UTF-8 names only")
    cold = build(repo)
    reads = Reads(monkeypatch)
    warm = build(repo)
    assert reads.paths == [os.path.realpath(os.fsdecode(odd))]  # the others are cache hits
    assert warm.workspace("data") == cold.workspace("data") is not None


def test_rows_under_the_root_are_read_at_once_and_other_paths_by_name(
    tmp_path: Path, cache_dir: Path
) -> None:
    files = {}
    for name in ("repo", "repo2", "repo-x"):  # repo2 and repo-x share the prefix "repo"
        (tmp_path / name).mkdir()
        files[name] = tmp_path / name / "f.bin"
        files[name].write_bytes(name.encode())
    keys = {str(p): FileKey.of(p.stat()) for p in files.values()}
    cache = HashCache.open(tmp_path / "repo")
    assert cache is not None
    for path, key in keys.items():
        cache.remember(path, key, FileDigests("a" * 64, None, key.size))
    cache.remember(
        str(tmp_path / "repo" / "gone.bin"), FileKey(1, 1, 1, 1, 1), FileDigests("b" * 64, None, 1)
    )
    cache.commit()
    assert cache.hits(keys, str(tmp_path / "repo")) == cache.hits(keys)
    assert set(cache.hits(keys, str(tmp_path / "repo"))) == set(keys)
    del keys[str(files["repo2"])]
    assert set(cache.hits(keys, str(tmp_path / "repo"))) == set(keys)
    cache.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("sha256", "A" * 64),  # uppercase
        ("sha256", "a" * 63),
        ("sha256", "a" * 65),
        ("sha256", "a" * 63 + "g"),
        ("sha256", "a" * 63 + "\0"),
        ("sha256", "a" * 32 + "\u0663" * 32),  # non-ASCII digits
        ("sha256", b"a" * 64),  # a blob
        ("sha256", 1),
        ("sha256", None),
        ("sha256", "-" * 64),
        ("md5", "A" * 32),
        ("md5", "a" * 31),
        ("md5", "a" * 33),
        ("md5", 12),
        ("md5", b"a" * 32),
        ("md5", ""),
        ("md5", None),
        ("md5", "-" * 31 + "a"),  # neither a digest nor none
        ("md5", "b" * 31 + "\u00e9"),  # one non-ASCII letter: two bytes in UTF-8
        ("md5", "b" * 31 + "\uff41"),  # a fullwidth `a`
        ("names", "model.pkl/"),  # two names, one empty, for one file
        ("names", ""),
        ("names", b"model.pkl"),
        ("keys", b"\0" * 39),
        ("keys", b"\0" * 41),
        ("keys", "text"),
    ],
)
def test_a_row_that_is_not_well_formed_is_never_trusted(
    repo: Path, cache_dir: Path, column: str, value: object
) -> None:
    path = repo / "model.pkl"
    keys = {str(path): FileKey.of(path.stat())}
    cache = HashCache.open(repo)
    assert cache is not None
    cache.remember(str(path), keys[str(path)], FileDigests("a" * 64, "b" * 32, 7))
    cache.commit()
    assert cache.hits(keys) == {str(path): FileDigests("a" * 64, "b" * 32, 7)}
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        db.execute(f"UPDATE folders_v2 SET {column} = ?", (value,))
    assert cache.hits(keys) == {}
    assert cache.hits(keys, str(repo)) == {}
    cache.close()


def test_a_file_key_is_the_named_tuple_of_the_status(repo: Path) -> None:
    info = (repo / "model.pkl").stat()
    key = FileKey.of(info)
    fields = (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, info.st_ctime_ns)
    assert type(key) is FileKey and key == FileKey(*fields) and key.ctime_ns == info.st_ctime_ns


def test_the_table_of_the_earlier_layout_is_dropped_when_opened(
    repo: Path, cache_dir: Path
) -> None:
    cache_dir.mkdir()
    with sqlite3.connect(cache_dir / FILE_NAME) as old:
        old.execute("CREATE TABLE hashes_v1 (path TEXT PRIMARY KEY, sha256 TEXT)")
        old.execute("INSERT INTO hashes_v1 VALUES (?, ?)", (str(repo / "model.pkl"), "0" * 64))
    old.close()
    build(repo)
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert "hashes_v1" not in tables
    assert any(name.startswith("folders_") for name in tables)


def folder_cache(repo: Path, md5s: list[str | None]) -> tuple[HashCache, dict[str, FileKey]]:
    """A cache holding the five files of ``repo/data``, the i-th with md5 ``md5s[i]``."""
    paths = [str(repo / "data" / f"{i}.bin") for i in range(5)]
    keys = {path: FileKey.of(os.stat(path)) for path in paths}
    cache = HashCache.open(repo)
    assert cache is not None
    for i, path in enumerate(reversed(paths)):  # remembered out of order: stored by name
        cache.remember(path, keys[path], FileDigests(f"{4 - i:064x}", md5s[4 - i], 1000 + 4 - i))
    cache.commit()
    return cache, keys


@pytest.mark.parametrize(
    "md5s", [[None] * 5, ["b" * 32] * 5, [None, "c" * 32, None, "d" * 32, None]]
)
@pytest.mark.parametrize("changed", [None, 0, 2, 4])
@pytest.mark.parametrize("field", FileKey._fields)
def test_a_whole_folder_asked_at_once_gives_what_each_file_asked_alone_gives(
    repo: Path, cache_dir: Path, md5s: list[str | None], changed: int | None, field: str
) -> None:
    cache, keys = folder_cache(repo, md5s)
    paths = list(keys)
    if changed is not None:  # one field of one file's key moved: that file alone misses
        key = keys[paths[changed]]
        keys[paths[changed]] = key._replace(**{field: getattr(key, field) + 1})
    alone = {}
    for path, key in keys.items():
        alone.update(cache.hits({path: key}, str(repo)))
    expected = {
        path: FileDigests(f"{i:064x}", md5s[i], 1000 + i)
        for i, path in enumerate(paths)
        if i != changed
    }
    assert cache.hits(keys, str(repo)) == alone == expected == cache.hits(keys)
    cache.close()


def test_a_folder_asked_in_part_or_out_of_order_or_with_a_huge_key_is_looked_up_by_name(
    repo: Path, cache_dir: Path
) -> None:
    cache, keys = folder_cache(repo, [None] * 5)
    paths = list(keys)
    expected = {path: FileDigests(f"{i:064x}", None, 1000 + i) for i, path in enumerate(paths)}
    backwards = dict(reversed(keys.items()))
    assert cache.hits(backwards, str(repo)) == expected
    part = {path: keys[path] for path in paths[1:4]}
    assert cache.hits(part, str(repo)) == {path: expected[path] for path in part}
    huge = dict(keys)
    huge[paths[1]] = keys[paths[1]]._replace(mtime_ns=1 << 70)  # cannot be packed: a miss
    assert cache.hits(huge, str(repo)) == {p: d for p, d in expected.items() if p != paths[1]}
    cache.close()


def test_a_row_of_names_in_another_order_is_still_trusted_by_name(
    repo: Path, cache_dir: Path
) -> None:
    cache, keys = folder_cache(repo, ["b" * 32] * 5)
    with sqlite3.connect(cache_dir / FILE_NAME) as db:  # as an earlier version wrote it
        _, names, packed, sha256, md5 = db.execute("SELECT * FROM folders_v2").fetchone()
        count = len(names.split("/"))
        order = list(reversed(range(count)))
        db.execute(
            "UPDATE folders_v2 SET names = ?, keys = ?, sha256 = ?, md5 = ?",
            (
                "/".join(names.split("/")[i] for i in order),
                b"".join(packed[40 * i : 40 * i + 40] for i in order),
                "".join(sha256[64 * i : 64 * i + 64] for i in order),
                "".join(md5[32 * i : 32 * i + 32] for i in order),
            ),
        )
    db.close()
    expected = {path: FileDigests(f"{i:064x}", "b" * 32, 1000 + i) for i, path in enumerate(keys)}
    assert cache.hits(keys, str(repo)) == expected
    cache.close()


def test_an_untrusted_md5_in_a_folder_asked_at_once_misses_that_file_alone(
    repo: Path, cache_dir: Path
) -> None:
    cache, keys = folder_cache(repo, ["b" * 32] * 5)
    with sqlite3.connect(cache_dir / FILE_NAME) as db:
        (md5,) = db.execute("SELECT md5 FROM folders_v2").fetchone()
        db.execute("UPDATE folders_v2 SET md5 = ?", (md5[:64] + "-" * 16 + "b" * 16 + md5[96:],))
    db.close()
    paths = list(keys)
    expected = {p: FileDigests(f"{i:064x}", "b" * 32, 1000 + i) for i, p in enumerate(paths)}
    del expected[paths[2]]  # neither a digest nor none: that file is read again
    assert cache.hits(keys, str(repo)) == expected == cache.hits(keys)
    cache.close()
