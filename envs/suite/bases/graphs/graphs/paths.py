"""Traversals, shortest paths and orderings."""

import heapq
from collections import deque


def bfs_order(graph, start):
    """Nodes in breadth-first order from start, neighbors visited in sorted order."""
    seen = {start}
    order = []
    queue = deque([start])
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in graph.neighbors(node):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return order


def shortest_path(graph, start, goal):
    """Dijkstra: (cost, [start, ..., goal]), or None when goal cannot be reached."""
    dist = {start: 0}
    prev = {}
    heap = [(0, start)]
    while heap:
        d, node = heapq.heappop(heap)
        if node == goal:
            break
        if d > dist[node]:
            continue
        for nxt, weight in graph.adj.get(node, {}).items():
            candidate = d + weight
            if candidate < dist.get(nxt, float("inf")):
                dist[nxt] = candidate
                prev[nxt] = node
                heapq.heappush(heap, (candidate, nxt))
    if goal not in dist:
        return None
    path = [goal]
    while path[-1] != start:
        path.append(prev[path[-1]])
    path.reverse()
    return dist[goal], path


def topological_sort(graph):
    """Kahn's algorithm, smallest ready node first; ValueError on a cycle."""
    indegree = {n: 0 for n in graph.nodes()}
    for n in graph.nodes():
        for m in graph.neighbors(n):
            indegree[m] += 1
    ready = sorted(n for n, d in indegree.items() if d == 0)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in graph.neighbors(n):
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
        ready.sort()
    if len(order) != len(indegree):
        raise ValueError("graph has a cycle")
    return order


def count_paths(graph, start, goal):
    """Number of distinct paths from start to goal in a DAG."""
    if start == goal:
        return 1
    return sum(count_paths(graph, n, goal) for n in graph.neighbors(start))
