"""`mlpolicy graph`: export the provenance graph as JSON, DOT, Mermaid or one HTML page.

The policy is loaded when there is one (``--policy``, or ``REPO/policies`` with
``*.policy`` files), for its trusted keys and attestation paths; otherwise the
graph is built with no trusted key, so every signature is UNTRUSTED, and the
export says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from policy_engine.cli.common import (
    PATH,
    attestations_option,
    echo_notes,
    emit,
    in_repository,
    load_or_exit,
    no_cache_option,
    output_option,
    policy_option,
)
from policy_engine.errors import InputError

if TYPE_CHECKING:
    from policy_engine.compiler import ir

FORMATS = ("json", "dot", "mermaid", "html")


@click.command("graph")
@click.argument("repo", required=False, type=PATH, default=Path("."))
@policy_option("REPO/policies when it has policies")
@attestations_option()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@output_option("export")
@no_cache_option
def graph(
    repo: Path,
    policies: tuple[Path, ...],
    attestations: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    no_cache: bool,
) -> None:
    """Export the provenance graph of REPO (default: .); with a policy, its failing nodes and
    edges are marked and its keys named.

    Exit status: 0 exported; 2 usage error, invalid policy, or an unreadable input.
    """
    if not repo.is_dir():
        raise InputError("repository folder not found", str(repo))
    policy = _policy(repo, policies)
    trust = trust_summary(policy)
    if policy is None:
        click.echo(f"note: {trust['summary']}", err=True)
    emit(_export(repo, policy, attestations, fmt, trust, hash_cache=not no_cache), output)


def _export(
    repo: Path,
    policy: ir.PolicySet | None,
    attestations: tuple[Path, ...],
    fmt: str,
    trust: dict[str, Any],
    hash_cache: bool,
) -> str:
    """Build (and, with a policy, check), then export in ``fmt``."""
    from policy_engine.api import build, check
    from policy_engine.graph.export import EXPORTERS
    from policy_engine.report.html import render_graph_html, render_html
    from policy_engine.report.marks import marks_for

    if policy is None:
        built, result = build(None, repo, attestations, hash_cache=hash_cache), None
    else:
        result = check(policy, repo, attestations, hash_cache=hash_cache)
        built = result.graph
    echo_notes(built)
    marks = marks_for(built, policy, result)
    if fmt != "html":
        return EXPORTERS[fmt](built, trust, marks)
    return render_html(result, str(repo)) if result else render_graph_html(built, trust, marks)


def _policy(repo: Path, policies: tuple[Path, ...]) -> ir.PolicySet | None:
    """The compiled policy when one is given or present; exits 2 when it is invalid."""
    (default,) = in_repository(repo, [repo / "policies"], "policy path")
    if not policies and not (default.is_dir() and any(default.rglob("*.policy"))):
        return None
    loaded = load_or_exit(repo, policies)
    return loaded.policy


def trust_summary(policy: ir.PolicySet | None) -> dict[str, Any]:
    """Which keys signatures were checked against, for the export's ``trust`` field."""
    if policy is None:
        return {
            "policy": False,
            "trusted_keys": [],
            "summary": "no policy found: built with no trusted keys, "
            "so every signature is UNTRUSTED",
        }
    keys = sorted(f"{name} ({key.keyid[:12]})" for name, key in policy.keys.items())
    return {
        "policy": True,
        "trusted_keys": keys,
        "summary": f"signatures checked against the {len(keys)} key(s) the policy trusts"
        + (f": {', '.join(keys)}" if keys else ""),
    }
