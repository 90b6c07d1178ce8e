"""Experiment tracking: what the MLflow run behind a subject recorded.

A model version stands for the run it was registered from (directly, or through
its logged model); a run for itself; an artifact for the runs that logged its
exact bytes, any one of which may satisfy the predicate.
"""

from __future__ import annotations

from collections.abc import Callable

from policy_engine.compiler import ir
from policy_engine.evaluate import conditions
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Kind, Verdict
from policy_engine.evaluate.predicates.registry import evaluates
from policy_engine.graph import tracking
from policy_engine.graph.model import Evidence
from policy_engine.graph.tracking import CommitStatus, DatasetInput, Run

_LOCKED = ("dvc.lock", ".dvc")
_COMPARABLE = ("sha256", "md5")
RunCheck = Callable[[Run, EvalContext], Verdict]


def _runs(subject: Subject, ctx: EvalContext) -> tuple[list[Run], str]:
    """The runs a subject stands for, and why there are none."""
    if subject.kind == "runs":
        return [ctx.runs[subject.name]], ""
    if subject.kind == "models":
        version = ctx.model_versions[subject.name]
        run = tracking.version_run(ctx.graph, version)
        if run is not None:
            return [run], ""
        if version.run_id:
            return [], f"its run `{version.run_id}` is not in the MLflow store"
        return [], "no MLflow run is recorded for this model version"
    return tracking.logging_runs(ctx.graph, subject.name), "no MLflow run logged these bytes"


def _over_runs(subject: Subject, ctx: EvalContext, check: RunCheck, kind: Kind) -> Verdict:
    runs, missing = _runs(subject, ctx)
    if not runs:
        return Verdict(False, missing, kind)
    verdicts = [check(run, ctx) for run in runs]
    return next((v for v in verdicts if v.holds), verdicts[0])


_COMMIT_WORDS = {
    CommitStatus.HEAD: "this revision (HEAD)",
    CommitStatus.ANCESTOR: "an ancestor of this revision",
    CommitStatus.OTHER: "a commit this revision's history does not contain",
    CommitStatus.UNKNOWN: "a commit whose place in history is unknown "
    "(no git repository, or a shallow clone)",
}


def _at_commit(run: Run, ctx: EvalContext) -> Verdict:
    kind = Kind.MISSING_LINEAGE
    if run.commit_status is CommitStatus.MISSING:
        return Verdict(False, f"run `{run.run_id}` recorded no git commit", kind)
    holds = run.commit_status in (CommitStatus.HEAD, CommitStatus.ANCESTOR)
    message = f"run `{run.run_id}` was trained at {_COMMIT_WORDS[run.commit_status]}"
    evidence = (Evidence("git commit", run.commit, str(run.source)),)
    return Verdict(holds, message, kind, evidence)


@evaluates(ir.TrainedAtCommit)
def trained_at_commit(pred: ir.TrainedAtCommit, subject: Subject, ctx: EvalContext) -> Verdict:
    """The run's ``mlflow.source.git.commit`` is HEAD or an ancestor of HEAD."""
    return _over_runs(subject, ctx, _at_commit, Kind.MISSING_LINEAGE)


def dataset_problem(dataset: DatasetInput, ctx: EvalContext) -> str | None:
    """Why a dataset input is not a DVC-tracked file at its locked digest, if it is not."""
    if dataset.path is None:
        return dataset.problem
    claims = [c for c in ctx.graph.claims(dataset.path) if c.source.file.endswith(_LOCKED)]
    if not claims:
        return f"`{dataset.path}` is not tracked by DVC"
    current = ctx.graph.workspace(dataset.path)
    if current is None:
        return f"`{dataset.path}` is not in the workspace or the DVC cache"
    comparable = [c for c in claims if c.algorithm in _COMPARABLE and not c.value.endswith(".dir")]
    if any(current.digest(c.algorithm) != c.value for c in comparable):
        return f"`{dataset.path}` is not at the digest DVC locked"
    return None


def _on_tracked_data(run: Run, ctx: EvalContext) -> Verdict:
    kind = Kind.MISSING_LINEAGE
    if not run.datasets:
        return Verdict(False, f"run `{run.run_id}` logged no dataset input", kind)
    problems = [(d, dataset_problem(d, ctx)) for d in run.datasets]
    wrong = [(d, p) for d, p in problems if p is not None]
    evidence = tuple(Evidence(f"dataset {d.name}", d.source, str(run.source)) for d, _ in problems)
    if wrong:
        reasons = "; ".join(f"dataset `{d.name}`: {p}" for d, p in wrong)
        return Verdict(False, f"run `{run.run_id}`: {reasons}", kind, evidence)
    message = f"run `{run.run_id}` was trained on {len(problems)} DVC-tracked dataset(s)"
    return Verdict(True, message, kind, evidence)


@evaluates(ir.TrainedOnTrackedData)
def trained_on_tracked_data(
    pred: ir.TrainedOnTrackedData, subject: Subject, ctx: EvalContext
) -> Verdict:
    """Every dataset input of the run is a DVC-tracked file whose bytes are at the locked digest."""
    return _over_runs(subject, ctx, _on_tracked_data, Kind.MISSING_LINEAGE)


@evaluates(ir.MetricCompare)
def metric_compare(pred: ir.MetricCompare, subject: Subject, ctx: EvalContext) -> Verdict:
    """The run's (latest) value of a metric compares as stated."""
    wanted = f"metric `{pred.key}` {pred.op} {pred.value!r}"

    def check(run: Run, ctx: EvalContext) -> Verdict:
        found = run.metrics.get(pred.key)
        if found is None:
            return Verdict(False, f"{wanted} cannot hold: run `{run.run_id}` did not log it", kind)
        evidence = (Evidence(pred.key, repr(found), str(run.source)),)
        holds = conditions.compare(found, pred.op, pred.value)
        verb = "holds" if holds else f"does not hold: it is {found!r}"
        return Verdict(holds, f"{wanted} {verb} (run `{run.run_id}`)", kind, evidence)

    kind = Kind.POLICY
    return _over_runs(subject, ctx, check, kind)
