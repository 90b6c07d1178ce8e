"""What a layout's steps establish: distinct authorised signers of agreeing links, expiry.

For each step of a layout, its candidates are the links recording that step
name (and the sublayouts standing for it) found in the layout's link folder: a
sublayout's own folder, or for any other layout everywhere except sublayout
folders. A candidate counts for an authorised key (one of the step's
``pubkeys`` the layout declares with usable material) when its signature by
that key verifies; signatures by other keys are ignored, as in-toto does.
The threshold counts distinct keys (by the id computed from their material),
never signatures, and the counted links must record the same materials and
products.

Issues: a layout whose ``expires`` is at or before ``now`` is ``layout-expired``
(whoever signed it). A step short of its threshold, or whose links disagree,
is ``layout-threshold``, and a signature by an authorised key that does not
verify is ``bad-signature``: these step issues count only for a layout found
trusted (see :mod:`.trust`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from policy_engine.graph.builders.attestations.layouts import LoadedLayout
from policy_engine.graph.builders.attestations.links import LoadedLink
from policy_engine.graph.model import Evidence, Issue, Layout, LayoutStep
from policy_engine.keys import PublicKey, verify_with


@dataclass(frozen=True)
class Candidate:
    """A link or a sublayout that may stand for a step: its file, proof and artifacts."""

    file: str
    loaded: LoadedLink | LoadedLayout

    @property
    def artifacts(self) -> str | None:
        """The materials and products a link records (canonically), None for a sublayout."""
        if not isinstance(self.loaded, LoadedLink):
            return None
        att = self.loaded.attestation
        return json.dumps([att.materials, att.products], sort_keys=True)


def settle(
    loaded: LoadedLayout,
    links: Iterable[LoadedLink],
    layouts: Iterable[LoadedLayout],
) -> tuple[Layout, list[Issue]]:
    """The layout with its steps' signers, and its step issues (see the module docstring)."""
    layout = loaded.layout
    candidates = _candidates(loaded, links, layouts)
    issues: list[Issue] = []
    steps = []
    for step in layout.steps:
        settled, bad = _settle_step(loaded, step, candidates.get(step.name, []))
        steps.append(settled)
        issues += bad
        if not settled.satisfied:
            issues.append(_short(layout, settled))
    return replace(layout, steps=tuple(steps)), issues


def expiry_issues(layout: Layout, now: datetime) -> list[Issue]:
    """``layout-expired`` when the layout's ``expires`` is at or before ``now``."""
    if layout.expires is None or now < layout.expires:
        return []
    evidence = (Evidence("expires", layout.expires.isoformat(), layout.file),)
    message = f"layout `{layout.file}` expired at {layout.expires.isoformat()}"
    return [Issue("layout-expired", layout.file, message, evidence)]


def _in_folder(file: str, folder: str) -> bool:
    return file.startswith(folder.rstrip("/") + "/")


def _candidates(
    loaded: LoadedLayout, links: Iterable[LoadedLink], layouts: Iterable[LoadedLayout]
) -> dict[str, list[Candidate]]:
    layouts = list(layouts)
    folders = [x.link_dir for x in layouts if x.link_dir]
    own = loaded.link_dir

    def mine(file: str) -> bool:
        if own is not None:
            return _in_folder(file, own)
        return not any(_in_folder(file, f) for f in folders)

    found: dict[str, list[Candidate]] = {}
    for link in links:
        if mine(link.attestation.file):
            found.setdefault(link.attestation.step_name, []).append(
                Candidate(link.attestation.file, link)
            )
    for sub in layouts:
        if sub.layout.as_step and sub is not loaded and mine(sub.layout.file):
            found.setdefault(sub.layout.as_step, []).append(Candidate(sub.layout.file, sub))
    return found


def _settle_step(
    loaded: LoadedLayout, step: LayoutStep, candidates: list[Candidate]
) -> tuple[LayoutStep, list[Issue]]:
    authorised = {k: loaded.keys[k] for k in step.pubkeys if k in loaded.keys}
    signers: set[str] = set()
    counted: list[Candidate] = []
    issues: list[Issue] = []
    for candidate in sorted(candidates, key=lambda c: c.file):
        valid = _verified_keys(loaded, step, candidate, authorised, issues)
        if valid:
            signers |= valid
            counted.append(candidate)
    recorded = {c.artifacts for c in counted if c.artifacts is not None}
    settled = replace(
        step,
        links=tuple(c.file for c in counted),
        signers=frozenset(signers),
        agree=len(recorded) <= 1,
    )
    return settled, issues


def _verified_keys(
    loaded: LoadedLayout,
    step: LayoutStep,
    candidate: Candidate,
    authorised: dict[str, PublicKey],
    issues: list[Issue],
) -> set[str]:
    """Computed ids of the authorised keys whose signature on ``candidate`` verifies."""
    proof = candidate.loaded.proof
    assert proof is not None, "links are read with their signed bytes when there are layouts"
    valid: set[str] = set()
    for raw in proof.signatures:
        matched = [
            (layout_id, key)
            for layout_id, key in sorted(authorised.items())
            if not raw.keyid or raw.keyid == layout_id or raw.keyid in key.ids
        ]
        verified = next(
            (
                key
                for _, key in matched
                if raw.sig is not None and verify_with(key, raw.sig, proof.signed_bytes)
            ),
            None,
        )
        if verified is not None:
            valid.add(verified.keyid)
        elif matched and raw.keyid:
            issues.append(_bad(loaded, step, candidate, matched[0][0]))
    return valid


def _bad(loaded: LoadedLayout, step: LayoutStep, candidate: Candidate, layout_id: str) -> Issue:
    message = (
        f"a signature on `{candidate.file}` by key `{layout_id[:12]}`, authorised for step "
        f"`{step.name}` of layout `{loaded.layout.file}`, is invalid"
    )
    evidence = (Evidence("file", candidate.file), Evidence("layout", loaded.layout.file))
    return Issue("bad-signature", candidate.file, message, evidence)


def _short(layout: Layout, step: LayoutStep) -> Issue:
    have = len(step.signers)
    if not step.agree:
        why = "the links of its authorised functionaries record different artifacts"
    else:
        why = f"{have} distinct authorised key(s) signed links that verify"
    message = (
        f"step `{step.name}` of layout `{layout.file}` needs {step.threshold} distinct "
        f"authorised signer(s): {why}"
    )
    evidence = tuple(Evidence("counted link", f) for f in step.links) or (
        Evidence("links found", "none"),
    )
    return Issue("layout-threshold", layout.file, message, evidence)
