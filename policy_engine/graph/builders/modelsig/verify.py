"""Verifying an OpenSSF model signature offline, through ``model_signing`` and ``sigstore``.

A ``model.sig`` is a Sigstore bundle whose DSSE envelope holds an in-toto
Statement about the model: ``https://model_signing/signature/v1.0`` (one subject,
the root digest; ``predicate.resources``, one digest per file or shard;
``predicate.serialization``) or the older ``https://model_signing/Digests/v0.1``
(one subject per file). Its verification material says the mode:

* ``publicKey``: key mode, verified with a trusted elliptic-curve public key;
* ``x509CertificateChain``: certificate mode, the chain verified up to a trusted CA;
* ``certificate``: keyless Sigstore, the Fulcio certificate's identity and issuer
  checked, against a trusted root that is a file (never fetched: no TUF refresh).

``model_signing`` reads the bundle, checks the envelope's signature (key and
certificate modes; ``sigstore`` in keyless mode), turns the payload into its
manifest, and hashes the model the way the signature says (files or shards,
the hash type, the signature's own ``ignore_paths``). This module only chooses
the verifier and compares the two manifests file by file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.keys import Authority, Identity, PublicKey

if TYPE_CHECKING:
    from model_signing._signing.signing import Signature, Verifier
    from model_signing.manifest import Manifest

MODES = ("key", "certificate", "sigstore")
_MATERIAL_MODES = {
    "publicKey": "key",
    "x509CertificateChain": "certificate",
    "certificate": "sigstore",
}
_PUBLIC_GOOD = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
_STAGING = "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"


class ModelSignatureError(ValueError):
    """The signature could not be verified with the anchor given (the reason is the message)."""


@dataclass(frozen=True)
class Comparison:
    """How a model on disk differs from its signed manifest (all empty: it matches)."""

    extra: tuple[str, ...]  # files the manifest does not name
    missing: tuple[str, ...]  # names the manifest lists that are not on disk
    changed: tuple[str, ...]  # names whose bytes differ from the signed digest

    @property
    def matches(self) -> bool:
        return not (self.extra or self.missing or self.changed)


def require_library(where: str) -> None:
    """Raise :class:`InputError` (cannot judge) when ``model_signing`` is not installed."""
    import importlib.util

    if importlib.util.find_spec("model_signing") is None:
        raise InputError(
            "a model signature needs the `modelsig` extra: pip install 'mlpolicy[modelsig]'",
            where,
        )


def mode_of(bundle: Any) -> str | None:
    """The verification mode a bundle's material calls for (None: not a model signature)."""
    material = bundle.get("verificationMaterial") if isinstance(bundle, dict) else None
    if not isinstance(material, dict):
        return None
    return next((m for key, m in _MATERIAL_MODES.items() if key in material), None)


def predicate_type(bundle: Any) -> str:
    """The predicate type a bundle's envelope claims (unverified: a label only)."""
    try:
        payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        return str(payload["predicateType"])
    except (KeyError, TypeError, ValueError):
        return ""


def public_good_root(staging: bool = False) -> bytes:
    """The public-good (or staging) Sigstore trusted root the ``sigstore`` package ships."""
    instance = _STAGING if staging else _PUBLIC_GOOD
    return (resources.files("sigstore") / "_store" / instance / "trusted_root.json").read_bytes()


def read_signature(path: Path, mode: str) -> Signature:
    """The bundle at ``path`` as ``model_signing`` reads it for ``mode``."""
    from model_signing._signing import sign_sigstore, sign_sigstore_pb

    try:
        if mode == "sigstore":
            return sign_sigstore.Signature.read(path)
        return sign_sigstore_pb.Signature.read(path)
    except Exception as exc:  # the libraries raise many kinds on a malformed bundle
        raise ModelSignatureError(f"not a readable Sigstore bundle: {_reason(exc)}") from None


def verified_manifest(path: Path, mode: str, make: Callable[[], Verifier]) -> Manifest:
    """The manifest signed in the bundle at ``path``, once it verifies with the verifier
    ``make`` builds; else :class:`ModelSignatureError` with the reason."""
    signature = read_signature(path, mode)
    verifier = make()
    try:
        return verifier.verify(signature)
    except Exception as exc:  # cryptography, OpenSSL and sigstore raise their own kinds
        raise ModelSignatureError(_reason(exc)) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- verifiers ------------------------------------------------------------------------
def key_verifier(key: PublicKey) -> Verifier:
    """A key-mode verifier for a trusted elliptic-curve key (:class:`ModelSignatureError`)."""
    from model_signing._signing import sign_ec_key

    if key.keytype != "ecdsa":
        raise ModelSignatureError(f"a `{key.keytype}` key cannot verify a model signature")
    with _as_file(str(key.key.keyval["public"]).encode()) as path:
        try:
            return sign_ec_key.Verifier(path)
        except ValueError as exc:
            raise ModelSignatureError(_reason(exc)) from None


def certificate_verifier(authorities: Iterable[Authority]) -> Verifier:
    """A certificate-mode verifier whose chain must end at one of ``authorities``."""
    from model_signing._signing import sign_certificate

    pem = b"".join(a.pem.rstrip() + b"\n" for a in authorities)
    with _as_file(pem) as path:
        try:
            return sign_certificate.Verifier([path])
        except ValueError as exc:
            raise ModelSignatureError(_reason(exc)) from None


def sigstore_verifier(identity: Identity) -> Verifier:
    """A keyless verifier: the identity and issuer, against the identity's trusted root."""
    from model_signing._signing import signing
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier as SigstoreVerifier
    from sigstore.verify import policy

    with _as_file(_trusted_root(identity.root)) as path:
        root = TrustedRoot.from_file(str(path))
    verifier = SigstoreVerifier(trusted_root=root)
    expected = policy.Identity(identity=identity.identity, issuer=identity.issuer)

    class _Keyless(signing.Verifier):
        def _verify_signed_content(self, signature: Any) -> tuple[str, bytes]:
            result: tuple[str, bytes] = verifier.verify_dsse(signature.bundle, expected)
            return result

    return _Keyless()


def _trusted_root(data: bytes) -> bytes:
    """A trusted root: the one given (or the one inside a client trust configuration),
    or else the public-good root."""
    if not data:
        return public_good_root()
    document = json.loads(data)
    if isinstance(document, dict) and "trustedRoot" in document:
        return json.dumps(document["trustedRoot"]).encode()
    return data


@contextmanager
def _as_file(data: bytes) -> Iterator[Path]:
    """``data`` as a private temporary file (the libraries read their anchors from files)."""
    with tempfile.TemporaryDirectory(prefix="mlpolicy-") as directory:
        path = Path(directory, "anchor.pem")
        path.write_bytes(data)
        yield path


# -- hashing and comparing --------------------------------------------------------------
def hash_model(
    model: Path,
    expected: Manifest,
    ignore: Iterable[Path] = (),
    *,
    ignore_unsigned: bool = False,
    ignore_git_paths: bool = True,
    config: Any = None,
) -> Manifest:
    """The model's manifest now, hashed as ``expected`` says it was (or with ``config``, a
    ``model_signing.hashing.Config``); ``ignore`` is relative to ``model``, and the
    signature's own ``ignore_paths`` are honoured."""
    args = expected.serialization_type
    ignored = [*ignore, *(Path(p) for p in args.get("ignore_paths", ()))]
    config = config if config is not None else _hashing_config(args)
    config.set_ignored_paths(paths=ignored, ignore_git_paths=ignore_git_paths)
    names = [model / rd.identifier for rd in expected.resource_descriptors()]
    files = names if ignore_unsigned else None
    manifest: Manifest = config.hash(model, files_to_hash=files)
    return manifest


def _hashing_config(args: dict[str, Any]) -> Any:
    """The hashing configuration a signature's ``serialization`` names (files or shards).

    Symlinks are never followed, whatever the signature says: a link could lead
    out of the repository (a model with one is not hashed: an ``unreadable-file``).
    """
    from model_signing import hashing

    algorithm, symlinks = args["hash_type"], False
    config = hashing.Config()  # type: ignore[no-untyped-call]
    if args.get("method") == "shards":
        return config.use_shard_serialization(
            hashing_algorithm=algorithm, shard_size=args["shard_size"], allow_symlinks=symlinks
        )
    return config.use_file_serialization(hashing_algorithm=algorithm, allow_symlinks=symlinks)


def compare(actual: Manifest, expected: Manifest) -> Comparison:
    """What differs between the model now and the signed manifest, name by name."""
    now = _digests(actual)
    signed = _digests(expected)
    return Comparison(
        extra=tuple(sorted(set(now) - set(signed))),
        missing=tuple(sorted(set(signed) - set(now))),
        changed=tuple(sorted(n for n in set(now) & set(signed) if now[n] != signed[n])),
    )


def _digests(manifest: Manifest) -> dict[str, tuple[str, str]]:
    return {
        str(rd.identifier): (rd.digest.algorithm, rd.digest.digest_hex)
        for rd in manifest.resource_descriptors()
    }


def root_digest(manifest: Manifest) -> str:
    """The model's root digest: sha256 over its resources' digests, in manifest order."""
    hasher = hashlib.sha256()
    for rd in manifest.resource_descriptors():
        hasher.update(rd.digest.digest_value)
    return hasher.hexdigest()


def resources_of(manifest: Manifest) -> list[tuple[str, str, str]]:
    """(name, algorithm, hex digest) of each resource the manifest lists, in order."""
    return [
        (str(rd.identifier), rd.digest.algorithm, rd.digest.digest_hex)
        for rd in manifest.resource_descriptors()
    ]


def check_model(
    model: Path,
    signature: Path,
    mode: str,
    make: Callable[[], Verifier],
    ignore: Iterable[Path] = (),
    *,
    ignore_git_paths: bool = True,
    allow_symlinks: bool = False,
    ignore_unsigned: bool = False,
) -> Comparison:
    """Verify ``signature`` and compare ``model`` with it as ``model_signing verify`` does
    (file serialization, sha256, the given and the signed ignore paths)."""
    from model_signing import hashing

    with contextlib.redirect_stdout(io.StringIO()):
        expected = verified_manifest(signature, mode, make)
    config = hashing.Config().set_allow_symlinks(allow_symlinks)  # type: ignore[no-untyped-call]
    actual = hash_model(
        model,
        expected,
        ignore,
        ignore_unsigned=ignore_unsigned,
        ignore_git_paths=ignore_git_paths,
        config=config,
    )
    return compare(actual, expected)
