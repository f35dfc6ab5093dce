from graphs.graph import Graph


def test_undirected_edges_go_both_ways():
    g = Graph()
    g.add_edge("a", "b", 3)
    assert g.neighbors("b") == ["a"]
    assert g.edge_count() == 1


def test_directed_edges():
    g = Graph(directed=True)
    g.add_edge("a", "b")
    g.add_edge("a", "c")
    assert g.neighbors("a") == ["b", "c"]
    assert g.neighbors("b") == []
    assert g.nodes() == ["a", "b", "c"]
    assert g.edge_count() == 2
