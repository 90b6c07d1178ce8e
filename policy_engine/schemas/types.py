"""The names of the predicate types of ML evidence, without their schemas.

Reading a policy needs only the names (which types have a schema); their
pydantic schemas (:mod:`.predicates`) are imported when a statement is checked
or a condition names one of these types.
"""

from __future__ import annotations

BASE = "https://mlpolicy.dev/attestation"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"

# Statement types that sign their subjects: a producer's statement about the bytes it
# made (globs over the predicate type). Other statements are evidence; a policy adds
# types with `signatures from statements of type "..."`.
SIGNATURE_TYPES = (
    "https://slsa.dev/provenance/*",
    "https://in-toto.io/attestation/link/*",
    "https://model_signing/signature/*",
    "https://model_signing/Digests/*",
)


def evidence_type(name: str) -> str:
    """The predicate type of the ML evidence ``name`` (``BASE/name/v1``)."""
    return f"{BASE}/{name}/v1"


EVIDENCE = (
    "data-scan",
    "access-review",
    "encoding-check",
    "label-review",
    "robustness",
    "bias",
    "feature-review",
    "denoising",
    "hyperparameter-search",
    "validation",
    "evaluation-data-review",
    "endpoint-hardening",
    "drift",
    "calibration",
    "explainability",
    "input-sanitization",
    "output-verification",
    "rl-safety",
)
SCHEMA_TYPES = frozenset({*map(evidence_type, EVIDENCE), TEST_RESULT})  # the types with a schema
