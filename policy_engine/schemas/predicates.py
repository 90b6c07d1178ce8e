"""Predicate types of ML evidence, with the schema each predicate must match.

Where an established predicate type exists it is used (in-toto test-result,
SLSA provenance); the activities that have none get a type under
``https://mlpolicy.dev/attestation/``. Every type here states when it was made
(``timestamp``, ISO-8601), which freshness windows are measured from. Extra
fields are allowed; the listed ones are required with the given types. A
statement whose predicate does not match its schema never satisfies a rule
and is itself a finding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy_engine.schemas.types import (
    BASE,
    SIGNATURE_TYPES,
    SLSA_PROVENANCE_V1,
    TEST_RESULT,
)
from policy_engine.schemas.types import evidence_type as _type

__all__ = [
    "BASE",
    "SCHEMAS",
    "SIGNATURE_TYPES",
    "SLSA_PROVENANCE_V1",
    "TEST_RESULT",
    "schema_problem",
]


class Evidence(BaseModel):
    """Fields every ML evidence predicate has."""

    model_config = ConfigDict(extra="allow", frozen=True)
    timestamp: datetime
    tool: str | None = None
    passed: bool | None = None


class DataScan(Evidence):
    """A PII or regulatory-compliance scan of a dataset."""

    scope: Literal["pii", "compliance"]
    regulations: list[str] = []
    findings: int = Field(ge=0)
    pii_found: int = Field(default=0, ge=0)
    pii_tokenized: bool = False


class AccessReview(Evidence):
    """A review of who can read and write a data store or pipeline."""

    resource: str
    reviewer: str
    findings: int = Field(ge=0)


class EncodingCheck(Evidence):
    """Validation of a dataset against one declared encoding and schema."""

    encoding: str
    schema_ref: str = Field(alias="schema")
    violations: int = Field(ge=0)


class LabelReview(Evidence):
    """A review of labels by independent annotators."""

    reviewers: int = Field(ge=1)
    sampled: int = Field(ge=1)
    disagreement_rate: float = Field(ge=0, le=1)


class RobustnessEvaluation(Evidence):
    """Adversarial robustness testing of a model."""

    attacks: list[str]
    epsilon: float = Field(ge=0)
    clean_accuracy: float = Field(ge=0, le=1)
    robust_accuracy: float = Field(ge=0, le=1)


class BiasEvaluation(Evidence):
    """Fairness metrics of a model or dataset over protected attributes."""

    protected_attributes: list[str]
    demographic_parity_difference: float
    equalized_odds_difference: float


class FeatureReview(Evidence):
    """A review of the features a model uses."""

    features: int = Field(ge=0)
    protected_attributes_used: bool
    rejected: list[str] = []


class Denoising(Evidence):
    """Noise filtering applied to training data."""

    method: str
    noise_rate_before: float = Field(ge=0, le=1)
    noise_rate_after: float = Field(ge=0, le=1)


class HyperparameterSearch(Evidence):
    """A hyperparameter optimisation run."""

    method: str
    trials: int = Field(ge=1)
    objective: str
    best_score: float


class Validation(Evidence):
    """Robust validation (cross-validation or hold-out) of a model."""

    method: str
    folds: int = Field(default=1, ge=1)
    train_score: float
    validation_score: float
    generalization_gap: float


class EvaluationDataReview(Evidence):
    """A review of evaluation data: representativeness and leakage."""

    representativeness: float = Field(ge=0, le=1)
    overlap_with_training: int = Field(ge=0)


class EndpointHardening(Evidence):
    """Controls in front of a hosted model endpoint."""

    endpoint: str
    authenticated: bool
    rate_limited: bool
    gateway: str | None = None


class DriftMonitoring(Evidence):
    """Data and concept drift measured on production traffic."""

    window: str
    data_drift_score: float = Field(ge=0)
    concept_drift_score: float = Field(ge=0)
    alerting: bool
    retraining_trigger: bool


class Calibration(Evidence):
    """Calibration of a model's confidence scores."""

    method: str
    ece: float = Field(ge=0, le=1)
    dataset: str


class Explainability(Evidence):
    """An explanation report of a model's decisions."""

    method: str
    coverage: float = Field(ge=0, le=1)


class InputSanitization(Evidence):
    """Detection and blocking of adversarial inputs at inference."""

    sanitizer: str
    detection_rate: float = Field(ge=0, le=1)


class OutputVerification(Evidence):
    """Verification and sanitisation of model outputs before use."""

    checks: list[str]
    verified: int = Field(ge=0)
    rejected: int = Field(ge=0)
    error_rate: float = Field(ge=0, le=1)


class RLSafety(Evidence):
    """Safety constraints enforced on a reinforcement-learning agent."""

    constraints: list[str]
    violations: int = Field(ge=0)
    reward_hacking_detected: bool


class InTotoTestResult(BaseModel):
    """in-toto test-result v0.1 (the fields it requires)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    result: Literal["PASSED", "WARNED", "FAILED"]
    configuration: list[dict[Any, Any]] = []


SCHEMAS: dict[str, type[BaseModel]] = {
    _type("data-scan"): DataScan,
    _type("access-review"): AccessReview,
    _type("encoding-check"): EncodingCheck,
    _type("label-review"): LabelReview,
    _type("robustness"): RobustnessEvaluation,
    _type("bias"): BiasEvaluation,
    _type("feature-review"): FeatureReview,
    _type("denoising"): Denoising,
    _type("hyperparameter-search"): HyperparameterSearch,
    _type("validation"): Validation,
    _type("evaluation-data-review"): EvaluationDataReview,
    _type("endpoint-hardening"): EndpointHardening,
    _type("drift"): DriftMonitoring,
    _type("calibration"): Calibration,
    _type("explainability"): Explainability,
    _type("input-sanitization"): InputSanitization,
    _type("output-verification"): OutputVerification,
    _type("rl-safety"): RLSafety,
    TEST_RESULT: InTotoTestResult,
}


def schema_problem(predicate_type: str, predicate: object) -> str | None:
    """Why a predicate does not match the schema of its type (None: it matches, or no schema)."""
    model = SCHEMAS.get(predicate_type)
    if model is None:
        return None
    try:
        model.model_validate(predicate)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(predicate)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"`{where}`: {first['msg'].lower()}{more}"
    return None
