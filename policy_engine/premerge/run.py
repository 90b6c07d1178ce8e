"""`mlpolicy diff`: evaluate the policies at a base and a head revision, and compare.

The head is the working tree as it is (uncommitted changes included: what is
about to be committed), or a temporary worktree of ``--head REF``; the base is
always a temporary worktree, outside the repository and removed afterwards.
A worktree has no DVC outputs (git ignores them): its graph is built with the
repository's own DVC cache (``cache_repo``), read-only, so both revisions see
artifacts the same way. Both revisions are judged with one policy, the base's
by default (:mod:`.policies`); a policy change is its own result.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from policy_engine import api
from policy_engine.errors import InputError
from policy_engine.evaluate import Finding
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.loader import DEFAULT_POLICY_DIR
from policy_engine.premerge import git, notes
from policy_engine.premerge.classify import classify
from policy_engine.premerge.git import Checkout
from policy_engine.premerge.outputs import changed_outputs
from policy_engine.premerge.policies import Judge, choose, load_revision
from policy_engine.results import CheckResult, DiffResult, LoadedPolicy, Revision


class InvalidPolicy(Exception):
    """The head's policy does not compile: nothing can be compared."""

    def __init__(self, loaded: LoadedPolicy) -> None:
        super().__init__("the policy is invalid")
        self.loaded = loaded


@dataclass(frozen=True)
class DiffRequest:
    """What to compare: the options of `mlpolicy diff`."""

    repo: Path
    base: str
    head: str | None = None  # None: the working tree
    policies: tuple[Path, ...] = ()
    attestations: tuple[Path, ...] = ()
    fail_on: str = "low"
    fail_on_unchanged: bool = False
    now: datetime | None = None
    policy_from: str = "base"  # "base" | "head"
    allow_policy_change: bool = False


@dataclass(frozen=True)
class _Side:
    """One revision's repository folder, the policy and attestation paths in it, and where
    the bytes of its missing outputs are (None: its own DVC cache)."""

    root: Path
    policies: list[Path]
    attestations: list[Path]
    cache_repo: Path | None

    def check(self, judge: Judge, now: datetime) -> CheckResult:
        # The persistent hash cache is for the user's own files, not for temporary worktrees.
        policy = judge.at(self.root)
        return api.check(
            policy,
            self.root,
            self.attestations,
            now,
            hash_cache=self.cache_repo is None,
            cache_repo=self.cache_repo,
        )


@dataclass(frozen=True)
class _Base:
    """What the base gave: its findings, or why it was not judged, and its graph."""

    findings: tuple[Finding, ...] = ()
    problem: str | None = None
    graph: ProvenanceGraph | None = None


def run_diff(request: DiffRequest) -> DiffResult:
    """Evaluate base and head with one policy (the base's by default) and classify findings."""
    checkout = git.checkout_of(request.repo)
    base_commit = git.resolve_commit(checkout.top, request.base)
    now = request.now or datetime.now(timezone.utc)
    with ExitStack() as stack:
        head_side, head = _head(stack, checkout, request)
        base_root = checkout.locate(stack.enter_context(git.worktree(checkout.top, base_commit)))
        base_side = _side(request, checkout, base_root, _repository(request))
        judge = _judge(request, head_side, base_side)
        head_result = head_side.check(judge, now)
        outputs = _changed_outputs(head, head_result.graph, request)
        base = _evaluate_base(judge, base_side, now)
    unseen = _unseen(base.graph, head_result.graph)
    split = classify(base.findings, head_result.evaluation.findings, unseen)
    return DiffResult(
        repository=str(request.repo),
        base=Revision(request.base, base_commit, evaluated=not base.problem, reason=base.problem),
        head=replace(head, dirty=head.dirty or bool(outputs)),
        policy_change=judge.change,
        result=head_result,
        new=split.new,
        fixed=split.fixed,
        unchanged=split.unchanged,
        notes=notes.of(base.problem, head, outputs, split.set_aside),
        fail_on=request.fail_on,
        fail_on_unchanged=request.fail_on_unchanged,
        loaded=judge.loaded,
        policy_from=request.policy_from,
        judged_with=judge.source,
        allow_policy_change=request.allow_policy_change,
    )


def _repository(request: DiffRequest) -> Path:
    """The user's repository folder: whose DVC cache the worktrees share, read-only."""
    return Path(os.path.realpath(request.repo))


def _side(request: DiffRequest, checkout: Checkout, root: Path, cache: Path | None) -> _Side:
    mapped = _Mapper(checkout, None if cache is None else root)
    policies = [mapped(p) for p in request.policies] or [root / DEFAULT_POLICY_DIR]
    return _Side(root, policies, [mapped(p) for p in request.attestations], cache)


def _head(stack: ExitStack, checkout: Checkout, request: DiffRequest) -> tuple[_Side, Revision]:
    """The head's side and revision: the working tree, or a worktree of a ref."""
    if request.head is None:
        commit = git.head_commit(checkout.top)
        side = _side(request, checkout, request.repo, None)
        return side, Revision(None, commit, dirty=git.is_dirty(checkout))
    commit = git.resolve_commit(checkout.top, request.head)
    root = checkout.locate(stack.enter_context(git.worktree(checkout.top, commit)))
    if not root.is_dir():
        raise InputError(f"`{checkout.prefix}` does not exist at head `{request.head}`")
    return _side(request, checkout, root, _repository(request)), Revision(request.head, commit)


def _judge(request: DiffRequest, head: _Side, base: _Side) -> Judge:
    """The policy that judges both revisions; the head's must be valid in any case."""
    loaded = api.load_policy(head.policies, head.root)
    if not loaded.ok:
        raise InvalidPolicy(loaded)
    at_base = load_revision(base.policies, base.root)
    return choose(loaded, head.root, at_base, base.root, request.policy_from)


def _changed_outputs(
    head: Revision, graph: ProvenanceGraph, request: DiffRequest
) -> tuple[str, ...]:
    """DVC outputs git ignores whose bytes in the working tree differ from their record
    (none for a ``--head REF``: a worktree has only committed files)."""
    if head.ref is not None:
        return ()
    return changed_outputs(graph, git.tracked_files(request.repo))


def _evaluate_base(judge: Judge, side: _Side, now: datetime) -> _Base:
    """The base's findings, or none and why, when the base cannot be judged.

    An absent or unjudgeable base makes every head finding new: the strictest reading.
    """
    if not side.root.is_dir():
        return _Base(problem="the repository folder does not exist at the base")
    if judge.base_problem is not None:
        return _Base(problem=judge.base_problem)
    try:
        result = side.check(judge, now)
    except InputError as error:
        return _Base(problem=f"the base could not be evaluated ({error})")
    return _Base(result.evaluation.findings, None, result.graph)


def _unseen(base: ProvenanceGraph | None, head: ProvenanceGraph) -> frozenset[str]:
    """Artifacts whose bytes the head has and the base did not (not materialised there)."""
    if base is None:
        return frozenset()
    present = {a.path for a in head.artifacts() if head.workspace(a.path) is not None}
    return frozenset(
        a.path for a in base.artifacts() if a.path in present and base.workspace(a.path) is None
    )


class _Mapper:
    """Maps a path the user gave (relative to the current folder) into another work tree."""

    def __init__(self, checkout: Checkout, tree_root: Path | None) -> None:
        self.top = Path(os.path.realpath(checkout.top))
        self.prefix = checkout.prefix
        self.tree_root = tree_root  # the repository folder in the other tree; None: no mapping

    def __call__(self, path: Path) -> Path:
        if self.tree_root is None:
            return path
        real = Path(os.path.realpath(path))
        if not _inside(real, self.top):
            return path  # outside the repository: the same file for both revisions
        relative = Path(os.path.relpath(real, self.top / self.prefix))
        return self.tree_root / relative


def _inside(path: Path, root: Path) -> bool:
    return path == root or str(path).startswith(str(root) + os.sep)
