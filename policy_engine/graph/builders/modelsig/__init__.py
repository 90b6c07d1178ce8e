"""OpenSSF model signatures (``model.sig`` Sigstore bundles), verified offline.

:mod:`.find` says where signatures are, :mod:`.verify` wraps ``model_signing``
and ``sigstore``, :mod:`.trust` picks the trusted signer that verifies, and
:mod:`.builder` adds what was verified to the graph. ``model_signing`` and
``sigstore`` are imported only when a signature is read (an optional extra).
"""

from __future__ import annotations

from policy_engine.graph.builders.modelsig.builder import (
    ROOT_ALGORITHM,
    add_model_signatures,
    read_model_signatures,
)

__all__ = ["ROOT_ALGORITHM", "add_model_signatures", "read_model_signatures"]
