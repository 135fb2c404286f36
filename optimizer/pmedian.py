"""Uncapacitated p-median solved exactly, with a proof: the radius formulation on HiGHS.

Given an (m, n) distance matrix (clients x candidate sites) and p, open p sites so that the
sum over clients of the distance to the nearest open site is least.

Method (García, Labbé and Marín 2011, "Solving large p-median problems with a radius
formulation"; the chained form of Elloumi 2010). For client i let D_i1 < D_i2 < ... < D_iG
be the distinct values of its row of distances. Variable z_ik (k = 1..G-1) means "client
i's distance exceeds D_ik"; y_j means "site j is open". Then

    min  sum_i D_i1 + sum_i sum_k (D_i,k+1 - D_ik) z_ik
    s.t. z_i1 + sum_{j: d_ij = D_i1} y_j >= 1
         z_ik - z_i,k-1 + sum_{j: d_ij = D_ik} y_j >= 0      (k = 2..G-1)
         sum_j y_j = p,   y binary,   z >= 0 (continuous).

Telescoping the chain gives z_ik >= 1 - sum_{j: d_ij <= D_ik} y_j, so for a fixed y the
least z is 1 exactly while no open site lies within D_ik, and the objective telescopes to
the distance to the nearest open site: z need not be integer. Each y_j appears once per
client, so the matrix has about m*n + 2*sum_i G_i nonzeros (the covering form, where row k
holds every site within D_ik, has m*n*G/2). Its LP bound equals the classical
formulation's but the model is far smaller: distances on the OR-Library graphs take a
few hundred distinct values per client, not n.

The upper bound and warm start come from a greedy start and best-improvement swaps
(Teitz-Bart interchange, vectorised with each client's nearest and second-nearest open
site). HiGHS's branch and cut then closes the gap; `proven` is true only when its dual
bound reaches the objective (integer data: within rounding), never for the heuristic.

Measured (2026-11-25, 2 shared cores, HiGHS 1.16): see `benchmarks/README.md` and the
p-median benchmark; the classical x_ij formulation was not tried further because its
n^2 continuous variables and n^2 linking rows are what spopt + CBC is slow on (the issue
reports about 2 minutes for pmed6 and pmed11).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lrcplan.models.errors import InputError


@dataclass(frozen=True, eq=False)
class PMedianResult:
    """A p-median solution: open sites, each client's site, objective and proven bound."""

    open_sites: tuple[int, ...]  # column indices, ascending
    assignment: tuple[int, ...]  # per client, the open site it uses (its nearest)
    objective: float
    bound: float  # a proven lower bound on the optimum
    proven: bool  # bound reaches objective: the solution is optimal
    status: str  # "optimal", "time_limit" (feasible, gap open) or "heuristic"
    seconds: float
    engine: str


def _validate(dist: np.ndarray, p: int) -> np.ndarray:
    """The distance matrix as float64 (InputError if it cannot be a p-median instance)."""
    d = np.asarray(dist, dtype=float)
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise InputError(f"p-median: the distance matrix must be 2-D and non-empty, got "
                         f"shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InputError("p-median: distances must be finite and not negative")
    if not 1 <= p <= d.shape[1]:
        raise InputError(f"p-median: p must be in 1..{d.shape[1]} (the sites), got {p}")
    return d


def objective_of(dist: np.ndarray, open_sites: list[int] | tuple[int, ...]) -> float:
    """Sum over clients of the distance to the nearest open site."""
    return float(np.asarray(dist, dtype=float)[:, list(open_sites)].min(axis=1).sum())


# ------------------------------------------------------------------ heuristic
def _greedy(d: np.ndarray, p: int) -> list[int]:
    """Add, p times, the site that lowers the total distance most (lowest index on ties)."""
    best = np.full(d.shape[0], np.inf)
    chosen: list[int] = []
    for _ in range(p):
        totals = np.minimum(best[:, None], d).sum(axis=0)
        totals[chosen] = np.inf
        j = int(np.argmin(totals))
        chosen.append(j)
        best = np.minimum(best, d[:, j])
    return chosen


def _interchange(d: np.ndarray, sites: list[int], deadline: float) -> list[int]:
    """Best-improvement swaps (one site out, one in) until none improves or time is up."""
    m, n = d.shape
    sites = list(sites)
    p = len(sites)
    if p == n:
        return sites
    while time.perf_counter() < deadline:
        sub = d[:, sites]
        order = np.argsort(sub, axis=1, kind="stable")
        rows = np.arange(m)
        near = sub[rows, order[:, 0]]
        second = sub[rows, order[:, 1]] if p > 1 else np.full(m, np.inf)
        a = np.minimum(near[:, None], d)  # each client's distance once site `in` opens
        gain_in = a.sum(axis=0) - near.sum()  # <= 0
        # closing site f hurts the clients it serves: they fall back to min(second, in)
        extra = np.minimum(second[:, None], d) - a
        owner = np.zeros((p, m))
        owner[order[:, 0], rows] = 1.0
        delta = gain_in[None, :] + owner @ np.where(np.isfinite(extra), extra, 1e18)
        delta[:, sites] = np.inf
        f, j = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[f, j] < -1e-9:
            break
        sites[int(f)] = int(j)
    return sorted(sites)


def heuristic_pmedian(dist: np.ndarray, p: int, time_limit_s: float = 10.0) -> list[int]:
    """Greedy then Teitz-Bart interchange: a good open set, no optimality claimed."""
    d = _validate(dist, p)
    return _interchange(d, _greedy(d, p), time.perf_counter() + time_limit_s)


# ------------------------------------------------------------------ exact model
@dataclass(frozen=True, eq=False)
class RadiusModel:
    """The radius formulation's arrays: columns y_0..y_{n-1}, then every z_ik."""

    constant: float  # sum_i D_i1
    cost: np.ndarray  # per column
    rows: np.ndarray  # COO row index
    cols: np.ndarray  # COO column index
    vals: np.ndarray
    lower: np.ndarray  # row lower bounds (upper bounds are +inf, except the sum-y row)
    n_sites: int
    p: int


def radius_model(dist: np.ndarray, p: int) -> RadiusModel:
    """Build the chained radius formulation for `dist` (clients x sites) and p."""
    d = _validate(dist, p)
    m, n = d.shape
    r_idx: list[np.ndarray] = []
    c_idx: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    costs: list[np.ndarray] = [np.zeros(n)]
    lower: list[np.ndarray] = []
    constant = 0.0
    row0 = 0
    col0 = n
    sites = np.arange(n)
    for i in range(m):
        levels, inv = np.unique(d[i], return_inverse=True)
        g = len(levels)
        constant += float(levels[0])
        if g == 1:
            continue  # every site is equally far: the client adds a constant
        k = g - 1  # rows and z columns of this client
        keep = inv < k  # sites at the farthest level need no row (sum y = p >= 1 covers)
        r_idx.append(row0 + inv[keep])
        c_idx.append(sites[keep])
        vals.append(np.ones(int(keep.sum())))
        zc = col0 + np.arange(k)
        r_idx.append(row0 + np.arange(k))
        c_idx.append(zc)
        vals.append(np.ones(k))
        if k > 1:  # z_ik - z_i,k-1: the chain
            r_idx.append(row0 + np.arange(1, k))
            c_idx.append(zc[:-1])
            vals.append(-np.ones(k - 1))
        costs.append(np.diff(levels))
        low = np.zeros(k)
        low[0] = 1.0
        lower.append(low)
        row0 += k
        col0 += k
    # the cardinality row, last
    r_idx.append(np.full(n, row0))
    c_idx.append(sites)
    vals.append(np.ones(n))
    lower.append(np.array([float(p)]))
    return RadiusModel(constant, np.concatenate(costs), np.concatenate(r_idx),
                       np.concatenate(c_idx), np.concatenate(vals), np.concatenate(lower),
                       n, p)


def _quiet_highs():  # noqa: ANN202
    """A new highspy.Highs without the copyright banner its constructor prints on stdout.

    The banner would land in the middle of `lrcplan bench pmedian`'s table (and of --json
    piped output), so file descriptor 1 points at /dev/null while it is built.
    """
    import ctypes
    import os
    import sys

    import highspy

    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            libc.fflush(None)  # C stdio buffers the banner: drop it before fd 1 returns
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def _highs(model: RadiusModel, integer: bool, time_limit_s: float):  # noqa: ANN202
    """A quiet, single-threaded, deterministic HiGHS instance holding the model."""
    import highspy
    from scipy.sparse import csc_matrix

    h = _quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)  # two shared cores; also keeps runs reproducible
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-6)
    ncol = len(model.cost)
    nrow = len(model.lower)
    a = csc_matrix((model.vals, (model.rows, model.cols)), shape=(nrow, ncol))
    a.sum_duplicates()
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = nrow
    lp.col_cost_ = model.cost
    lp.offset_ = model.constant
    lp.col_lower_ = np.zeros(ncol)
    upper = np.full(ncol, np.inf)
    upper[:model.n_sites] = 1.0
    lp.col_upper_ = upper
    lp.row_lower_ = model.lower
    row_upper = np.full(nrow, np.inf)
    row_upper[-1] = float(model.p)  # sum y = p
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if integer:
        integrality = [highspy.HighsVarType.kContinuous] * ncol
        for j in range(model.n_sites):
            integrality[j] = highspy.HighsVarType.kInteger
        lp.integrality_ = integrality
    h.passModel(lp)
    return h


def lp_bound(dist: np.ndarray, p: int, time_limit_s: float = 60.0) -> float:
    """The radius formulation's LP relaxation value (a lower bound on the optimum)."""
    h = _highs(radius_model(dist, p), integer=False, time_limit_s=time_limit_s)
    h.run()
    return float(h.getInfo().objective_function_value)


def _warm_values(model: RadiusModel, d: np.ndarray, sites: list[int]) -> np.ndarray:
    """The full column vector (y and the least z) of an open set, for HiGHS's warm start."""
    x = np.zeros(len(model.cost))
    x[sites] = 1.0
    col = model.n_sites
    best = d[:, sites].min(axis=1)
    for i in range(d.shape[0]):
        levels = np.unique(d[i])
        k = len(levels) - 1
        if k <= 0:
            continue
        x[col:col + k] = levels[:-1] < best[i]  # z_ik = 1 while D_ik is below the distance
        col += k
    return x


def _integral(d: np.ndarray) -> bool:
    return bool(np.all(d == np.round(d)))


def solve_pmedian(dist: np.ndarray, p: int, time_limit_s: float) -> PMedianResult:
    """Open p sites minimising total distance; proven optimal when `proven` is true."""
    start = time.perf_counter()
    d = _validate(dist, p)
    if not time_limit_s > 0:
        raise InputError(f"p-median: the time limit must be positive, got {time_limit_s}")
    deadline = start + time_limit_s
    # the heuristic gets a small share: the exact solve is where the time pays off
    sites = _interchange(d, _greedy(d, p), start + 0.2 * time_limit_s)
    ub = objective_of(d, sites)
    model = radius_model(d, p)
    h = _highs(model, integer=True, time_limit_s=deadline - time.perf_counter())
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = list(_warm_values(model, d, sites))
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    bound = float(info.mip_dual_bound)
    if info.primal_solution_status == 2:  # kSolutionStatusFeasible
        y = np.asarray(h.getSolution().col_value[:model.n_sites])
        cand = sorted(int(j) for j in np.argsort(-y, kind="stable")[:p])
        if objective_of(d, cand) < ub:
            sites, ub = cand, objective_of(d, cand)
    if not np.isfinite(bound):
        bound = 0.0 if not np.isfinite(bound) else bound
    bound = min(bound, ub)
    # integer distances: any solution better than ub is at most ub - 1
    slack = 1.0 - 1e-6 if _integral(d) else 1e-6 * max(1.0, abs(ub))
    proven = bound > ub - slack
    if proven:
        bound = ub  # the bound rounds up to the objective
    state = "optimal" if proven else (
        "time_limit" if status == highspy.HighsModelStatus.kTimeLimit else "heuristic")
    best = d[:, sites]
    assignment = tuple(int(sites[k]) for k in np.argmin(best, axis=1))
    return PMedianResult(tuple(sorted(sites)), assignment, ub, bound, proven, state,
                         time.perf_counter() - start, "radius formulation + HiGHS")


def check_pmedian(dist: np.ndarray, p: int, result: PMedianResult) -> float:
    """Recompute the objective from the open set alone (InputError if the result is wrong).

    The solver is not trusted: p distinct sites in range, each client's assignment to an
    open site at its nearest distance, and the objective equal to the recomputed one.
    """
    d = _validate(dist, p)
    sites = list(result.open_sites)
    if len(sites) != p or len(set(sites)) != p:
        raise InputError(f"p-median check: {len(set(sites))} distinct sites open, want {p}")
    if any(not 0 <= j < d.shape[1] for j in sites):
        raise InputError("p-median check: an open site is out of range")
    nearest = d[:, sites].min(axis=1)
    if len(result.assignment) != d.shape[0]:
        raise InputError("p-median check: the assignment does not cover every client")
    for i, j in enumerate(result.assignment):
        if j not in set(sites) or d[i, j] != nearest[i]:
            raise InputError(f"p-median check: client {i} is not assigned to its nearest "
                             f"open site")
    total = float(nearest.sum())
    if abs(total - result.objective) > 1e-6 * max(1.0, abs(total)):
        raise InputError(f"p-median check: objective {result.objective} but the open sites "
                         f"give {total}")
    if result.bound > total + 1e-6 * max(1.0, abs(total)):
        raise InputError(f"p-median check: bound {result.bound} exceeds the objective {total}")
    return total
