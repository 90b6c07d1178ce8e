"""`mlpolicy attest`: sign evidence about the repository's artifacts and DVC stages.

``attest statement`` signs an in-toto Statement v1 (DSSE) about files or a
stage's outputs; ``attest link`` records a signed in-toto link for a stage
that ran. Exit status 0 when written; 2 for anything refused (nothing written).
"""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from policy_engine.cli.common import PATH

if TYPE_CHECKING:
    from policy_engine.produce.attest import AttestedStatement
    from policy_engine.produce.links import RecordedLink
    from policy_engine.produce.statements import BundleWrite

TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
FILE = click.Path(dir_okay=False, path_type=Path)

key_option = click.option(
    "--key",
    required=True,
    type=FILE,
    help="Private key (PKCS8 PEM), e.g. from `mlpolicy keygen`.",
)
password_option = click.option(
    "--password-env",
    metavar="VAR",
    help="Environment variable holding the private key's password.",
)
repo_option = click.option(
    "--repo",
    type=PATH,
    default=Path("."),
    show_default=True,
    help="Repository root; paths are relative to it.",
)


@click.group("attest")
def attest() -> None:
    """Sign evidence: in-toto Statements and links.

    Exit status: 0 written; 2 refused (nothing written).
    """


@attest.command("statement")
@key_option
@password_option
@click.option("--type", "predicate_type", required=True, help="Predicate type URI.")
@click.option(
    "--predicate", "predicate_file", required=True, type=FILE, help="Predicate (JSON or YAML)."
)
@click.option(
    "--subject",
    "subjects",
    multiple=True,
    metavar="PATH",
    help="A file or folder the statement is about (repeatable).",
)
@click.option("--stage", help="A DVC stage: the statement is about its outputs.")
@repo_option
@click.option(
    "--at",
    type=click.DateTime(TIME_FORMATS),
    help="Timestamp for a predicate that states none (UTC unless given; default: now).",
)
@click.option("--out", type=FILE, help="Write the DSSE envelope to this file.")
@click.option(
    "--bundle", type=FILE, help="Append the envelope as a line of this .intoto.jsonl bundle."
)
@click.option(
    "--keep-history",
    is_flag=True,
    help="Keep the bundle's statements this one supersedes (default: replace them).",
)
def statement(
    key: Path,
    password_env: str | None,
    predicate_type: str,
    predicate_file: Path,
    subjects: tuple[str, ...],
    stage: str | None,
    repo: Path,
    at: datetime | None,
    out: Path | None,
    bundle: Path | None,
    keep_history: bool,
) -> None:
    """Sign an in-toto Statement about files or a stage's outputs.

    The statement (in-toto Statement v1, in a DSSE envelope) names each
    --subject PATH, or each output of the DVC --stage, with the sha256 of its
    bytes now; the predicate must match the schema of its --type when mlpolicy
    knows the type.

    Exit status: 0 written; 2 refused (a bad subject, predicate or key): nothing written.
    """
    from policy_engine.produce.attest import StatementRequest, attest_statement
    from policy_engine.produce.signing import load_signer, password_from_env
    from policy_engine.produce.statements import append_to_bundle, write_envelope

    if bool(subjects) == bool(stage):
        raise click.UsageError("give either --subject PATH (repeatable) or --stage NAME")
    if (out is None) == (bundle is None):
        raise click.UsageError("give either --out FILE or --bundle FILE.intoto.jsonl")
    signer = load_signer(key, password_from_env(password_env))
    request = StatementRequest(predicate_type, predicate_file, subjects, stage)
    result = attest_statement(repo, signer, request, _utc(at))
    if out is not None:
        write_envelope(result.signed, out)
        written = f"wrote {out}"
    else:
        assert bundle is not None
        written = _bundled(bundle, append_to_bundle(result.signed, bundle, keep_history))
    _echo_statement(result)
    click.echo(written)
    if out is not None:
        _note_suffix(out)


@attest.command("link")
@key_option
@password_option
@click.option(
    "--stage",
    "stages",
    multiple=True,
    help="A DVC stage that ran (repeatable).",
)
@click.option("--all", "every", is_flag=True, help="Every stage of the pipelines.")
@repo_option
@click.option(
    "--dir",
    "out_dir",
    type=PATH,
    help="Folder for <stage>.<keyid8>.link (default: REPO/attestations).",
)
@click.option("--dsse", is_flag=True, help="Sign as a DSSE envelope instead of a Metablock.")
@click.option("--force", is_flag=True, help="Sign stages DVC reports as changed since they ran.")
def link(
    key: Path,
    password_env: str | None,
    stages: tuple[str, ...],
    every: bool,
    repo: Path,
    out_dir: Path | None,
    dsse: bool,
    force: bool,
) -> None:
    """Record signed in-toto links for stages that ran.

    Name, declared command, path dependencies (materials) and outputs
    (products) of each DVC --stage (or of every stage, with --all), digested as
    in-toto does; each written as <stage>.<keyid8>.link. A stage that DVC would
    report as changed (not run since dvc.yaml, params or files unlike dvc.lock)
    is refused without --force, and then nothing is written.

    Exit status: 0 written; 2 refused (a changed or unknown stage, a missing
    dependency or output, a bad key): nothing written.
    """
    from policy_engine.produce.attest import attest_links
    from policy_engine.produce.signing import load_signer, password_from_env

    if bool(stages) == every:
        raise click.UsageError("give --stage NAME (repeatable) or --all")
    signer = load_signer(key, password_from_env(password_env))
    for recorded in attest_links(
        repo, signer, None if every else stages, out_dir, dsse=dsse, force=force
    ):
        _echo_link(recorded)


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _echo_statement(result: AttestedStatement) -> None:
    document = result.signed.statement
    click.echo(f"signed statement `{document['predicateType']}` with key {result.signed.keyid}")
    for subject in document["subject"]:
        click.echo(f"  subject {subject['name']} sha256:{subject['digest']['sha256']}")
    if result.timestamp_set:
        click.echo(
            f"note: the predicate states no `timestamp`: set to {result.timestamp_set}", err=True
        )
    _note_schema(document["predicateType"])
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


def _bundled(bundle: Path, write: BundleWrite) -> str:
    text = f"appended to {bundle} (line {write.line})"
    if write.superseded:
        text += (
            f"; replaced {write.superseded} earlier statement(s) of the same type about the"
            " same subjects by this key (--keep-history keeps them)"
        )
    return text


def _note_schema(predicate_type: str) -> None:
    from policy_engine.schemas.predicates import SCHEMAS

    if predicate_type not in SCHEMAS:
        click.echo(
            f"note: `{predicate_type}` has no schema in mlpolicy: the predicate is signed as given",
            err=True,
        )


def _note_suffix(out: Path) -> None:
    from policy_engine.graph.builders.attestations import SEARCH_SUFFIXES

    if not out.name.endswith(SEARCH_SUFFIXES):
        suffixes = ", ".join(SEARCH_SUFFIXES)
        click.echo(
            f"note: folders are searched for {suffixes} files: name {out} with --attestations",
            err=True,
        )


def _echo_link(recorded: RecordedLink) -> None:
    click.echo(
        f"signed link `{recorded.stage.name}` ({recorded.envelope}) with key {recorded.keyid}"
    )
    click.echo(f"  command  {shlex.join(recorded.stage.argv)}")
    for label, artifacts in (("material", recorded.materials), ("product ", recorded.products)):
        for path, digest in sorted(artifacts.items()):
            click.echo(f"  {label} {path} sha256:{digest['sha256']}")
    click.echo(f"wrote {recorded.path}")


@attest.command("model")
@click.argument("model_path", type=click.Path(exists=True, path_type=Path))
@key_option
@password_option
@click.option(
    "--signature",
    type=FILE,
    help="Where to write the signature (default: MODEL_PATH.sig beside the model).",
)
@click.option(
    "--ignore-paths",
    "ignore_paths",
    type=Path,
    multiple=True,
    help="A path inside the model to leave unsigned (repeatable).",
)
def model(
    model_path: Path,
    key: Path,
    password_env: str | None,
    signature: Path | None,
    ignore_paths: tuple[Path, ...],
) -> None:
    """Sign a model folder (or file) as OpenSSF model signing does, with an EC key.

    The signature is a Sigstore bundle that `model_signing verify key` accepts;
    mlpolicy finds it beside the model (`MODEL_PATH.sig`) or inside a model
    folder (`model.sig`). Needs the `modelsig` extra (model-signing).
    """
    from policy_engine.produce.models import default_signature, sign_model
    from policy_engine.produce.signing import password_from_env

    out = signature or default_signature(model_path)
    signed = sign_model(model_path, key, out, ignore_paths, password_from_env(password_env))
    click.echo(f"signed model {signed.model} ({signed.files} files): {signed.signature}")
