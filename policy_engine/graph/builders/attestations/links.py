"""In-toto links (classic Metablock or DSSE) as attestations.

The link is validated with the rules of in-toto's ``Link`` model (a non-empty
``name``; ``materials`` and ``products`` mapping paths to hash dicts of
hexadecimal values; ``command`` a list; ``byproducts`` and ``environment``
objects), declared once as a pydantic model: in-toto's own ``Link.read``
finds its validators by reflection, which costs more than checking the
signature. Materials and products are confined to the repository; each
signature is checked over the exact signed bytes (see :mod:`.envelopes` and
:mod:`.signatures`); a file name ``<step>.<keyid8>.link`` must match the link
(see :mod:`.linknames`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.confine import Normaliser, confined
from policy_engine.graph.builders.attestations.envelopes import Signed
from policy_engine.graph.builders.attestations.linknames import name_issues
from policy_engine.graph.builders.attestations.resources import describe
from policy_engine.graph.builders.attestations.signatures import check_signatures
from policy_engine.graph.model import Attestation, Issue
from policy_engine.graph.paths import shown
from policy_engine.keys import Keyring

_Hex = Annotated[StrictStr, Field(pattern=r"^[0-9a-fA-F]+$")]


class _Link(BaseModel):
    """The fields of an in-toto link, with in-toto's rules (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    name: StrictStr = Field(min_length=1)
    command: list[Any] = []
    materials: dict[StrictStr, dict[StrictStr, _Hex]] = {}
    products: dict[StrictStr, dict[StrictStr, _Hex]] = {}
    byproducts: dict[str, Any] = {}
    environment: dict[str, Any] = {}


@dataclass(frozen=True)
class LoadedLink:
    """A link read from a file, its issues, and what was signed (for layout thresholds)."""

    attestation: Attestation
    proof: Signed | None  # signed bytes and raw signatures (payload dropped), if kept
    issues: tuple[Issue, ...] = ()


def load_link(
    signed: Signed,
    file: str,
    where: str,
    keyring: Keyring,
    normaliser: Normaliser,
    keep_proof: bool = True,
) -> LoadedLink:
    """Validate the link payload of ``signed`` and check its signatures; without
    ``keep_proof`` the signed bytes are not kept (``proof`` None)."""
    try:
        link = _Link.model_validate(signed.payload)
    except ValidationError as exc:
        raise InputError(f"invalid in-toto link: {describe(exc)}", where) from None
    issues: list[Issue] = []
    checks, bad = check_signatures(keyring, signed, file, f"link `{link.name}`")
    issues += bad
    issues += name_issues(file, link.name, keyring, checks)
    materials = confined(normaliser, link.materials, (file, "link", link.name), "material", issues)
    products = confined(normaliser, link.products, (file, "link", link.name), "product", issues)
    attestation = Attestation(
        file=file,
        kind="link",
        envelope=signed.envelope,
        step_name=link.name,
        command=tuple(str(part) for part in link.command),
        materials=materials,
        products=products,
        signatures=checks,
    )
    if not keep_proof:
        return LoadedLink(attestation, None, tuple(issues))
    proof = Signed(signed.envelope, None, signed.signed_bytes, signed.signatures)
    return LoadedLink(attestation, proof, tuple(issues))


def in_toto_call(function: Callable[[], Any], where: str, kind: str) -> Any:
    """Call into in-toto's models, turning their validation errors into ``InputError``."""
    from securesystemslib.exceptions import FormatError

    try:
        return function()
    except (FormatError, ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"missing field `{exc.args[0]}`" if isinstance(exc, KeyError) else str(exc)
        # in-toto's and securesystemslib's messages may quote the whole document
        raise InputError(f"invalid in-toto {kind}: {shown(detail)}", where) from None
