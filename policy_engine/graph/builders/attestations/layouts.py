"""In-toto layouts (classic Metablock or DSSE) as typed facts; inspections are never run.

The layout is validated with in-toto's own model (``Layout.read``) and its
facts are read from the document as signed (so fields in-toto's Python model
does not know, such as in-toto-golang's ``cert_constraints``, do not break the
signature). Its signatures are checked against the trusted keys like a link's.

Each functionary key is parsed from its material; its usable id is computed
from it. A key whose id in the layout is not one computed from its material is
a ``key-id-mismatch`` issue and authorises nothing; a key of a type we cannot
verify (GPG, unsupported curves) authorises nothing either.

A layout stored as ``<step>.<keyid8>.link`` is a sublayout standing for
``<step>`` of another layout (``Layout.as_step``); its links are looked for in
the folder ``<step>.<keyid8>/`` beside it, as in-toto does.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from policy_engine.graph.builders.attestations.envelopes import Signed
from policy_engine.graph.builders.attestations.linknames import name_issues
from policy_engine.graph.builders.attestations.links import in_toto_call
from policy_engine.graph.builders.attestations.signatures import check_signatures
from policy_engine.graph.builders.attestations.timestamps import parse_time
from policy_engine.graph.model import (
    Evidence,
    Issue,
    Layout,
    LayoutInspection,
    LayoutKey,
    LayoutStep,
)
from policy_engine.keys import KeyLoadError, Keyring, PublicKey, parse_public_key

_T = TypeVar("_T")

SUBLAYOUT_NAME = re.compile(r"(?:^|/)(?P<step>[^/]+)\.(?P<keyid>[0-9a-f]{8})\.link$")


@dataclass(frozen=True)
class LoadedLayout:
    """A layout read from a file: the fact, its usable keys, its issues, what was signed."""

    layout: Layout
    keys: dict[str, PublicKey]  # usable functionary keys, by the id the layout gives
    proof: Signed  # signed bytes and raw signatures (a sublayout is checked like a link)
    issues: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def link_dir(self) -> str | None:
        """For a sublayout, the folder (display path) where its links are: ``<step>.<keyid8>``."""
        return self.layout.file[: -len(".link")] if self.layout.as_step else None


def load_layout(signed: Signed, file: str, where: str, keyring: Keyring) -> LoadedLayout:
    """Validate the layout payload of ``signed``; check its signatures; read its facts."""
    from in_toto.models.layout import Layout as InTotoLayout

    document = signed.payload
    in_toto_call(lambda: InTotoLayout.read(copy.deepcopy(document)), where, "layout")
    issues: list[Issue] = []
    checks, bad = check_signatures(keyring, signed, file, f"layout `{file}`")
    issues += bad
    issues += name_issues(file, None, keyring, checks)
    keys, layout_keys = _keys(document.get("keys") or {}, file, issues)
    expires = document.get("expires")
    match = SUBLAYOUT_NAME.search(file)
    layout = Layout(
        file=file,
        envelope=signed.envelope,
        signatures=checks,
        keys=layout_keys,
        steps=in_toto_call(lambda: _steps(document, "steps", _step), where, "layout"),
        inspections=in_toto_call(lambda: _steps(document, "inspect", _inspection), where, "layout"),
        expires=parse_time(expires, where, "expires") if expires is not None else None,
        readme=str(document.get("readme") or ""),
        as_step=match["step"] if match else "",
    )
    notes = () if expires is not None else (f"{file}: the layout has no `expires`",)
    return LoadedLayout(layout, keys, replace(signed, payload=None), tuple(issues), notes)


def _keys(
    declared: dict[str, Any], file: str, issues: list[Issue]
) -> tuple[dict[str, PublicKey], dict[str, LayoutKey]]:
    usable: dict[str, PublicKey] = {}
    facts: dict[str, LayoutKey] = {}
    for keyid, material in sorted(declared.items()):
        keytype, scheme = str(material.get("keytype", "")), str(material.get("scheme", ""))
        try:
            key = parse_public_key(json.dumps(material).encode("utf-8"))
        except KeyLoadError as exc:
            facts[keyid] = LayoutKey(keyid, keytype, scheme, problem=f"unsupported key: {exc}")
            continue
        if keyid not in key.ids:
            problem = "the key id is not computed from this key's material"
            facts[keyid] = LayoutKey(keyid, keytype, scheme, problem=problem)
            evidence = (Evidence("file", file), Evidence("computed keyid", key.keyid))
            message = f"layout `{file}` names key `{keyid}`, which is not that key's id"
            issues.append(Issue("key-id-mismatch", file, message, evidence))
            continue
        usable[keyid] = key
        facts[keyid] = LayoutKey(keyid, key.keytype, key.scheme, computed=key.keyid)
    return usable, facts


def _rules(rules: Any) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(word) for word in rule) for rule in rules or ())


def _steps(document: dict[str, Any], field: str, read: Callable[[Any], _T]) -> tuple[_T, ...]:
    """The steps (or inspections) of a layout; a malformed one raises for ``in_toto_call``."""
    return tuple(read(item) for item in document.get(field) or ())


def _step(step: dict[str, Any]) -> LayoutStep:
    return LayoutStep(
        name=step["name"],
        pubkeys=tuple(step.get("pubkeys") or ()),
        threshold=int(step.get("threshold", 1)),
        expected_command=tuple(str(w) for w in step.get("expected_command") or ()),
        expected_materials=_rules(step.get("expected_materials")),
        expected_products=_rules(step.get("expected_products")),
    )


def _inspection(inspection: dict[str, Any]) -> LayoutInspection:
    return LayoutInspection(
        name=inspection["name"],
        run=tuple(str(w) for w in inspection.get("run") or ()),
        expected_materials=_rules(inspection.get("expected_materials")),
        expected_products=_rules(inspection.get("expected_products")),
    )
