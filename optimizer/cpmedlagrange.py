"""The capacitated p-median's Lagrangian bound: knapsack pricing, column generation and the
exact penalties that fix variables (optimizer/cpmedian.py runs them; its docstring has the
method and the measurements).

Relaxing the assignment rows with multipliers lambda leaves one 0-1 knapsack per site;
L(lambda) = sum lambda + the p least site values bounds every solution from below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

_DP_CELLS = 20_000_000  # largest m * n * (Q + 1): the knapsack DP's work per pricing round
_DP_CHUNK = 2_000_000  # prefix/suffix table cells held at once (two float64 tables)


def _integer_data(dem: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Demands and capacities as integers for the knapsack DP (None if not whole numbers
    or if the tables would be too large)."""
    if not np.all(dem == np.round(dem)):
        return None
    capi = np.floor(cap + 1e-9).astype(np.int64)
    if dem.size * cap.size * (int(capi.max()) + 1) > _DP_CELLS:
        return None
    return np.round(dem).astype(np.int64), capi


def _knapsacks(w: np.ndarray, demi: np.ndarray, capi: np.ndarray, *,
               backtrack: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """For every site j the 0-1 knapsack max sum_i w_ij x_i, sum_i d_i x_i <= Q_j: the
    values (n,) and, with `backtrack`, the DP's choices (m, n, Q + 1) for reading the
    item sets back."""
    m, n = w.shape
    q = int(capi.max())
    f = np.zeros((n, q + 1))
    take = np.zeros((m, n, q + 1), dtype=bool) if backtrack else None
    for i in range(m):
        di = int(demi[i])
        if di > q:
            continue
        cand = f[:, :q + 1 - di] + w[i][:, None]
        better = cand > f[:, di:]
        if take is not None:
            take[i, :, di:] = better
        f[:, di:] = np.where(better, cand, f[:, di:])
    return f[np.arange(n), capi], take


def _items(take: np.ndarray, demi: np.ndarray, j: int, q: int) -> list[int]:
    """The customers in site j's knapsack of capacity q, read back from the DP."""
    out = []
    for i in range(take.shape[0] - 1, -1, -1):
        if take[i, j, q]:
            out.append(i)
            q -= int(demi[i])
    return out[::-1]


def _lagrangian_value(lam: np.ndarray, v: np.ndarray, p: int) -> float:
    """L(lambda) = sum_i lambda_i + the p least site values."""
    return float(lam.sum() + np.sort(v, kind="stable")[:p].sum())


@dataclass(frozen=True, eq=False)
class _Master:
    """Column generation's outcome: the best multipliers and the columns generated."""

    lam: np.ndarray  # per customer
    bound: float  # L(lam): a valid lower bound
    columns: list[tuple[int, tuple[int, ...]]]  # (site, customers); site -1 for a slack
    converged: bool
    site_weight: np.ndarray  # per site, the master LP's columns at it, summed


def _column_generation(d: np.ndarray, demi: np.ndarray, capi: np.ndarray, p: int,
                       start_sites: np.ndarray, start_assign: np.ndarray | None,
                       deadline: float, threads: int) -> _Master:
    """The Lagrangian dual of the assignment rows, by column generation.

    Master LP: choose p columns, at most one per site, a column being a site with a set
    of customers within its capacity, costing their distances; every customer covered
    (>= 1: with costs >= 0 the same value as = 1). Pricing is a knapsack per site with
    profits lambda_i - c_ij; every pricing round also gives the Lagrangian bound
    L(lambda) = sum_i lambda_i + sum of the p least values min_S sum_{i in S}
    (c_ij - lambda_i), valid for any lambda, and equal to the master's value at the end.
    """
    import highspy

    from lrcplan.optimizer.mip import highs

    m, n = d.shape
    h = highs(max(deadline - time.perf_counter(), 0.01), threads=threads)  # reset per round
    inf = highspy.kHighsInf
    lower = np.concatenate([np.ones(m), np.full(n, -inf), [float(p)]])
    upper = np.concatenate([np.full(m, inf), np.ones(n), [float(p)]])
    h.addRows(m + n + 1, lower, upper, 0, np.zeros(m + n + 1, dtype=np.int32),
              np.zeros(0, dtype=np.int32), np.zeros(0))
    columns: list[tuple[int, tuple[int, ...]]] = []

    def add(cols: list[tuple[int, tuple[int, ...]]]) -> None:
        starts, index, cost = [], [], []
        for j, members in cols:
            starts.append(len(index))
            if j < 0:  # a slack: covers one customer at a prohibitive cost
                index.extend(members)
                cost.append(big)
            else:
                index.extend([*members, m + j, m + n])
                cost.append(float(d[list(members), j].sum()))
        h.addCols(len(cols), np.array(cost), np.zeros(len(cols)), np.full(len(cols), inf),
                  len(index), np.array(starts, dtype=np.int32),
                  np.array(index, dtype=np.int32), np.ones(len(index)))
        columns.extend(cols)

    big = float(d.max(axis=1).sum()) + 1.0
    initial: list[tuple[int, tuple[int, ...]]] = [(-1, (i,)) for i in range(m)]
    initial += [(j, ()) for j in range(n)]  # empty columns keep "p columns" feasible
    if start_assign is not None:
        initial += [(int(j), tuple(int(i) for i in np.flatnonzero(start_assign == j)))
                    for j in start_sites]
    add(initial)
    best_lam, best = np.zeros(m), -np.inf
    converged = False
    while time.perf_counter() < deadline:
        h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            break
        z = float(h.getInfo().objective_function_value)
        dual = np.asarray(h.getSolution().row_dual)
        lam, nu, mu = dual[:m], dual[m:m + n], dual[m + n]
        values, take = _knapsacks(lam[:, None] - d, demi, capi)
        v = -values
        value = _lagrangian_value(lam, v, p)
        if value > best:
            best, best_lam = value, lam.copy()
        priced = np.flatnonzero(v - nu - mu < -1e-9)
        if priced.size == 0 or z - best <= 1e-9 * max(1.0, abs(z)):
            converged = True
            break
        add([(int(j), tuple(_items(take, demi, int(j), int(capi[j])))) for j in priced])
    weight = np.zeros(n)
    if h.getInfo().primal_solution_status == 2:
        x = np.asarray(h.getSolution().col_value)
        for k, (j, _) in enumerate(columns):
            if j >= 0:
                weight[j] += x[k]
    return _Master(best_lam, best, columns, converged, weight)


@dataclass(frozen=True, eq=False)
class _Penalties:
    """How much L(lambda) rises when one variable is forced: the reduced costs of the
    Lagrangian, used to fix variables for every solution cheaper than a threshold."""

    bound: float  # L(lambda)
    x1: np.ndarray  # (m, n): x_ij forced to 1 (inf where d_i > Q_j)
    x0: np.ndarray  # (m, n): x_ij forced to 0
    y1: np.ndarray  # (n,): site forced open
    y0: np.ndarray  # (n,): site forced closed


def _dp_tables(w: np.ndarray, demi: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Prefix and suffix knapsack tables over the customers for the sites of w's columns:
    pre[i][j, c] is the best profit from customers before i within capacity c, suf[i]
    from customers i onwards."""
    m, k = w.shape
    pre = np.zeros((m + 1, k, q + 1))
    suf = np.zeros((m + 1, k, q + 1))
    for i in range(m):
        pre[i + 1] = pre[i]
        di = int(demi[i])
        if di <= q:
            pre[i + 1][:, di:] = np.maximum(pre[i][:, di:],
                                            pre[i][:, :q + 1 - di] + w[i][:, None])
    for i in range(m - 1, -1, -1):
        suf[i] = suf[i + 1]
        di = int(demi[i])
        if di <= q:
            suf[i][:, di:] = np.maximum(suf[i + 1][:, di:],
                                        suf[i + 1][:, :q + 1 - di] + w[i][:, None])
    return pre, suf


def _penalties(d: np.ndarray, demi: np.ndarray, capi: np.ndarray, p: int,
               lam: np.ndarray) -> _Penalties:
    """The Lagrangian's penalties for multipliers lam.

    Site j's value v_j = min_S sum_{i in S} (c_ij - lambda_i) over knapsack-feasible S;
    L = sum lambda + the p least v. With x_ij = 1 forced, site j is open and its value is
    v_ij+ (the knapsack with i in: prefix and suffix DP tables around item i), so L rises
    to L - v_j + v_ij+ if j was among the p chosen, else L - v_(p) + v_ij+. With x_ij = 0,
    site j's value is v_ij- and L rises by min(v_ij-, v_(p+1)) - v_j if j was chosen.
    Opening an unchosen site costs v_j - v_(p); closing a chosen one v_(p+1) - v_j.
    Each is a valid lower bound on every solution with that variable forced.
    """
    m, n = d.shape
    w = lam[:, None] - d
    v = -_knapsacks(w, demi, capi, backtrack=False)[0]
    order = np.argsort(v, kind="stable")
    chosen = np.zeros(n, dtype=bool)
    chosen[order[:p]] = True
    vp = v[order[p - 1]]
    vp1 = v[order[p]] if p < n else np.inf
    x1 = np.full((m, n), np.inf)
    x0 = np.zeros((m, n))
    for qj in np.unique(capi):  # sites of one capacity together, a memory-bounded chunk
        group = np.flatnonzero(capi == qj)
        step = max(1, _DP_CHUNK // ((m + 1) * (int(qj) + 1)))
        for at in range(0, group.size, step):
            js = group[at:at + step]
            pre, suf = _dp_tables(w[:, js], demi, int(qj))
            for i in range(m):
                a, b = pre[i], suf[i + 1]
                without = (a + b[:, ::-1]).max(axis=1)  # the best knapsack without i
                x0[i, js] = np.where(chosen[js], np.minimum(-without, vp1) - v[js], 0.0)
                rest = int(qj - demi[i])
                if rest < 0:
                    continue
                others = (a[:, :rest + 1] + b[:, rest::-1]).max(axis=1)
                vplus = -(w[i, js] + others)
                x1[i, js] = np.where(chosen[js], vplus - v[js], vplus - vp)
    y1 = np.where(chosen, 0.0, v - vp)
    y0 = np.where(chosen, vp1 - v, 0.0)
    return _Penalties(_lagrangian_value(lam, v, p), np.maximum(x1, 0.0),
                      np.maximum(x0, 0.0), np.maximum(y1, 0.0), np.maximum(y0, 0.0))
