"""Reading attestation files by content: envelopes, bundles, what is skipped, what fails closed."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from attestation_kit import (
    IN_TOTO,
    STATEMENT_V01,
    Identity,
    b64,
    dsse,
    identity,
    link,
    load,
    metablock,
    statement,
    write_json,
    write_lines,
)
from securesystemslib.signer import CryptoSigner

from policy_engine.errors import InputError
from policy_engine.graph.builders.attestations import SEARCH_SUFFIXES
from policy_engine.graph.builders.attestations.dispatch import (
    Display,
    FileResult,
    Found,
    find_files,
)
from policy_engine.graph.builders.attestations.envelopes import b64decode, pae
from policy_engine.graph.builders.attestations.pool import Read, Unit, load_files
from policy_engine.graph.model import SignatureStatus
from policy_engine.keys import Keyring

SUBJECT = [{"name": "model.pkl", "digest": {"sha256": "ab" * 32}}]


@pytest.fixture(scope="module")
def ids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Identity]:
    folder = tmp_path_factory.mktemp("keys")
    return {
        "alice": identity(CryptoSigner.generate_ed25519(), folder, "alice"),
        "bob": identity(CryptoSigner.generate_ecdsa(), folder, "bob"),
        "mallory": identity(CryptoSigner.generate_ed25519(), folder, "mallory"),
    }


@pytest.fixture(scope="module")
def keyring(ids: dict[str, Identity]) -> Keyring:
    return Keyring({name: ids[name].public for name in ("alice", "bob")})


def statuses(att: object) -> list[SignatureStatus]:
    return [s.status for s in att.signatures]  # type: ignore[attr-defined]


# -- envelopes ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload_type", "payload", "expected"),
    [
        ("t", b"xy", b"DSSEv1 1 t 2 xy"),
        ("t", b"", b"DSSEv1 1 t 0 "),
        ("", b"", b"DSSEv1 0  0 "),
        (IN_TOTO, b'{"a": 1}', b"DSSEv1 28 " + IN_TOTO.encode() + b' 8 {"a": 1}'),
        ("t", "é ✓".encode(), b"DSSEv1 1 t 6 " + "é ✓".encode()),
        ("typé", b"\x00\xff", b"DSSEv1 5 typ\xc3\xa9 2 \x00\xff"),
    ],
)
def test_pae_is_the_dsse_v1_encoding(payload_type: str, payload: bytes, expected: bytes) -> None:
    """Lengths in bytes (UTF-8 for the type), as the DSSE protocol defines them."""
    assert pae(payload_type, payload) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aGk=", b"hi"),
        ("aGk", b"hi"),
        ("-_8=", b"\xfb\xff"),
        ("-_8", b"\xfb\xff"),
        ("_-8=", b"\xff\xef"),
        ("+/8=", b"\xfb\xff"),
        (" aGk=\n", b"hi"),
    ],
)
def test_base64_standard_or_url_safe_padded_or_not(text: str, expected: bytes) -> None:
    assert b64decode(text) == expected


@pytest.mark.parametrize("text", ["not base64!", "+_8=", "-/8=", "a", "-_8=x", "aG=k"])
def test_base64_garbage_is_refused(text: str) -> None:
    assert b64decode(text) is None


def test_dsse_statement_signed_by_trusted_keys(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    envelope = dsse(statement(SUBJECT), [ids["alice"], ids["bob"], ids["mallory"]])
    path = write_json(tmp_path / "att" / "eval.dsse", envelope)
    (att,) = load(tmp_path, keyring, path).attestations()
    assert (att.file, att.kind, att.envelope) == ("att/eval.dsse", "statement", "dsse")
    assert statuses(att) == [
        SignatureStatus.VALID,
        SignatureStatus.VALID,
        SignatureStatus.UNTRUSTED,
    ]
    assert att.signers == {ids["alice"].keyid, ids["bob"].keyid}


def test_plain_statement_is_recorded_unsigned(tmp_path: Path, keyring: Keyring) -> None:
    path = write_json(tmp_path / "s.json", statement(SUBJECT, predicate={"ok": True}))
    (att,) = load(tmp_path, keyring, path).attestations()
    assert (att.envelope, att.signatures, att.signers) == ("none", (), frozenset())
    assert att.predicate == {"ok": True}


def test_sigstore_bundle_dsse_signature_without_keyid_is_tried_with_trusted_keys(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    envelope = dsse(statement(SUBJECT), [ids["bob"], ids["mallory"]])
    for signature in envelope["signatures"]:
        signature["keyid"] = ""
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "anything"}},
        "dsseEnvelope": envelope,
    }
    (att,) = load(
        tmp_path, keyring, write_json(tmp_path / "b.sigstore.json", bundle)
    ).attestations()
    assert att.envelope == "sigstore"
    assert statuses(att) == [SignatureStatus.VALID, SignatureStatus.UNTRUSTED]
    assert att.signers == {ids["bob"].keyid}


def test_sigstore_bundle_of_a_bare_digest_is_skipped_in_a_folder(
    tmp_path: Path, keyring: Keyring
) -> None:
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2"}
    write_json(tmp_path / "att" / "b.json", {**bundle, "messageSignature": {}})
    graph = load(tmp_path, keyring, tmp_path / "att")
    assert list(graph.attestations()) == []
    assert graph.notes == [
        "att/b.json: skipped, not an attestation: "
        "a sigstore bundle signing a digest, not an attestation"
    ]
    write_json(tmp_path / "bad" / "b.json", bundle)
    with pytest.raises(InputError, match="no `dsseEnvelope`"):
        load(tmp_path, keyring, tmp_path / "bad")


def test_two_signatures_with_one_keyid_are_both_checked(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    """A DSSE envelope may repeat a key id; a bad copy is reported, never dropped."""
    envelope = dsse(statement(SUBJECT), [ids["alice"]])
    good = envelope["signatures"][0]
    forged = {"keyid": good["keyid"], "sig": b64(b"\x00" * 64)}
    envelope["signatures"] = [good, forged]
    graph = load(tmp_path, keyring, write_json(tmp_path / "s.json", envelope))
    (att,) = graph.attestations()
    assert statuses(att) == [SignatureStatus.VALID, SignatureStatus.INVALID]
    assert [i.code for i in graph.issues] == ["bad-signature"]


def test_gpg_signatures_are_never_valid(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    document = metablock(link("train"), [ids["alice"]])
    document["signatures"][0]["other_headers"] = "04000108001d1621"
    document["signatures"].append(
        {
            "keyid": "8465a1e2e0fb2b40adb2478e18fb3f537e0c8a17",
            "other_headers": "04",
            "signature": "ab",
        }
    )
    graph = load(tmp_path, keyring, write_json(tmp_path / "train.link", document))
    (att,) = graph.attestations()
    assert statuses(att) == [SignatureStatus.INVALID, SignatureStatus.UNTRUSTED]
    assert all("OpenPGP" in s.reason for s in att.signatures)
    assert att.signers == frozenset()
    assert [i.code for i in graph.issues] == ["bad-signature"]


def test_metablock_signature_covers_every_field_as_read(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    document = metablock(link("train"), [ids["alice"]])
    document["signed"]["note"] = "added after signing"
    graph = load(tmp_path, keyring, write_json(tmp_path / "train.link", document))
    (att,) = graph.attestations()
    assert statuses(att) == [SignatureStatus.INVALID]


@pytest.mark.parametrize(
    ("signature", "status"),
    [
        ({"keyid": "KEY"}, SignatureStatus.INVALID),
        ({"keyid": "KEY", "sig": "zz"}, SignatureStatus.INVALID),
    ],
)
def test_malformed_signature_entries_are_invalid_not_errors(
    tmp_path: Path,
    ids: dict[str, Identity],
    keyring: Keyring,
    signature: dict,
    status: SignatureStatus,
) -> None:
    document = {"signed": link("train"), "signatures": [{**signature, "keyid": ids["alice"].keyid}]}
    graph = load(tmp_path, keyring, write_json(tmp_path / "train.link", document))
    (att,) = graph.attestations()
    assert statuses(att) == [status]
    assert [i.code for i in graph.issues] == ["bad-signature"]


# -- JSON-Lines bundles --------------------------------------------------------------------
def test_bundle_one_attestation_per_line(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    lines = [
        dsse(statement(SUBJECT, "https://example.com/a/v1"), [ids["alice"]]),
        dsse(link("train"), [ids["bob"]]),
        dsse({"x": 1}, [ids["alice"]], payload_type="application/vnd.novulz+cbor"),
        {"comment": "not an attestation"},
    ]
    path = write_lines(tmp_path / "att" / "model.pkl.intoto.jsonl", lines)
    path.write_text(path.read_text().replace("\n", "\n\n", 1))  # a blank line is skipped
    graph = load(tmp_path, keyring, path)
    found = {a.file: a for a in graph.attestations()}
    assert sorted(found) == ["att/model.pkl.intoto.jsonl#1", "att/model.pkl.intoto.jsonl#3"]
    assert found["att/model.pkl.intoto.jsonl#3"].step_name == "train"
    assert all(a.signers for a in found.values())
    assert graph.notes[:2] == [
        "att/model.pkl.intoto.jsonl:4: skipped, not an attestation: a DSSE envelope of "
        "`application/vnd.novulz+cbor`, not of in-toto JSON",
        "att/model.pkl.intoto.jsonl:5: skipped, not an attestation: no in-toto, DSSE or "
        "sigstore field",
    ]


def test_json_lines_are_recognised_without_the_suffix(tmp_path: Path, keyring: Keyring) -> None:
    path = write_lines(tmp_path / "evidence.json", [statement(SUBJECT), statement(SUBJECT)])
    graph = load(tmp_path, keyring, path)
    assert sorted(a.file for a in graph.attestations()) == ["evidence.json#1", "evidence.json#2"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"payloadType": ', "invalid JSON"),
        (
            '{"payloadType": "application/vnd.in-toto+json", "payload": "%%", "signatures": []}',
            "not base64",
        ),
        (json.dumps(statement([{"name": "x"}])), "subject 0 has no `digest`"),
    ],
)
def test_a_malformed_line_names_the_file_and_line(
    tmp_path: Path, keyring: Keyring, line: str, message: str
) -> None:
    path = tmp_path / "b.intoto.jsonl"
    path.write_text(json.dumps(statement(SUBJECT)) + "\n\n" + line + "\n")
    with pytest.raises(InputError, match=message) as info:
        load(tmp_path, keyring, path)
    assert info.value.location == "b.intoto.jsonl:3"


# -- what is searched, skipped, refused ----------------------------------------------------
def test_folders_are_searched_for_the_documented_suffixes(tmp_path: Path) -> None:
    names = [
        "a.link",
        "b.layout",
        "c.json",
        "d.jsonl",
        "e.intoto.jsonl",
        "f.dsse",
        "g.txt",
        "h.pub",
    ]
    for name in names:
        (tmp_path / "att" / "sub").mkdir(parents=True, exist_ok=True)
        (tmp_path / "att" / "sub" / name).write_text("{}")
    (tmp_path / "att" / ".hidden").mkdir()
    (tmp_path / "att" / ".hidden" / "x.link").write_text("{}")
    found = find_files(tmp_path, [tmp_path / "att", tmp_path / "att" / "sub" / "g.txt"])
    assert [f.file for f in found] == [f"att/sub/{n}" for n in sorted(names) if n[0] < "g"] + [
        "att/sub/g.txt"
    ]
    assert [f.explicit for f in found] == [False] * 6 + [True]
    assert SEARCH_SUFFIXES == (".link", ".layout", ".json", ".jsonl", ".dsse")


def test_walked_files_are_named_as_each_file_alone_would_be(tmp_path: Path) -> None:
    """A folder's name gives its files' names only as the per-file naming would: folders
    in the root as written, at the root itself, or reached through a symlink from outside."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "att" / "deep" / "er").mkdir(parents=True)
    (outside / "att").mkdir(parents=True)
    (repo / "top.link").write_text("{}")
    (repo / "att" / "a.link").write_text("{}")
    (repo / "att" / "deep" / "er" / "b.json").write_text("{}")
    (outside / "att" / "c.link").write_text("{}")
    (outside / "att" / "in-repo.link").symlink_to(repo / "att" / "a.link")
    (repo / "att" / "deep" / "target.txt").write_text("{}")  # not a suffix searched for
    (repo / "att" / "deep" / "elsewhere.link").symlink_to(repo / "att" / "deep" / "target.txt")
    (tmp_path / "via").symlink_to(repo / "att")  # outside as written, inside for real
    (repo / "att" / "linked").symlink_to(outside / "att")  # a symlinked folder: not entered
    sources = [repo, tmp_path / "via", outside / "att", repo / "att" / ".." / "att"]
    for source in sources:
        found = find_files(repo, [source])
        assert [f.file for f in found] == [Display(repo)(f.path) for f in found]
        assert found
    assert [f.file for f in find_files(repo, [repo])] == [
        "top.link",
        "att/a.link",
        "att/deep/elsewhere.link",
        "att/deep/er/b.json",
    ]


def test_a_found_file_linking_out_of_the_repository_is_refused_before_any_read(
    tmp_path: Path,
) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "att").mkdir(parents=True)
    outside.mkdir()
    (outside / "c.link").write_text('{"a": 1}')
    (repo / "att" / "inside.link").symlink_to(repo / "att" / "real.json")
    (repo / "att" / "real.json").write_text("{}")
    assert [f.file for f in find_files(repo, [repo / "att"])] == ["att/inside.link"]
    (repo / "att" / "out.link").symlink_to(outside / "c.link")
    with pytest.raises(InputError, match="attestation file leaves the repository") as caught:
        find_files(repo, [repo / "att"])
    assert caught.value.location == "att/out.link"
    # a folder given outside the repository may hold links to its own files
    (outside / "own.link").symlink_to(outside / "c.link")
    (repo / "att" / "out.link").unlink()
    assert [f.file for f in find_files(repo, [outside])] == [str(outside / "c.link")]


def test_a_file_named_explicitly_is_read_whatever_its_name(
    tmp_path: Path, keyring: Keyring
) -> None:
    path = write_json(tmp_path / "evidence.txt", statement(SUBJECT))
    (att,) = load(tmp_path, keyring, path).attestations()
    assert att.file == "evidence.txt"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"predicateType": "x", "subject": []},
            "looks like an in-toto Statement but has no `_type`",
        ),
        ({"_type": "https://in-toto.io/Statement/v9"}, "unsupported in-toto `_type`"),
        (
            statement(SUBJECT, kind=STATEMENT_V01) | {"subject": [{"digest": {"sha256": "ab"}}]},
            "no `name`",
        ),
        (statement([]), "`subject`: list should have at least 1 item"),
        (
            {"payloadType": IN_TOTO, "payload": b64(b"[1]"), "signatures": []},
            "payload is not a JSON object",
        ),
    ],
)
def test_lookalikes_fail_closed_even_in_a_searched_folder(
    tmp_path: Path, keyring: Keyring, document: dict, message: str
) -> None:
    write_json(tmp_path / "att" / "x.json", document)
    with pytest.raises(InputError, match=message) as info:
        load(tmp_path, keyring, tmp_path / "att")
    assert info.value.location == "att/x.json"


@pytest.mark.parametrize(
    "document",
    [
        {"_type": ["b/" * 5000]},
        {"signed": {"_type": ["b/" * 5000]}, "signatures": []},
        {"signed": {"_type": "link", "pad": "b/" * 5000, "n": 0.5}, "signatures": []},
        {"payloadType": "b/" * 5000, "payload": "", "signatures": []},
    ],
)
def test_errors_about_a_document_do_not_quote_it_at_length(
    tmp_path: Path, keyring: Keyring, document: dict
) -> None:
    """Found by the fuzz target: messages quoted a whole value of the document."""
    path = write_json(tmp_path / "x.json", document)
    with pytest.raises(InputError) as info:
        load(tmp_path, keyring, path)
    assert len(info.value.message) < 300, info.value.message[:300]


def test_invalid_json_in_a_searched_folder_fails_closed(tmp_path: Path, keyring: Keyring) -> None:
    (tmp_path / "att").mkdir()
    (tmp_path / "att" / "broken.json").write_text('{"_type": ')
    with pytest.raises(InputError, match="invalid JSON") as info:
        load(tmp_path, keyring, tmp_path / "att")
    assert info.value.location == "att/broken.json:1:11"


# -- many files: a pool of processes gives the same results -------------------------------------
def _many_files(tmp_path: Path, ids: dict[str, Identity], monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve links, a bundle of five statements read in runs of 2 lines, a bad signature."""
    from policy_engine.graph.builders.attestations import pool

    monkeypatch.setattr(pool, "SPLIT_BYTES", 0)  # the bundle is read in runs of 2 lines
    monkeypatch.setattr(pool, "LINES_PER_TASK", 2)
    for i in range(12):
        write_json(tmp_path / "att" / f"s{i:02d}.link", metablock(link(f"s{i}"), [ids["alice"]]))
    write_lines(
        tmp_path / "att" / "z.intoto.jsonl",
        [dsse(statement(SUBJECT), [ids["bob"]]) for _ in range(5)],
    )
    write_json(tmp_path / "att" / "bad.link", metablock(link("bad"), [ids["mallory"]]))


def test_pool_results_equal_serial_results_in_order(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_files(tmp_path, ids, monkeypatch)
    found = find_files(tmp_path, [tmp_path / "att"])
    serial = load_files(found, keyring, tmp_path, workers=1)
    pooled = load_files(found, keyring, tmp_path, workers=2)
    assert [r.file for r in pooled] == [r.file for r in serial] == [f.file for f in found]
    assert [[x.attestation for x in r.links] for r in pooled] == [
        [x.attestation for x in r.links] for r in serial
    ]
    assert [[x.file for x in r.statements] for r in pooled][-1] == [
        f"att/z.intoto.jsonl#{n}" for n in range(1, 6)
    ]


def test_readers_send_a_lone_link_bare_and_a_paths_equal_digests_once(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    """What a reader sends is lighter, never different: a file whose result is one link
    and nothing else goes as the link's attestation (signers computed); a path's equal
    digests in several links are one dict; a file with issues, statements, an error or
    signed bytes, and a link of a bundle, go as they were read."""
    from policy_engine.graph.builders.attestations import pool
    from policy_engine.graph.builders.attestations.confine import Normaliser
    from policy_engine.graph.builders.attestations.dispatch import load_file

    sha = {"sha256": "ab" * 32}
    for i in range(3):  # the same step by two keys: equal tables; a product, then a material
        for who in ("alice", "bob"):
            before = {f"out/{i - 1}.bin": {"sha256": f"{i - 1:02x}" * 32}} if i else {}
            product = {f"out/{i}.bin": {"sha256": f"{i:02x}" * 32}}
            document = link(f"s{i}", {"data/raw.csv": dict(sha), **before}, product)
            write_json(tmp_path / "att" / f"s{i}.{who}.link", metablock(document, [ids[who]]))
    escape = link("t", {"../outside": sha})  # an issue: path-escape
    write_json(tmp_path / "att" / "t.mallory.link", metablock(escape, [ids["mallory"]]))
    write_lines(tmp_path / "att" / "u.intoto.jsonl", [metablock(link("u"), [ids["alice"]])])
    write_json(tmp_path / "att" / "v.json", dsse(statement(SUBJECT), [ids["bob"]]))
    (tmp_path / "att" / "w.json").write_text("{not json")
    found = find_files(tmp_path, [tmp_path / "att"])
    normaliser = Normaliser(tmp_path)

    def read() -> list[tuple[int, FileResult]]:
        return [(i, load_file(f, keyring, normaliser, proofs=False)) for i, f in enumerate(found)]

    sent = pool._lighter(read())
    assert [pool.full(result) for _, result in sent] == [result for _, result in read()]
    bare = [result for _, result in sent if not isinstance(result, FileResult)]
    assert [a.file for a in bare] == [
        f"att/s{i}.{w}.link" for i in range(3) for w in ("alice", "bob")
    ]
    assert all(vars(a)["signers"] == a.signers for a in bare)  # computed before sending
    digests = {
        (p, id(d)) for a in bare for table in (a.materials, a.products) for p, d in table.items()
    }
    assert len(digests) == 4  # a path's equal digests are one dict: raw.csv and three outputs
    with_proof = load_file(found[0], keyring, normaliser)  # signed bytes kept: sent whole
    assert pool._lighter([(0, with_proof)]) == [(0, with_proof)]


def _read_in_background(
    found: list[Found], keyring: Keyring, root: Path, workers: int
) -> list[FileResult]:
    from policy_engine.graph.builders.attestations import pool

    reading = pool.Reading(found, keyring, root, workers, background=True)
    try:
        return list(reading.results())
    finally:
        reading.close()


def _summary(results: list[FileResult]) -> list[tuple[object, ...]]:
    return [
        (
            r.file,
            [x.attestation for x in r.links],
            r.statements,
            r.issues,
            r.notes,
            r.error,
        )
        for r in results
    ]


def _fail_in_child(how: str) -> None:
    if how == "raises":
        raise RuntimeError("child only")
    if how == "crashes":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("children", [1, 2, 3])
@pytest.mark.parametrize("failing", [None, "raises", "crashes", "killed"])
def test_forked_readers_give_the_results_read_here_even_when_one_fails(
    tmp_path: Path,
    ids: dict[str, Identity],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    children: int,
    failing: str | None,
) -> None:
    """Read in the background, the files go to forked children in shares; a share whose
    child fails in any way is read here: the results are those of reading here alone."""
    from policy_engine.graph.builders.attestations import pool

    _many_files(tmp_path, ids, monkeypatch)
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # earlier tests may leave threads
    (tmp_path / "att" / "broken.json").write_text("{not json")
    found = find_files(tmp_path, [tmp_path / "att"])
    serial = load_files(found, keyring, tmp_path, workers=1)
    parent, last, read = os.getpid(), found[-1], pool.read_share

    def reads(units: list[Unit], keyring: Keyring, root: Path) -> list[Read]:
        assert os.getpid() != parent  # read by a child
        if failing is not None and units[-1][1] == last:
            _fail_in_child(failing)
        return read(units, keyring, root)

    monkeypatch.setattr(pool, "read_share", reads)
    forked = _read_in_background(found, keyring, tmp_path, children)
    assert _summary(forked) == _summary(serial)
    assert [r.file for r in forked] == [f.file for f in found]
    assert any(r.error for r in forked)  # a broken file: its error, as read here
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every child reaped


def test_forked_readers_are_shared_the_work_in_order() -> None:
    from policy_engine.graph.builders.attestations import pool

    whole = [(i, Found(Path(f"{i}.link"), f"{i}.link", False), None) for i in range(10)]
    lines = [(10, Found(Path("b.jsonl"), "b.jsonl", False), (n, b"")) for n in range(3)]
    units: list[Unit] = [*whole, *lines]
    for count in (1, 2, 3, 50):
        shares = pool._shares(units, count)
        assert [u for share in shares for u in share] == units
        assert 0 < len(shares) <= count and all(shares)
    assert [len(share) for share in pool._shares(units, 3)] == [11, 1, 1]  # by work: lines weigh
    assert [len(share) for share in pool._shares(whole, 3)] == [4, 3, 3]


def test_hostile_links_read_without_signed_bytes_are_read_alike(
    tmp_path: Path, ids: dict[str, Identity], keyring: Keyring
) -> None:
    """Links dropping their signed bytes as they are read (as readers in other processes
    do) give the same attestations, issues and shared checks as links keeping them: bad
    and untrusted signatures, paths leaving the repository, a wrong file name, a duplicate,
    classic and DSSE."""
    from policy_engine.graph.builders.attestations.confine import Normaliser
    from policy_engine.graph.builders.attestations.dispatch import load_file

    sha = {"sha256": "ab" * 32}
    good = link("train", {"data/raw.csv": sha}, {"out/model.bin": {"sha256": "cd" * 32}})
    tampered = metablock(good, [ids["alice"]])
    tampered["signed"]["command"] = ["evil"]
    documents = {
        f"train.{ids['alice'].keyid[:8]}.link": metablock(good, [ids["alice"]]),
        "copy.link": metablock(good, [ids["alice"]]),
        f"other.{ids['bob'].keyid[:8]}.link": metablock(good, [ids["bob"]]),  # wrong step
        "tampered.link": tampered,
        "mallory.link": metablock(good, [ids["mallory"]]),
        "escape.link": metablock(link("e", {"../x": sha}, {"/etc/passwd": sha}), [ids["bob"]]),
        "dsse.json": dsse(good, [ids["alice"], ids["mallory"]]),
    }
    for name, document in documents.items():
        write_json(tmp_path / "att" / name, document)
    found = find_files(tmp_path, [tmp_path / "att"])
    kept = [load_file(f, keyring, Normaliser(tmp_path)) for f in found]
    light = [load_file(f, keyring, Normaliser(tmp_path), proofs=False) for f in found]
    assert [[x.attestation for x in r.links] for r in light] == [
        [x.attestation for x in r.links] for r in kept
    ]
    assert [r.issues for r in light] == [r.issues for r in kept]
    assert all(x.proof is None for r in light for x in r.links)
    assert all(x.proof is not None for r in kept for x in r.links)
    codes = sorted(issue.code for r in light for issue in r.issues)
    assert codes == ["bad-signature", "link-name-mismatch", "path-escape", "path-escape"]
    valid = [s for r in light for x in r.links for s in x.attestation.signatures if s.reason]
    by_alice = [s for s in valid if s.reason == "verified with key `alice`"]
    assert len(by_alice) == 3 and all(s is by_alice[0] for s in by_alice)  # one object
