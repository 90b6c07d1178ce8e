"""`mlpolicy init`: scaffold policies/ for an existing DVC repository."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from policy_engine.cli.common import PATH


@click.command("init")
@click.argument("repo", required=False, type=PATH, default=Path("."))
@click.option("--force", is_flag=True, help="Replace starter files that exist.")
def init(repo: Path, force: bool) -> None:
    """Scaffold policies for the DVC repository REPO (default: .).

    Maps the pipeline's stages to lifecycle stages (by their `meta` or their
    names), makes a starter key pair (the private key in the user key folder,
    the public key in REPO/keys), and writes policies/pipeline.policy (keys,
    roles, stages and starter controls), its unit tests, and a CI snippet.
    Prints the next three commands.

    Exit status: 0 written; 2 not a DVC repository, or a starter file exists
    (without --force): nothing written.
    """
    from policy_engine.produce.init import init_repository

    result = init_repository(repo, force)
    for stage, steps in result.mapping.stages.items():
        how = ", ".join(f"{s} ({result.mapping.how[s]})" for s in steps)
        click.echo(f"stage {stage}: {how}")
    if result.mapping.unmapped:
        click.echo(f"not mapped (edit the policy): {', '.join(result.mapping.unmapped)}")
    for path in result.written:
        click.echo(f"wrote {(repo / path).as_posix()}")
    if result.private_key is not None:
        click.echo(f"private key (outside the repository): {result.private_key}")
    key = shlex.quote(str(result.private_key or "PRIVATE_KEY"))
    where = shlex.quote(str(repo))
    click.echo("\nnext:")
    click.echo(f"  mlpolicy attest link --all --key {key} --repo {where}")
    click.echo(f"  mlpolicy check {where}")
    click.echo(f"  mlpolicy test --repo {where}")
