"""Which trusted signer verifies a model signature: each key, CA or identity in turn.

The mode is the bundle's (:func:`.verify.mode_of`): key mode tries the policy's
elliptic-curve keys, certificate mode its CAs, keyless mode its Sigstore
identities. The first that verifies is the signer (its id is computed from its
material); when none does, the signature is UNTRUSTED and nothing it says is used.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.graph.builders.modelsig import verify
from policy_engine.graph.model import SignatureCheck, SignatureStatus
from policy_engine.keys import Authority, Identity, Keyring, PublicKey

if TYPE_CHECKING:
    from model_signing._signing.signing import Verifier
    from model_signing.manifest import Manifest

_NOUN = {"key": "key", "certificate": "CA", "sigstore": "identity"}


@dataclass(frozen=True)
class Checked:
    """The outcome for one signature: the check, and the signed manifest when it verified."""

    mode: str
    check: SignatureCheck
    manifest: Manifest | None = None


def check(path: Path, mode: str, keyring: Keyring) -> Checked:
    """Verify the signature at ``path`` with each trusted signer of ``mode`` in turn."""
    problems: list[str] = []
    for name, anchor, make in _candidates(mode, keyring):
        try:
            manifest = quietly(verify.verified_manifest, path, mode, make)
        except verify.ModelSignatureError as exc:
            problems.append(f"{_NOUN[mode]} `{name}`: {exc}")
            continue
        reason = f"verified with {_NOUN[mode]} `{name}`"
        return Checked(mode, SignatureCheck(anchor, SignatureStatus.VALID, reason), manifest)
    reason = f"no trusted {_NOUN[mode]} verifies this {mode}-mode model signature"
    detail = f" ({'; '.join(problems)})" if problems else ""
    return Checked(mode, SignatureCheck("", SignatureStatus.UNTRUSTED, reason + detail))


Candidate = tuple[str, str, Callable[[], "Verifier"]]


def _candidates(mode: str, keyring: Keyring) -> Iterator[Candidate]:
    if mode == "key":
        for name, key in sorted(keyring.by_name.items()):
            yield name, key.keyid, _key(key)
    elif mode == "certificate":
        for name, authority in sorted(keyring.authorities.items()):
            yield name, authority.keyid, _authority(authority)
    else:
        for name, identity in sorted(keyring.identities.items()):
            yield name, identity.keyid, _identity(identity)


def _key(key: PublicKey) -> Callable[[], Verifier]:
    return lambda: verify.key_verifier(key)


def _authority(authority: Authority) -> Callable[[], Verifier]:
    return lambda: verify.certificate_verifier([authority])


def _identity(identity: Identity) -> Callable[[], Verifier]:
    return lambda: verify.sigstore_verifier(identity)


def quietly(
    run: Callable[[Path, str, Callable[[], Verifier]], Manifest],
    path: Path,
    mode: str,
    make: Callable[[], Verifier],
) -> Manifest:
    """Run a verification with what the libraries print to stdout (warnings) discarded."""
    with contextlib.redirect_stdout(io.StringIO()):
        return run(path, mode, make)
