"""Judging a loaded supply chain as ``in-toto-verify`` does, but reporting every problem (pure).

The order is in-toto's: the layout's signatures (every verification key must
have signed it), its expiry, parameter substitution, the links of each step
(enough files, a threshold of distinct authorised keys with valid signatures;
others dropped), sublayouts (verified with the delegating key, standing for
their step by their summary), commands (a warning unless strict), agreement of
the links of a step with a threshold above one, then the artifact rules of
every step over one link per step. Inspections are never run: a layout with
inspections cannot be judged unless they are skipped (then each is a warning).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from policy_engine.intoto.model import Chain, Layout, Link, LinkFile, Problem, Step
from policy_engine.intoto.rules import RuleFormatError, check_rules, parse_rule


@dataclass(frozen=True)
class Options:
    """How to judge: the time, ``--param`` values, strict commands, skipped inspections."""

    now: datetime
    params: dict[str, str] | None = None  # None: no substitution at all (as in-toto)
    strict_commands: bool = False
    skip_inspections: bool = False


@dataclass(frozen=True)
class Outcome:
    """Every problem found, and the summary link standing for the chain (its first materials,
    last products and command)."""

    problems: tuple[Problem, ...]
    summary: Link
    links: dict[str, Link] = field(default_factory=dict)  # the one link kept per step

    @property
    def failures(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.warning)

    @property
    def unjudged(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.unjudged)


def verify(chain: Chain, options: Options, name: str = "") -> Outcome:
    """Every problem of ``chain`` at ``options.now`` (see the module doc)."""
    layout = chain.layout
    problems = [*layout_signatures(layout), *expiry(layout, options.now)]
    problems += inspections(layout, options.skip_inspections)
    try:
        steps = substituted(layout.steps, options.params)
    except (KeyError, IndexError, ValueError) as exc:
        problems.append(Problem("layout-parameter", layout.file, f"parameter substitution: {exc}"))
        return Outcome(tuple(problems), Link(name))
    links: dict[str, Link] = {}
    for step in steps:
        link, found = step_link(step, chain.links.get(step.name, ()), options)
        problems += found
        if link is not None:
            links[step.name] = link
    for step in steps:
        if step.name in links:
            problems += step_rules(step, links)
    return Outcome(tuple(problems), summary(steps, links, name), links)


def layout_signatures(layout: Layout) -> Iterator[Problem]:
    """Every key given must have signed the layout; none given fails it."""
    if not layout.verified_by and not layout.signature_problems:
        yield Problem("layout-unsigned", layout.file, "no key was given to verify the layout with")
    for keyid, reason in sorted(layout.signature_problems.items()):
        evidence = (("key", keyid), ("envelope", layout.envelope))
        message = f"the layout is not validly signed by key `{keyid[:12]}`: {reason}"
        yield Problem("layout-signature", layout.file, message, evidence)


def expiry(layout: Layout, now: datetime) -> Iterator[Problem]:
    """Expired at and after ``expires`` (in-toto compares with ``<=``)."""
    if layout.expires is not None and layout.expires <= now:
        evidence = (("expires", layout.expires.isoformat()), ("now", now.isoformat()))
        yield Problem("layout-expired", layout.file, "the layout has expired", evidence)


def inspections(layout: Layout, skip: bool) -> Iterator[Problem]:
    """Inspections are never run: unjudged, or (skipped) a warning each."""
    for item in layout.inspections:
        run = " ".join(item.run)
        if skip:
            message = f"inspection `{item.name}` was not run (`{run}`); its rules are not checked"
            yield Problem("inspection-skipped", item.name, message, (("run", run),), warning=True)
        else:
            message = (
                f"inspection `{item.name}` would run `{run}`: mlpolicy never runs commands "
                "(use --skip-inspections to verify without it)"
            )
            yield Problem("inspection-not-run", item.name, message, (("run", run),), unjudged=True)


def substituted(steps: tuple[Step, ...], params: dict[str, str] | None) -> tuple[Step, ...]:
    """The steps with ``{name}`` replaced in commands and rules (``str.format``, as in-toto)."""
    if params is None:
        return steps

    def words(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(w.format(**params) for w in values)

    return tuple(
        replace(
            s,
            expected_command=words(s.expected_command),
            expected_materials=tuple(words(r) for r in s.expected_materials),
            expected_products=tuple(words(r) for r in s.expected_products),
        )
        for s in steps
    )


def step_link(
    step: Step, files: tuple[LinkFile, ...], options: Options
) -> tuple[Link | None, list[Problem]]:
    """The link standing for ``step`` (None when it fails), and the step's problems."""
    problems: list[Problem] = []
    if len(files) < step.threshold:
        message = f"step `{step.name}` needs {step.threshold} link file(s), found {len(files)}"
        evidence = tuple(("link", f.file) for f in files)
        return None, [Problem("link-missing", step.name, message, evidence)]
    kept: list[tuple[LinkFile, Link]] = []
    for file in files:
        link, found = _usable(file, options)
        problems += found
        if link is not None:
            kept.append((file, link))
    distinct = {file.principal or file.keyid for file, _ in kept}
    if len(distinct) < step.threshold:
        message = (
            f"step `{step.name}` needs links validly signed by {step.threshold} distinct "
            f"authorised functionaries, found {len(distinct)}"
        )
        return None, [*problems, Problem("threshold", step.name, message)]
    problems += commands(step, kept, options.strict_commands)
    problems += agreement(step, kept)
    return kept[0][1], problems


def _usable(file: LinkFile, options: Options) -> tuple[Link | None, list[Problem]]:
    """A link file's link (a sublayout's summary), or None with why it was dropped."""
    if not file.verified:
        message = f"link `{file.file}` is not counted: {file.problem or 'no valid signature'}"
        return None, [Problem("link-dropped", file.step, message, (("link", file.file),), True)]
    if file.sublayout is None:
        return file.link, []
    sub_options = replace(options, params=None)
    outcome = verify(file.sublayout, sub_options, file.step)
    problems = [_within(file, p) for p in outcome.problems]
    failed = any(not p.warning for p in outcome.problems)
    return (None if failed else outcome.summary), problems


def _within(file: LinkFile, problem: Problem) -> Problem:
    message = f"sublayout `{file.file}`: {problem.message}"
    return replace(problem, subject=f"{file.step}/{problem.subject}", message=message)


def commands(step: Step, kept: list[tuple[LinkFile, Link]], strict: bool) -> Iterator[Problem]:
    """A link whose command is not the expected one: a warning, an error when ``strict``."""
    for file, link in kept:
        if file.sublayout is None and link.command != step.expected_command:
            message = (
                f"link `{file.file}` ran `{' '.join(link.command)}`, "
                f"not the expected `{' '.join(step.expected_command)}`"
            )
            evidence = (("link", file.file), ("expected", " ".join(step.expected_command)))
            yield Problem("command-mismatch", step.name, message, evidence, warning=not strict)


def agreement(step: Step, kept: list[tuple[LinkFile, Link]]) -> Iterator[Problem]:
    """With a threshold above one, every kept link must record the same artifacts."""
    if step.threshold <= 1:
        return
    first_file, first = kept[0]
    for file, link in kept[1:]:
        if link.materials != first.materials or link.products != first.products:
            message = f"links `{first_file.file}` and `{file.file}` record different artifacts"
            yield Problem("links-disagree", step.name, message)


def step_rules(step: Step, links: dict[str, Link]) -> list[Problem]:
    """The artifact rules of ``step`` over the kept links."""
    problems: list[Problem] = []
    for source_type, words in (
        ("materials", step.expected_materials),
        ("products", step.expected_products),
    ):
        try:
            rules = [parse_rule(w) for w in words]
        except RuleFormatError as exc:
            problems.append(Problem("layout-rule", step.name, str(exc)))
            continue
        problems += check_rules(step.name, source_type, rules, links)
    return problems


def summary(steps: tuple[Step, ...], links: dict[str, Link], name: str) -> Link:
    """The chain as one link: the first step's materials, the last step's products and command."""
    if not steps or steps[0].name not in links or steps[-1].name not in links:
        return Link(name)
    first, last = links[steps[0].name], links[steps[-1].name]
    return Link(name, last.command, first.materials, last.products)
