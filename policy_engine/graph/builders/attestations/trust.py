"""Which layouts are trusted: signed by every owner key the policy names, or delegated to.

A layout whose path matches a policy's `layout "GLOB" owned by ROLE` is trusted
when every key of ROLE (of every declaration matching it) signed it and the
signature verified. A sublayout (``<step>.<keyid8>.link``) is trusted when a
trusted layout counted it for the step it stands for, that is when a
functionary key of that step signed it: trust passes down only through the
delegating step's keys, as in-toto-verify does. Every other layout is an
``untrusted-layout`` issue (unsigned, signed by keys the policy does not name
as its owners, an owner's signature invalid or missing, or no trusted layout
delegating to it); its steps authorise nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from policy_engine import globs
from policy_engine.graph.builders import LayoutOwners
from policy_engine.graph.model import Evidence, Issue, Layout


def trusted_files(layouts: Iterable[Layout], owners: tuple[LayoutOwners, ...]) -> set[str]:
    """The files of the trusted layouts: owned ones, then those they delegate to."""
    by_file = {x.file: x for x in layouts}
    trusted = {
        f for f, x in by_file.items() if _owned_by_keys(x, owners) and not _missing(x, owners)
    }
    frontier = sorted(trusted)
    while frontier:
        for step in by_file[frontier.pop()].steps:
            for file in step.links:
                sub = by_file.get(file)
                if sub is not None and sub.as_step == step.name and file not in trusted:
                    trusted.add(file)
                    frontier.append(file)
    return trusted


def _owned(layout: Layout, owners: tuple[LayoutOwners, ...]) -> list[LayoutOwners]:
    return [o for o in owners if globs.matches(o.glob, layout.file)]


def _owned_by_keys(layout: Layout, owners: tuple[LayoutOwners, ...]) -> bool:
    """Some declaration names the layout's owners, and each names at least one key."""
    named = _owned(layout, owners)
    return bool(named) and all(o.keyids for o in named)


def _missing(layout: Layout, owners: tuple[LayoutOwners, ...]) -> list[tuple[str, str]]:
    """(role, keyid) of every owner key whose valid signature the layout lacks."""
    return [
        (o.role, keyid)
        for o in _owned(layout, owners)
        for keyid in sorted(o.keyids - layout.signers)
    ]


def untrusted_issue(layout: Layout, owners: tuple[LayoutOwners, ...]) -> Issue:
    """Why ``layout`` is not trusted, with its signatures as evidence."""
    missing = _missing(layout, owners)
    if missing:
        names = ", ".join(f"`{keyid[:12]}` of role `{role}`" for role, keyid in missing)
        why = f"it lacks a valid signature by owner key(s) {names}"
    elif layout.as_step:
        why = f"no trusted layout counts it, signed by a functionary of step `{layout.as_step}`"
    else:
        why = 'the policy names no owner for it (declare `layout "GLOB" owned by ROLE`)'
    evidence = [Evidence("file", layout.file)]
    evidence += [
        Evidence("signature", f"{s.keyid[:12] or '(no keyid)'}: {s.status.value}", layout.file)
        for s in layout.signatures
    ] or [Evidence("signatures", "none")]
    evidence += [Evidence("owner key", f"{keyid} (role {role})") for role, keyid in missing]
    message = f"layout `{layout.file}` is not trusted: {why}; its steps authorise nothing"
    return Issue("untrusted-layout", layout.file, message, tuple(evidence))
