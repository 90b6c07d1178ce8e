"""A small, obviously correct evaluator for a core of the language, to check the real one.

It recomputes everything from the graph spec by brute force: no indexes, no
caching, one path search per subject. Only for tiny graphs.
"""

from __future__ import annotations

from policy_engine import globs
from policy_engine.compiler import ir
from policy_engine.testing.spec import GraphSpec


def _links(spec: GraphSpec, step: str):
    return [a for a in spec.attestations if a.kind == "link" and a.step == step]


def _valid_signers(att, policy: ir.PolicySet) -> set[str]:
    return {policy.keys[name].keyid for name in att.signed_by}


def _workspace_has(spec: GraphSpec, path: str, digest: dict[str, str]) -> bool:
    current = spec.workspace.get(path, {})
    return any(current.get(a) == v and v for a, v in digest.items())


def signed_by(p: ir.SignedBy, path: str, spec: GraphSpec, policy: ir.PolicySet) -> bool:
    if path not in spec.workspace:
        return False
    keys: set[str] = set()
    for att in spec.attestations:
        if path in att.products and _workspace_has(spec, path, att.products[path]):
            keys |= _valid_signers(att, policy) & p.role.keyids
    return len(keys) >= p.threshold


def performed_by(p: ir.PerformedBy, step: str, spec: GraphSpec, policy: ir.PolicySet) -> bool:
    links = _links(spec, step)
    if not links:
        return False
    for att in links:
        signers = _valid_signers(att, policy)
        if not signers or not signers <= p.role.keyids:
            return False
    return True


def _recorded(spec: GraphSpec, step: str, path: str, side: str) -> list[dict[str, str]]:
    records = []
    for s in spec.steps:
        if s.name == step:
            table = s.inputs if side == "in" else s.outputs
            if path in table:
                records.append(table[path])
    for att in _links(spec, step):
        table = att.materials if side == "in" else att.products
        if path in table:
            records.append(table[path])
    return records


def _producers(spec: GraphSpec, path: str) -> list[str]:
    return [s.name for s in spec.steps if path in s.outputs]


def _edge_ok(spec: GraphSpec, u: tuple[str, str], v: tuple[str, str]) -> bool:
    """Whether the flow edge u -> v (("a", path) or ("s", step)) is valid."""
    if u[0] == "s":  # output edge
        return any(d for d in _recorded(spec, u[1], v[1], "out"))
    consumed = [d for d in _recorded(spec, v[1], u[1], "in") if d]
    if not consumed:
        return False
    producers = _producers(spec, u[1])
    if not producers:
        return True
    produced = [d for p in producers for d in _recorded(spec, p, u[1], "out")]
    for algorithm in {a for d in consumed for a in d} & {a for d in produced for a in d}:
        used = {d[algorithm] for d in consumed if algorithm in d}
        made = {d[algorithm] for d in produced if algorithm in d}
        if not used & made:
            return False
    common = {a for d in consumed for a in d} & {a for d in produced for a in d}
    return bool(common)


def _edges(spec: GraphSpec) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    edges = []
    for s in spec.steps:
        edges += [(("a", p), ("s", s.name)) for p in s.inputs]
        edges += [(("s", s.name), ("a", p)) for p in s.outputs]
    return edges


def derives_from(p: ir.DerivesFrom, path: str, spec: GraphSpec, policy: ir.PolicySet) -> bool:
    patterns = next(f.globs for f in p.sources.filters if isinstance(f, ir.Matching))
    valid = [(u, v) for u, v in _edges(spec) if _edge_ok(spec, u, v)]
    nodes = {n for e in _edges(spec) for n in e} | {("a", a) for a in all_artifacts(spec)}
    sources = [n for n in nodes if n[0] == "a" and globs.matches_any(patterns, n[1])]

    def reaches(start: tuple[str, str]) -> bool:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            for u, v in valid:
                if u == node and v not in seen:
                    if v == ("a", path):
                        return True
                    seen.add(v)
                    stack.append(v)
        return False

    return any(reaches(s) for s in sources)


def all_artifacts(spec: GraphSpec) -> set[str]:
    paths = set(spec.workspace) | set(spec.sources)
    for s in spec.steps:
        paths |= set(s.inputs) | set(s.outputs)
    for att in spec.attestations:
        paths |= set(att.materials) | set(att.products) | set(att.subjects)
    return paths


def holds(p: ir.Predicate, subject: str, spec: GraphSpec, policy: ir.PolicySet) -> bool:
    if isinstance(p, ir.AllOf):
        return all(holds(i, subject, spec, policy) for i in p.items)
    if isinstance(p, ir.AnyOf):
        return any(holds(i, subject, spec, policy) for i in p.items)
    if isinstance(p, ir.Not):
        return not holds(p.item, subject, spec, policy)
    function = {ir.SignedBy: signed_by, ir.PerformedBy: performed_by, ir.DerivesFrom: derives_from}
    return function[type(p)](p, subject, spec, policy)


def subjects(selector: ir.Selector, spec: GraphSpec) -> list[str]:
    patterns = next((f.globs for f in selector.filters if isinstance(f, ir.Matching)), ("**",))
    names = {s.name for s in spec.steps} if selector.subject == "steps" else all_artifacts(spec)
    return sorted(n for n in names if globs.matches_any(patterns, n))


def findings(policy: ir.PolicySet, spec: GraphSpec) -> set[tuple[str, str]]:
    """(control, subject) of every finding, with the quantifiers' meaning spelled out."""
    out: set[tuple[str, str]] = set()
    for control in policy.controls:
        for rule in control.rules:
            chosen = subjects(rule.selector, spec)
            verdicts = {s: holds(rule.predicate, s, spec, policy) for s in chosen}
            if rule.quantifier == "every":
                out |= {(control.id, s) for s, ok in verdicts.items() if not ok}
                if not chosen:
                    out.add((control.id, "<selection>"))
            elif rule.quantifier == "no":
                out |= {(control.id, s) for s, ok in verdicts.items() if ok}
            elif sum(verdicts.values()) < rule.count:
                out.add((control.id, "<selection>"))
    return out
