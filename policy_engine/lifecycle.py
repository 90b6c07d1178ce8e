"""The seven lifecycle stages of the MLSecOps lifecycle, by their policy names."""

from __future__ import annotations

STAGES: dict[str, str] = {
    "data_preparation": "Data Preparation",
    "model_training": "Model Training & Tuning",
    "model_deployment": "Model Deployment",
    "monitoring": "Monitoring & Maintenance",
    "inference": "Inference",
    "outputs": "Output Risks",
    "secure_pipelines": "Secure Pipelines",
}

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in increasing order (info is 0)."""
    return SEVERITIES.index(severity)


# The risks of each stage, as the MLSecOps lifecycle names them; `mitigates` must name one.
RISKS: dict[str, tuple[str, ...]] = {
    "data_preparation": (
        "Data Confidentiality",
        "Storage Security",
        "Legal Compliance",
        "Data Encoding",
        "Label Poisoning",
    ),
    "model_training": (
        "Reproducibility",
        "Algorithm Vulnerabilities",
        "Feature Risks",
        "Noisy Data",
        "Hyperparameter Sensitivity",
    ),
    "model_deployment": (
        "Underfitting/Overfitting",
        "Evaluation Data Quality",
        "Trojan Models",
        "Reverse Engineering",
        "Host Security",
    ),
    "monitoring": ("Data Drift", "Concept Drift", "Bias Emergence"),
    "inference": ("Malicious Input", "Confidence Miscalibration", "Inscrutability"),
    "outputs": ("Unverified Outputs", "Output Provenance", "Unsafe RL Behavior"),
    "secure_pipelines": ("Unauthorized Pipeline Actions",),
}

ALL_RISKS: dict[str, str] = {risk: stage for stage, risks in RISKS.items() for risk in risks}

ARTIFACT_KINDS: tuple[str, ...] = ("data", "model", "metrics", "params", "plots", "code")
