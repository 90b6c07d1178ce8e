"""Builder for in-toto link metadata: classic signed JSON (Metablock) and DSSE envelopes.

Each link becomes an :class:`Attestation` with its materials and products (paths
normalised and confined to the repository) and one :class:`SignatureCheck` per
signature. A signature is checked over the exact bytes that were signed, obtained
from in-toto's own models: the canonical JSON of the ``signed`` Link for a
Metablock (``Link.signable_bytes``), the DSSE pre-authentication encoding for an
envelope (``Envelope.pae()``). Key ids are looked up in the trusted
:class:`~policy_engine.keys.Keyring`, whose ids are computed from key material.

Inputs are bounded (file size, JSON nesting depth) and never executed. in-toto
and securesystemslib are imported lazily, inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policy_engine.errors import InputError
from policy_engine.graph.model import (
    Attestation,
    Evidence,
    Issue,
    ProvenanceGraph,
    SignatureCheck,
    SignatureStatus,
    SourceRef,
)
from policy_engine.graph.paths import PathEscape, normalise

if TYPE_CHECKING:
    from in_toto.models.link import Link

    from policy_engine.graph.builders import BuildContext
    from policy_engine.keys import Keyring

MAX_LINK_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
LINK_SUFFIX = ".link"
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class LoadedLink:
    """A link read from a file: the Link, its envelope kind, the signed bytes, the signatures."""

    link: Link
    envelope: str  # "metablock" | "dsse"
    signed_bytes: bytes
    signatures: tuple[tuple[Any, Any], ...]  # (claimed keyid, hex signature) as read


def build_links(graph: ProvenanceGraph, context: BuildContext) -> None:
    """Add every in-toto link under ``context.attestation_paths`` to ``graph``.

    Bad signatures and paths leaving the repository become ``graph.issues``;
    unreadable, oversized, malformed or non-link inputs raise :class:`InputError`.
    """
    normaliser = Normaliser(context.root)
    for path in find_link_files(context.attestation_paths):
        file = display_path(context.root, path)
        loaded = load_link(read_json_file(path, file), file)
        add_link(graph, context, loaded, file, normaliser)


def find_link_files(paths: Iterable[Path]) -> list[Path]:
    """Files to read: each given file, and ``*.link`` files under each given directory.

    Directories are searched recursively without following symlinked directories,
    in sorted order; a file reached twice is returned once.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for path in paths:
        if not os.path.lexists(path):
            raise InputError("attestation path not found", str(path))
        candidates = _walk_links(path) if path.is_dir() else [path]
        for candidate in candidates:
            real = os.path.realpath(candidate)
            if real not in seen:
                seen.add(real)
                found.append(candidate)
    return found


def _walk_links(directory: Path) -> list[Path]:
    def fail(error: OSError) -> None:
        raise InputError(f"cannot list directory: {error.strerror}", str(error.filename))

    files: list[Path] = []
    for current, dirnames, filenames in os.walk(directory, onerror=fail):
        dirnames.sort()
        files.extend(Path(current, n) for n in sorted(filenames) if n.endswith(LINK_SUFFIX))
    return files


def display_path(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` (posix) when inside it, else the path as given."""
    pairs = (
        (os.path.abspath(root), os.path.abspath(path)),
        (os.path.realpath(root), os.path.realpath(path)),
    )
    for base, target in pairs:
        try:
            return Path(target).relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


# -- bounded JSON -----------------------------------------------------------------
def read_json_file(path: Path, file: str, limit: int = MAX_LINK_BYTES) -> Any:
    """Read a regular file of at most ``limit`` bytes and parse it as bounded, strict JSON."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file", file)
        if info.st_size > limit:
            raise InputError(f"file is larger than {limit} bytes", file)
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file) from None
    if len(data) > limit:
        raise InputError(f"file is larger than {limit} bytes", file)
    return loads_json(data, file)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def loads_json(data: bytes, file: str, what: str = "") -> Any:
    """Parse JSON rejecting duplicate keys and nesting deeper than :data:`MAX_JSON_DEPTH`.

    Errors are :class:`InputError` located at ``file``, with the line and column
    when ``data`` is the file itself (``what`` is empty), else prefixed by ``what``.
    """
    prefix = f"{what}: " if what else ""
    too_deep = f"{prefix}JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        document = json.loads(data, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        where = f"{file}:{exc.lineno}:{exc.colno}" if not what else file
        detail = f" at line {exc.lineno} column {exc.colno}" if what else ""
        raise InputError(f"{prefix}invalid JSON: {exc.msg}{detail}", where) from None
    except _DuplicateKey as exc:
        raise InputError(f"{prefix}duplicate JSON key `{exc}`", file) from None
    except UnicodeDecodeError:
        raise InputError(f"{prefix}JSON is not valid UTF-8", file) from None
    except RecursionError:
        raise InputError(too_deep, file) from None
    # Fewer brackets than the limit cannot nest deeper than it: skip the walk.
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_JSON_DEPTH and _depth(document) > MAX_JSON_DEPTH:
        raise InputError(too_deep, file)
    return document


def _depth(document: Any) -> int:
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((item, depth + 1) for item in value)
    return deepest


# -- loading with in-toto's models --------------------------------------------------
def load_link(document: Any, file: str) -> LoadedLink:
    """Load a link document (Metablock or DSSE envelope) with in-toto's models.

    A Metablock's ``signed`` is loaded with ``Link.read`` and its signed bytes are
    ``Link.signable_bytes`` (exactly what ``Metablock.verify_signature`` checks);
    ``Metadata.from_dict`` would validate the Link three times over, the main cost
    of loading. An envelope is loaded with ``Metadata.from_dict`` (DSSE ``Envelope``).
    """
    from in_toto.models.link import Link
    from in_toto.models.metadata import Envelope, Metadata

    if not isinstance(document, dict):
        raise InputError("not an in-toto link: the document is not a JSON object", file)
    if "signed" in document and "payload" in document:
        raise InputError("ambiguous in-toto link: both `signed` and `payload` are present", file)
    if "signed" not in document:
        metadata = _in_toto_call(lambda: Metadata.from_dict(document), file)
        if not isinstance(metadata, Envelope):
            raise InputError("not an in-toto link: not a DSSE envelope", file)
        return _from_envelope(metadata, file)
    signed, signatures = document["signed"], document.get("signatures", [])
    kind = signed.get("_type") if isinstance(signed, dict) else None
    if kind != "link":
        hint = " (sublayouts are not supported yet)" if kind == "layout" else ""
        raise InputError(f"not an in-toto link: `_type` is `{kind}`{hint}", file)
    if not isinstance(signatures, list) or not all(isinstance(s, dict) for s in signatures):
        raise InputError("invalid in-toto link: `signatures` must be a list of objects", file)
    link = _in_toto_call(lambda: Link.read(signed), file)
    signed_bytes = _in_toto_call(lambda: link.signable_bytes, file)
    pairs = tuple((s.get("keyid"), s.get("sig")) for s in signatures)
    return LoadedLink(link, "metablock", signed_bytes, pairs)


def _from_envelope(envelope: Any, file: str) -> LoadedLink:
    from in_toto.models.link import Link

    payload = loads_json(envelope.payload, file, "DSSE payload")
    kind = payload.get("_type") if isinstance(payload, dict) else None
    if kind != "link":
        raise InputError(f"not an in-toto link: DSSE payload `_type` is `{kind}`", file)
    link = _in_toto_call(lambda: Link.read(payload), file)
    signatures = tuple((s.keyid, s.signature) for s in envelope.signatures.values())
    return LoadedLink(link, "dsse", envelope.pae(), signatures)


def _in_toto_call(function: Callable[[], Any], file: str) -> Any:
    """Call into in-toto, turning its loading errors into :class:`InputError`."""
    from in_toto.exceptions import InvalidMetadata
    from securesystemslib.exceptions import FormatError

    try:
        return function()
    except InvalidMetadata:
        expected = f"neither signed JSON nor a DSSE envelope of `{DSSE_PAYLOAD_TYPE}`"
        raise InputError(f"not an in-toto link: {expected}", file) from None
    except (FormatError, ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"missing field `{exc.args[0]}`" if isinstance(exc, KeyError) else str(exc)
        raise InputError(f"invalid in-toto link: {detail}", file) from None


# -- adding to the graph -------------------------------------------------------------
def add_link(
    graph: ProvenanceGraph,
    context: BuildContext,
    loaded: LoadedLink,
    file: str,
    normaliser: Normaliser | None = None,
) -> None:
    """Check the signatures of ``loaded`` and add it, as an Attestation, to ``graph``."""
    normalise_path = normaliser or Normaliser(context.root)
    link = loaded.link
    if not isinstance(link.name, str) or not link.name:
        raise InputError("invalid in-toto link: `name` must be a non-empty string", file)
    checks = tuple(
        check_signature(graph, context.keyring, loaded, keyid, sig, file)
        for keyid, sig in loaded.signatures
    )
    attestation = Attestation(
        file=file,
        kind="link",
        envelope=loaded.envelope,
        step_name=link.name,
        command=tuple(str(part) for part in link.command),
        materials=_confined(graph, normalise_path, link.materials, file, link.name, "material"),
        products=_confined(graph, normalise_path, link.products, file, link.name, "product"),
        signatures=checks,
    )
    graph.add_attestation(attestation, SourceRef(file, None, "in-toto link"))


def check_signature(
    graph: ProvenanceGraph, keyring: Keyring, loaded: LoadedLink, keyid: Any, sig: Any, file: str
) -> SignatureCheck:
    """Verify one signature over the signed bytes; a failure is also a ``bad-signature`` issue."""
    claimed = keyid if isinstance(keyid, str) else json.dumps(keyid)
    found = keyring.lookup(claimed)
    if found is None:
        return SignatureCheck(claimed, SignatureStatus.UNTRUSTED, "no trusted key has this key id")
    name, key = found
    if isinstance(sig, str) and keyring.verify(claimed, sig, loaded.signed_bytes):
        return SignatureCheck(key.keyid, SignatureStatus.VALID, f"verified with key `{name}`")
    if isinstance(sig, str):
        reason = f"signature does not verify with trusted key `{name}`"
    else:
        reason = f"unsupported signature format for trusted key `{name}`"
    evidence = (
        Evidence("file", file),
        Evidence("claimed keyid", claimed),
        Evidence("trusted key", f"{name} ({key.keyid})"),
        Evidence("envelope", loaded.envelope),
    )
    message = f"a signature on link `{loaded.link.name}` is invalid: {reason}"
    graph.issues.append(Issue("bad-signature", file, message, evidence))
    return SignatureCheck(claimed, SignatureStatus.INVALID, reason)


class Normaliser:
    """``paths.normalise`` against one root, remembered per raw path for one build."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, str | PathEscape] = {}

    def __call__(self, raw: str) -> str:
        """The normalised path of ``raw``; raises :class:`PathEscape` as ``normalise`` does."""
        if raw not in self._seen:
            try:
                self._seen[raw] = normalise(self.root, raw)
            except PathEscape as exc:
                self._seen[raw] = exc
        result = self._seen[raw]
        if isinstance(result, PathEscape):
            raise PathEscape(*result.args)
        return result


def _confined(
    graph: ProvenanceGraph,
    normalise_path: Normaliser,
    artifacts: Mapping[str, Mapping[str, str]],
    file: str,
    step: str,
    role: str,
) -> dict[str, dict[str, str]]:
    """Normalise artifact paths; escapes and conflicting duplicates become issues."""
    confined: dict[str, dict[str, str]] = {}
    for raw, digest in sorted(artifacts.items()):
        evidence = (Evidence("file", file), Evidence("link", step), Evidence(role, raw))
        try:
            path = normalise_path(raw)
        except PathEscape as exc:
            graph.issues.append(Issue("path-escape", raw, f"link `{step}` {role}: {exc}", evidence))
            continue
        if path in confined and confined[path] != dict(digest):
            message = f"link `{step}` names {role} `{path}` twice with different digests"
            graph.issues.append(Issue("conflicting-digest", path, message, evidence))
            continue
        confined[path] = dict(digest)
    return confined
