"""Evaluation: compiled policy + provenance graph + time -> findings."""

from policy_engine.evaluate.evaluator import ControlResult, Evaluation, evaluate
from policy_engine.evaluate.findings import Finding, Kind, Undecided, Verdict

__all__ = [
    "ControlResult",
    "Evaluation",
    "Finding",
    "Kind",
    "Undecided",
    "Verdict",
    "evaluate",
]
