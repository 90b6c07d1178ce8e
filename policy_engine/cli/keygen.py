"""`mlpolicy keygen`: make a key pair to sign evidence with, and say how a policy trusts it."""

from __future__ import annotations

from pathlib import Path

import click

from policy_engine.cli.common import PATH
from policy_engine.produce.keygen import KEY_TYPES


@click.command("keygen")
@click.argument("name")
@click.option(
    "--type",
    "key_type",
    type=click.Choice(KEY_TYPES),
    default="ed25519",
    show_default=True,
    help="Key type (ecdsa: NIST P-256; rsa: 3072 bits, PSS).",
)
@click.option(
    "--dir",
    "folder",
    type=PATH,
    help="Folder of the private key (created if missing; default: the user key folder, "
    "$MLPOLICY_KEY_DIR or ~/.config/mlpolicy/keys). NAME.pub goes beside it when given.",
)
@click.option(
    "--public-dir",
    type=PATH,
    help="Folder of NAME.pub (default: --dir when given, else REPO/keys).",
)
@click.option(
    "--repo",
    type=PATH,
    default=Path("."),
    show_default=True,
    help="Repository whose policy will trust the key: the printed line is relative to it.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key pair of that name, or write a private key in a git work tree.",
)
@click.option(
    "--password-env",
    metavar="VAR",
    help="Encrypt the private key with the password in this environment variable.",
)
def keygen(
    name: str,
    key_type: str,
    folder: Path | None,
    public_dir: Path | None,
    repo: Path,
    force: bool,
    password_env: str | None,
) -> None:
    """Make a key pair to sign evidence with.

    Writes the private key NAME (PKCS8 PEM, mode 0600) in the user key folder,
    outside any repository, and its public key NAME.pub (SubjectPublicKeyInfo
    PEM) in REPO/keys. A private key inside a git work tree is refused without
    --force. Prints the key id mlpolicy computes from the public key, and the
    line that makes a policy trust it (relative to REPO).

    Exit status: 0 written; 2 refused (an existing key, a private key inside a
    git work tree, a bad name or password variable): nothing written.
    """
    from policy_engine.files import key_dir
    from policy_engine.produce.keygen import policy_line, write_key_pair
    from policy_engine.produce.signing import password_from_env

    password = password_from_env(password_env)
    private_dir = folder if folder is not None else key_dir()
    public = public_dir if public_dir is not None else (folder or repo / "keys")
    pair = write_key_pair(private_dir, name, key_type, password, force, public)
    protection = f"encrypted with ${password_env}" if pair.encrypted else "unencrypted"
    click.echo(f"private key: {pair.private_path} ({key_type}, mode 0600, {protection})")
    click.echo(f"public key:  {pair.public_path}")
    click.echo(f"key id:      {pair.public.keyid} ({pair.public.keytype}/{pair.public.scheme})")
    click.echo(f"trust it in a policy (the path is relative to the repository `{repo}`):")
    click.echo(f"  {policy_line(pair, repo)}")
