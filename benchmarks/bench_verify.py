"""`mlpolicy verify` side by side with `in-toto-verify` on a generated 100-step supply chain.

Generates, in both envelope kinds (classic signed JSON and DSSE), a layout of
``--steps`` steps, each with ``--files`` materials (the previous step's
products) and ``--files`` new products, with MATCH / CREATE / DISALLOW rules,
signed with ed25519 keys; then runs each verifier as a whole process several
times, alternating, and prints the median wall and CPU times, the ratios, the peak RSS
(of the child process, from ``resource.getrusage``) and both verdicts.

Both verifiers run as installed: this checkout's modules are compiled to bytecode
first (as installing the wheel does; in-toto's were when it was installed), so that
neither run pays for compiling its sources, even under ``PYTHONDONTWRITEBYTECODE``.

    python benchmarks/bench_verify.py [--steps 100] [--files 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]  # this checkout's policy_engine, not an installed one


def new_signer() -> tuple[CryptoSigner, bytes]:
    """An ed25519 signer and its public key as PEM."""
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CryptoSigner(private), pem


def artifacts(step: int, files: int) -> dict[str, dict[str, str]]:
    digest = hashlib.sha256
    return {
        f"out/step{step:03d}/file{i:05d}.bin": {
            "sha256": digest(f"{step}/{i}".encode()).hexdigest()
        }
        for i in range(files)
    }


def link_payload(step: int, files: int) -> dict[str, Any]:
    return {
        "_type": "link",
        "name": f"step{step:03d}",
        "command": ["make", f"step{step:03d}"],
        "materials": artifacts(step - 1, files) if step else {},
        "products": artifacts(step, files),
        "byproducts": {"return-value": 0, "stderr": "", "stdout": ""},
        "environment": {},
    }


def layout_payload(steps: int, functionary: CryptoSigner) -> dict[str, Any]:
    key = functionary.public_key.to_dict()
    keyid = functionary.public_key.keyid
    return {
        "_type": "layout",
        "expires": "2100-01-01T00:00:00Z",
        "readme": "generated",
        "keys": {keyid: {**key, "keyid": keyid}},
        "steps": [step_payload(i, keyid) for i in range(steps)],
        "inspect": [],
    }


def step_payload(i: int, keyid: str) -> dict[str, Any]:
    materials = [["DISALLOW", "*"]]
    if i:
        materials.insert(0, ["MATCH", "*", "WITH", "PRODUCTS", "FROM", f"step{i - 1:03d}"])
    return {
        "_type": "step",
        "name": f"step{i:03d}",
        "pubkeys": [keyid],
        "threshold": 1,
        "expected_command": ["make", f"step{i:03d}"],
        "expected_materials": materials,
        "expected_products": [["CREATE", "*"], ["DISALLOW", "*"]],
    }


def sign(payload: dict[str, Any], signer: CryptoSigner, dsse: bool) -> str:
    """The signed document as in-toto writes it (classic Metablock or DSSE envelope)."""
    from in_toto.models.layout import Layout
    from in_toto.models.link import Link
    from in_toto.models.metadata import Envelope, Metablock

    model = (Layout if payload["_type"] == "layout" else Link).read(payload)
    document = Envelope.from_signable(model) if dsse else Metablock(signed=model)
    document.create_signature(signer)
    return json.dumps(document.to_dict(), indent=1, sort_keys=True)


def generate(folder: Path, steps: int, files: int, dsse: bool) -> None:
    owner, owner_pem = new_signer()
    functionary, _ = new_signer()
    folder.mkdir(parents=True)
    (folder / "owner.pub").write_bytes(owner_pem)
    (folder / "root.layout").write_text(sign(layout_payload(steps, functionary), owner, dsse))
    prefix = functionary.public_key.keyid[:8]
    for i in range(steps):
        text = sign(link_payload(i, files), functionary, dsse)
        (folder / f"step{i:03d}.{prefix}.link").write_text(text)


def run(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and exit status of one whole process."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.returncode


def commands(folder: Path) -> dict[str, list[str]]:
    common = ["--layout", "root.layout", "--verification-keys", "owner.pub", "--link-dir", "."]
    return {
        "in-toto-verify": [str(BIN / "in-toto-verify"), *common],
        "mlpolicy verify": [sys.executable, "-m", "policy_engine", "verify", *common],
    }


Result = tuple[float, float, int, int]  # median wall s, median CPU s, exit status, peak RSS KiB


def measure(folder: Path, runs: int) -> dict[str, Result]:
    """Each verifier's medians over ``runs`` alternating runs, its exit status and peak RSS.

    Each verifier's peak RSS is measured in a fresh process of its own (getrusage
    of children only reports the largest child so far).
    """
    walls: dict[str, list[float]] = {name: [] for name in commands(folder)}
    cpus: dict[str, list[float]] = {name: [] for name in commands(folder)}
    status: dict[str, int] = {}
    for _ in range(runs):
        for name, argv in commands(folder).items():
            wall, cpu, code = run(argv, folder)
            walls[name].append(wall)
            cpus[name].append(cpu)
            status[name] = code
    median = statistics.median
    return {
        name: (median(walls[name]), median(cpus[name]), status[name], peak_rss(argv, folder))
        for name, argv in commands(folder).items()
    }


def peak_rss(argv: list[str], cwd: Path) -> int:
    """Peak RSS in KiB of one run, in a child of its own."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], cwd=cwd, env=env, capture_output=True, check=False
    )
    out = done
    return int(out.stdout.decode().strip() or 0)


def verdict(code: int) -> str:
    return {0: "PASS", 1: "FAIL"}.get(code, f"ERROR({code})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "policy_engine", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, dsse in (("classic", False), ("dsse", True)):
            folder = Path(tmp) / kind
            generate(folder, args.steps, args.files, dsse)
            results = measure(folder, args.runs)
            report(kind, args, results)
            shutil.rmtree(folder)


def report(kind: str, args: argparse.Namespace, results: dict[str, Result]) -> None:
    (ref_wall, ref_cpu, ref_code, ref_rss), (our_wall, our_cpu, our_code, our_rss) = (
        results.values()
    )
    print(
        f"{kind}: {args.steps} steps x ({args.files} materials + {args.files} products), "
        f"median of {args.runs} runs"
    )
    for name, (wall, cpu, code, rss) in results.items():
        print(
            f"  {name:16} wall {wall:7.3f} s  cpu {cpu:7.3f} s  "
            f"peak RSS {rss / 1024:7.1f} MiB  {verdict(code)}"
        )
    same = "same verdict" if ref_code == our_code else "DIFFERENT VERDICTS"
    print(
        f"  mlpolicy verify is {ref_wall / our_wall:.2f}x faster (wall), "
        f"{ref_cpu / our_cpu:.2f}x (cpu); memory {our_rss / max(ref_rss, 1):.2f}x of "
        f"in-toto-verify's; {same}"
    )


if __name__ == "__main__":
    main()
