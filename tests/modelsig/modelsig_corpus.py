"""The model-signing corpus (``../shared/corpus/model-signing``, MANIFEST.md §11) as cases.

Each case: the folder, its mode, the model given to verify (the folder, or the
single file ``signme-1``), whether upstream ignores ``ignore-me`` on the command
line, and the flags both verifiers take. ``model_signing`` 1.1.1 verifies every
case (PASS); keyless cases need the public-good trusted root as a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
TESTS = CORPUS / "model-signing" / "scripts" / "tests"
KEYS = TESTS / "keys" / "certificate"
PUBLIC_KEY = KEYS / "signing-key-pub.pem"
CA = KEYS / "ca-cert.pem"
IDENTITY = "stefanb@us.ibm.com"
ISSUER = "https://sigstore.verify.ibm.com/oauth2"
VERSIONS = ("v0.2.0", "v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0")
MODES = {"elliptic-key": "key", "certificate": "certificate", "sigstore": "sigstore"}


@dataclass(frozen=True)
class Case:
    folder: str
    mode: str  # key | certificate | sigstore

    @property
    def path(self) -> Path:
        return TESTS / self.folder

    @property
    def single_file(self) -> bool:
        return not (self.path / "signme-2").exists()

    def model(self, base: Path | None = None) -> Path:
        folder = base or self.path
        return folder / "signme-1" if self.single_file else folder

    def signed_names(self) -> list[str]:
        return ["signme-1"] if self.single_file else ["signme-1", "signme-2"]


def cases() -> list[Case]:
    found = []
    for version in VERSIONS:
        for suffix, mode in MODES.items():
            if (TESTS / f"{version}-{suffix}" / "model.sig").is_file():
                found.append(Case(f"{version}-{suffix}", mode))
    return found


def public_good_trust_config(folder: Path) -> Path:
    """A client trust configuration made of the public-good files ``sigstore`` ships."""
    store = resources.files("sigstore") / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": json.loads((store / "trusted_root.json").read_text()),
        "signingConfig": json.loads((store / "signing_config.v0.2.json").read_text()),
    }
    path = folder / "trust_config.json"
    path.write_text(json.dumps(config))
    return path


def flags(
    case: Case, model: Path, signature: Path, trust: Path, anchor: Path | None = None
) -> list[str]:
    """``verify MODE`` arguments both ``model_signing`` and ``mlpolicy verify model`` take."""
    args = [case.mode, "--signature", str(signature)]
    if case.mode == "key":
        args += ["--public_key", str(anchor or PUBLIC_KEY)]
    elif case.mode == "certificate":
        args += ["--certificate_chain", str(anchor or CA)]
    else:
        args += [
            "--identity",
            IDENTITY,
            "--identity_provider",
            ISSUER,
            "--trust_config",
            str(trust),
        ]
    if not case.single_file:
        args += ["--ignore-paths", str(model / "ignore-me")]
    return [*args, str(model)]
