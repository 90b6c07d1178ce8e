"""The table of predicate evaluators: each registers itself beside its family.

Every evaluator has the signature ``(predicate, subject, ctx) -> Verdict``. A
predicate may also register a *screen*: ``(predicate, kind, subjects, ctx) ->
set of subjects``, the subjects for which its verdict surely holds, found for all
of them at once without building messages or evidence. A screen is sound, not
complete: a subject it leaves out is evaluated in full (``SCREENS``;
``tests/evaluate/test_screens.py`` checks each against its evaluator).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from policy_engine.compiler import ir
from policy_engine.evaluate.context import EvalContext, Subject
from policy_engine.evaluate.findings import Verdict

Evaluator = Callable[[Any, Subject, EvalContext], Verdict]
Screen = Callable[[Any, str, list[str], EvalContext], Collection[str]]
F = TypeVar("F", bound=Evaluator)
S = TypeVar("S", bound=Screen)

PREDICATES: dict[type, Evaluator] = {}
SCREENS: dict[type, Screen] = {}


def evaluates(predicate_type: type) -> Callable[[F], F]:
    """Register the decorated function as the evaluator of ``predicate_type``."""

    def register(function: F) -> F:
        PREDICATES[predicate_type] = function
        return function

    return register


def screens(predicate_type: type) -> Callable[[S], S]:
    """Register the decorated function as the screen of ``predicate_type``."""

    def register(function: S) -> S:
        SCREENS[predicate_type] = function
        return function

    return register


def evaluate_predicate(pred: ir.Predicate, subject: Subject, ctx: EvalContext) -> Verdict:
    return PREDICATES[type(pred)](pred, subject, ctx)


def surely_holding(
    pred: ir.Predicate, kind: str, subjects: list[str], ctx: EvalContext
) -> Collection[str]:
    """The subjects for which ``pred`` surely holds, by its screen; none without one."""
    screen = SCREENS.get(type(pred))
    return screen(pred, kind, subjects, ctx) if screen is not None else ()
