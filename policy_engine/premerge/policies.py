"""Which policy judges both revisions of a diff, and how the policy changed between them.

By default the base's policy and the keys it trusts judge both revisions: what
was reviewed and merged, which the change cannot weaken. The head's policy
judges when asked (``--policy-from head``), when the base has no policy (the
change that adopts mlpolicy), and when the base's policy cannot be loaded (the
base is then not judged). Any difference in the policy files or in the key
material of the keys they name is a :class:`PolicyChange`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from policy_engine import api
from policy_engine.compiler.ir import Location
from policy_engine.errors import InputError
from policy_engine.loader import POLICY_SUFFIX
from policy_engine.results import LoadedPolicy, PolicyChange

if TYPE_CHECKING:
    from policy_engine.compiler import ir

_NOWHERE = Location("", 0, 0)


@dataclass(frozen=True)
class RevisionPolicy:
    """A revision's policy as found: loaded (maybe with errors), absent, or unreadable."""

    loaded: LoadedPolicy | None  # None: no policy file at this revision, or unreadable
    problem: str | None = None  # why it cannot judge: invalid or unreadable

    @property
    def usable(self) -> bool:
        return self.loaded is not None and self.loaded.policy is not None and self.problem is None


@dataclass(frozen=True)
class Judge:
    """The policy that judges both revisions, compiled at ``root`` (its own revision)."""

    loaded: LoadedPolicy
    root: Path
    source: str  # "base" | "head"
    change: PolicyChange | None
    base_problem: str | None  # why the base cannot be judged, when its policy is the cause

    @property
    def policy(self) -> ir.PolicySet:
        assert self.loaded.policy is not None
        return self.loaded.policy

    def at(self, root: Path) -> ir.PolicySet:
        """The judging policy, its paths moved into the repository folder ``root``."""
        return cast("ir.PolicySet", rebase(self.policy, self.root, root))


def load_revision(paths: Sequence[Path], root: Path) -> RevisionPolicy:
    """The policy under ``paths`` at one revision (``root``): loaded, absent or refused."""
    if not _has_policy(paths):
        return RevisionPolicy(None)
    try:
        loaded = api.load_policy(paths, root)
    except InputError as error:
        return RevisionPolicy(None, f"could not be read ({error})")
    if not loaded.ok:
        return RevisionPolicy(loaded, "is invalid")
    return RevisionPolicy(loaded)


def _has_policy(paths: Sequence[Path]) -> bool:
    return any(p.is_file() or (p.is_dir() and any(p.rglob(f"*{POLICY_SUFFIX}"))) for p in paths)


def choose(
    head: LoadedPolicy, head_root: Path, base: RevisionPolicy, base_root: Path, policy_from: str
) -> Judge:
    """The judging policy: the base's when asked and usable, else the head's (``head`` is valid)."""
    change = policy_change(head, base)
    if policy_from == "base" and base.usable:
        assert base.loaded is not None
        return Judge(base.loaded, base_root, "base", change, None)
    problem = None
    if policy_from == "base" and base.problem is not None:
        problem = f"the base's policy {base.problem}"
    return Judge(head, head_root, "head", change, problem)


def policy_change(head: LoadedPolicy, base: RevisionPolicy) -> PolicyChange | None:
    """What differs between the base's policy and the head's; None when nothing does."""
    base_sources = base.loaded.sources if base.loaded is not None else {}
    files = tuple(
        sorted(
            name
            for name in base_sources.keys() | head.sources.keys()
            if base_sources.get(name) != head.sources.get(name)
        )
    )
    base_policy = base.loaded.policy if base.loaded is not None else None
    keys = _key_changes(base_policy, head.policy)
    if not files and not keys:
        return None
    added, removed, changed = _control_changes(base_policy, head.policy)
    return PolicyChange(files, keys, added, removed, changed, base.loaded is not None)


def _key_changes(base: ir.PolicySet | None, head: ir.PolicySet | None) -> tuple[str, ...]:
    """Key names trusted on one side only, or with other key material (ids from the material)."""
    if base is None or head is None:
        return ()
    names = base.keys.keys() | head.keys.keys()
    return tuple(
        sorted(name for name in names if _keyid(base.keys.get(name)) != _keyid(head.keys.get(name)))
    )


def _keyid(key: Any) -> str | None:
    return None if key is None else str(key.keyid)


def _control_changes(
    base: ir.PolicySet | None, head: ir.PolicySet | None
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Control ids added, removed and changed (anything but their locations) by the head."""
    if head is None:
        return (), (), ()
    before = {c.id: strip_locations(c) for c in base.controls} if base is not None else {}
    after = {c.id: strip_locations(c) for c in head.controls}
    added = tuple(sorted(after.keys() - before.keys()))
    removed = tuple(sorted(before.keys() - after.keys()))
    changed = tuple(sorted(i for i in before.keys() & after.keys() if before[i] != after[i]))
    return added, removed, changed


def strip_locations(value: Any) -> Any:
    """``value`` with every policy location blanked, so that moved text compares equal."""
    return transform(value, lambda v: _NOWHERE if isinstance(v, Location) else v)


def rebase(value: Any, old_root: Path, new_root: Path) -> Any:
    """``value`` (a compiled policy) with every path inside ``old_root`` moved to ``new_root``."""
    old = os.path.abspath(old_root)

    def move(leaf: Any) -> Any:
        if not isinstance(leaf, Path):
            return leaf
        here = os.path.abspath(leaf)
        if here == old or here.startswith(old + os.sep):
            return Path(new_root) / os.path.relpath(here, old)
        return leaf

    return transform(value, move)


def transform(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """``value`` with ``leaf`` applied to every value in it; ``leaf`` returning another object
    replaces that value. Walks frozen dataclasses, tuples, lists, sets and dicts."""
    replaced = leaf(value)
    if replaced is not value:
        return replaced
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: transform(getattr(value, f.name), leaf)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, (set, frozenset)):
        return type(value)(transform(v, leaf) for v in value)
    if isinstance(value, (tuple, list)):
        items = [transform(v, leaf) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: transform(v, leaf) for k, v in value.items()}
    return value
