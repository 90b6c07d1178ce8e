"""From files to an outcome: load the keys and the chain, then judge it."""

from __future__ import annotations

from pathlib import Path

from policy_engine.graph.collector import paused_gc
from policy_engine.intoto.check import Options, Outcome, verify
from policy_engine.intoto.model import Link, Problem
from policy_engine.supplychain.documents import LayoutError
from policy_engine.supplychain.load import load_chain, load_verification_keys


def verify_files(
    layout: Path,
    keys: tuple[Path, ...],
    link_dir: Path,
    options: Options,
    gpg: tuple[tuple[str, ...], str | None] = ((), None),
) -> Outcome:
    """The outcome of verifying the layout at ``layout`` with the keys at ``keys`` and the
    GPG keys ``gpg`` (key ids, and the keyring's folder).

    A key that cannot be read raises ``InputError``; a layout that cannot be read or
    is invalid is a failing outcome (as in-toto-verify fails it).
    """
    verification_keys = load_verification_keys(keys, *gpg)
    try:
        with paused_gc():  # documents read as JSON hold no cycles
            chain = load_chain(layout, str(layout), verification_keys, link_dir)
    except LayoutError as exc:
        problem = Problem("layout-unreadable", str(layout), str(exc))
        return Outcome((problem,), Link(""))
    return verify(chain, options)
