"""Attestations read while the builders before theirs run: same graph, nothing left running."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from attestation_kit import NOW, Identity, identity, link, metablock, write_json
from securesystemslib.signer import CryptoSigner

from policy_engine.errors import InputError
from policy_engine.graph import build
from policy_engine.graph.builders import BuildContext, Builder
from policy_engine.graph.builders.attestations import build_attestations, pool
from policy_engine.graph.builders.attestations.builder import _with_proofs
from policy_engine.graph.builders.attestations.dispatch import FileResult, find_files
from policy_engine.graph.builders.attestations.pool import Sent
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring


@pytest.fixture(scope="module")
def alice(tmp_path_factory: pytest.TempPathFactory) -> Identity:
    return identity(CryptoSigner.generate_ed25519(), tmp_path_factory.mktemp("keys"), "alice")


FORKED: list[int] = []  # the children forked by the test running


@pytest.fixture
def repo(tmp_path: Path, alice: Identity, monkeypatch: pytest.MonkeyPatch) -> BuildContext:
    """Twelve signed links and a bad one, read by two forked children."""
    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    # earlier tests may leave threads: forking is then refused
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    FORKED.clear()
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            FORKED.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    for i in range(12):
        write_json(tmp_path / "att" / f"s{i:02d}.link", metablock(link(f"s{i}"), [alice]))
    write_json(tmp_path / "att" / "z.link", metablock(link("z"), []))
    keyring = Keyring({"alice": alice.public})
    return BuildContext(tmp_path, keyring, (tmp_path / "att",), now=NOW, hash_cache=False)


def running() -> list[int]:
    """The children forked that still exist (running, or ended but not reaped)."""
    return [pid for pid in FORKED if Path(f"/proc/{pid}").exists()]


def children_while(seen: list[int], error: Exception | None = None) -> Builder:
    """A builder that records how many child processes run, then raises ``error`` if any."""

    def builder(graph: ProvenanceGraph, context: BuildContext) -> None:
        seen.append(len(running()))
        if error is not None:
            raise error

    return builder


def test_links_are_read_by_forked_children_while_the_first_builder_runs(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    first = ("dvc", children_while(seen))
    monkeypatch.setattr(build, "BUILDERS", (first, ("attestations", build_attestations)))
    graph = build.build_graph(repo)
    assert seen == [2]  # the children were at work during the first builder
    assert running() == []
    serial = ProvenanceGraph(str(repo.root))
    monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    build_attestations(serial, repo)
    assert [a.file for a in graph.attestations()] == [a.file for a in serial.attestations()]
    assert list(graph.attestations()) == list(serial.attestations())
    assert [a.file for a in graph.attestations()][-1] == "att/z.link"


def test_a_failing_builder_leaves_no_child_behind(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    failing = ("dvc", children_while(seen, InputError("dvc.yaml: unreadable", "dvc.yaml")))
    monkeypatch.setattr(build, "BUILDERS", (failing, ("attestations", build_attestations)))
    with pytest.raises(InputError, match="unreadable"):
        build.build_graph(repo)
    assert seen == [2]
    assert running() == []


def test_a_build_closed_early_leaves_no_child_behind(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    first = ("dvc", children_while(seen))
    monkeypatch.setattr(build, "BUILDERS", (first, ("attestations", build_attestations)))
    steps = build.building(ProvenanceGraph(str(repo.root)), repo)
    assert next(steps) == "dvc"
    steps.close()
    assert seen == [2]
    assert running() == []


def test_a_missing_attestation_path_is_reported_after_the_builders_before(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    failing = ("dvc", children_while(seen, InputError("dvc.yaml: unreadable", "dvc.yaml")))
    monkeypatch.setattr(build, "BUILDERS", (failing, ("attestations", build_attestations)))
    missing = BuildContext(repo.root, repo.keyring, (repo.root / "nowhere",), now=NOW)
    with pytest.raises(InputError, match="unreadable"):  # the first error, as before
        build.build_graph(missing)
    monkeypatch.setattr(build, "BUILDERS", (("attestations", build_attestations),))
    with pytest.raises(InputError, match="attestation path not found"):
        build.build_graph(missing)
    assert running() == []


@pytest.mark.parametrize(
    ("cpus", "beside", "workers"), [(2, 0, 2), (2, 1, 1), (4, 1, 3), (1, 1, 1)]
)
def test_a_pool_beside_other_work_leaves_it_a_cpu(
    cpus: int, beside: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLPOLICY_WORKERS", raising=False)
    monkeypatch.setattr(pool, "cpu_count", lambda: cpus)
    assert pool.default_workers(pool.PARALLEL_MIN_ITEMS, beside) == workers
    assert pool.default_workers(pool.PARALLEL_MIN_ITEMS - 1, beside) == 1


def test_on_two_cpus_one_worker_reads_while_the_first_builder_runs(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLPOLICY_WORKERS")
    monkeypatch.setattr(pool, "cpu_count", lambda: 2)
    monkeypatch.setattr(pool, "PARALLEL_MIN_ITEMS", 5)  # the repository's 13 links are enough
    seen: list[int] = []
    first = ("dvc", children_while(seen))
    monkeypatch.setattr(build, "BUILDERS", (first, ("attestations", build_attestations)))
    graph = build.build_graph(repo)
    assert seen == [1]  # the first builder keeps the other CPU
    assert running() == []
    assert len(list(graph.attestations())) == 13  # the bad link is kept, unsigned


def test_a_file_leaving_the_repository_is_refused_as_when_found_here(
    repo: BuildContext, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The children find the files: a symlink leaving the repository is the error finding
    them here raises (same message and location), and nothing is left running."""
    outside = tmp_path_factory.mktemp("outside") / "x.link"
    outside.write_text("{}")
    (repo.root / "att" / "y.link").symlink_to(outside)
    with pytest.raises(InputError) as here:
        find_files(repo.root, repo.attestation_paths)
    monkeypatch.setattr(build, "BUILDERS", (("attestations", build_attestations),))
    with pytest.raises(InputError) as searched:
        build.build_graph(repo)
    assert (searched.value.message, searched.value.location) == (
        here.value.message,
        here.value.location,
    )
    assert "y.link" in str(searched.value) and len(FORKED) == 2
    assert running() == []


@pytest.mark.parametrize("failing", [0, 1])
def test_a_failed_child_leaves_its_share_to_this_process(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    """A child that fails (the first, which also reports what finding raised, or another):
    this process finds the files itself and reads that share; the graph is the same."""
    monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    serial = ProvenanceGraph(str(repo.root))
    build_attestations(serial, repo)
    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    parent, read = os.getpid(), pool.read_share
    first = find_files(repo.root, repo.attestation_paths)[0]

    def reads(units: list[pool.Unit], keyring: Keyring, root: Path) -> list[pool.Read]:
        assert os.getpid() != parent  # read by a child
        if (units[0][1] == first) == (failing == 0):
            os._exit(3)
        return read(units, keyring, root)

    monkeypatch.setattr(pool, "read_share", reads)
    monkeypatch.setattr(build, "BUILDERS", (("attestations", build_attestations),))
    graph = build.build_graph(repo)
    assert list(graph.attestations()) == list(serial.attestations())
    assert graph.issues == serial.issues and len(FORKED) == 2
    assert running() == []


@pytest.mark.parametrize("fails", [False, True])
def test_children_send_parts_and_the_rest_of_a_failed_one_is_read_here(
    repo: BuildContext, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """Parts of two files: a child that fails after its first part leaves the rest of its
    share to this process; the graph is the one read here alone."""
    from policy_engine.graph.builders.attestations import searched

    monkeypatch.setenv("MLPOLICY_WORKERS", "1")
    serial = ProvenanceGraph(str(repo.root))
    build_attestations(serial, repo)
    monkeypatch.setenv("MLPOLICY_WORKERS", "2")
    monkeypatch.setattr(searched, "PART_UNITS", 2)
    sent, read = [], pool.read_share

    def reads(units: list[pool.Unit], keyring: Keyring, root: Path) -> list[pool.Read]:
        if fails and units[0][0] == 2:  # the first child's second part
            os._exit(3)
        return read(units, keyring, root)

    original = searched.read_here

    def here(units: list[pool.Unit], keyring: Keyring, root: Path) -> Iterator[pool.Read]:
        sent.extend(index for index, _, _ in units)
        return original(units, keyring, root)

    monkeypatch.setattr(pool, "read_share", reads)
    monkeypatch.setattr(searched, "read_here", here)
    monkeypatch.setattr(build, "BUILDERS", (("attestations", build_attestations),))
    graph = build.build_graph(repo)
    assert list(graph.attestations()) == list(serial.attestations())
    assert graph.issues == serial.issues
    assert sent == ([2, 3, 4, 5, 6] if fails else [])  # the first child's share: 0 to 6
    assert running() == []


@pytest.mark.parametrize("change", ["renamed", "removed"])
def test_files_changed_since_the_children_found_them_are_refused(
    repo: BuildContext, change: str
) -> None:
    found = find_files(repo.root, repo.attestation_paths)
    sent: list[Sent] = [FileResult(each.file) for each in found]
    if change == "renamed":
        sent[3] = FileResult(found[3].file.replace("s03", "s3x"))
    else:
        del sent[3]
    with pytest.raises(InputError, match="changed while they were read"):
        _with_proofs(found, sent, repo)
