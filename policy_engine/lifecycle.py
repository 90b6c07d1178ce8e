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
