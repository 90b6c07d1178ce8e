"""A provenance graph written as data (YAML), for policy unit tests.

Signatures are stated by the policy's key names (``signed_by``), because a
unit test checks the policy's logic, not cryptography: the graph builders
verify real signatures, and their own tests cover that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from policy_engine.compiler import ir
from policy_engine.graph.model import (
    Attestation,
    DigestClaim,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
    Step,
    WorkspaceFile,
)

Digests = dict[str, str]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepSpec(_Spec):
    name: str
    cmd: list[str] = []
    meta: dict[str, Any] = {}
    desc: str | None = None
    params: dict[str, Any] = {}
    inputs: dict[str, Digests] = {}  # path -> digests the step recorded for it (dvc.lock deps)
    outputs: dict[str, Digests] = {}  # path -> digests the step recorded (dvc.lock outs)


class AttestationSpec(_Spec):
    file: str
    kind: str = "link"  # "link" | "statement"
    step: str = ""
    command: list[str] = []
    materials: dict[str, Digests] = {}
    products: dict[str, Digests] = {}
    signed_by: list[str] = []  # policy key names whose signatures verify
    invalid_by: list[str] = []  # policy key names whose signatures do not verify
    untrusted: int = 0  # signatures by keys the policy does not know
    predicate_type: str = ""
    predicate: dict[str, Any] = {}
    subjects: dict[str, Digests] = {}
    issued_at: datetime | None = None


class GraphSpec(_Spec):
    steps: list[StepSpec] = []
    sources: dict[str, Digests] = Field(default={}, description="`.dvc`-declared data")
    workspace: dict[str, Digests] = {}  # path -> real digests (sha256 and/or md5)
    attestations: list[AttestationSpec] = []


def _keyid(policy: ir.PolicySet, name: str) -> str:
    if name not in policy.keys:
        raise ValueError(f"`{name}` is not a key of the policy")
    return policy.keys[name].keyid


def _signatures(spec: AttestationSpec, policy: ir.PolicySet) -> tuple[SignatureCheck, ...]:
    valid = [SignatureCheck(_keyid(policy, n), SignatureStatus.VALID) for n in spec.signed_by]
    bad = [SignatureCheck(_keyid(policy, n), SignatureStatus.INVALID) for n in spec.invalid_by]
    unknown = [
        SignatureCheck(f"{i:064x}", SignatureStatus.UNTRUSTED) for i in range(spec.untrusted)
    ]
    return (*valid, *bad, *unknown)


def _attestation(spec: AttestationSpec, policy: ir.PolicySet) -> Attestation:
    return Attestation(
        file=spec.file,
        kind=spec.kind,
        envelope="dsse",
        step_name=spec.step,
        command=tuple(spec.command),
        materials=spec.materials,
        products=spec.products,
        signatures=_signatures(spec, policy),
        predicate_type=spec.predicate_type,
        predicate=spec.predicate,
        subjects=spec.subjects,
        issued_at=spec.issued_at,
    )


def build_graph(spec: GraphSpec, policy: ir.PolicySet) -> ProvenanceGraph:
    """The graph a spec describes; key names are resolved through the policy's keys."""
    graph = ProvenanceGraph("<spec>")
    lock = "dvc.lock"
    for i, step in enumerate(spec.steps):
        source = SourceRef("dvc.yaml", i + 1)
        graph.add_step(Step(step.name, source, tuple(step.cmd), step.meta, step.desc, step.params))
        for path, digest in step.inputs.items():
            graph.add_input(
                path, step.name, digest, SourceRef(lock, None, f"stage `{step.name}` dep")
            )
        for path, digest in step.outputs.items():
            graph.add_output(
                step.name, path, digest, SourceRef(lock, None, f"stage `{step.name}` out")
            )
    for path, digest in spec.sources.items():
        for algorithm, value in digest.items():
            graph.add_claim(path, DigestClaim(algorithm, value, SourceRef(f"{path}.dvc")))
    for att in spec.attestations:
        graph.add_attestation(_attestation(att, policy), SourceRef(att.file))
    for path, digest in spec.workspace.items():
        graph.set_workspace(path, WorkspaceFile(digest.get("sha256", ""), digest.get("md5", ""), 0))
    return graph
