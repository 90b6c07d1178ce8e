"""Reading a supply chain from disk: the layout, its keys and its links, as in-toto finds them.

Links are looked up, never searched for: for each step of a layout and each key
authorised for it, the file ``<step>.<first 8 hex digits of the key id>.link``
in the link folder. A file there that holds a layout is a sublayout; its own
links are in the folder ``<step>.<keyid8>/`` beside it, and it is trusted with
the delegating key only. Every signature is checked once, here, and the outcome
recorded on the facts; judging them is :mod:`.check`'s job.

A layout or link that cannot be read or is malformed becomes a problem of the
chain (in-toto fails such a verification too); keys that cannot be read are an
``InputError`` (the run cannot be judged).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from policy_engine import gpgkeys
from policy_engine.errors import InputError
from policy_engine.intoto.model import Artifacts, Chain, Inspection, Layout, LinkFile, Step
from policy_engine.intoto.rules import RuleFormatError, parse_rule
from policy_engine.keys import KeyLoadError, PublicKey, parse_public_key
from policy_engine.supplychain import documents
from policy_engine.supplychain.documents import LayoutError
from policy_engine.supplychain.halves import map_halves

MAX_DEPTH = 8  # sublayouts within sublayouts


def load_verification_keys(
    paths: tuple[Path, ...], gpg: tuple[str, ...] = (), gpg_home: str | None = None
) -> dict[str, PublicKey]:
    """The keys that must each have signed the root layout, by their computed id; GPG keys
    (``gpg``) exported from the keyring at ``gpg_home`` with the gpg binary."""
    keys: dict[str, PublicKey] = gpgkeys.export(gpg, gpg_home) if gpg else {}
    for path in paths:
        try:
            key = gpgkeys.load_key(path)
        except KeyLoadError as exc:
            raise InputError(f"cannot use verification key: {exc}", str(path)) from None
        keys[key.keyid] = key
    return keys


def load_chain(
    path: Path, display: str, keys: dict[str, PublicKey], link_dir: Path, depth: int = 0
) -> Chain:
    """The layout at ``path`` (signatures checked with ``keys``) and the links of its steps.

    Raises :class:`LayoutError` when the layout cannot be read or is invalid.
    """
    try:
        signed = documents.read_signed(path, display)
    except InputError as exc:
        raise LayoutError(str(exc)) from None
    return chain_of(signed, display, keys, link_dir, depth)


def chain_of(
    signed: documents.SignedDocument,
    display: str,
    keys: dict[str, PublicKey],
    link_dir: Path,
    depth: int,
) -> Chain:
    """The chain of an already opened layout document."""
    layout = read_layout(signed, display, keys)
    shared = _SharedArtifacts()
    found = _found(layout, link_dir)
    read = map_halves(
        lambda each: shared.link_file(_link_file(layout, *each, depth)),
        found,
        [_size(path) for _, _, path in found],
    )
    links: dict[str, tuple[LinkFile, ...]] = {step.name: () for step in layout.steps}
    for file in read:
        links[file.step] += (file,)
    return Chain(layout, str(link_dir), links)


class _SharedArtifacts:
    """Links whose materials equal the products of the link read before them (a chain's
    usual shape) hold that one dict: the copy just read is freed, and its memory reused
    for the next link, instead of keeping every artifact's digests twice."""

    def __init__(self) -> None:
        self.products: Artifacts | None = None

    def link_file(self, found: LinkFile) -> LinkFile:
        """``found``, its link holding the previous products when its materials equal them."""
        link = found.link
        if link is None:
            return found
        if link.materials and link.materials == self.products:
            link = replace(link, materials=self.products)
            found = replace(found, link=link)
        self.products = link.products
        return found


def read_layout(signed: documents.SignedDocument, file: str, keys: dict[str, PublicKey]) -> Layout:
    """The layout facts of ``signed``; which of ``keys`` verifiably signed it."""
    document = signed.payload
    if not isinstance(document, dict) or document.get("_type") != "layout":
        raise LayoutError(f"{file}: not an in-toto layout")
    verified, problems = documents.signed_by(signed, keys)
    usable, key_problems = _functionary_keys(document.get("keys"), file)
    try:
        steps = tuple(_step(s) for s in _list(document, "steps"))
        inspections = tuple(_inspection(i) for i in _list(document, "inspect"))
    except (KeyError, TypeError, ValueError) as exc:
        raise LayoutError(f"{file}: invalid layout: {exc}") from None
    _unique(file, [s.name for s in steps] + [i.name for i in inspections])
    return Layout(
        file=file,
        envelope=signed.envelope,
        expires=documents.expiry(document, file),
        steps=steps,
        inspections=inspections,
        keys=usable,
        verified_by=verified,
        signature_problems=problems,
        key_problems=key_problems,
    )


def _list(document: dict[str, Any], field: str) -> list[Any]:
    value = document.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"`{field}` must be a list of objects")
    return value


def _unique(file: str, names: list[str]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise LayoutError(f"{file}: invalid layout: step and inspection names repeat: {repeated}")


def _functionary_keys(declared: Any, file: str) -> tuple[dict[str, PublicKey], dict[str, str]]:
    """Usable keys by the layout's id; why the others are not (unparseable, GPG, id mismatch)."""
    if not isinstance(declared, dict):
        raise LayoutError(f"{file}: invalid layout: `keys` must be an object")
    usable: dict[str, PublicKey] = {}
    problems: dict[str, str] = {}
    for keyid, material in sorted(declared.items()):
        if isinstance(material, dict) and gpgkeys.is_gpg(material):
            _gpg_keys(keyid, material, usable, problems)
            continue
        try:
            key = parse_public_key(json.dumps(material).encode("utf-8"))
        except KeyLoadError as exc:
            problems[keyid] = f"unsupported key: {exc}"
            continue
        if keyid not in key.ids:
            problems[keyid] = f"the key id is not computed from its material ({key.keyid})"
            continue
        usable[keyid] = key
    return usable, problems


def _gpg_keys(
    keyid: str, material: dict[str, Any], usable: dict[str, PublicKey], problems: dict[str, str]
) -> None:
    """A GPG key and its subkeys (see :mod:`policy_engine.gpgkeys`), or why it is unusable."""
    try:
        for each, key in gpgkeys.from_material(keyid, material).items():
            usable.setdefault(each, key)
    except KeyLoadError as exc:
        problems[keyid] = f"unsupported GPG key: {exc}"


def _rules(value: Any) -> tuple[tuple[str, ...], ...]:
    rules = tuple(tuple(rule) for rule in value or ())
    for rule in rules:
        parse_rule(rule)  # RuleFormatError is a ValueError: the layout is invalid
    return tuple(tuple(str(w) for w in rule) for rule in rules)


def _words(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise TypeError(f"`{field}` must be a list of strings")
    return tuple(value)


def _name(item: dict[str, Any]) -> str:
    name = item["name"]
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"`{name}` is not a step name (a non-empty file name part)")
    return name


def _step(step: dict[str, Any]) -> Step:
    threshold = step.get("threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ValueError(f"the threshold of `{step.get('name')}` must be a positive integer")
    return Step(
        name=_name(step),
        pubkeys=_words(step.get("pubkeys", []), "pubkeys"),
        threshold=threshold,
        expected_command=_words(step.get("expected_command", []), "expected_command"),
        expected_materials=_rules(step.get("expected_materials")),
        expected_products=_rules(step.get("expected_products")),
    )


def _inspection(inspection: dict[str, Any]) -> Inspection:
    return Inspection(
        name=_name(inspection),
        run=_words(inspection.get("run", []), "run"),
        expected_materials=_rules(inspection.get("expected_materials")),
        expected_products=_rules(inspection.get("expected_products")),
    )


def _found(layout: Layout, link_dir: Path) -> list[tuple[Step, str, Path]]:
    """(step, key id, path) of each link file present, in the layout's order."""
    found = []
    for step in layout.steps:
        for keyid in step.pubkeys:
            path = link_dir / f"{step.name}.{keyid[:8]}.link"
            if path.is_file():
                found.append((step, keyid, path))
    return found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reading it reports why


def _link_file(layout: Layout, step: Step, keyid: str, path: Path, depth: int) -> LinkFile:
    file = str(path)
    try:
        signed = documents.read_signed(path, file)
    except InputError as exc:
        return LinkFile(file, step.name, keyid, False, f"unreadable: {exc.message}")
    key = layout.keys.get(keyid)
    if key is None:
        reason = layout.key_problems.get(keyid, "the layout does not list this key")
        return LinkFile(file, step.name, keyid, False, f"key `{keyid[:12]}` is unusable: {reason}")
    verified, problems = documents.signed_by(signed, {keyid: key})
    problem = problems.get(keyid, "")
    payload = signed.payload
    kind = payload.get("_type") if isinstance(payload, dict) else None
    if kind == "layout":
        return _sublayout(signed, file, step, keyid, key, path, depth, bool(verified), problem)
    try:
        link = documents.link_of(payload)
    except (TypeError, ValueError) as exc:
        return LinkFile(file, step.name, keyid, False, f"not a valid link: {exc}")
    principal = gpgkeys.principal(key)
    return LinkFile(file, step.name, keyid, bool(verified), problem, link=link, principal=principal)


def _sublayout(
    signed: documents.SignedDocument,
    file: str,
    step: Step,
    keyid: str,
    key: PublicKey,
    path: Path,
    depth: int,
    verified: bool,
    problem: str,
) -> LinkFile:
    if depth >= MAX_DEPTH:
        return LinkFile(file, step.name, keyid, False, f"sublayouts nest deeper than {MAX_DEPTH}")
    sub_dir = path.parent / f"{step.name}.{keyid[:8]}"
    try:
        chain = chain_of(signed, file, {keyid: key}, sub_dir, depth + 1)
    except LayoutError as exc:
        return LinkFile(file, step.name, keyid, False, f"invalid sublayout: {exc}")
    return LinkFile(file, step.name, keyid, verified, problem, sublayout=chain)


__all__ = ["LayoutError", "RuleFormatError", "load_chain", "load_verification_keys"]
