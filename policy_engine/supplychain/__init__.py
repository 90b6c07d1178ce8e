"""Supply-chain verification: an in-toto layout and its links judged as ``in-toto-verify`` does.

``load`` reads the layout, the verification keys and the links from disk (files
found as in-toto finds them), checks every signature once and records the
outcome as facts (:mod:`.model`); ``check`` is pure: it judges those facts
(signatures, expiry, parameters, thresholds, sublayouts, commands, artifact
rules) at a given time and returns every problem, never only the first. The
artifact rules (:mod:`.rules`) follow in-toto's firewall semantics.
"""

from policy_engine.intoto.check import Options, Outcome, verify
from policy_engine.intoto.model import Chain, Problem
from policy_engine.supplychain.load import load_chain, load_verification_keys

__all__ = [
    "Chain",
    "Options",
    "Outcome",
    "Problem",
    "load_chain",
    "load_verification_keys",
    "verify",
]
