"""DVC loading at scale: our whole DVC build of a 2,000-stage project vs DVC's own index load.

Generates, in a temporary folder, a DVC project (``no_scm``) whose ``dvc.yaml``
has 2,000 stages: a chain of plain stages, ``foreach`` groups (lists) and
``matrix`` groups, with params, shared scripts and ``artifacts:``/``metrics:``.
Every dependency and output file is written, then ``dvc.lock`` is written by
DVC's own code: each stage's ``save()`` (hashes of deps, outs and params) and
the pipeline file's ``dump_stages`` (what ``dvc commit`` does), so the lock is
DVC's, not hand-made. Then, alternating in one process, it times:

* DVC: ``Repo(root).index.stages`` (DVC's index: walk, load, resolve, lock);
* ours: ``build_dvc`` into an empty graph (DVC's file classes, schemas,
  resolver and lock, each stage a record instead of DVC's ``Stage`` and
  ``Output`` objects, plus steps, edges, digests, lock checks, declarations
  and the project search), with the cyclic garbage collector paused, as
  ``mlpolicy check`` builds its graph (DVC's load runs as DVC runs it).

and prints the median and best of each and their ratio (target: at most 0.5x DVC's).

    python benchmarks/bench_dvc_load.py [--stages N] [--rounds R]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from policy_engine.graph.builders import BuildContext
from policy_engine.graph.builders.dvc import build_dvc
from policy_engine.graph.collector import paused_gc
from policy_engine.graph.model import ProvenanceGraph
from policy_engine.keys import Keyring

FOREACH_ITEMS = 8
MATRIX = {"opt": ["sgd", "adam"], "depth": [1, 2, 3, 4]}


def pipeline(stages: int) -> tuple[dict, dict]:
    """(dvc.yaml, params.yaml) with ``stages`` stages: 70% chain, 20% foreach, 10% matrix."""
    groups_foreach = stages * 2 // 10 // FOREACH_ITEMS
    groups_matrix = stages // 10 // (len(MATRIX["opt"]) * len(MATRIX["depth"]))
    chain = stages - groups_foreach * FOREACH_ITEMS - groups_matrix * 8
    definitions: dict[str, dict] = {}
    for i in range(chain):
        source = "data/raw.csv" if i == 0 else f"data/chain/{i - 1:05d}.csv"
        definitions[f"chain{i:05d}"] = {
            "cmd": f"python src/step.py {source} data/chain/{i:05d}.csv ${{train.seed}}",
            "deps": ["src/step.py", source],
            "params": ["train.seed", f"chain.c{i % 50}"],
            "outs": [f"data/chain/{i:05d}.csv"],
        }
    items = [f"part{j}" for j in range(FOREACH_ITEMS)]
    for g in range(groups_foreach):
        definitions[f"each{g:03d}"] = {
            "foreach": items,
            "do": {
                "cmd": f"python src/each.py data/chain/{g:05d}.csv ${{item}}",
                "deps": ["src/each.py", f"data/chain/{g:05d}.csv"],
                "params": ["train.seed"],
                "outs": [f"data/each/{g:03d}/${{item}}.csv"],
            },
        }
    for g in range(groups_matrix):
        definitions[f"grid{g:03d}"] = {
            "matrix": MATRIX,
            "cmd": "python src/grid.py ${item.opt} ${item.depth}",
            "deps": ["src/grid.py", f"data/chain/{g:05d}.csv"],
            "outs": [f"data/grid/{g:03d}/${{item.opt}}-${{item.depth}}.json"],
            "metrics": [{f"metrics/{g:03d}/${{item.opt}}-${{item.depth}}.json": {"cache": False}}],
        }
    document = {
        "stages": definitions,
        "artifacts": {"model": {"path": f"data/chain/{chain - 1:05d}.csv", "type": "model"}},
        "metrics": ["metrics"],
    }
    params = {"train": {"seed": 7}, "chain": {f"c{k}": k for k in range(50)}}
    return document, params


def generate(root: Path, stages: int) -> int:
    """Write the project and its files, and DVC's own lock; return the stage count DVC sees."""
    from dvc.dvcfile import ProjectFile
    from dvc.repo import Repo

    Repo.init(os.fspath(root), no_scm=True).close()
    document, params = pipeline(stages)
    (root / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for script in ("step", "each", "grid"):
        _write(root / "src" / f"{script}.py", f"# {script}\n")
    _write(root / "data" / "raw.csv", "a,b\n1,2\n")
    with Repo(os.fspath(root)) as repo:
        loaded = list(repo.index.stages)
        for stage in loaded:
            for out in stage.outs:
                _write(Path(out.fs_path), f"{stage.name}\n")
        for stage in loaded:
            stage.save(run_cache=False)
        ProjectFile(repo, os.fspath(root / "dvc.yaml")).dump_stages(loaded, update_pipeline=False)
    return len(loaded)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def dvc_index(root: Path) -> int:
    from dvc.repo import Repo

    with Repo(os.fspath(root)) as repo:
        return len(repo.index.stages)


def ours(root: Path) -> int:
    graph = ProvenanceGraph(os.fspath(root))
    with paused_gc():
        build_dvc(graph, BuildContext(root, Keyring({})))
    if graph.issues:
        raise SystemExit(f"unexpected issues: {graph.issues[:3]}")
    return sum(1 for _ in graph.steps())


def timed(function: Callable[[Path], int], root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    count = function(root)
    return time.perf_counter() - start, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    with tempfile.TemporaryDirectory(prefix="bench-dvc-") as folder:
        root = Path(folder) / "repo"
        root.mkdir()
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            count = generate(root, args.stages)  # quiet: DVC's "Generating lock file" notes
        lock_lines = (root / "dvc.lock").read_text().count("\n")
        print(
            f"generated {count} stages, dvc.lock by DVC ({lock_lines} lines) in "
            f"{time.perf_counter() - start:.1f} s; load {os.getloadavg()[0]:.2f}"
        )
        times: dict[str, list[float]] = {"dvc": [], "ours": []}
        for round_ in range(args.rounds + 1):  # round 0 warms imports and caches up
            for name, function in (("dvc", dvc_index), ("ours", ours)):
                elapsed, seen = timed(function, root)
                if seen != count:
                    raise SystemExit(f"{name} saw {seen} stages, expected {count}")
                if round_:
                    times[name].append(elapsed)
        report(times, args.rounds)


def report(times: dict[str, list[float]], rounds: int) -> None:
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'':32}{'median':>10}{'best':>10}   ({rounds} rounds, alternating)")
    labels = {"dvc": "DVC Repo(root).index.stages", "ours": "build_dvc (whole DVC build)"}
    for name, label in labels.items():
        print(f"{label:32}{median[name]:>9.3f}s{min(times[name]):>9.3f}s")
    ratio = median["ours"] / median["dvc"]
    print(f"ratio ours/DVC (median): {ratio:.2f}x  (target <= 0.5x)")


if __name__ == "__main__":
    main()
