"""Evaluator at the budgeted scale: 10,000 steps, 100,000 artifacts, 20,000 signed links.

Builds a synthetic provenance graph through the graph API (a chain of steps,
each consuming the previous step's outputs and producing ten artifacts, each
recorded by two signed links), compiles a policy with the three core checks,
and prints how long graph construction and evaluation (with the garbage
collector paused, as ``mlpolicy check`` runs it) take and the peak memory.
Signature verification and hashing are measured by the builders' own
benchmarks; here their results are facts on the graph.

    python benchmarks/bench_evaluate.py [--steps N]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner

from policy_engine.compiler import compile_modules, ir
from policy_engine.evaluate import evaluate
from policy_engine.graph.collector import paused_gc
from policy_engine.graph.model import (
    Attestation,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
    Step,
    WorkspaceFile,
)
from policy_engine.language import parse_text

OUTPUTS_PER_STEP = 10
LINKS_PER_STEP = 2
POLICY = """\
policy "bench"
key a from "keys/a.pub"
key b from "keys/b.pub"
role team = a, b
stage model_training = steps "s*"
control S-1 "signed" {
  severity high
  stage model_deployment
  require every artifact matching "out/**" is signed by at least 2 of team
}
control L-1 "lineage" {
  severity high
  stage model_training
  require every artifact matching "out/**" derives from artifacts matching "source/*"
}
control P-1 "performed" {
  severity high
  require every step in model_training is performed by team
}
"""


def compile_policy(root: Path) -> ir.PolicySet:
    (root / "keys").mkdir()
    for name in ("a", "b"):
        public = CryptoSigner.generate_ed25519()._private_key.public_key()  # type: ignore[attr-defined]
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (root / "keys" / f"{name}.pub").write_bytes(pem)
    parsed = parse_text(POLICY, "bench.policy")
    result = compile_modules([parsed.module], root)
    assert result.policy is not None, result.diagnostics
    return result.policy


def synthetic_graph(policy: ir.PolicySet, steps: int) -> ProvenanceGraph:
    graph = ProvenanceGraph("/bench")
    keyids = sorted(policy.roles["team"].keyids)
    lock = SourceRef("dvc.lock")
    previous = ["source/data.csv"]
    graph.set_workspace(previous[0], WorkspaceFile("sha-src", f"md5-{previous[0]}", 1))
    for i in range(steps):
        name = f"s{i:05d}"
        graph.add_step(Step(name, SourceRef("dvc.yaml", i + 1)))
        outputs = [f"out/{name}/{j}.bin" for j in range(OUTPUTS_PER_STEP)]
        for path in previous[:2]:
            graph.add_input(path, name, {"md5": f"md5-{path}"}, lock)
        for path in outputs:
            graph.add_output(name, path, {"md5": f"md5-{path}"}, lock)
            graph.set_workspace(path, WorkspaceFile(f"sha-{path}", f"md5-{path}", 1))
        products = {p: {"sha256": f"sha-{p}"} for p in outputs}
        for k in range(LINKS_PER_STEP):
            att = Attestation(
                file=f"att/{name}.{k}.link",
                kind="link",
                envelope="dsse",
                step_name=name,
                products=products,
                signatures=(SignatureCheck(keyids[k], SignatureStatus.VALID),),
            )
            graph.add_attestation(att, SourceRef(att.file))
        previous = outputs
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    steps = parser.parse_args().steps
    with tempfile.TemporaryDirectory() as tmp:
        policy = compile_policy(Path(tmp))
    start = time.perf_counter()
    graph = synthetic_graph(policy, steps)
    built = time.perf_counter()
    with paused_gc():  # as `mlpolicy check` evaluates (policy_engine/api.py)
        result = evaluate(policy, graph, datetime.now(timezone.utc))
    done = time.perf_counter()
    artifacts = sum(1 for _ in graph.artifacts())
    links = sum(1 for _ in graph.attestations())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"graph: {steps} steps, {artifacts} artifacts, {links} signed links")
    print(f"build graph (API calls): {built - start:6.2f} s")
    print(f"evaluate 3 controls:     {done - built:6.2f} s  ({len(result.findings)} findings)")
    print(f"peak memory (max RSS):   {peak_mb:6.0f} MB")


if __name__ == "__main__":
    main()
