"""The bundled example ML repositories: reproducible with the real tools, signed, and faulty
exactly where fixtures/generate.py says."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from in_toto.exceptions import SignatureVerificationError
from in_toto.models.link import Link
from in_toto.models.metadata import Envelope, Metablock, Metadata
from securesystemslib.signer import SSlibKey

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
COMPLIANT = FIXTURES / "example-ml"
TAMPERED = FIXTURES / "example-ml-tampered"
FEATURES = "data/features/train.csv"
MODEL = "models/model.json"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "mlpolicy_fixture_generate", FIXTURES / "generate.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def public_key(repo: Path, name: str) -> dict[str, Any]:
    key = SSlibKey.from_crypto(load_pem_public_key((repo / "keys" / f"{name}.pub").read_bytes()))
    return {"keyid": key.keyid, **key.to_dict()}


def links(repo: Path) -> dict[str, tuple[Metadata, Link]]:
    found = {}
    for path in sorted((repo / "attestations").glob("*.link")):
        metadata = Metadata.load(str(path))
        link = metadata.get_payload()
        found[link.name] = (metadata, link)
    return found


def signer_ids(metadata: Metadata) -> list[str]:
    signatures = metadata.signatures
    if isinstance(metadata, Envelope):
        return [signature.keyid for signature in signatures.values()]
    return [signature["keyid"] for signature in signatures]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locked(repo: Path, stage: str, section: str, path: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return next(e["md5"] for e in lock["stages"][stage][section] if e["path"] == path)


@pytest.mark.slow
def test_regenerating_gives_the_committed_trees_byte_for_byte(tmp_path: Path) -> None:
    for variant, committed in [("compliant", COMPLIANT), ("tampered", TAMPERED)]:
        generator.generate(tmp_path / variant, variant)
        fresh, expected = tree(tmp_path / variant), tree(committed)
        assert sorted(fresh) == sorted(expected), variant
        changed = sorted(name for name in fresh if fresh[name] != expected[name])
        assert changed == [], f"{variant}: regenerated files differ: {changed}"


def test_both_signature_forms_are_present() -> None:
    kinds = {name: type(meta) for name, (meta, _) in links(COMPLIANT).items()}
    assert kinds == {
        "ingest": Metablock,
        "prepare": Metablock,
        "featurize": Metablock,
        "train": Envelope,
        "evaluate": Envelope,
    }


@pytest.mark.parametrize("repo", [COMPLIANT, TAMPERED], ids=["compliant", "tampered"])
def test_links_are_named_after_stage_and_signer(repo: Path) -> None:
    for path in (repo / "attestations").glob("*.link"):
        metadata = Metadata.load(str(path))
        stage, keyid_prefix, _ = path.name.split(".")
        assert metadata.get_payload().name == stage
        (keyid,) = signer_ids(metadata)
        assert keyid.startswith(keyid_prefix)


def test_compliant_links_verify_with_the_expected_public_keys() -> None:
    found = links(COMPLIANT)
    assert sorted(found) == sorted(generator.STAGES)
    for stage, (metadata, _) in found.items():
        metadata.verify_signature(public_key(COMPLIANT, generator.SIGNED_BY[stage]))
        with pytest.raises(SignatureVerificationError):
            metadata.verify_signature(public_key(COMPLIANT, "intruder"))


def test_compliant_repo_has_none_of_the_faults() -> None:
    found = links(COMPLIANT)
    model = sha256(COMPLIANT / MODEL)
    assert found["train"][1].products[MODEL]["sha256"] == model
    assert found["evaluate"][1].materials[MODEL]["sha256"] == model
    assert found["train"][1].materials[FEATURES] == found["featurize"][1].products[FEATURES]
    assert locked(COMPLIANT, "train", "deps", FEATURES) == locked(
        COMPLIANT, "featurize", "outs", FEATURES
    )
    for _, link in found.values():
        for path, digest in {**link.materials, **link.products}.items():
            assert sha256(COMPLIANT / path) == digest["sha256"], path


def test_tampered_fault_a_train_consumed_features_featurize_never_produced() -> None:
    found = links(TAMPERED)
    consumed = found["train"][1].materials[FEATURES]["sha256"]
    produced = found["featurize"][1].products[FEATURES]["sha256"]
    assert consumed != produced
    assert sha256(TAMPERED / FEATURES) == produced  # the original file was put back
    assert locked(TAMPERED, "train", "deps", FEATURES) != locked(
        TAMPERED, "featurize", "outs", FEATURES
    )


def test_tampered_fault_b_model_changed_after_signing() -> None:
    found = links(TAMPERED)
    workspace = sha256(TAMPERED / MODEL)
    signed = found["train"][1].products[MODEL]["sha256"]
    assert workspace != signed
    assert found["evaluate"][1].materials[MODEL]["sha256"] == signed
    md5 = hashlib.md5((TAMPERED / MODEL).read_bytes()).hexdigest()
    assert md5 != locked(TAMPERED, "train", "outs", MODEL)


def test_tampered_fault_c_featurize_signed_by_the_intruder() -> None:
    found = links(TAMPERED)
    metadata = found["featurize"][0]
    intruder = public_key(TAMPERED, "intruder")
    assert signer_ids(metadata) == [intruder["keyid"]]
    metadata.verify_signature(intruder)
    with pytest.raises(SignatureVerificationError):
        metadata.verify_signature(public_key(TAMPERED, "data-engineer"))
    for stage in ("ingest", "prepare", "train", "evaluate"):
        found[stage][0].verify_signature(public_key(TAMPERED, generator.SIGNED_BY[stage]))
