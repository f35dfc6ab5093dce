"""A weighted graph stored as {node: {neighbor: weight}}."""


class Graph:
    def __init__(self, directed=False):
        self.directed = directed
        self.adj = {}

    def add_edge(self, u, v, weight=1):
        self.adj.setdefault(u, {})[v] = weight
        self.adj.setdefault(v, {})
        if not self.directed:
            self.adj[v][u] = weight

    def neighbors(self, node):
        return sorted(self.adj.get(node, {}))

    def nodes(self):
        return sorted(self.adj)

    def edge_count(self):
        count = sum(len(targets) for targets in self.adj.values())
        return count if self.directed else count // 2
