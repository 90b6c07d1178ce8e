"""in-toto's artifact rules: parsed from their words, judged with its firewall semantics (pure).

The rules of a step's ``expected_materials`` (or ``expected_products``) run in
order over a queue holding every path of those artifacts. A rule consumes the
paths it accepts (MATCH, CREATE, DELETE, MODIFY, ALLOW), so a later rule no
longer sees them (first match consumes); DISALLOW fails on any path still
queued that it matches, REQUIRE when its path is no longer queued. Paths left
over are allowed (an implicit ``ALLOW *``). Patterns are shell globs
(``fnmatch``, case-sensitive, ``*`` also matches ``/``).

    MATCH <pattern> [IN <source-prefix>] WITH (MATERIALS|PRODUCTS) [IN <dest-prefix>] FROM <step>
    CREATE|DELETE|MODIFY|ALLOW|DISALLOW <pattern>
    REQUIRE <path>
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import operator
import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from policy_engine.intoto.model import Artifacts, Link, Problem

GENERIC = frozenset({"create", "delete", "modify", "allow", "disallow", "require"})
MAX_LISTED = 10


class RuleFormatError(ValueError):
    """A rule that is not one of in-toto's forms (see the module doc)."""


@dataclass(frozen=True)
class Rule:
    """One parsed artifact rule; ``words`` as written, for messages."""

    kind: str  # lower case: match, create, delete, modify, allow, disallow, require
    pattern: str
    words: tuple[str, ...]
    source_prefix: str = ""
    dest_type: str = ""  # materials | products (MATCH only)
    dest_prefix: str = ""
    dest_name: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.words)


# MATCH forms by length: keyword positions; indexes of (src prefix, type, dst prefix, step)
_MATCH_FORMS: dict[int, tuple[dict[int, str], tuple[int | None, int, int | None, int]]] = {
    10: ({2: "in", 4: "with", 6: "in", 8: "from"}, (3, 5, 7, 9)),
    6: ({2: "with", 4: "from"}, (None, 3, None, 5)),
}
_MATCH_EIGHT = (
    ({2: "in", 4: "with", 6: "from"}, (3, 5, None, 7)),
    ({2: "with", 4: "in", 6: "from"}, (None, 3, 5, 7)),
)


def parse_rule(words: Iterable[object]) -> Rule:
    """The rule of ``words`` (keywords in any case); raises :class:`RuleFormatError`."""
    rule = tuple(words)
    if not all(isinstance(w, str) for w in rule):
        raise RuleFormatError(f"a rule is a list of strings: {list(rule)!r}")
    text = tuple(str(w) for w in rule)
    lower = [w.lower() for w in text]
    if len(text) < 2 or lower[0] not in GENERIC | {"match"}:
        raise RuleFormatError(f"a rule starts with a rule type and a pattern: `{' '.join(text)}`")
    if lower[0] in GENERIC:
        if len(text) != 2:
            raise RuleFormatError(f"a {text[0]} rule is `{text[0]} <pattern>`: `{' '.join(text)}`")
        return Rule(lower[0], text[1], text)
    return _match_rule(text, lower)


def _match_rule(text: tuple[str, ...], lower: list[str]) -> Rule:
    forms = _MATCH_EIGHT if len(text) == 8 else (_MATCH_FORMS.get(len(text)),)
    for form in forms:
        if form and all(lower[i] == word for i, word in form[0].items()):
            src, kind, dst, step = form[1]
            if lower[kind] not in ("materials", "products"):
                break
            return Rule(
                "match",
                text[1],
                text,
                text[src] if src else "",
                lower[kind],
                text[dst] if dst else "",
                text[step],
            )
    raise RuleFormatError(
        "a MATCH rule is `MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) "
        f"[IN <prefix>] FROM <step>`: `{' '.join(text)}`"
    )


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile(fnmatch.translate(pattern)).match


def matching(paths: Iterable[str], pattern: str) -> list[str]:
    """The paths ``pattern`` matches (as ``fnmatch.filter`` on POSIX), in their order."""
    if pattern == "*":
        return list(paths)
    match = _glob(pattern)
    return [p for p in paths if match(p)]


def check_rules(
    item: str, source_type: str, rules: Iterable[Rule], links: Mapping[str, Link]
) -> list[Problem]:
    """Every rule of ``item``'s ``source_type`` (materials | products) over its link's artifacts.

    ``links`` holds one link per step (and per inspection run) by name.
    """
    link = links[item]
    artifacts = link.materials if source_type == "materials" else link.products
    queue = set(artifacts)
    problems: list[Problem] = []
    for rule in rules:
        consumed, problem = _apply(rule, queue, artifacts, link, links)
        queue.difference_update(consumed)
        if problem:
            problems.append(_problem(item, source_type, rule, problem))
    return problems


def _apply(
    rule: Rule, queue: set[str], artifacts: Artifacts, link: Link, links: Mapping[str, Link]
) -> tuple[Collection[str], list[str]]:
    """(paths consumed, paths that fail the rule)."""
    kind = rule.kind
    if kind == "match":
        return _match(rule, queue, artifacts, links), []
    matched = matching(queue, rule.pattern) if kind != "require" else []
    if kind == "create":
        return set(matched) & (link.products.keys() - link.materials.keys()), []
    if kind == "delete":
        return set(matched) & (link.materials.keys() - link.products.keys()), []
    if kind == "modify":
        both = set(matched) & link.materials.keys() & link.products.keys()
        return {p for p in both if link.materials[p] != link.products[p]}, []
    if kind == "allow":
        return matched, []
    if kind == "disallow":
        return (), sorted(matched)
    return (), [] if rule.pattern in queue else [rule.pattern]  # require


def _match(rule: Rule, queue: set[str], source: Artifacts, links: Mapping[str, Link]) -> set[str]:
    dest_link = links.get(rule.dest_name)
    if dest_link is None:
        return set()
    dest = dest_link.materials if rule.dest_type == "materials" else dest_link.products
    candidates: Iterable[str] = queue
    if rule.source_prefix:
        prefix = posixpath.join(rule.source_prefix, "").replace("\\", "/")
        candidates = [p[len(prefix) :] for p in queue if p.startswith(prefix)]
    if not rule.source_prefix and not rule.dest_prefix:
        if rule.pattern == "*" and len(queue) == len(source) and source == dest:
            return set(queue)  # every path queued, each with the same digests there
        return _same(source, dest, dest.keys() & matching(candidates, rule.pattern))
    consumed = set()
    for path in matching(candidates, rule.pattern):
        full_source = _joined(rule.source_prefix, path)
        full_dest = _joined(rule.dest_prefix, path)
        if full_dest in dest and source.get(full_source) == dest[full_dest]:
            consumed.add(full_source)
    return consumed


def _same(source: Artifacts, dest: Artifacts, paths: set[str]) -> set[str]:
    """The ``paths`` (in both) whose digests are the same in ``source`` and ``dest``.

    Compared in C, in the order ``source`` was read: the order its digests lie in
    memory, which halves the time of a large MATCH (fewer cache misses).
    """
    ordered = list(filter(paths.__contains__, source))
    equal = map(operator.eq, map(source.__getitem__, ordered), map(dest.__getitem__, ordered))
    return set(itertools.compress(ordered, equal))


def _joined(prefix: str, path: str) -> str:
    return posixpath.join(prefix, path).replace("\\", "/") if prefix else path


def _problem(item: str, source_type: str, rule: Rule, paths: list[str]) -> Problem:
    listed = ", ".join(f"`{p}`" for p in paths[:MAX_LISTED])
    more = f" and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
    where = f"expected {source_type} of `{item}`"
    if rule.kind == "require":
        message = f"`{rule.text}` in the {where}: `{rule.pattern}` is not among them"
        code = "rule-require"
    else:
        message = f"`{rule.text}` in the {where} matched {listed}{more}"
        code = "rule-disallow"
    evidence = (("rule", rule.text), ("artifacts", source_type), *(("path", p) for p in paths))
    return Problem(code, item, message, evidence)
