"""The in-toto builder's former home: links are now read with every other attestation.

Kept so that ``build_links`` and the limits stay importable from here; see
:mod:`policy_engine.graph.builders.attestations`.
"""

from __future__ import annotations

from policy_engine.graph.builders.attestations import build_links
from policy_engine.graph.builders.attestations.jsonio import MAX_FILE_BYTES, MAX_JSON_DEPTH

MAX_LINK_BYTES = MAX_FILE_BYTES

__all__ = ["MAX_JSON_DEPTH", "MAX_LINK_BYTES", "build_links"]
