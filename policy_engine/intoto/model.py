"""Facts of a supply chain as read from disk, and the problems found in them (frozen types).

Signatures are checked once, while loading; what they proved is recorded here
(``verified_by``) so that judging the chain is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy_engine.keys import PublicKey

Artifacts = dict[str, dict[str, str]]  # path -> {algorithm: digest}, as a link records them


@dataclass(frozen=True)
class Link:
    """What a link (or a sublayout's summary) says a step did."""

    name: str
    command: tuple[str, ...] = ()
    materials: Artifacts = field(default_factory=dict)
    products: Artifacts = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """A step of a layout: who may perform it, how many must, and its artifact rules."""

    name: str
    pubkeys: tuple[str, ...]
    threshold: int
    expected_command: tuple[str, ...]
    expected_materials: tuple[tuple[str, ...], ...]
    expected_products: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Inspection:
    """An inspection of a layout: a command in-toto would run (mlpolicy never runs it)."""

    name: str
    run: tuple[str, ...]
    expected_materials: tuple[tuple[str, ...], ...]
    expected_products: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Layout:
    """A layout as read: its steps, its functionary keys, and who verifiably signed it.

    ``verified_by`` holds the ids (as given to :func:`~.load.load_chain`) of the
    candidate keys with a valid signature; ``signature_problems`` says why the others
    failed, by the same ids. ``keys`` are the usable functionary keys by the id the
    layout gives them; ``key_problems`` names the unusable ones.
    """

    file: str
    envelope: str
    expires: datetime | None
    steps: tuple[Step, ...]
    inspections: tuple[Inspection, ...]
    keys: dict[str, PublicKey]
    verified_by: frozenset[str]
    signature_problems: dict[str, str] = field(default_factory=dict)
    key_problems: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkFile:
    """A file found at ``<step>.<keyid8>.link`` for an authorised key: a link or a sublayout.

    ``verified`` says whether a signature by the authorising key (``keyid``, as the
    layout names it) verifies over the exact signed bytes; ``problem`` says why not.
    Thresholds count distinct ``principal`` values (subkeys of one GPG key count once).
    A sublayout carries its own chain, loaded from ``<step>.<keyid8>/``.
    """

    file: str
    step: str
    keyid: str
    verified: bool
    problem: str = ""
    link: Link | None = None
    sublayout: Chain | None = None
    principal: str = ""  # who counts for the threshold: the key's computed id, a GPG master's id


@dataclass(frozen=True)
class Chain:
    """A layout with the link files found for its steps, in the order of each step's keys."""

    layout: Layout
    link_dir: str
    links: dict[str, tuple[LinkFile, ...]]


@dataclass(frozen=True)
class Problem:
    """One reason the supply chain fails (or, as a warning, a difference that does not fail it).

    ``code`` is stable (e.g. ``layout-expired``, ``rule-disallow``); ``subject`` is
    the step, link or layout it is about; ``evidence`` is (label, value) pairs.
    """

    code: str
    subject: str
    message: str
    evidence: tuple[tuple[str, str], ...] = ()
    warning: bool = False
    unjudged: bool = False  # the inputs could not be judged (e.g. a GPG key): exit 2
