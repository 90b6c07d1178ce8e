"""`mlpolicy verify model key|certificate|sigstore MODEL_PATH`: ``model_signing verify``, offline.

The same flags and verdicts as ``model_signing verify`` (1.1.1), verified with
``model_signing`` and ``sigstore`` themselves. Exit status: 0 verified; 1 not
verified (the signature, the signer or the model's files do not match); 2 the
command could not judge (a missing signature, key or trust root, an unreadable
bundle). Keyless verification never fetches: the trusted root is
``--trust_config`` (a client trust configuration or a trusted root), else the
public-good (``--use_staging``: staging) root the ``sigstore`` package ships.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from policy_engine.cli.common import EXIT_CANNOT_JUDGE

if TYPE_CHECKING:
    from model_signing._signing.signing import Verifier

EXIT_NOT_VERIFIED = 1


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every mode of ``model_signing verify`` takes."""
    options = [
        click.argument("model_path", type=click.Path(exists=True, path_type=Path)),
        click.option("--signature", type=Path, required=True, metavar="SIGNATURE_PATH"),
        click.option("--ignore-paths", type=Path, multiple=True, metavar="IGNORE_PATHS"),
        click.option("--ignore-git-paths/--no-ignore-git-paths", default=True),
        click.option("--allow_symlinks", is_flag=True),
        click.option("--ignore_unsigned_files/--no-ignore_unsigned_files", default=False),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group("model")
def model() -> None:
    """Verify an OpenSSF model signature (drop-in for `model_signing verify`)."""


@model.command("key")
@_common
@click.option("--public_key", type=Path, required=True, metavar="PUBLIC_KEY")
def key(public_key: Path, **options: Any) -> None:
    """Verify a signature made with an elliptic-curve private key."""
    from policy_engine.graph.builders.modelsig import verify
    from policy_engine.keys import KeyLoadError, load_public_key

    try:
        trusted = load_public_key(public_key)
    except KeyLoadError as exc:
        _cannot_judge(f"{public_key}: {exc}")
    _run("key", lambda: verify.key_verifier(trusted), **options)


@model.command("certificate")
@_common
@click.option("--certificate_chain", type=Path, multiple=True, metavar="CERTIFICATE_PATH")
@click.option("--log_fingerprints", is_flag=True)
def certificate(
    certificate_chain: tuple[Path, ...], log_fingerprints: bool, **options: Any
) -> None:
    """Verify a signature whose certificate chains to one of the given certificates."""
    from policy_engine.graph.builders.modelsig import verify
    from policy_engine.keys import KeyLoadError, load_authority

    try:
        authorities = [load_authority(p) for p in certificate_chain or [_system_roots()]]
    except KeyLoadError as exc:
        _cannot_judge(str(exc))
    _run("certificate", lambda: verify.certificate_verifier(authorities), **options)


@model.command("sigstore")
@_common
@click.option("--use_staging", is_flag=True)
@click.option("--trust_config", type=Path, metavar="TRUST_CONFIG_PATH")
@click.option("--identity", required=True, metavar="IDENTITY")
@click.option("--identity_provider", required=True, metavar="IDENTITY_PROVIDER")
def sigstore(
    use_staging: bool,
    trust_config: Path | None,
    identity: str,
    identity_provider: str,
    **options: Any,
) -> None:
    """Verify a keyless Sigstore signature: the identity, its issuer, a trusted root file."""
    from policy_engine.graph.builders.modelsig import verify
    from policy_engine.keys import Identity, KeyLoadError, load_identity

    try:
        signer = load_identity(identity, identity_provider, trust_config)
    except KeyLoadError as exc:
        _cannot_judge(str(exc))
    if trust_config is None and use_staging:
        signer = Identity(identity, identity_provider, verify.public_good_root(staging=True))
    _run("sigstore", lambda: verify.sigstore_verifier(signer), **options)


def _run(mode: str, make: Callable[[], Verifier], **options: Any) -> None:
    from policy_engine.graph.builders.modelsig import verify

    model_path: Path = options["model_path"]
    signature: Path = options["signature"]
    if not signature.is_file():
        _cannot_judge(f"{signature}: signature file not found")
    from policy_engine.produce.models import paths_inside

    ignored = paths_inside(model_path, [*options["ignore_paths"], signature])
    try:
        comparison = verify.check_model(
            model_path,
            signature,
            mode,
            make,
            ignored,
            ignore_git_paths=options["ignore_git_paths"],
            allow_symlinks=options["allow_symlinks"],
            ignore_unsigned=options["ignore_unsigned_files"],
        )
    except verify.ModelSignatureError as exc:
        _not_verified(str(exc))
    except OSError as exc:
        _cannot_judge(f"cannot read the model: {exc.strerror or exc}")
    if not comparison.matches:
        _not_verified(_mismatch(model_path, comparison))
    click.echo("Verification succeeded")


def _mismatch(model: Path, comparison: Any) -> str:
    parts = []
    for label, names in (
        ("Extra files found in model", comparison.extra),
        ("Missing files in model", comparison.missing),
        ("Hash mismatch for", comparison.changed),
    ):
        if names:
            parts.append(f"{label} '{model}': {', '.join(names)}")
    return "Signature mismatch: " + "; ".join(parts)


def _system_roots() -> Path:
    import certifi

    return Path(certifi.where())


def _not_verified(reason: str) -> NoReturn:
    click.echo(f"Verification failed with error: {reason}", err=True)
    raise SystemExit(EXIT_NOT_VERIFIED)


def _cannot_judge(reason: str) -> NoReturn:
    click.echo(f"error: {reason}", err=True)
    raise SystemExit(EXIT_CANNOT_JUDGE)
