"""The same checks in mlpolicy and in a Rego engine, side by side, on the same repository.

Takes the repository of ``bench_scale.py`` (``--stages`` stages of ``--outputs``
files, two signed links per stage) and makes a copy with violations: the
second key's link is removed from every 7th stage (its outputs are signed by
one key, not two) and the last stage no longer reads the stage before it (its
outputs have no lineage back to the raw data). Then, as whole processes, in
alternation, ``--runs`` times:

* mlpolicy: ``python -m policy_engine check REPO --format json``;
* Rego: ``benchmarks/rego/evaluate.py GRAPH.json``: the same three checks
  written in Rego (``benchmarks/rego/scale.rego``) over the graph that
  ``mlpolicy graph --format json`` exported from the same repository (exported
  once, not timed: it is what a Rego user would have to produce first), run by
  the Rego interpreter of the ``regopy`` package (``pip install -e '.[bench]'``).

It prints the median wall time and peak RSS of each, their ratio, and whether
the two found the same violations (control and subject).

    python benchmarks/bench_rego.py [--stages 100] [--outputs 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.fspath(HERE))

from bench_scale import generate  # noqa: E402

CONTROLS = ("S-1", "L-1", "P-1")


def tampered_copy(source: Path, target: Path, stages: int) -> None:
    """``source`` copied to ``target`` with unsigned outputs and one broken lineage."""
    shutil.copytree(source, target, symlinks=True)
    keys = sorted(p.name.split(".")[1] for p in (target / "attestations").glob("s00000.*.link"))
    for stage in range(0, stages, 7):
        (target / "attestations" / f"s{stage:05d}.{keys[1]}.link").unlink()
    last = f"s{stages - 1:05d}"
    for name, section in (("dvc.yaml", "stages"), ("dvc.lock", "stages")):
        path = target / name
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        deps = data[section][last]["deps"]
        data[section][last]["deps"] = [d for d in deps if "src/step.py" in str(d)]
        dump = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        path.write_text(yaml.dump(data, Dumper=dump, sort_keys=False))


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, standard output) of one process."""
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=output, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{command[1]} failed")
        output.seek(0)
        return elapsed, usage.ru_maxrss / 1024, output.read()


def mlpolicy_violations(report: str) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {control: set() for control in CONTROLS}
    for finding in json.loads(report)["findings"]:
        if finding["control"] in found and finding.get("status", "fail") == "fail":
            found[finding["control"]].add(finding["subject"])
    return {control: sorted(subjects) for control, subjects in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stages", type=int, default=100)
    parser.add_argument("--outputs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = generate(args.stages, args.outputs)
    with tempfile.TemporaryDirectory() as folder:
        repo, cache, graph = Path(folder, "repo"), Path(folder, "cache"), Path(folder, "graph.json")
        tampered_copy(source, repo, args.stages)
        python = [sys.executable, "-m", "policy_engine"]
        env = {**os.environ, "MLPOLICY_CACHE_DIR": os.fspath(cache), "DVC_NO_ANALYTICS": "1"}
        export = [*python, "graph", os.fspath(repo), "--format", "json"]
        export += ["--output", os.fspath(graph)]
        subprocess.run(export, env=env, check=True)
        check = [*python, "check", os.fspath(repo), "--format", "json"]
        rego = [sys.executable, os.fspath(HERE / "rego" / "evaluate.py"), os.fspath(graph)]
        times: dict[str, list[float]] = {"mlpolicy": [], "rego": []}
        peaks: dict[str, float] = {}
        verdicts: dict[str, dict[str, list[str]]] = {}
        for _ in range(args.runs):
            for name, command in (("mlpolicy", check), ("rego", rego)):
                wall, peak, output = run(command, env)
                times[name].append(wall)
                peaks[name] = max(peak, peaks.get(name, 0.0))
                verdicts[name] = (
                    mlpolicy_violations(output) if name == "mlpolicy" else json.loads(output)
                )
        report(args, times, peaks, verdicts)


def report(
    args: argparse.Namespace,
    times: dict[str, list[float]],
    peaks: dict[str, float],
    verdicts: dict[str, dict[str, list[str]]],
) -> None:
    print(f"{args.stages} stages x {args.outputs} outputs, {args.runs} runs each (whole processes)")
    for name in ("mlpolicy", "rego"):
        counts = ", ".join(f"{c}: {len(verdicts[name].get(c, []))}" for c in CONTROLS)
        median = statistics.median(times[name])
        print(f"  {name:9} median {median:7.2f} s  peak {peaks[name]:6.0f} MB  violations {counts}")
    ratio = statistics.median(times["rego"]) / statistics.median(times["mlpolicy"])
    print(f"  wall time, Rego / mlpolicy: {ratio:.1f}x")
    same = all(verdicts["mlpolicy"][c] == verdicts["rego"].get(c, []) for c in CONTROLS)
    print(f"  same violations: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
