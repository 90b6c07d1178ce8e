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
    default=Path("."),
    show_default=True,
    help="Folder to write NAME and NAME.pub in (created if missing).",
)
@click.option("--force", is_flag=True, help="Replace an existing key pair of that name.")
@click.option(
    "--password-env",
    metavar="VAR",
    help="Encrypt the private key with the password in this environment variable.",
)
def keygen(name: str, key_type: str, folder: Path, force: bool, password_env: str | None) -> None:
    """Make a key pair to sign evidence with.

    Writes the private key DIR/NAME (PKCS8 PEM, mode 0600) and its public key
    DIR/NAME.pub (SubjectPublicKeyInfo PEM). Prints the key id mlpolicy
    computes from the public key, and the line that makes a policy trust it.
    Keep the private key out of the repository.
    """
    from policy_engine.produce.keygen import policy_line, write_key_pair
    from policy_engine.produce.signing import password_from_env

    password = password_from_env(password_env)
    pair = write_key_pair(folder, name, key_type, password, force)
    protection = f"encrypted with ${password_env}" if pair.encrypted else "unencrypted"
    click.echo(f"private key: {pair.private_path} ({key_type}, mode 0600, {protection})")
    click.echo(f"public key:  {pair.public_path}")
    click.echo(f"key id:      {pair.public.keyid} ({pair.public.keytype}/{pair.public.scheme})")
    click.echo("trust it in a policy (the path is relative to the repository root):")
    click.echo(f"  {policy_line(pair)}")
