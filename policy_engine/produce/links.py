"""Signed in-toto links for DVC stages that already ran.

A link records what ``in-toto-run`` would have recorded around the stage's
command: ``name`` the stage, ``command`` its declared command as argv (as the
engine compares it), ``materials`` its path dependencies and ``products`` its
outputs, digested by in-toto's ``record_artifacts_as_dict`` (sha256 of each
file, directories listed file by file; see :mod:`.artifacts`), each file with
DVC's ``md5`` beside its sha256 (every one is DVC-tracked: a dependency or an
output of the stage, which DVC's lock records by md5), ``byproducts``
and ``environment`` empty. Nothing is run: every dependency and output must
already exist. It is signed with in-toto's own models, as a classic
``Metablock`` or a DSSE ``Envelope``, and written where in-toto looks for it:
``<stage>.<first 8 hex of the key id>.link``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.produce.artifacts import recorded_digests, with_md5
from policy_engine.produce.stages import StageIO

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

MISSING_MATERIAL = "a dependency of the stage is missing: it cannot have run as declared"
MISSING_PRODUCT = "an output of the stage is missing: the stage has not run"


@dataclass(frozen=True)
class RecordedLink:
    """What was signed and where it was written."""

    stage: StageIO
    materials: dict[str, dict[str, str]]
    products: dict[str, dict[str, str]]
    keyid: str
    envelope: str  # "metablock" | "dsse"
    path: Path


def link_path(out_dir: Path, stage: str, keyid: str) -> Path:
    """``out_dir/<stage>.<keyid[:8]>.link``, as in-toto names it; confined to ``out_dir``.

    A stage of another ``dvc.yaml`` (``sub/dvc.yaml:train``) lands in a subfolder,
    as in-toto's ``os.path.join`` of the same name does.
    """
    path = out_dir / f"{stage}.{keyid[:8]}.link"
    real_dir = os.path.realpath(out_dir)
    if not os.path.realpath(path).startswith(real_dir + os.sep):
        raise InputError(f"a link for stage `{stage}` would be written outside", str(out_dir))
    return path


@dataclass(frozen=True)
class PreparedLink:
    """A stage's link before signing: digests of its files, and how it differs from its lock."""

    stage: StageIO
    materials: dict[str, dict[str, str]]
    products: dict[str, dict[str, str]]
    changes: tuple[str, ...]


def prepare_link(root: Path, stage: StageIO) -> PreparedLink:
    """Digest the stage's dependencies and outputs; list what DVC would report as changed
    (the builder's lock issues, and files whose md5 is not the one ``dvc.lock`` records)."""
    materials = with_md5(root, recorded_digests(root, stage.materials, MISSING_MATERIAL))
    products = with_md5(root, recorded_digests(root, stage.products, MISSING_PRODUCT))
    files = {**materials, **products}
    modified = [
        f"`{path}` is not the file `dvc.lock` records (md5 {md5[:12]}…)"
        for path, md5 in stage.locked
        if files.get(path, {}).get("md5", md5) != md5
    ]
    return PreparedLink(stage, materials, products, (*stage.changes, *modified))


def sign_link(
    prepared: PreparedLink, signer: Signer, out_dir: Path, dsse: bool = False
) -> RecordedLink:
    """Sign the prepared link and write it as ``out_dir/<stage>.<keyid8>.link``."""
    from in_toto.models.link import Link

    stage = prepared.stage
    link = Link(
        name=stage.name,
        command=list(stage.argv),
        materials=prepared.materials,
        products=prepared.products,
        byproducts={},
        environment={},
    )
    keyid = signer.public_key.keyid
    path = link_path(out_dir, stage.name, keyid)
    _sign_and_write(link, signer, path, dsse)
    kind = "dsse" if dsse else "metablock"
    return RecordedLink(stage, prepared.materials, prepared.products, keyid, kind, path)


def record_link(
    root: Path, stage: StageIO, signer: Signer, out_dir: Path, dsse: bool = False
) -> RecordedLink:
    """Record, sign and write the link of ``stage`` (see the module doc), changed or not."""
    return sign_link(prepare_link(root, stage), signer, out_dir, dsse)


def _sign_and_write(link: object, signer: Signer, path: Path, dsse: bool) -> None:
    from in_toto.models.metadata import Envelope, Metablock

    metadata = Envelope.from_signable(link) if dsse else Metablock(signed=link)
    metadata.create_signature(signer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata.dump(os.fspath(path))
    except OSError as exc:
        raise InputError(f"cannot write the link: {exc.strerror}", str(path)) from None
