"""What a link's file name says: ``<step>.<keyid8>.link`` names its step and its signer.

in-toto files a link as ``<step>.<first 8 hex digits of the signer's key id>.link``
(a sublayout standing for a step too). A file named so whose step is not the
one it contains, or whose key id prefix is not one of its signer's, is a
``link-name-mismatch``. The signer's ids are computed from the trusted key that
verified a signature (every id of that key, the legacy in-toto one included);
when no signature verifies with a trusted key, the key ids the signatures
claim (such a link counts for nothing, but is still filed under a wrong name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from policy_engine.graph.model import Evidence, Issue, SignatureCheck, SignatureStatus
from policy_engine.keys import Keyring

LINK_NAME = re.compile(r"(?:^|/)(?P<step>[^/]+)\.(?P<keyid>[0-9a-f]{8})\.link$")


def signer_ids(keyring: Keyring, checks: Iterable[SignatureCheck]) -> dict[str, frozenset[str]]:
    """Each signer's id and every id of its key: the keys that verified, or else as claimed."""
    checks = list(checks)
    verified: dict[str, frozenset[str]] = {}
    for check in checks:
        found = keyring.lookup(check.keyid) if check.status is SignatureStatus.VALID else None
        if found is not None:
            verified[found[1].keyid] = found[1].ids
    return verified or {c.keyid: frozenset({c.keyid}) for c in checks if c.keyid}


def name_issues(
    file: str, contains: str | None, keyring: Keyring, checks: Iterable[SignatureCheck]
) -> list[Issue]:
    """A ``link-name-mismatch`` when ``file`` names another step or signer (see above).

    ``contains`` is the step name inside the document (None for a sublayout).
    """
    match = LINK_NAME.search(file)
    if match is None:
        return []
    ids = signer_ids(keyring, checks)
    step_ok = contains is None or match["step"] == contains
    key_ok = any(k.startswith(match["keyid"]) for aliases in ids.values() for k in aliases)
    if step_ok and key_ok:
        return []
    problems = ([] if step_ok else ["step"]) + ([] if key_ok else ["key id"])
    evidence = (
        Evidence("file", file),
        Evidence("name says", f"step `{match['step']}`, key id {match['keyid']}"),
        Evidence("signed by", ", ".join(sorted(k[:12] for k in ids)) or "no signature"),
        Evidence("contains", f"step `{contains}`" if contains is not None else "a layout"),
    )
    message = f"the file name of `{file}` gives another {' and '.join(problems)} than its content"
    return [Issue("link-name-mismatch", file, message, evidence)]
