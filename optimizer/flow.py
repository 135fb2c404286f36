"""Min-cost flow on numpy arc arrays: OR-Tools or networkx, and a dual certificate.

The certificate is the reason we can say "optimal" without trusting the solver: node
potentials from shortest paths in the residual graph prove there is no negative cycle,
and the same potentials price arcs that were left out of the model (see enrolment).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FlowNetwork:
    """Arcs tail -> head with capacity and integer unit cost; supply per node (sum 0)."""

    n_nodes: int
    tail: np.ndarray
    head: np.ndarray
    capacity: np.ndarray
    cost: np.ndarray
    supply: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.tail)
        if not (len(self.head) == len(self.capacity) == len(self.cost) == m):
            raise ValueError("tail, head, capacity and cost must have the same length")
        if len(self.supply) != self.n_nodes or int(self.supply.sum()) != 0:
            raise ValueError("supply must give every node and sum to zero")


@dataclass(frozen=True)
class FlowSolution:
    """Flow per arc, its cost, the engine's status and time."""

    flow: np.ndarray
    cost: int
    optimal: bool
    seconds: float
    engine: str


def solve_ortools(net: FlowNetwork) -> FlowSolution:
    """Solve with OR-Tools SimpleMinCostFlow (cost scaling push-relabel)."""
    from ortools.graph.python import min_cost_flow

    t0 = time.perf_counter()
    mcf = min_cost_flow.SimpleMinCostFlow()
    arcs = mcf.add_arcs_with_capacity_and_unit_cost(
        net.tail.astype(np.int32), net.head.astype(np.int32),
        net.capacity.astype(np.int64), net.cost.astype(np.int64))
    mcf.set_nodes_supplies(np.arange(net.n_nodes, dtype=np.int32), net.supply.astype(np.int64))
    status = mcf.solve()
    if status != mcf.OPTIMAL:
        return FlowSolution(np.zeros(len(net.tail), np.int64), 0, False,
                            time.perf_counter() - t0, f"ortools ({status})")
    flow = np.asarray(mcf.flows(arcs), dtype=np.int64)
    return FlowSolution(flow, int(mcf.optimal_cost()), True, time.perf_counter() - t0,
                        "ortools min-cost flow")


def solve_networkx(net: FlowNetwork) -> FlowSolution:
    """Solve the same network with networkx's network simplex (pure Python reference)."""
    import networkx as nx

    t0 = time.perf_counter()
    g = nx.MultiDiGraph()
    for v in range(net.n_nodes):
        g.add_node(v, demand=-int(net.supply[v]))
    keys = [g.add_edge(int(u), int(v), capacity=int(c), weight=int(w))
            for u, v, c, w in zip(net.tail, net.head, net.capacity, net.cost, strict=True)]
    cost, flow_dict = nx.network_simplex(g)
    flow = np.array([flow_dict[int(u)][int(v)][k]
                     for u, v, k in zip(net.tail, net.head, keys, strict=True)], np.int64)
    return FlowSolution(flow, int(cost), True, time.perf_counter() - t0, "networkx simplex")


def potentials(net: FlowNetwork, flow: np.ndarray, *, max_rounds: int | None = None
               ) -> np.ndarray | None:
    """Shortest-path potentials in the residual graph; None if it has a negative cycle.

    With these potentials every residual arc has reduced cost >= 0, which certifies the
    flow optimal; an arc not in the model can join it without breaking optimality when
    its reduced cost, cost + pi[tail] - pi[head], is >= 0.
    """
    fwd = flow < net.capacity
    bwd = flow > 0
    u = np.concatenate([net.tail[fwd], net.head[bwd]])
    v = np.concatenate([net.head[fwd], net.tail[bwd]])
    w = np.concatenate([net.cost[fwd], -net.cost[bwd]]).astype(np.int64)
    dist = np.zeros(net.n_nodes, np.int64)  # a virtual root reaches every node at 0
    for _ in range(max_rounds or net.n_nodes + 1):
        new = dist.copy()
        np.minimum.at(new, v, dist[u] + w)
        if np.array_equal(new, dist):
            return dist
        dist = new
    return None
