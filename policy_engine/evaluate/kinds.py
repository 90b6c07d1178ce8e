"""What kind of artifact a path is: data, model, metrics, params, plots or code.

A kind recorded by a builder (node attribute ``artifact_kind``, e.g. from DVC's
``metrics:``, ``plots:`` or ``artifacts:`` sections) wins; otherwise the path
decides, by folder and extension.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

MODEL_EXTENSIONS = frozenset(
    {
        ".pkl",
        ".pickle",
        ".joblib",
        ".pt",
        ".pth",
        ".ckpt",
        ".onnx",
        ".h5",
        ".keras",
        ".pb",
        ".tflite",
        ".safetensors",
        ".gguf",
        ".model",
        ".mlmodel",
        ".pmml",
    }
)
CODE_EXTENSIONS = frozenset(
    {".py", ".ipynb", ".sh", ".r", ".jl", ".scala", ".java", ".go", ".rs", ".js", ".ts", ".sql"}
)
PARAMS_NAMES = frozenset({"params.yaml", "params.yml", "params.json", "params.toml", "params.py"})
_FOLDERS = {"models": "model", "model": "model", "metrics": "metrics", "plots": "plots"}


def artifact_kind(path: str, facts: Mapping[str, Any]) -> str:
    recorded = facts.get("artifact_kind")
    if isinstance(recorded, str):
        return recorded
    name = posixpath.basename(path).lower()
    extension = posixpath.splitext(name)[1]
    if name in PARAMS_NAMES:
        return "params"
    if extension in CODE_EXTENSIONS:
        return "code"
    if extension in MODEL_EXTENSIONS:
        return "model"
    for folder in path.lower().split("/")[:-1]:
        if folder in _FOLDERS:
            return _FOLDERS[folder]
    return "data"
