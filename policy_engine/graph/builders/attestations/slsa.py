"""SLSA provenance (v0.2 and v1): who built the subjects, how, and from what.

Only the two final predicate types become lineage:

* ``https://slsa.dev/provenance/v0.2``: ``builder.id``, ``buildType``,
  ``materials`` (each an optional ``uri`` and ``digest``),
  ``metadata.buildInvocationId``;
* ``https://slsa.dev/provenance/v1``: ``runDetails.builder.id``,
  ``buildDefinition.buildType``, ``buildDefinition.resolvedDependencies``
  (resource descriptors), ``runDetails.metadata.invocationId``.

The builder's id is required (who built is what a policy judges; without it
the provenance is malformed: ``InputError``). The build type, which the
specification also requires but nothing here depends on, may be missing (some
producers omit it, e.g. the Kubernetes release provenance): it is then empty.

Drafts and release candidates (``v1?draft``, ``v1-rc1``) and v0.1 are kept as
evidence only, like any other predicate: their shapes were not final.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations.resources import Resource, describe, resource

SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Builder(_Model):
    id: StrictStr


class _Material(_Model):
    uri: StrictStr | None = None
    name: StrictStr | None = None
    digest: dict[StrictStr, StrictStr] | None = None


class _MetadataV02(_Model):
    buildInvocationId: StrictStr | None = None


class _ProvenanceV02(_Model):
    builder: _Builder
    buildType: StrictStr | None = None
    materials: list[_Material] | None = None
    metadata: _MetadataV02 | None = None


class _BuildDefinition(_Model):
    buildType: StrictStr | None = None
    resolvedDependencies: list[_Material] | None = None


class _RunMetadata(_Model):
    invocationId: StrictStr | None = None


class _RunDetails(_Model):
    builder: _Builder
    metadata: _RunMetadata | None = None


class _ProvenanceV1(_Model):
    buildDefinition: _BuildDefinition
    runDetails: _RunDetails


@dataclass(frozen=True)
class Build:
    """What SLSA provenance says of a build: builder, build type, invocation, dependencies."""

    predicate_type: str
    builder_id: str
    build_type: str
    invocation_id: str
    dependencies: tuple[Resource, ...]

    def meta(self) -> dict[str, Any]:
        """The facts a synthetic step carries in ``Step.meta``."""
        meta = {
            "source": "slsa",
            "predicate_type": self.predicate_type,
            "builder_id": self.builder_id,
            "build_type": self.build_type,
        }
        return meta | ({"invocation_id": self.invocation_id} if self.invocation_id else {})


def parse_build(predicate_type: str, predicate: dict[str, Any], where: str) -> Build | None:
    """The build of a SLSA v0.2 or v1 predicate; None for any other predicate type."""
    try:
        if predicate_type == SLSA_V02:
            v02 = _ProvenanceV02.model_validate(predicate)
            invocation = v02.metadata.buildInvocationId if v02.metadata else None
            builder, build_type, materials = v02.builder.id, v02.buildType, v02.materials
        elif predicate_type == SLSA_V1:
            v1 = _ProvenanceV1.model_validate(predicate)
            invocation = v1.runDetails.metadata.invocationId if v1.runDetails.metadata else None
            builder, build_type = v1.runDetails.builder.id, v1.buildDefinition.buildType
            materials = v1.buildDefinition.resolvedDependencies
        else:
            return None
    except ValidationError as exc:
        raise InputError(f"invalid SLSA provenance: {describe(exc)}", where) from None
    dependencies = tuple(resource(m.name, m.uri, m.digest) for m in materials or ())
    return Build(predicate_type, builder, build_type or "", invocation or "", dependencies)
