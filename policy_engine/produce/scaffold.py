"""What `mlpolicy init` writes for an existing DVC repository: its stages mapped to lifecycle
stages, a starter policy, its unit tests and a CI snippet, as text (pure; no I/O).

A stage maps by its ``meta`` (``lifecycle: model_training``, or ``stage:``) when that names a
lifecycle stage, else by the words of its name (``prepare`` -> data_preparation, ``train``
-> model_training, ...). Stages that map to nothing are listed in a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy_engine.lifecycle import STAGES

# Words of a stage name, to the lifecycle stage they suggest (first match wins).
NAME_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("monitoring", frozenset({"monitor", "monitoring", "drift"})),
    ("inference", frozenset({"predict", "inference", "infer", "score", "serve", "batch"})),
    (
        "model_deployment",
        frozenset({"evaluate", "eval", "validate", "test", "deploy", "package", "export"}),
    ),
    ("model_training", frozenset({"train", "training", "fit", "tune", "finetune", "model"})),
    (
        "data_preparation",
        frozenset(
            {"prepare", "prep", "ingest", "load", "clean", "split", "featurize", "features"}
            | {"preprocess", "process", "data", "etl", "label", "download", "extract"}
        ),
    ),
)
TEAMS = {
    "data_preparation": "data_team",
    "model_training": "ml_team",
    "model_deployment": "ml_team",
    "inference": "ops_team",
    "monitoring": "ops_team",
}


@dataclass(frozen=True)
class StageMap:
    """Each lifecycle stage's steps (in pipeline order), how each was mapped, the rest."""

    stages: dict[str, list[str]]
    how: dict[str, str]  # step -> "meta" | "name"
    unmapped: list[str]


def lifecycle_of(name: str, meta: Mapping[str, Any]) -> tuple[str | None, str]:
    """The lifecycle stage of one pipeline stage, and whether ``meta`` or the name said so."""
    for key in ("lifecycle", "stage"):
        value = meta.get(key)
        if isinstance(value, str) and value in STAGES:
            return value, "meta"
    words = set(re.split(r"[^a-z0-9]+", name.lower().rsplit(":", 1)[-1]))
    words |= {w.rstrip("s") for w in words} | {w.removesuffix("ing") for w in words}
    for stage, known in NAME_WORDS:
        if words & known:
            return stage, "name"
    return None, "name"


def map_steps(steps: Iterable[tuple[str, Mapping[str, Any]]]) -> StageMap:
    """Map every pipeline stage ``(name, meta)`` to a lifecycle stage."""
    stages: dict[str, list[str]] = {}
    how: dict[str, str] = {}
    unmapped: list[str] = []
    for name, meta in steps:
        stage, reason = lifecycle_of(name, meta)
        if stage is None:
            unmapped.append(name)
            continue
        stages.setdefault(stage, []).append(name)
        how[name] = reason
    ordered = {s: stages[s] for s in STAGES if s in stages}
    return StageMap(ordered, how, unmapped)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def teams(mapping: StageMap) -> list[str]:
    """The roles the starter policy uses, one per team owning a mapped stage."""
    return sorted({TEAMS[s] for s in mapping.stages if s in TEAMS})


def policy_text(name: str, mapping: StageMap, key: str, has_models: bool) -> str:
    """The starter policy: keys, roles, lifecycle stages and three controls."""
    roles = teams(mapping) or ["ml_team"]
    lines = [
        "# Starter policy written by `mlpolicy init`. Paths are relative to the repository root.",
        "# Replace the one starter key by each person's or CI's own: `mlpolicy keygen NAME`",
        "# prints the `key` line to add; then list the keys in the roles below.",
        "",
        f'policy "{name}"',
        "",
        'attestations in "attestations"',
        "",
        f'key {key.replace("-", "_")} from "keys/{key}.pub"',
        "",
        *(f"role {role} = {key.replace('-', '_')}" for role in roles),
        "",
        "# DVC stages by lifecycle stage (from their `meta: {lifecycle: ...}` or their names).",
        *(f"stage {stage} = steps {_quoted(steps)}" for stage, steps in mapping.stages.items()),
    ]
    if mapping.unmapped:
        lines.append(f"# not mapped to a lifecycle stage: {', '.join(mapping.unmapped)}")
    lines += ["", *_performed_control(mapping), "", *_command_control(mapping)]
    if has_models:
        lines += ["", *_model_control(mapping)]
    return "\n".join(lines) + "\n"


def _performed_control(mapping: StageMap) -> list[str]:
    rules = [
        f"  require every step in {stage} is performed by {TEAMS[stage]}"
        for stage in mapping.stages
        if stage in TEAMS
    ]
    return [
        'control PIPE-01 "Each pipeline step is performed by the team that owns it" {',
        "  severity high",
        "  stage secure_pipelines",
        '  mitigates "Unauthorized Pipeline Actions"',
        *(rules or ["  require every step is performed by ml_team"]),
        "}",
    ]


def _command_control(mapping: StageMap) -> list[str]:
    return [
        'control PIPE-02 "Steps ran the commands dvc.yaml declares" {',
        "  severity high",
        "  stage secure_pipelines",
        '  mitigates "Unauthorized Pipeline Actions"',
        "  require every step runs its declared command",
        "}",
    ]


def _model_control(mapping: StageMap) -> list[str]:
    role = "ml_team"
    return [
        'control PIPE-03 "Models are signed at their current bytes and trace back to data" {',
        "  severity critical",
        "  stage model_deployment",
        '  mitigates "Trojan Models"',
        f"  require every artifact of kind model is signed by {role} and reaches a declared source",
        "}",
    ]


def policy_test_text(mapping: StageMap, key: str) -> str:
    """Unit tests of the starter policy on a small graph of the pipeline's own steps."""
    signer = key.replace("-", "_")
    steps = [s for names in mapping.stages.values() for s in names]
    first = steps[0] if steps else None
    lines = [
        "# Unit tests of pipeline.policy (written by `mlpolicy init`): `mlpolicy test`.",
        "# Graphs are data; signatures are named by the policy's keys; digests are made up.",
        "tests:",
        "  - name: steps signed by their team, running their declared commands, pass",
        '    ignore: ["builtin/*", "PIPE-03"]',
        "    graph: &good",
        "      steps:",
        *(f'        - {{name: "{s}", cmd: ["run {s}"]}}' for s in steps),
        "      attestations:",
        *(
            f'        - {{file: "att/{n}.link", step: "{s}", command: [run, "{s}"], '
            f"signed_by: [{signer}]}}"
            for n, s in enumerate(steps)
        ),
        "    expect: []",
    ]
    if first is not None:
        lines += [
            "  - name: a step signed by an unknown key is unauthorized",
            '    ignore: ["builtin/*", "PIPE-03"]',
            "    graph:",
            "      <<: *good",
            "      attestations:",
            f'        - {{file: "att/0.link", step: "{first}", command: [run, "{first}"], '
            "untrusted: 1}",
            *(
                f'        - {{file: "att/{n}.link", step: "{s}", command: [run, "{s}"], '
                f"signed_by: [{signer}]}}"
                for n, s in enumerate(steps)
                if n
            ),
            "    expect:",
            f'      - {{control: PIPE-01, subject: "{first}", kind: unauthorized-step}}',
        ]
    return "\n".join(lines) + "\n"


CI_SNIPPET = """\
# GitHub Actions job written by `mlpolicy init`: copy it to .github/workflows/mlpolicy.yml.
# Pull requests are judged with the base branch's policy (`mlpolicy diff`); pushes to the
# default branch with `mlpolicy check`. See docs/ci.md for other CI systems.
name: mlpolicy
on: [push, pull_request]
jobs:
  policy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {fetch-depth: 0}
      - uses: actions/setup-python@v5
        with: {python-version: "3.12"}
      - run: pip install mlpolicy
      - run: mlpolicy validate && mlpolicy test
      - if: github.event_name == 'pull_request'
        run: >-
          mlpolicy diff --base "origin/${{ github.base_ref }}"
          --format sarif --output mlpolicy.sarif
      - if: github.event_name != 'pull_request'
        run: mlpolicy check --format sarif --output mlpolicy.sarif
"""
