"""The whole ``mlpolicy check`` at the budgeted scale, as a user runs it, with its phases.

Generates (once; cached under the temporary folder, keyed by the parameters) a
DVC project with ``--stages`` stages in one ``dvc.yaml``: a chain where each
stage reads a script and two outputs of the stage before, and writes
``--outputs`` files (10,000 stages x 10 = 100,000 artifacts). Every file is
written, ``dvc.lock`` records their md5 in DVC's own lock format (``schema:
'2.0'``, ``hash: md5``), and each stage has two in-toto links (ed25519, one per
key: 20,000 signed links) whose products are the outputs' sha256. The policy
has the three core checks (signed by two keys, lineage back to the raw data,
steps performed by the team).

Then it runs ``python -m policy_engine check REPO --format json`` as a child
process: cold (empty hash cache) once, warm ``--rounds`` times, reporting wall
time and peak RSS (the child's ``ru_maxrss``), and, in this process, the same
check phase by phase (each builder, evaluation, the JSON report). Targets:
10 s wall and 2 GB peak for the warm run.

    python benchmarks/bench_scale.py [--stages 10000] [--outputs 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

TARGET_WALL, TARGET_RSS_MB = 10.0, 2048.0
POLICY = """\
policy "scale"
attestations in "attestations"
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
  require every artifact matching "out/**" derives from artifacts matching "data/*"
}
control P-1 "performed" {
  severity high
  require every step in model_training is performed by team
}
"""


def repo_folder(stages: int, outputs: int) -> Path:
    """Where the generated repository is cached for these parameters."""
    return Path(tempfile.gettempdir()) / f"mlpolicy-bench-scale-v1-{stages}x{outputs}" / "repo"


def outputs_of(stage: int, outputs: int) -> list[str]:
    return [f"out/s{stage:05d}/{j}.bin" for j in range(outputs)]


def inputs_of(stage: int, outputs: int) -> list[str]:
    previous = ["data/raw.csv"] if stage == 0 else outputs_of(stage - 1, outputs)[:2]
    return ["src/step.py", *previous]


def write_files(root: Path, stages: int, outputs: int) -> dict[str, bytes]:
    """Write every file of the workspace; return their bytes by repository path."""
    contents = {"src/step.py": b"# one step\n", "data/raw.csv": b"a,b\n1,2\n"}
    for i in range(stages):
        contents.update((p, f"{p}\n".encode()) for p in outputs_of(i, outputs))
    for path, data in contents.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return contents


def write_pipeline(root: Path, stages: int, outputs: int, contents: dict[str, bytes]) -> None:
    """``dvc.yaml`` and a ``dvc.lock`` in DVC's lock format (what ``dvc commit`` writes)."""

    def entry(path: str) -> dict[str, Any]:
        data = contents[path]
        return {
            "path": path,
            "hash": "md5",
            "md5": hashlib.md5(data).hexdigest(),
            "size": len(data),
        }

    definitions, locked = {}, {}
    for i in range(stages):
        name, deps, outs = f"s{i:05d}", inputs_of(i, outputs), outputs_of(i, outputs)
        cmd = f"python src/step.py {deps[1]} out/s{i:05d}"
        definitions[name] = {"cmd": cmd, "deps": deps, "outs": outs}
        locked[name] = {
            "cmd": cmd,
            "deps": [entry(p) for p in deps],
            "outs": [entry(p) for p in outs],
        }
    dump = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump({"stages": definitions}, Dumper=dump, sort_keys=False)
    (root / "dvc.yaml").write_text(text)
    lock = {"schema": "2.0", "stages": locked}
    (root / "dvc.lock").write_text(yaml.dump(lock, Dumper=dump, sort_keys=False))


def write_links(root: Path, stages: int, outputs: int, contents: dict[str, bytes]) -> None:
    """Two signed links per stage (keys ``a`` and ``b``), products at their sha256."""
    from cryptography.hazmat.primitives import serialization
    from in_toto.models.link import Link
    from in_toto.models.metadata import Metablock
    from securesystemslib.signer import CryptoSigner

    (root / "keys").mkdir(exist_ok=True)
    (root / "attestations").mkdir(exist_ok=True)
    signers = [CryptoSigner.generate_ed25519() for _ in range(2)]
    for name, signer in zip("ab", signers, strict=True):
        public = signer._private_key.public_key()  # type: ignore[attr-defined]
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (root / "keys" / f"{name}.pub").write_bytes(pem)

    def sha(paths: list[str]) -> dict[str, dict[str, str]]:
        return {p: {"sha256": hashlib.sha256(contents[p]).hexdigest()} for p in paths}

    for i in range(stages):
        name = f"s{i:05d}"
        link = Link(
            name=name,
            command=["python", "src/step.py", name],
            materials=sha(inputs_of(i, outputs)),
            products=sha(outputs_of(i, outputs)),
        )
        for signer in signers:
            metadata = Metablock(signed=link)
            metadata.create_signature(signer)
            keyid = signer.public_key.keyid[:8]
            metadata.dump(str(root / "attestations" / f"{name}.{keyid}.link"))


def generate(stages: int, outputs: int) -> Path:
    """The cached repository for these parameters, generated when missing."""
    root = repo_folder(stages, outputs)
    if (root.parent / "complete").exists():
        return root
    from dvc.repo import Repo

    start = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".dvc").is_dir():
        Repo.init(os.fspath(root), no_scm=True).close()
    contents = write_files(root, stages, outputs)
    write_pipeline(root, stages, outputs, contents)
    write_links(root, stages, outputs, contents)
    (root / "policies").mkdir(exist_ok=True)
    (root / "policies" / "scale.policy").write_text(POLICY)
    (root.parent / "complete").write_text("")
    print(f"generated {root} in {time.perf_counter() - start:.0f} s")
    return root


def run_cli(root: Path, cache: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit status) of one ``mlpolicy check`` process."""
    command = [sys.executable, "-m", "policy_engine", "check", os.fspath(root), "--format", "json"]
    env = {**os.environ, "MLPOLICY_CACHE_DIR": os.fspath(cache), "DVC_NO_ANALYTICS": "1"}
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


@contextmanager
def timer(phases: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    phases[name] = time.perf_counter() - start


def phases_in_process(root: Path) -> dict[str, float]:
    """Seconds per phase of the same check, in this process (warm hash cache).

    The phases run as ``mlpolicy check`` runs them: the builders through
    ``building`` (the graph's builders in order), evaluation with the garbage
    collector paused, then the JSON report.
    """
    phases: dict[str, float] = {}
    with timer(phases, "import"):
        from policy_engine.api import load_policy
        from policy_engine.evaluate import evaluate
        from policy_engine.graph.build import building
        from policy_engine.graph.builders import BuildContext
        from policy_engine.graph.collector import paused_gc
        from policy_engine.graph.model import ProvenanceGraph
        from policy_engine.keys import Keyring
        from policy_engine.report.json_report import render_json
        from policy_engine.results import CheckResult
    with timer(phases, "policy"):
        loaded = load_policy([root / "policies"], root)
    policy = loaded.policy
    assert policy is not None, loaded.diagnostics
    now = datetime.now(timezone.utc)
    graph = ProvenanceGraph(str(root))
    context = BuildContext(root, Keyring(policy.keys), tuple(policy.attestation_paths), now)
    start = time.perf_counter()
    for name in building(graph, context):
        phases[f"build: {name}"] = time.perf_counter() - start
        start = time.perf_counter()
    with timer(phases, "evaluate"), paused_gc():
        evaluation = evaluate(policy, graph, now)
    with timer(phases, "report (json)"):
        render_json(CheckResult(policy, graph, evaluation), str(root))
    return phases


def show(label: str, value: float, unit: str, target: float | None = None) -> None:
    line = f"{label:34}{value:9.2f} {unit}"
    if target is not None:
        line += f"   target <= {target:g} {unit}   ratio {value / target:.2f}"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stages", type=int, default=10_000)
    parser.add_argument("--outputs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-phases", action="store_true", help="skip the in-process phases")
    args = parser.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    root = generate(args.stages, args.outputs)
    links = sum(1 for _ in (root / "attestations").iterdir())
    print(
        f"repository: {args.stages} stages, {args.stages * args.outputs + 2} files, "
        f"{links} signed links; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="mlpolicy-scale-cache-") as cache:
        measure(root, Path(cache), args.rounds)
        if not args.no_phases:
            os.environ["MLPOLICY_CACHE_DIR"] = cache
            print("phases (in process, warm hash cache):")
            for name, seconds in phases_in_process(root).items():
                show(f"  {name}", seconds, "s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process's peak RSS: {peak:.0f} MB)")


def measure(root: Path, cache: Path, rounds: int) -> None:
    cold = run_cli(root, cache)
    warm = [run_cli(root, cache) for _ in range(rounds)]
    statuses = {cold[2], *(w[2] for w in warm)}
    print(f"mlpolicy check --format json, exit status {sorted(statuses)}")
    show("cold (empty hash cache) wall", cold[0], "s", TARGET_WALL)
    show("cold peak RSS", cold[1], "MB", TARGET_RSS_MB)
    show(f"warm wall (median of {rounds})", statistics.median(w[0] for w in warm), "s", TARGET_WALL)
    show("warm peak RSS (max)", max(w[1] for w in warm), "MB", TARGET_RSS_MB)


if __name__ == "__main__":
    main()
