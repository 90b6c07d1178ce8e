"""The layered placement behind every drawing: edges point down, sources sit by their reader."""

from __future__ import annotations

import random

from policy_engine.graph.layout import place

PIPELINE = [
    ("raw", "prepare"),
    ("prepare.py", "prepare"),
    ("prepare", "clean"),
    ("clean", "train"),
    ("train.py", "train"),
    ("train", "model"),
    ("model", "evaluate"),
    ("evaluate", "metrics"),
]
NODES = sorted({n for edge in PIPELINE for n in edge} | {"params"})


def test_every_edge_points_to_a_later_layer() -> None:
    position = place(NODES, PIPELINE).position()
    assert all(position[u][0] < position[v][0] for u, v in PIPELINE)
    assert position["raw"][0] == 0 and position["metrics"][0] == 6


def test_a_source_sits_just_before_its_first_reader() -> None:
    position = place(NODES, PIPELINE).position()
    assert position["train.py"][0] == position["train"][0] - 1 == position["clean"][0]
    assert position["params"] == (0, 0)  # nothing reads it: first layer


def test_a_cycle_is_drawn_all_the_same() -> None:
    placement = place("abc", [("a", "b"), ("b", "c"), ("c", "a")])
    assert placement.layers == (("a",), ("b",), ("c",))


def test_the_same_graph_in_any_order_gives_the_same_placement() -> None:
    expected = place(NODES, PIPELINE)
    shuffled = random.Random(7)
    for _ in range(20):
        nodes, edges = list(NODES), list(PIPELINE)
        shuffled.shuffle(nodes)
        shuffled.shuffle(edges)
        assert place(nodes, edges) == expected


def test_neighbours_are_kept_together() -> None:
    # two chains that cross in id order are untangled by the sweeps
    edges = [("a1", "s1"), ("b1", "s2"), ("s1", "z1"), ("s2", "a2")]
    layers = place({n for e in edges for n in e}, edges).layers
    assert layers[2].index("z1") == layers[1].index("s1")
    assert layers[2].index("a2") == layers[1].index("s2")


def test_edges_to_unknown_nodes_and_loops_are_ignored() -> None:
    assert place(["a"], [("a", "a"), ("a", "ghost")]).layers == (("a",),)
    assert place([], []).layers == ()
