import pytest

from graphs.graph import Graph
from graphs.paths import bfs_order, count_paths, shortest_path, topological_sort


def grid():
    g = Graph()
    for u, v, w in [("a", "b", 1), ("a", "c", 4), ("b", "c", 1), ("b", "d", 5), ("c", "d", 1),
                    ("d", "e", 2)]:
        g.add_edge(u, v, w)
    return g


def dag():
    g = Graph(directed=True)
    for u, v in [("shirt", "tie"), ("tie", "jacket"), ("pants", "shoes"), ("pants", "belt"),
                 ("belt", "jacket"), ("shirt", "belt"), ("socks", "shoes")]:
        g.add_edge(u, v)
    return g


def test_bfs_order():
    g = Graph()
    for u, v in [(1, 2), (1, 3), (2, 4), (3, 5), (4, 6)]:
        g.add_edge(u, v)
    assert bfs_order(g, 1) == [1, 2, 3, 4, 5, 6]


def test_shortest_path():
    assert shortest_path(grid(), "a", "e") == (5, ["a", "b", "c", "d", "e"])


def test_shortest_path_to_itself():
    assert shortest_path(grid(), "c", "c") == (0, ["c"])


def test_unreachable_goal():
    g = grid()
    g.add_edge("x", "y")
    assert shortest_path(g, "a", "x") is None


def test_topological_sort():
    assert topological_sort(dag()) == ["pants", "shirt", "belt", "socks", "shoes", "tie",
                                       "jacket"]


def test_cycle_detected():
    g = Graph(directed=True)
    g.add_edge(1, 2)
    g.add_edge(2, 1)
    with pytest.raises(ValueError, match="cycle"):
        topological_sort(g)


def test_count_paths():
    g = Graph(directed=True)
    for u, v in [("s", "a"), ("s", "b"), ("a", "t"), ("b", "t"), ("a", "b")]:
        g.add_edge(u, v)
    assert count_paths(g, "s", "t") == 3
    assert count_paths(g, "t", "t") == 1
