"""Signing a model folder (or file) as OpenSSF model signing does, in key mode.

The signature is ``model_signing``'s own: a Sigstore bundle of an in-toto
Statement ``https://model_signing/signature/v1.0`` over the model's files,
signed with an elliptic-curve private key, that ``model_signing verify key``
accepts. The signature file itself and any ``ignore`` paths are left out of
what is signed (and recorded in the signature's ``ignore_paths``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy_engine.errors import InputError
from policy_engine.produce.signing import read_private_pem


@dataclass(frozen=True)
class SignedModel:
    """What was signed: the model, the signature written, and how many files it names."""

    model: Path
    signature: Path
    files: int


def default_signature(model: Path) -> Path:
    """Where a model's signature goes by default: ``<model>.sig`` beside it, so that a
    DVC-tracked folder is not changed by signing it."""
    return model.with_name(model.name + ".sig")


def sign_model(
    model: Path,
    key: Path,
    signature: Path,
    ignore: Iterable[Path] = (),
    password: bytes | None = None,
) -> SignedModel:
    """Sign ``model`` with the EC private key at ``key``; raises :class:`InputError`."""
    if not model.exists():
        raise InputError("model not found", str(model))
    read_private_pem(key)  # bounded, readable, present
    config = _config(model, key, signature, ignore, password)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            config.sign(model, signature)
    except (ValueError, TypeError) as exc:
        raise InputError(f"cannot sign the model: {exc}", str(model)) from None
    return SignedModel(model, signature, _count(signature))


def _config(
    model: Path, key: Path, signature: Path, ignore: Iterable[Path], password: bytes | None
) -> Any:
    from model_signing import hashing, signing

    ignored = paths_inside(model, [*ignore, signature])
    hashing_config = hashing.Config().set_ignored_paths(  # type: ignore[no-untyped-call]
        paths=ignored, ignore_git_paths=True
    )
    secret = password.decode("utf-8") if password is not None else None
    try:
        signer = signing.Config().use_elliptic_key_signer(  # type: ignore[no-untyped-call]
            private_key=key, password=secret
        )
    except (ValueError, TypeError) as exc:
        raise InputError(f"not an elliptic-curve private key: {exc}", str(key)) from None
    return signer.set_hashing_config(hashing_config)


def paths_inside(model: Path, paths: Iterable[Path]) -> list[Path]:
    """The paths inside the model folder, relative to it (others cannot be in it)."""
    root = model.resolve()
    inside = []
    for path in paths:
        try:
            inside.append(path.resolve().relative_to(root))
        except ValueError:
            continue
    return inside


def _count(signature: Path) -> int:
    import base64
    import json

    bundle = json.loads(signature.read_text(encoding="utf-8"))
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return len(payload.get("predicate", {}).get("resources", []))
