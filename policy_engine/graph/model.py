"""The provenance graph: a typed wrapper over a networkx ``MultiDiGraph``.

Nodes are artifacts, steps, attestations and principals (keys). Edges follow
the flow of bytes and of trust::

    artifact --INPUT--> step --OUTPUT--> artifact          (lineage)
    artifact --MATERIAL--> attestation --PRODUCT--> artifact
    attestation --SUBJECT--> artifact                      (statements)
    attestation --ATTESTS--> step
    principal --SIGNED--> attestation                      (verified signatures only)

Every INPUT/OUTPUT/MATERIAL/PRODUCT edge carries the digests its source recorded,
and each of those is also a :class:`DigestClaim` on the artifact, so disagreeing
sources can be found per artifact. Builders add facts; the evaluator only reads.
A declared source (e.g. a ``.dvc`` file's output) may carry its :class:`Origin`
(``origin(path)``), and an artifact what pipeline files declare it to be
(:class:`Declaration`, ``declarations(path)``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, overload

if TYPE_CHECKING:
    import networkx as nx

    from policy_engine.intoto.model import Problem


class NodeKind(str, Enum):
    ARTIFACT = "artifact"
    STEP = "step"
    ATTESTATION = "attestation"
    PRINCIPAL = "principal"
    RUN = "run"  # an MLflow run (graph/tracking.py)
    LOGGED_MODEL = "logged-model"  # an MLflow 3 logged model
    MODEL_VERSION = "model-version"  # a version of an MLflow registered model


class EdgeKind(str, Enum):
    INPUT = "input"  # artifact -> step: the step consumed these bytes
    OUTPUT = "output"  # step -> artifact: the step produced these bytes
    MATERIAL = "material"  # artifact -> attestation
    PRODUCT = "product"  # attestation -> artifact
    ATTESTS = "attests"  # attestation -> step it records
    SUBJECT = "subject"  # attestation -> artifact a statement is about
    SIGNED = "signed"  # principal -> attestation, for a verified signature
    DATASET = "dataset"  # artifact -> run: a dataset input whose source is that file
    LOGGED = "logged"  # run -> artifact (same bytes) or logged model
    REGISTERED = "registered"  # logged model or run -> the model version registered from it


@dataclass(frozen=True)
class SourceRef:
    """Where a fact came from: a file (repository-relative when inside it) and a line."""

    file: str
    line: int | None = None
    what: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} ({self.what})" if self.what else where

    @classmethod
    def of(cls, file: str, line: int | None, what: str) -> SourceRef:
        """``SourceRef(file, line, what)``, its fields set at once (a frozen dataclass's
        ``__init__`` sets each through ``object.__setattr__``): for the many a build makes."""
        ref = object.__new__(cls)
        fields = ref.__dict__
        fields["file"], fields["line"], fields["what"] = file, line, what
        return ref


class Evidence(NamedTuple):
    """One fact behind a finding: what it is, its value, and where it was read."""

    label: str
    value: str
    source: str | None = None


class DigestClaim(NamedTuple):
    """A source's claim about an artifact's bytes, e.g. ``md5`` from ``dvc.lock``.

    A named tuple: a repository has one per digest of every declared and attested
    file (hundreds of thousands), and a tuple is one small object where a frozen
    dataclass is two, set field by field.
    """

    algorithm: str
    value: str
    source: SourceRef


class LazyDigest:
    """A digest field given as its value, or as a function computing it when first read.

    Reading the bytes again costs as much as the first read, so a builder may
    leave a digest no source records pending (see ``graph.builders.workspace``).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> LazyDigest: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> str: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> str | LazyDigest:
        if instance is None:
            raise AttributeError(self._slot)  # so a dataclass field has no default
        value: str | Callable[[], str] = instance.__dict__[self._slot]
        if not isinstance(value, str):
            value = instance.__dict__[self._slot] = value()
        return value

    def __set__(self, instance: object, value: str | Callable[[], str]) -> None:
        instance.__dict__[self._slot] = value


@dataclass(frozen=True)
class WorkspaceFile:
    """The real digests of an artifact's current bytes: a file, or a directory as a manifest.

    ``location`` says where those bytes were read: ``workspace`` (the file in the
    repository) or ``dvc-cache`` (DVC's cache object for the digest DVC recorded,
    checked against it before it counted). ``md5`` may be given as a function,
    called once when it is first read (comparing or hashing the object reads it).
    """

    sha256: str
    md5: LazyDigest = LazyDigest()
    size: int  # type: ignore[misc]  # md5's descriptor gives it no default
    location: str = "workspace"  # "workspace" | "dvc-cache"
    # Other digests of the same bytes, as (algorithm, value): a model folder's
    # ``model_signing.sha256`` root digest, computed by model_signing's own hashing.
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, sha256: str, md5: str | Callable[[], str], size: int) -> WorkspaceFile:
        """``WorkspaceFile(sha256, md5, size)``, its fields set at once (as many as a
        repository has files) rather than one frozen-dataclass ``setattr`` each."""
        file = object.__new__(cls)
        fields = file.__dict__  # md5 is kept in its LazyDigest's slot, ``_md5``
        fields["sha256"], fields["_md5"], fields["size"] = sha256, md5, size
        fields["location"], fields["extra"] = "workspace", ()
        return file

    def digest(self, algorithm: str) -> str | None:
        if algorithm in ("sha256", "md5"):
            return self.sha256 if algorithm == "sha256" else self.md5  # md5 only when asked
        return dict(self.extra).get(algorithm)


@dataclass(frozen=True)
class Artifact:
    path: str  # normalised, repository-relative, posix


@dataclass(frozen=True)
class Step:
    """A step, as its pipeline definition (``dvc.yaml``, a trusted in-toto layout) declares it.

    ``recorded`` marks a step that no pipeline declares but an attestation
    records (SLSA provenance becomes ``slsa:<file>``): selections of steps leave
    such steps out unless they ask for them (``steps from provenance``).
    """

    name: str
    source: SourceRef
    cmd: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    desc: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    frozen: bool = False
    recorded: bool = False


def declared_argv(cmd: tuple[str, ...]) -> list[str]:
    """The declared command(s) as one argv; several commands are joined by ``&&``."""
    argv: list[str] = []
    for i, command in enumerate(cmd):
        if i:
            argv.append("&&")
        try:
            argv += shlex.split(command)
        except ValueError:
            argv.append(command)
    return argv


class SignatureStatus(str, Enum):
    VALID = "valid"  # verified over the exact payload with a trusted key
    INVALID = "invalid"  # the key is trusted but the signature does not verify
    UNTRUSTED = "untrusted"  # no trusted key has this key id


@dataclass(frozen=True)
class SignatureCheck:
    keyid: str  # as claimed by the input; trusted ids are computed from key material
    status: SignatureStatus
    reason: str = ""


@dataclass(frozen=True)
class Attestation:
    """A signed document about a step or artifacts.

    ``kind`` is ``link`` (an in-toto link: ``step_name``, ``command``, materials,
    products) or ``statement`` (an in-toto Statement: ``predicate_type``,
    ``predicate``, ``subjects``; ``step_name`` empty, or for SLSA provenance the
    synthetic step ``slsa:<file>`` it records). ``file`` identifies it:
    the file's display path, with ``#N`` appended for line N of a JSON-Lines
    bundle. ``issued_at`` is when the predicate says it was made, if it says.
    ``envelope`` is ``metablock``, ``dsse``, ``sigstore`` (the DSSE envelope of a
    sigstore bundle) or ``none`` (a plain, unsigned statement).
    """

    file: str
    kind: str  # "link" | "statement"
    envelope: str  # "metablock" | "dsse" | "sigstore" | "none"
    step_name: str = ""
    command: tuple[str, ...] = ()
    materials: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    products: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    signatures: tuple[SignatureCheck, ...] = ()
    predicate_type: str = ""
    predicate: Mapping[str, Any] = field(default_factory=dict)
    subjects: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    issued_at: datetime | None = None

    @cached_property
    def signers(self) -> frozenset[str]:
        """Distinct trusted key ids whose signatures verified (computed once)."""
        return frozenset(s.keyid for s in self.signatures if s.status is SignatureStatus.VALID)


@dataclass(frozen=True)
class Principal:
    keyid: str
    name: str


@dataclass(frozen=True)
class Origin:
    """Where a declared source's bytes came from, as its ``.dvc`` file records it.

    ``kind`` is ``added`` (``dvc add``: the bytes were added in this repository),
    ``import`` (``dvc import``: ``path`` in the repository at ``url``, asked at
    ``rev``, resolved to commit ``rev_lock``), ``import-url`` (``dvc import-url``:
    ``url`` is the location, ``digest`` what DVC recorded of it, e.g. an etag) or
    ``import-db``. A ``frozen`` import is not re-imported by ``dvc repro``.
    """

    kind: str
    source: SourceRef
    url: str | None = None
    path: str | None = None
    rev: str | None = None
    rev_lock: str | None = None
    digest: Mapping[str, str] = field(default_factory=dict)
    frozen: bool = False


@dataclass(frozen=True)
class Declaration:
    """What a pipeline file says an artifact is, besides its bytes.

    ``role`` is ``artifact`` (an entry of dvc.yaml's ``artifacts:``, ``name`` being
    its key), ``metrics`` or ``plots`` (listed as such, top-level or by a stage;
    ``name`` is a plot's id when it has one) or ``out`` (an output annotated with
    ``desc``/``type``/``labels``/``meta``).
    """

    role: str
    source: SourceRef
    name: str = ""
    type: str | None = None
    desc: str | None = None
    labels: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LayoutKey:
    """A functionary key a layout declares: the id it gives, and the id computed from the key.

    ``computed`` is empty, and ``problem`` says why, when the key cannot verify
    anything (an unsupported key type, or an id that is not the key's own).
    """

    keyid: str
    keytype: str
    scheme: str
    computed: str = ""
    problem: str = ""


@dataclass(frozen=True)
class LayoutStep:
    """A step of a layout, and what its links (or sublayouts) establish.

    ``signers`` are the distinct authorised keys (``pubkeys``) whose signature on
    a link of the step verified; ``agree`` is False when those links record
    different materials or products. Rules are kept as in-toto writes them.
    """

    name: str
    pubkeys: tuple[str, ...]
    threshold: int
    expected_command: tuple[str, ...] = ()
    expected_materials: tuple[tuple[str, ...], ...] = ()
    expected_products: tuple[tuple[str, ...], ...] = ()
    links: tuple[str, ...] = ()
    signers: frozenset[str] = frozenset()
    agree: bool = True

    @property
    def satisfied(self) -> bool:
        """Enough distinct authorised keys signed links that agree."""
        return self.agree and len(self.signers) >= self.threshold


@dataclass(frozen=True)
class LayoutInspection:
    """An inspection of a layout: recorded, never run."""

    name: str
    run: tuple[str, ...]
    expected_materials: tuple[tuple[str, ...], ...] = ()
    expected_products: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Layout:
    """An in-toto layout (classic or DSSE) with its signatures checked against trusted keys.

    ``as_step`` is set for a layout stored as ``<step>.<keyid8>.link``: a sublayout
    standing for that step of another layout. ``trusted`` is set once every owner
    key the policy names for it signed it, or a trusted layout delegates to it
    through a functionary key of the step it stands for; an untrusted layout's
    steps authorise nothing.
    """

    file: str
    envelope: str  # "metablock" | "dsse"
    signatures: tuple[SignatureCheck, ...]
    keys: Mapping[str, LayoutKey]
    steps: tuple[LayoutStep, ...]
    inspections: tuple[LayoutInspection, ...] = ()
    expires: datetime | None = None
    readme: str = ""
    as_step: str = ""
    trusted: bool = False

    @cached_property
    def signers(self) -> frozenset[str]:
        """Distinct trusted key ids whose signatures on the layout verified."""
        return frozenset(s.keyid for s in self.signatures if s.status is SignatureStatus.VALID)


@dataclass(frozen=True)
class Issue:
    """A problem found while building the graph; the evaluator reports it as a finding."""

    code: str  # e.g. "digest-mismatch", "bad-signature", "path-escape"
    subject: str
    message: str
    evidence: tuple[Evidence, ...] = ()


class ProvenanceGraph:
    """Builders add facts through the ``add_*`` methods; queries never mutate."""

    def __init__(self, root: str) -> None:
        import networkx as nx  # only when a graph is built: reading facts needs no networkx

        self.root = root
        self.g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        # The flow of bytes alone (INPUT/OUTPUT edges over artifacts and steps), kept as
        # edges are added so lineage questions never scan the whole multigraph. Read-only.
        self.flow: nx.DiGraph[str] = nx.DiGraph()
        self.issues: list[Issue] = []
        self.layouts: list[Layout] = []  # in-toto layouts, in the order they were read
        # what the supply chain checker found in trusted layouts (rules, commands, inspections)
        self.layout_problems: list[Problem] = []
        self.notes: list[str] = []  # inputs skipped or only partly used, and why

    # -- node ids ---------------------------------------------------------
    @staticmethod
    def artifact_id(path: str) -> str:
        return f"artifact:{path}"

    @staticmethod
    def step_id(name: str) -> str:
        return f"step:{name}"

    @staticmethod
    def attestation_id(file: str) -> str:
        return f"attestation:{file}"

    @staticmethod
    def principal_id(keyid: str) -> str:
        return f"principal:{keyid}"

    # -- building ---------------------------------------------------------
    def add_artifact(self, path: str) -> str:
        node = self.artifact_id(path)
        if node not in self.g:
            self.g.add_node(node, **artifact_attributes(path))
            self.flow.add_node(node)
        return node

    def add_claim(self, path: str, claim: DigestClaim) -> None:
        self.g.nodes[self.add_artifact(path)]["claims"].append(claim)

    def set_workspace(self, path: str, file: WorkspaceFile | None) -> None:
        self.g.nodes[self.add_artifact(path)]["workspace"] = file

    def set_workspaces(self, files: Iterable[tuple[str, WorkspaceFile | None]]) -> None:
        """:meth:`set_workspace` of each (path, file), in bulk."""
        from policy_engine.graph.bulk import node_attributes

        nodes = node_attributes(self.g)
        for path, file in files:
            attributes = nodes.get(f"artifact:{path}")  # artifact_id, inline: one per file
            if attributes is None:
                attributes = nodes[self.add_artifact(path)]
            attributes["workspace"] = file

    def set_origin(self, path: str, origin: Origin) -> None:
        """Record where the declared source ``path`` came from (node attribute ``origin``)."""
        self.g.nodes[self.add_artifact(path)]["origin"] = origin

    def set_kind(self, path: str, kind: str) -> None:
        """Record what ``path`` is (``artifact_kind``, e.g. ``model``) unless already recorded."""
        self.g.nodes[self.add_artifact(path)].setdefault("artifact_kind", kind)

    def add_declaration(self, path: str, declaration: Declaration) -> None:
        """Record what a pipeline file declares ``path`` to be (node attribute ``declarations``)."""
        self.g.nodes[self.add_artifact(path)].setdefault("declarations", []).append(declaration)

    def add_step(self, step: Step) -> str:
        node = self.step_id(step.name)
        if node in self.g:
            self.issues.append(duplicate_step(step))
            return node
        self.g.add_node(node, kind=NodeKind.STEP, data=step)
        self.flow.add_node(node)
        return node

    def _add_flow_edge(
        self, u: str, v: str, kind: EdgeKind, digest: Mapping[str, str], source: SourceRef
    ) -> None:
        """An INPUT or OUTPUT edge with its digests, in both graphs; a claim per digest on
        its artifact (``u`` for an input, ``v`` for an output)."""
        data = {"kind": kind, "digest": dict(digest), "source": source}
        self.g.add_edge(u, v, key=kind.value, **data)
        self.flow.add_edge(u, v, **data)
        self.g.nodes[u if kind is EdgeKind.INPUT else v]["claims"] += digest_claims(digest, source)

    def add_input(self, path: str, step: str, digest: Mapping[str, str], source: SourceRef) -> None:
        """Record that ``step`` consumed ``path`` with the given (possibly empty) digests."""
        a = self.add_artifact(path)
        self._add_flow_edge(a, self.step_id(step), EdgeKind.INPUT, digest, source)

    def add_output(
        self, step: str, path: str, digest: Mapping[str, str], source: SourceRef
    ) -> None:
        """Record that ``step`` produced ``path`` with the given (possibly empty) digests."""
        a = self.add_artifact(path)
        self._add_flow_edge(self.step_id(step), a, EdgeKind.OUTPUT, digest, source)

    def add_attests(self, att_file: str, step_name: str) -> None:
        """Record that the attestation ``att_file`` records the (now existing) step."""
        node, step = self.attestation_id(att_file), self.step_id(step_name)
        self.g.add_edge(node, step, key=EdgeKind.ATTESTS.value, kind=EdgeKind.ATTESTS)

    def add_attestation(self, att: Attestation, source: SourceRef) -> str:
        """Add an attestation, its ATTESTS edge (when its step exists) and its artifacts.

        Materials, products and subjects become edges carrying their digests, and
        digest claims on the artifacts; each verified signer a principal and a SIGNED edge.
        """
        self.add_attestations([(att, source)])
        return self.attestation_id(att.file)

    def add_attestations(self, batch: Iterable[tuple[Attestation, SourceRef]]) -> None:
        """Add many attestations, in order, as :meth:`add_attestation` adds one.

        Nodes are added in bulk (``add_nodes_from``), then edges and claims: the
        graph is the one adding them one by one would make, node, edge and claim
        order included (``tests/graph/test_bulk_insertion.py``).
        """
        plan = _Insertion(self)
        for att, source in batch:
            plan.attestation(att, source)
        plan.apply()

    # -- queries ----------------------------------------------------------
    def _of_kind(self, kind: NodeKind) -> Iterator[tuple[str, Any]]:
        from policy_engine.graph.bulk import node_attributes  # the graph's own dict: no view

        for node, attrs in node_attributes(self.g).items():
            if attrs["kind"] is kind:
                yield node, attrs["data"]

    def artifacts(self) -> Iterator[Artifact]:
        return (data for _, data in self._of_kind(NodeKind.ARTIFACT))

    def steps(self) -> Iterator[Step]:
        return (data for _, data in self._of_kind(NodeKind.STEP))

    def attestations(self) -> Iterator[Attestation]:
        return (data for _, data in self._of_kind(NodeKind.ATTESTATION))

    def claims(self, path: str) -> list[DigestClaim]:
        return list(self.g.nodes[self.artifact_id(path)]["claims"])

    def artifact_claims(self) -> Iterator[tuple[str, list[DigestClaim]]]:
        """Every artifact's path with its claims, in one pass over the nodes (the lists are
        the graph's own: read them, never change them)."""
        for _, attrs in self.g.nodes(data=True):
            if attrs["kind"] is NodeKind.ARTIFACT:
                yield attrs["data"].path, attrs["claims"]

    def workspace(self, path: str) -> WorkspaceFile | None:
        """The current bytes of ``path``, wherever they were read (see ``location``); None:
        they are nowhere at hand."""
        current: WorkspaceFile | None = self.g.nodes[self.artifact_id(path)]["workspace"]
        return current

    def set_locked(self, path: str, claim: DigestClaim) -> None:
        """Record that ``path``'s bytes are nowhere at hand and DVC records them as ``claim``."""
        self.g.nodes[self.add_artifact(path)]["locked"] = claim

    def locked(self, path: str) -> DigestClaim | None:
        """DVC's recorded digest of ``path`` when its bytes are not materialised, else None."""
        node = self.artifact_id(path)
        locked: DigestClaim | None = self.g.nodes[node].get("locked") if node in self.g else None
        return locked

    def unmaterialised(self) -> dict[str, DigestClaim]:
        """The DVC-tracked artifacts whose bytes are nowhere at hand, with DVC's digest, sorted."""
        found = {
            attrs["data"].path: attrs["locked"]
            for _, attrs in self.g.nodes(data=True)
            if attrs.get("locked") is not None
        }
        return dict(sorted(found.items()))

    def origin(self, path: str) -> Origin | None:
        """Where the declared source ``path`` came from; None when no source says."""
        node = self.artifact_id(path)
        return self.g.nodes[node].get("origin") if node in self.g else None

    def declarations(self, path: str) -> list[Declaration]:
        node = self.artifact_id(path)
        return list(self.g.nodes[node].get("declarations", ())) if node in self.g else []


class _Insertion:
    """What :meth:`ProvenanceGraph.add_attestations` adds, collected in order, then added.

    Each attestation is a star: its node with the edges into it (materials, signers)
    and out of it (its step, products, subjects), each end's ``{key: data}`` built
    once (an edge's ``digest`` is the attestation's own mapping, read-only as every
    fact). Claims go straight onto their artifact's ``claims`` list (a new node keeps
    its attribute dict, made here), in the order adding the attestations one by one
    gives. A table equal to the one before it (the links of one step by several keys)
    reuses its sorted rows: the same artifacts, the same digests.
    """

    def __init__(self, graph: ProvenanceGraph) -> None:
        from policy_engine.graph.bulk import node_attributes

        self.graph = graph
        self.known = node_attributes(graph.g)  # the nodes in the graph
        self.nodes: dict[str, dict[str, Any]] = {}  # new nodes (and attestations), in order
        self.artifacts: list[str] = []  # the new artifacts, in order (for the flow graph)
        self.stars: list[tuple[str, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]] = []
        self.last: dict[EdgeKind, tuple[Mapping[str, Mapping[str, str]], list[_Row]]] = {}

    def attestation(self, att: Attestation, source: SourceRef) -> None:
        node = "attestation:" + att.file  # ProvenanceGraph.attestation_id, inline
        self.nodes[node] = {"kind": NodeKind.ATTESTATION, "data": att}
        into: dict[str, dict[str, Any]] = {}
        out: dict[str, dict[str, Any]] = {}
        step = "step:" + att.step_name  # ProvenanceGraph.step_id
        if step in self.known:
            out[step] = {"attests": {"kind": EdgeKind.ATTESTS}}
        if att.materials:
            ref = SourceRef.of(source.file, source.line, f"link `{att.step_name}` material")
            self._digest_edges(into, EdgeKind.MATERIAL, att.materials, ref)
        if att.products:
            ref = SourceRef.of(source.file, source.line, f"link `{att.step_name}` product")
            self._digest_edges(out, EdgeKind.PRODUCT, att.products, ref)
        if att.subjects:
            what = f"statement `{att.predicate_type}` subject"
            ref = SourceRef(source.file, source.line, what)
            self._digest_edges(out, EdgeKind.SUBJECT, att.subjects, ref)
        for keyid in sorted(att.signers):
            principal = "principal:" + keyid  # ProvenanceGraph.principal_id
            if principal not in self.known and principal not in self.nodes:
                self.nodes[principal] = {
                    "kind": NodeKind.PRINCIPAL,
                    "data": Principal(keyid, keyid),
                }
            into[principal] = {"signed": {"kind": EdgeKind.SIGNED}}
        self.stars.append((node, into, out))

    def _digest_edges(
        self,
        ends: dict[str, dict[str, Any]],
        kind: EdgeKind,
        table: Mapping[str, Mapping[str, str]],
        ref: SourceRef,
    ) -> None:
        """An edge per path of ``table`` into ``ends``, a claim per digest on its artifact."""
        key, claim = kind.value, _new_claim
        for artifact, digest, claims, algorithm, value in self._rows(kind, table):
            ends[artifact] = {key: {"kind": kind, "digest": digest, "source": ref}}
            if algorithm is not None:  # most: one claim, made as a plain tuple is (no sorting)
                claims.append(claim(DigestClaim, (algorithm, value, ref)))
            else:
                claims += digest_claims(digest, ref)

    def _rows(self, kind: EdgeKind, table: Mapping[str, Mapping[str, str]]) -> list[_Row]:
        """(artifact node, digest, its artifact's claims, the one algorithm and value or
        None) per path of ``table``, sorted by path; the artifacts added when new."""
        last = self.last.get(kind)
        if last is not None and last[0] == table:
            return last[1]
        nodes, known, rows = self.nodes, self.known, []
        for path, digest in sorted(table.items()):
            artifact = "artifact:" + path  # ProvenanceGraph.artifact_id, inline
            attrs = known.get(artifact) or nodes.get(artifact)  # attributes are never empty
            if attrs is None:
                attrs = nodes[artifact] = artifact_attributes(path)
                self.artifacts.append(artifact)
            one = next(iter(digest.items())) if len(digest) == 1 else (None, None)
            rows.append((artifact, digest, attrs["claims"], *one))
        self.last[kind] = (table, rows)
        return rows

    def apply(self) -> None:
        """Nodes, then edges, in bulk (:mod:`policy_engine.graph.bulk`)."""
        from policy_engine.graph.bulk import add_nodes, add_stars

        add_nodes(self.graph.g, self.nodes.items(), given=True)  # every dict made here
        add_nodes(self.graph.flow, ((n, {}) for n in self.artifacts))
        add_stars(self.graph.g, self.stars)


_Row = tuple[str, Mapping[str, str], list[DigestClaim], str | None, str | None]
_new_claim = tuple.__new__  # DigestClaim(a, v, s) is this, through a Python-level __new__


def duplicate_step(step: Step) -> Issue:
    """The issue of a step added when one of its name is already in the graph."""
    message = f"step `{step.name}` is defined twice"
    return Issue("duplicate-step", step.name, message, (Evidence("defined at", str(step.source)),))


def digest_claims(digest: Mapping[str, str], source: SourceRef) -> list[DigestClaim]:
    """A flow edge's claims on its artifact: one per digest, by algorithm."""
    if len(digest) == 1:  # most edges: one claim, nothing to sort
        ((algorithm, value),) = digest.items()
        return [DigestClaim(algorithm, value, source)]
    return [DigestClaim(a, value, source) for a, value in sorted(digest.items())]


def artifact_attributes(path: str) -> dict[str, Any]:
    """A new artifact node's attributes (see :meth:`ProvenanceGraph.add_artifact`)."""
    return {"kind": NodeKind.ARTIFACT, "data": Artifact(path), "claims": [], "workspace": None}
