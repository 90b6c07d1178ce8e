"""What the supply chain checker adds to trusted layouts: artifact rules, commands, inspections.

Signatures, thresholds, agreement and expiry are judged while settling the
layouts (see :mod:`.thresholds` and :mod:`.trust`). The rest of what
``mlpolicy verify`` judges runs here, with :mod:`policy_engine.intoto`'s
checker over the links each step counted: the artifact rules of every step
over one counted link per satisfied step (a sublayout stands for its step by
its summary, as in-toto), each counted link's command against
``expected_command`` (a warning), and each inspection (never run: a warning).
The problems are stored on the graph (``graph.layout_problems``); the
evaluator reports them as ``in-toto/<code>`` findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from policy_engine.graph.model import Attestation, Layout, LayoutStep
from policy_engine.intoto import check
from policy_engine.intoto import model as chain

_MAX_DEPTH = 8  # sublayouts within sublayouts


def layout_problems(layouts: list[Layout], links: Iterable[Attestation]) -> list[chain.Problem]:
    """The rule, command and inspection problems of every trusted layout."""
    facts = _Facts(layouts, links)
    problems: list[chain.Problem] = []
    for layout in layouts:
        if layout.trusted:
            found = [*_inspections(layout), *facts.commands(layout), *facts.rules(layout)]
            problems += [_located(p, layout.file) for p in found]
    return problems


class _Facts:
    """The layouts and links read, by file."""

    def __init__(self, layouts: list[Layout], links: Iterable[Attestation]) -> None:
        self.layouts = {x.file: x for x in layouts}
        self.links = {att.file: att for att in links}
        self._converted: dict[str, chain.Link] = {}

    def link(self, file: str) -> chain.Link:
        """The link in ``file`` as the checker reads it (converted once)."""
        if file not in self._converted:
            self._converted[file] = _link(self.links[file])
        return self._converted[file]

    def rules(self, layout: Layout) -> list[chain.Problem]:
        steps = [_step(s) for s in layout.steps]
        kept = self.kept(layout, 0)
        return [p for s in steps if s.name in kept for p in check.step_rules(s, kept)]

    def commands(self, layout: Layout) -> Iterator[chain.Problem]:
        for step in layout.steps:
            counted = [f for f in step.links if f in self.links]
            pairs = [(chain.LinkFile(f, step.name, "", True), self.link(f)) for f in counted]
            yield from check.commands(_step(step), pairs, strict=False)

    def kept(self, layout: Layout, depth: int) -> dict[str, chain.Link]:
        """One link per satisfied step: its first counted link, or a sublayout's summary."""
        kept: dict[str, chain.Link] = {}
        for step in layout.steps:
            link = self.standing_for(step, depth) if step.satisfied else None
            if link is not None:
                kept[step.name] = link
        return kept

    def standing_for(self, step: LayoutStep, depth: int) -> chain.Link | None:
        for file in step.links:
            if file in self.links:
                return self.link(file)
            sub = self.layouts.get(file)
            if sub is not None and depth < _MAX_DEPTH:
                steps = tuple(_step(s) for s in sub.steps)
                return check.summary(steps, self.kept(sub, depth + 1), step.name)
        return None


def _step(step: LayoutStep) -> chain.Step:
    return chain.Step(
        step.name,
        step.pubkeys,
        step.threshold,
        step.expected_command,
        step.expected_materials,
        step.expected_products,
    )


def _link(att: Attestation) -> chain.Link:
    def artifacts(recorded: Mapping[str, Mapping[str, str]]) -> chain.Artifacts:
        return {path: dict(digest) for path, digest in recorded.items()}

    return chain.Link(att.step_name, att.command, artifacts(att.materials), artifacts(att.products))


def _inspections(layout: Layout) -> Iterator[chain.Problem]:
    for item in layout.inspections:
        run = " ".join(item.run)
        message = f"inspection `{item.name}` was not run (`{run}`); its rules are not checked"
        yield chain.Problem("inspection-skipped", item.name, message, (("run", run),), True)


def _located(problem: chain.Problem, file: str) -> chain.Problem:
    message = f"layout `{file}`: {problem.message}"
    return replace(problem, message=message, evidence=(("layout", file), *problem.evidence))
