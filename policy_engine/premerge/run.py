"""`mlpolicy diff`: evaluate the policies at a base and a head revision, and compare.

The head is the working tree as it is (uncommitted changes included: what is
about to be committed), or a temporary worktree of ``--head REF``; the base is
always a temporary worktree, outside the repository and removed afterwards.
Both are evaluated with the head's policy, so a finding is new because the
pipeline changed, never because the rules did; when the policy files or the
keys they trust differ at the base, the result says so.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine import api
from policy_engine.api import CheckResult, LoadedPolicy
from policy_engine.errors import InputError
from policy_engine.evaluate import Finding
from policy_engine.loader import DEFAULT_POLICY_DIR
from policy_engine.premerge import git
from policy_engine.premerge.classify import Classification, classify, failing
from policy_engine.premerge.git import Checkout

if TYPE_CHECKING:
    from policy_engine.compiler import ir


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


@dataclass(frozen=True)
class Revision:
    """One side of the comparison."""

    ref: str | None  # as the user named it; None for the working tree
    commit: str | None  # None only for the working tree of a repository without commits
    dirty: bool = False  # the working tree had uncommitted changes or untracked files
    evaluated: bool = True  # False: the repository was absent or could not be judged there

    @property
    def label(self) -> str:
        return self.ref if self.ref is not None else "working tree"


@dataclass(frozen=True)
class DiffResult:
    """The comparison, with the head's full evaluation for reporters that list controls."""

    repository: str
    base: Revision
    head: Revision
    policy_changed: bool
    result: CheckResult  # the head's
    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    notes: tuple[str, ...]
    fail_on: str
    fail_on_unchanged: bool
    loaded: LoadedPolicy  # the head's policy, with its warnings

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The findings that make the gate fail (exit status 1)."""
        return failing(
            Classification(self.new, self.fixed, self.unchanged),
            self.fail_on,
            self.fail_on_unchanged,
        )


def run_diff(request: DiffRequest) -> DiffResult:
    """Evaluate base and head with the head's policy and classify the findings."""
    checkout = git.checkout_of(request.repo)
    base_commit = git.resolve_commit(checkout.top, request.base)
    now = request.now or datetime.now(timezone.utc)
    with ExitStack() as stack:
        head_root, head = _head(stack, checkout, request)
        head_side = _Side.of(
            request, _Mapper(checkout, None if request.head is None else head_root), head_root
        )
        loaded = _load(head_side)
        assert loaded.policy is not None
        # The persistent hash cache is for the user's own files, not for temporary worktrees.
        head_result = api.check(
            loaded.policy, head_root, head_side.attestations, now, hash_cache=request.head is None
        )
        base_root = checkout.locate(stack.enter_context(git.worktree(checkout.top, base_commit)))
        base_side = _Side.of(request, _Mapper(checkout, base_root), base_root)
        changes = policy_changes(loaded, head_side.policies, base_side.policies, base_root)
        base_policy = rebase(loaded.policy, head_root, base_root)
        base_findings, base_note = _evaluate_base(base_policy, base_side, now)
    split = classify(base_findings, head_result.evaluation.findings)
    notes = (base_note, *_policy_notes(changes), _dirty_note(head))
    return DiffResult(
        repository=str(request.repo),
        base=Revision(request.base, base_commit, evaluated=base_note is None),
        head=head,
        policy_changed=bool(changes),
        result=head_result,
        new=split.new,
        fixed=split.fixed,
        unchanged=split.unchanged,
        notes=tuple(n for n in notes if n),
        fail_on=request.fail_on,
        fail_on_unchanged=request.fail_on_unchanged,
        loaded=loaded,
    )


@dataclass(frozen=True)
class _Side:
    """One revision's repository folder, and the policy and attestation paths in it."""

    root: Path
    policies: list[Path]
    attestations: list[Path]

    @classmethod
    def of(cls, request: DiffRequest, mapped: _Mapper, root: Path) -> _Side:
        policies = [mapped(p) for p in request.policies] or [root / DEFAULT_POLICY_DIR]
        return cls(root, policies, [mapped(p) for p in request.attestations])


def _head(stack: ExitStack, checkout: Checkout, request: DiffRequest) -> tuple[Path, Revision]:
    """The head's repository folder and revision: the working tree, or a worktree of a ref."""
    if request.head is None:
        commit = git.head_commit(checkout.top)
        return request.repo, Revision(None, commit, dirty=git.is_dirty(checkout))
    commit = git.resolve_commit(checkout.top, request.head)
    root = checkout.locate(stack.enter_context(git.worktree(checkout.top, commit)))
    if not root.is_dir():
        raise InputError(f"`{checkout.prefix}` does not exist at head `{request.head}`")
    return root, Revision(request.head, commit)


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


def _load(side: _Side) -> LoadedPolicy:
    loaded = api.load_policy(side.policies, side.root)
    if not loaded.ok:
        raise InvalidPolicy(loaded)
    return loaded


def _evaluate_base(
    policy: ir.PolicySet, side: _Side, now: datetime
) -> tuple[tuple[Finding, ...], str | None]:
    """The base's findings, or none and why, when the base cannot be judged.

    An absent or unjudgeable base makes every head finding new: the strictest reading.
    """
    if not side.root.is_dir():
        return (), "the repository folder does not exist at the base: every finding is new"
    try:
        result = api.check(policy, side.root, side.attestations, now, hash_cache=False)
    except InputError as error:
        return (), f"the base could not be evaluated ({error}): every finding is new"
    return result.evaluation.findings, None


def rebase(value: Any, old_root: Path, new_root: Path) -> Any:
    """``value`` (a compiled policy) with every path inside ``old_root`` moved to ``new_root``.

    Walks frozen dataclasses, tuples, lists and dicts; other values are kept as they are.
    """
    if isinstance(value, Path):
        old = os.path.abspath(old_root)
        here = os.path.abspath(value)
        if here == old or here.startswith(old + os.sep):
            return Path(new_root) / os.path.relpath(here, old)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: rebase(getattr(value, f.name), old_root, new_root)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, (set, frozenset)):
        return type(value)(rebase(v, old_root, new_root) for v in value)
    if isinstance(value, (tuple, list)):
        items = [rebase(v, old_root, new_root) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: rebase(v, old_root, new_root) for k, v in value.items()}
    return value


def policy_changes(
    head: LoadedPolicy, head_paths: Sequence[Path], base_paths: Sequence[Path], base_root: Path
) -> tuple[str, ...]:
    """What differs in the policy between base and head: policy files (imports included),
    then the trusted keys the head's policy names."""
    base_sources = _sources(base_paths, base_root)
    changed = sorted(
        name
        for name in base_sources.keys() | head.sources.keys()
        if base_sources.get(name) != head.sources.get(name)
    )
    return (*changed, *_key_changes(head, head_paths, base_root))


def _sources(paths: Sequence[Path], root: Path) -> dict[str, str]:
    """The policy texts under ``paths`` (imports included) by displayed name; none if absent."""
    from policy_engine.loader import load_files

    try:
        return load_files(paths, root).sources
    except InputError:
        return {}


def _key_changes(
    head: LoadedPolicy, head_paths: Sequence[Path], base_root: Path
) -> tuple[str, ...]:
    """The keys the head's policy names that are absent, or other key material, at the base."""
    assert head.policy is not None
    at_base = api.load_policy(head_paths, base_root)
    if at_base.policy is None or not at_base.ok:
        return ("the keys the policy trusts (unreadable at the base)",)
    ids = {name: key.keyid for name, key in at_base.policy.keys.items()}
    return tuple(
        f"key `{name}`"
        for name, key in sorted(head.policy.keys.items())
        if ids.get(name) != key.keyid
    )


def _policy_notes(changes: Sequence[str]) -> tuple[str, ...]:
    if not changes:
        return ()
    return (
        "the policy changed between base and head ("
        + ", ".join(changes)
        + "): both revisions were evaluated with the head's policy",
    )


def _dirty_note(head: Revision) -> str | None:
    if head.dirty:
        return "the working tree has uncommitted changes: they are part of the head"
    return None
