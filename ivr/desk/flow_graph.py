"""A flow as a graph for the console: its nodes from the start, every edge labelled."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.flows.definition import Flow


@dataclass(frozen=True)
class Edge:
    """One way out of a node: the key, keyword, intent or branch, and where it leads."""

    label: str
    target: str


@dataclass(frozen=True)
class GraphNode:
    """A node, its kind and its edges in the order the flow file lists them."""

    id: str
    kind: str
    edges: list[Edge]


def edge_label(path: tuple[str | int, ...]) -> str:
    """``('options', '1', 'next')`` → ``key 1``; ``('intent_targets', 'x')`` → ``x``; else the field."""
    parts = [str(p) for p in path]
    if parts and parts[-1] == "next" and len(parts) > 1:
        parts = parts[:-1]
    if parts[0] == "options" and len(parts) > 1:
        return f"key {parts[1]}"
    if len(parts) > 1:
        return " ".join(parts[1:])
    return parts[0]


def flow_graph(flow: Flow) -> list[GraphNode]:
    """Every node, breadth-first from the start node (nodes it cannot reach last)."""
    order: list[str] = []
    todo = [flow.start]
    while todo:
        node_id = todo.pop(0)
        if node_id in order or node_id not in flow.nodes:
            continue
        order.append(node_id)
        todo.extend(target for _path, target in flow.nodes[node_id].targets())
    order.extend(node_id for node_id in flow.nodes if node_id not in order)
    return [
        GraphNode(
            node_id,
            flow.nodes[node_id].kind,
            [Edge(edge_label(path), target) for path, target in flow.nodes[node_id].targets()],
        )
        for node_id in order
    ]
