"""Parsing and validating a 1,000-line policy; start-up of `mlpolicy --help` and `validate`.

Generates a repository with two keys and a policy of about 1,000 lines (controls
using every kind of rule), then prints: in-process parse + compile time, and
the wall time of whole `mlpolicy validate` and `mlpolicy --help` processes
(best of several runs). Budgets: validate under 300 ms, --help under 150 ms.

    python benchmarks/bench_validate.py [--lines N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner

HEADER = """\
policy "bench"
key alice from "keys/alice.pub"
key bob from "keys/bob.pub"
role team = alice, bob
stage model_training = steps "train*" or steps where meta.lifecycle == "model_training"
stage data_preparation = steps "prep*"
"""
CONTROL = """\
control C-{i} "Control number {i}" {{
  severity high
  stage model_training
  mitigates "Trojan Models"
  description "Generated control {i}."
  require every artifact matching "models/{i}/**" is signed by at least 2 of team
  require every artifact of kind model
    derives from artifacts matching "data/raw/*" and reaches a declared source
  require every step in model_training is performed by team and runs its declared command
  require every artifact of kind model
    is attested with "https://x/eval/v1" by team where acc >= 0.9, split in ["test"] within 30d
}}

"""


def write_repo(root: Path, lines: int) -> Path:
    (root / "keys").mkdir()
    for name in ("alice", "bob"):
        public = CryptoSigner.generate_ed25519()._private_key.public_key()  # type: ignore[attr-defined]
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (root / "keys" / f"{name}.pub").write_bytes(pem)
    per_control = CONTROL.count("\n")
    count = max(1, (lines - HEADER.count("\n")) // per_control)
    text = HEADER + "".join(CONTROL.format(i=i) for i in range(count))
    (root / "policies").mkdir()
    (root / "policies" / "bench.policy").write_text(text)
    return root


def best_of(command: list[str], cwd: Path, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    lines = parser.parse_args().lines
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_repo(Path(tmp), lines)
        text = (repo / "policies" / "bench.policy").read_text()
        start = time.perf_counter()
        from policy_engine.api import load_policy

        loaded = load_policy([repo / "policies"], repo)
        in_process = time.perf_counter() - start
        assert loaded.ok, loaded.diagnostics
        mlpolicy = [str(Path(sys.executable).parent / "mlpolicy")]  # the console script
        validate = best_of([*mlpolicy, "validate"], repo)
        help_time = best_of([*mlpolicy, "--help"], repo)
    print(f"policy: {text.count(chr(10))} lines, {len(loaded.policy.controls)} controls")
    print(f"parse + compile in process (first run, imports included): {in_process * 1000:6.0f} ms")
    print(
        f"`mlpolicy validate` whole process (best of 7):            {validate * 1000:6.0f} ms"
        "  (budget 300 ms)"
    )
    print(
        f"`mlpolicy --help` whole process (best of 7):              {help_time * 1000:6.0f} ms"
        "  (budget 150 ms)"
    )


if __name__ == "__main__":
    main()
