"""`mlpolicy init`: scaffold policies for an existing DVC repository.

Reads the pipeline the way `check` does (nothing is run), maps its stages to
lifecycle stages, makes a starter key pair (the private key in the user key
folder, outside the repository) and writes the starter policy, its unit tests, a
CI snippet and the public key. Existing files are kept unless ``force``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from policy_engine.errors import InputError
from policy_engine.files import key_dir
from policy_engine.produce import scaffold

KEY_NAME = "pipeline"
POLICY = Path("policies/pipeline.policy")
TESTS = Path("policies/pipeline.policytest.yaml")
CI = Path("policies/ci/github-actions.yml")
PUBLIC = Path("keys") / f"{KEY_NAME}.pub"


@dataclass(frozen=True)
class InitResult:
    written: tuple[Path, ...]  # relative to the repository
    mapping: scaffold.StageMap
    private_key: Path | None  # None: the repository's public key was kept


def _name(repo: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", repo.resolve().name) or "repository"


def _pipeline(repo: Path) -> tuple[scaffold.StageMap, bool]:
    from policy_engine.api import build
    from policy_engine.evaluate.kinds import artifact_kind

    graph = build(None, repo, hash_cache=False)
    steps = [(s.name, s.meta) for s in graph.steps() if not s.name.startswith("slsa:")]
    if not steps:
        raise InputError("no DVC stage found: run `mlpolicy init` in a DVC repository", str(repo))
    node = graph.g.nodes
    models = any(
        artifact_kind(a.path, node[graph.artifact_id(a.path)]) == "model" for a in graph.artifacts()
    )
    return scaffold.map_steps(steps), models


def init_repository(repo: Path, force: bool = False) -> InitResult:
    """Write the starter files in ``repo``; an existing file is an error unless ``force``."""
    if not repo.is_dir():
        raise InputError("repository folder not found", str(repo))
    if not force:
        for path in (POLICY, TESTS, CI):
            if (repo / path).exists():
                raise InputError("already exists; use --force to replace it", str(repo / path))
    mapping, models = _pipeline(repo)
    private = _starter_key(repo, force)
    files = {
        POLICY: scaffold.policy_text(_name(repo), mapping, KEY_NAME, models),
        TESTS: scaffold.policy_test_text(mapping, KEY_NAME),
        CI: scaffold.CI_SNIPPET,
    }
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    (repo / "attestations").mkdir(exist_ok=True)
    written = (*files, PUBLIC) if private else tuple(files)
    return InitResult(tuple(written), mapping, private)


def _starter_key(repo: Path, force: bool) -> Path | None:
    """The starter key pair: kept when the repository has its public key, else made."""
    from policy_engine.produce.keygen import write_key_pair

    if (repo / PUBLIC).exists() and not force:
        return None
    folder = key_dir() / _name(repo)
    pair = write_key_pair(folder, KEY_NAME, "ed25519", None, True, repo / PUBLIC.parent)
    return pair.private_path
