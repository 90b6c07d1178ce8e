"""The public API: load policies, build the provenance graph, evaluate.

The CLI is a thin layer over these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from policy_engine.errors import InputError
from policy_engine.results import CheckResult, LoadedPolicy

if TYPE_CHECKING:
    from policy_engine.compiler import ir
    from policy_engine.evaluate.explain import Explanation
    from policy_engine.graph.model import ProvenanceGraph


def load_policy(paths: Sequence[Path], root: Path, lower: bool = True) -> LoadedPolicy:
    """Parse and compile every policy file (and its imports) together; all diagnostics.

    With ``lower`` false the policy is only checked: no IR is built (``policy`` is None).
    """
    from policy_engine.compiler import compile_units
    from policy_engine.loader import load_files

    loaded = load_files(paths, root)
    # What parsed is still checked: a syntax error hides no error after it.
    compiled = compile_units(loaded.units, root, lower_ir=lower and loaded.ok)
    diagnostics = (*loaded.diagnostics, *compiled.diagnostics)
    controls = len(compiled.context.controls)
    policy = compiled.policy if loaded.ok else None
    return LoadedPolicy(policy, diagnostics, loaded.sources, controls)


def build(
    policy: ir.PolicySet | None,
    root: Path,
    attestations: Sequence[Path] = (),
    *,
    now: datetime | None = None,
    hash_cache: bool = True,
    progress: bool = False,
    cache_repo: Path | None = None,
    dvc_cache: bool = True,
) -> ProvenanceGraph:
    """The provenance graph of ``root``, with signatures checked against the policy's keys.

    With no policy, no key is trusted (every signature is UNTRUSTED). ``now`` is
    the time layouts expire against; ``hash_cache`` allows the persistent hash
    cache; ``progress`` a progress line on a terminal's stderr while hashing.
    ``cache_repo`` is the repository whose DVC cache holds the bytes of outputs
    missing from the workspace (None: ``root`` itself); it is only read, and not at all
    when ``dvc_cache`` is false.
    """
    from policy_engine.graph.build import build_graph
    from policy_engine.graph.builders import BuildContext, LayoutOwners
    from policy_engine.keys import Keyring

    if not root.is_dir():
        raise InputError("repository folder not found", str(root))
    declared = policy.attestation_paths if policy is not None else ()
    paths = tuple(dict.fromkeys([*declared, *attestations]))
    keyring = Keyring(policy.keys if policy is not None else {})
    owners = tuple(
        LayoutOwners(glob, o.role.name, o.role.keyids)
        for o in (policy.layouts if policy is not None else ())
        for glob in o.globs
    )
    stores = policy.tracking_stores if policy is not None else ()
    context = BuildContext(
        root,
        keyring,
        paths,
        now,
        hash_cache,
        progress,
        owners,
        cache_repo=cache_repo,
        tracking_stores=stores,
        dvc_cache=dvc_cache,
    )
    return build_graph(context)


def check(
    policy: ir.PolicySet,
    root: Path,
    attestations: Sequence[Path] = (),
    now: datetime | None = None,
    *,
    hash_cache: bool = True,
    progress: bool = False,
    cache_repo: Path | None = None,
    dvc_cache: bool = True,
) -> CheckResult:
    """Build the graph of ``root`` and evaluate ``policy`` against it (at ``now``).

    ``cache_repo`` and ``dvc_cache`` are as for :func:`build`.
    """
    from policy_engine.evaluate import evaluate
    from policy_engine.graph.collector import paused_gc

    moment = now or datetime.now(timezone.utc)
    graph = build(
        policy,
        root,
        attestations,
        now=moment,
        hash_cache=hash_cache,
        progress=progress,
        cache_repo=cache_repo,
        dvc_cache=dvc_cache,
    )
    with paused_gc():
        evaluation = evaluate(policy, graph, moment)
    return CheckResult(policy, graph, evaluation)


def explain(
    policy: ir.PolicySet,
    root: Path,
    attestations: Sequence[Path] = (),
    now: datetime | None = None,
    *,
    controls: Sequence[str] = (),
    subjects: Sequence[str] = (),
    hash_cache: bool = True,
) -> Explanation:
    """Why each control matching ``controls`` (globs) passed or failed, as a tree down to the
    evidence, over the subjects matching ``subjects`` (globs; all when empty)."""
    from policy_engine.evaluate.explain import explain as explain_controls

    moment = now or datetime.now(timezone.utc)
    graph = build(policy, root, attestations, now=moment, hash_cache=hash_cache)
    return explain_controls(policy, graph, moment, controls, subjects)


__all__ = [
    "CheckResult",
    "LoadedPolicy",
    "build",
    "check",
    "explain",
    "load_policy",
]
