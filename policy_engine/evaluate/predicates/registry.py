"""The table of predicate evaluators: each registers itself beside its family.

Every evaluator has the signature ``(predicate, subject, ctx) -> Verdict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Verdict

Evaluator = Callable[[Any, Subject, EvalContext], Verdict]
F = TypeVar("F", bound=Evaluator)

PREDICATES: dict[type, Evaluator] = {}


def evaluates(predicate_type: type) -> Callable[[F], F]:
    """Register the decorated function as the evaluator of ``predicate_type``."""

    def register(function: F) -> F:
        PREDICATES[predicate_type] = function
        return function

    return register


def evaluate_predicate(pred: ir.Predicate, subject: Subject, ctx: EvalContext) -> Verdict:
    return PREDICATES[type(pred)](pred, subject, ctx)
