"""Links whose materials equal the previous link's products share that dict, and only then."""

from __future__ import annotations

from policy_engine.intoto.model import Link, LinkFile
from policy_engine.supplychain.load import _SharedArtifacts

A, B = {"sha256": "a" * 64}, {"sha256": "b" * 64}


def found(
    name: str, materials: dict[str, dict[str, str]], products: dict[str, dict[str, str]]
) -> LinkFile:
    return LinkFile(f"{name}.link", name, "k", True, link=Link(name, (), materials, products))


def test_equal_materials_hold_the_previous_products() -> None:
    shared = _SharedArtifacts()
    first = shared.link_file(found("one", {}, {"x": dict(A), "y": dict(B)}))
    second = shared.link_file(found("two", {"x": dict(A), "y": dict(B)}, {"z": dict(A)}))
    assert first.link is not None and second.link is not None
    assert second.link.materials is first.link.products
    assert second.link.products == {"z": A}
    assert second.file == "two.link" and second.verified


def test_different_materials_are_kept_as_read() -> None:
    shared = _SharedArtifacts()
    shared.link_file(found("one", {}, {"x": dict(A)}))
    changed = {"x": dict(B)}  # one digest differs: no sharing
    extra = {"x": dict(A), "w": dict(A)}  # one more path: no sharing
    second = shared.link_file(found("two", changed, {"y": dict(A)}))
    third = shared.link_file(found("three", extra, {}))
    assert second.link is not None and second.link.materials is changed
    assert third.link is not None and third.link.materials is extra


def test_files_without_a_link_pass_through() -> None:
    shared = _SharedArtifacts()
    dropped = LinkFile("bad.link", "bad", "k", False, "unreadable")
    assert shared.link_file(dropped) is dropped
    empty = found("one", {}, {})
    assert shared.link_file(empty) is empty
