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

The upper bound comes from a greedy start and best-improvement swaps (Teitz-Bart
interchange, vectorised with each client's nearest and second-nearest open site); it
warm-starts HiGHS when the root LP does not finish in time. HiGHS's branch and cut closes
the gap; `proven` is true only when its dual
bound reaches the objective (integer data: within rounding), never for the heuristic.

The root LP is solved by row generation over distance levels (`_root_lp`): each client
starts with the levels up to one beyond its distance in the heuristic solution -- a
relaxation, since the dropped levels only add cost -- and a client whose last level is
still used gets more, until none is; then the truncated LP's optimum is the full LP's.
Measured 2026-11-25 (2 shared cores): pmed23 root LP 13.9 s whole against 0.8 s for the
whole solve; pmed33 47.7 -> 3.7 s, pmed37 58.5 -> 3.7 s, pmed13 2.3 -> 0.44 s, pmed17
38 -> 17 s; below FULL_LP_LEVELS z columns (n 100) the whole LP in one solve is faster.

Before branching, the root LP's reduced costs fix what no solution better than the
incumbent can use (sites that stay closed, and each client's farthest radii, summing the
reduced costs along its chain); the restricted MIP then finds a better solution or shows
there is none, which proves the incumbent.

Why this and HiGHS, measured (2026-11-25, 2 shared cores, HiGHS 1.16, one thread): the
radius model with HiGHS proved pmed1-pmed19 (odd half) optimal in 0.2-30 s each, the
hardest pmed17 (n 400, p 10); the root LP bound is within 0.5 % of the optimum (pmed17
6968.7 against 6999) and often exact (pmed23). The issue measured the classical x_ij
model at about 2 minutes for pmed6 and pmed11 with spopt + CBC, and CP-SAT's bound at 0
after 150 s on pmed1, so neither was pursued. Reduced-cost fixing before HiGHS against
HiGHS alone on the full model: pmed11 1.6 / 2.3 s, pmed17 24 / 29 s, pmed21 2.0 / 4.4 s,
pmed23 13.6 / 9.4 s, pmed19 6.8 / 3.0 s, pmed13 2.1 / 1.8 s -- mixed, kept because it
halves the hard small-p cases (pmed17, pmed21), which set the time limits. Small p on
large graphs is the hard case: pmed39 (n 900, p 10), where the heuristic finds the
optimum 9423 at once, was proven in 208 s (172 s with the root LP by interior point);
HiGHS alone had its bound at 9368.5 after 120 s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lrcplan.models.errors import InputError
from lrcplan.optimizer.mip import highs, pass_model


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
    z_start: np.ndarray  # per client, its first z column
    z_count: np.ndarray  # per client, how many z columns it has
    y_lower: np.ndarray  # per site: 1 where fixed open
    y_upper: np.ndarray  # per site: 0 where fixed closed


def radius_model(dist: np.ndarray, p: int, z_keep: np.ndarray | None = None,
                 y_lower: np.ndarray | None = None,
                 y_upper: np.ndarray | None = None, *, relax: bool = False) -> RadiusModel:
    """Build the chained radius formulation for `dist` (clients x sites) and p.

    `z_keep[i] = k` restricts client i to its k+1 nearest distance levels (z_ik fixed to
    0 and every later z and row dropped): used after reduced-cost fixing has shown that
    no solution better than the incumbent puts client i beyond D_i,k+1. With `relax`,
    client i keeps z_i1..z_ik and their rows only: the later rows and columns, whose costs
    are not negative, are dropped, so the model is a relaxation (a lower bound).
    """
    d = _validate(dist, p)
    m, n = d.shape
    r_idx: list[np.ndarray] = []
    c_idx: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    costs: list[np.ndarray] = [np.zeros(n)]
    lower: list[np.ndarray] = []
    z_start = np.zeros(m, dtype=np.int64)
    z_count = np.zeros(m, dtype=np.int64)
    constant = 0.0
    row0 = 0
    col0 = n
    sites = np.arange(n)
    for i in range(m):
        levels, inv = np.unique(d[i], return_inverse=True)
        g = len(levels)
        constant += float(levels[0])
        z_start[i] = col0
        if g == 1:
            continue  # every site is equally far: the client adds a constant
        nz = g - 1 if z_keep is None else min(g - 1, int(z_keep[i]))
        # a cut client keeps the row of its last allowed level; a relaxed one does not
        nr = nz if relax else min(g - 1, nz + 1)
        keep = inv < nr  # sites beyond the last row's level appear in no row of client i
        r_idx.append(row0 + inv[keep])
        c_idx.append(sites[keep])
        vals.append(np.ones(int(keep.sum())))
        zc = col0 + np.arange(nz)
        r_idx.append(row0 + np.arange(nz))
        c_idx.append(zc)
        vals.append(np.ones(nz))
        if nr > 1:  # -z_i,k-1 in row k: the chain
            r_idx.append(row0 + np.arange(1, nr))
            c_idx.append(col0 + np.arange(nr - 1))
            vals.append(-np.ones(nr - 1))
        costs.append(np.diff(levels)[:nz])
        low = np.zeros(nr)
        low[0] = 1.0
        lower.append(low)
        z_count[i] = nz
        row0 += nr
        col0 += nz
    # the cardinality row, last
    r_idx.append(np.full(n, row0))
    c_idx.append(sites)
    vals.append(np.ones(n))
    lower.append(np.array([float(p)]))
    return RadiusModel(constant, np.concatenate(costs), np.concatenate(r_idx),
                       np.concatenate(c_idx), np.concatenate(vals), np.concatenate(lower),
                       n, p, z_start, z_count,
                       np.zeros(n) if y_lower is None else np.asarray(y_lower, dtype=float),
                       np.ones(n) if y_upper is None else np.asarray(y_upper, dtype=float))


def _highs(model: RadiusModel, integer: bool, time_limit_s: float):  # noqa: ANN202
    """A quiet, single-threaded, deterministic HiGHS instance holding the model."""
    h = highs(time_limit_s)
    ncol = len(model.cost)
    col_lower = np.zeros(ncol)
    col_lower[:model.n_sites] = model.y_lower
    upper = np.full(ncol, np.inf)
    upper[:model.n_sites] = model.y_upper
    row_upper = np.full(len(model.lower), np.inf)
    row_upper[-1] = float(model.p)  # sum y = p
    pass_model(h, model.cost, col_lower, upper, model.lower, row_upper, model.rows,
               model.cols, model.vals, np.arange(ncol) < model.n_sites if integer else None,
               offset=model.constant)
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
    best = d[:, sites].min(axis=1)
    for i in range(d.shape[0]):
        k, col = int(model.z_count[i]), int(model.z_start[i])
        if k:
            levels = np.unique(d[i])[:k]
            x[col:col + k] = levels < best[i]  # z_ik = 1 while D_ik is below the distance
    return x


def _integral(d: np.ndarray) -> bool:
    return bool(np.all(d == np.round(d)))


@dataclass(frozen=True)
class _Fixing:
    """What the root LP's reduced costs prove about every solution better than the incumbent."""

    lp_bound: float
    z_keep: np.ndarray  # per client: levels beyond this many z are ruled out
    y_lower: np.ndarray
    y_upper: np.ndarray


def _levels_within(d: np.ndarray, sites: list[int]) -> np.ndarray:
    """Per client, how many of its distance levels lie below its distance in `sites`."""
    near = d[:, sites].min(axis=1)
    return np.array([int(np.searchsorted(np.unique(row), v)) for row, v in zip(d, near,
                                                                             strict=True)])


# Below this many z columns the root LP is solved whole (measured: pmed1, n 100, 0.07 s
# whole against 0.2 s in eight rounds of growing levels).
FULL_LP_LEVELS = 10_000


def _levels_to_cover(d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per client, one level beyond the radius at which the LP's open sites sum to 1."""
    order = np.argsort(d, axis=1, kind="stable")
    cum = np.cumsum(y[order], axis=1)
    reach = np.minimum((cum < 1 - 1e-9).sum(axis=1), d.shape[1] - 1)
    radius = d[np.arange(d.shape[0]), order[np.arange(d.shape[0]), reach]]
    return np.array([int(np.searchsorted(np.unique(row), r)) + 1 for row, r in zip(d, radius,
                                                                                 strict=True)])


def _root_lp(d: np.ndarray, p: int, sites: list[int], deadline: float
             ) -> tuple[RadiusModel, np.ndarray, np.ndarray, float] | None:
    """The full radius LP solved by row generation on truncated levels (None: no time).

    Each client starts with its levels up to one beyond its distance in the heuristic
    solution (`radius_model(relax=True)`, a relaxation). A client whose last kept z is
    positive wants to be farther: it gets twice the levels and the LP is solved again.
    When no last z is positive the truncated solution, extended with z = 0, is feasible
    for the full LP and the duals, extended with 0 on the dropped rows, are dual feasible
    (the dropped z cost >= 0, the y keep their reduced costs): both LPs have one optimum.
    Measured (2 cores, HiGHS 1.16): pmed23 root LP 13.9 s on the full model.
    """
    import highspy

    g = np.array([len(np.unique(row)) - 1 for row in d])
    keep = np.minimum(g, _levels_within(d, sites) + 1)
    if g.sum() <= FULL_LP_LEVELS:
        keep = g  # small: one solve of the whole LP beats several rounds of a part
    while True:
        model = radius_model(d, p, keep, relax=True)
        h = _highs(model, integer=False, time_limit_s=deadline - time.perf_counter())
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        sol = h.getSolution()
        x, rc = np.asarray(sol.col_value), np.asarray(sol.col_dual)
        last = model.z_start + model.z_count - 1
        cut = (model.z_count < g) & (model.z_count > 0)
        grow = cut & (x[np.where(cut, last, 0)] > 1e-9)
        if not grow.any():
            return model, x, rc, float(h.getInfo().objective_function_value)
        keep = np.where(grow, np.minimum(g, np.maximum(2 * keep + 1,
                                                      _levels_to_cover(d, x[:d.shape[1]]))),
                        keep)


def _fix_by_reduced_costs(d: np.ndarray, p: int, sites: list[int], ub: float,
                          integral: bool, deadline: float) -> _Fixing | None:
    """Solve the root LP; fix what no solution better than `ub` can change (None if no LP).

    For any feasible x, cost(x) >= LP + sum_j rc_j (x_j - x*_j), each term >= 0. So a
    variable at its LP bound whose |rc| exceeds the room left (ub - LP, less 1 for integer
    data, since a better solution is then at most ub - 1) keeps that bound in every better
    solution: y_j fixed, or z_ik = 0 -- client i within D_ik -- which drops its later
    levels (for z, the reduced costs of z_i1..z_ik together, as z_ik = 1 forces them all;
    levels the root LP never generated have their cost as reduced cost).
    """
    root = _root_lp(d, p, sites, deadline)
    if root is None:
        return None
    model, x, rc, lp = root
    # a margin well above HiGHS's dual feasibility tolerance (1e-7): never fix on noise
    room = (ub - 1.0 if integral else ub) - lp + 1e-5 * max(1.0, abs(ub))
    n = model.n_sites
    y, ry = x[:n], rc[:n]
    y_upper = np.where((y <= 1e-9) & (ry > room), 0.0, 1.0)
    y_lower = np.where((y >= 1 - 1e-9) & (-ry > room), 1.0, 0.0)
    g = np.array([len(np.unique(row)) - 1 for row in d])
    z_keep = g.copy()
    # client i beyond D_ik means z_il = 1 for every l <= k (no open site within D_il
    # either), so the reduced costs of its nonbasic z add up along the chain
    at_zero = np.where(x <= 1e-9, np.maximum(rc, 0.0), 0.0)
    for i in np.flatnonzero(g):
        s, k = int(model.z_start[i]), int(model.z_count[i])
        chain = at_zero[s:s + k]
        if k < g[i]:  # the levels not generated: reduced cost = cost
            chain = np.concatenate([chain, np.diff(np.unique(d[i]))[k:]])
        hit = np.flatnonzero(np.cumsum(chain) > room)
        if hit.size:
            z_keep[i] = int(hit[0])
    return _Fixing(lp, z_keep, y_lower, y_upper)


def _open_set(h, model: RadiusModel, p: int) -> list[int]:  # noqa: ANN001
    """The p sites HiGHS's incumbent opens (its largest y values)."""
    y = np.asarray(h.getSolution().col_value[:model.n_sites])
    return sorted(int(j) for j in np.argsort(-y, kind="stable")[:p])


def solve_pmedian(dist: np.ndarray, p: int, time_limit_s: float, *,
                  reduce: bool = True) -> PMedianResult:
    """Open p sites minimising total distance; proven optimal when `proven` is true.

    `reduce=False` skips the reduced-cost fixing (kept to measure what it buys).
    """
    import highspy

    start = time.perf_counter()
    d = _validate(dist, p)
    if not time_limit_s > 0:
        raise InputError(f"p-median: the time limit must be positive, got {time_limit_s}")
    deadline = start + time_limit_s
    integral = _integral(d)
    # the heuristic gets a small share: the exact solve is where the time pays off
    sites = _interchange(d, _greedy(d, p), start + 0.2 * time_limit_s)
    ub = objective_of(d, sites)
    fixing = _fix_by_reduced_costs(d, p, sites, ub, integral, deadline) if reduce else None
    bound = -np.inf
    timed_out = False
    if fixing is None:  # the LP did not finish: branch on the full model, warm-started
        full = radius_model(d, p)
        h = _highs(full, integer=True, time_limit_s=deadline - time.perf_counter())
        sol = highspy.HighsSolution()
        sol.col_value = list(_warm_values(full, d, sites))
        sol.value_valid = True
        h.setSolution(sol)
        h.run()
        timed_out = h.getModelStatus() != highspy.HighsModelStatus.kOptimal
        bound = float(h.getInfo().mip_dual_bound)
        if h.getInfo().primal_solution_status == 2:  # kSolutionStatusFeasible
            cand = _open_set(h, full, p)
            if objective_of(d, cand) < ub:
                sites, ub = cand, objective_of(d, cand)
    else:
        bound = fixing.lp_bound
        if fixing.lp_bound <= ub - (1.0 - 1e-6 if integral else 1e-6 * max(1.0, ub)):
            # only solutions better than ub survive the fixing: the restricted MIP either
            # finds the optimum or shows there is none better (then ub is optimal)
            model = radius_model(d, p, fixing.z_keep, fixing.y_lower, fixing.y_upper)
            h = _highs(model, integer=True, time_limit_s=deadline - time.perf_counter())
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                bound = ub
            else:
                timed_out = status != highspy.HighsModelStatus.kOptimal
                if h.getInfo().primal_solution_status == 2:
                    cand = _open_set(h, model, p)
                    if objective_of(d, cand) < ub:
                        sites, ub = cand, objective_of(d, cand)
                restricted = float(h.getInfo().mip_dual_bound)
                # every solution better than the old ub has cost >= restricted's bound
                bound = max(bound, min(restricted, ub))
    bound = min(bound if np.isfinite(bound) else 0.0, ub)
    # integer distances: any solution better than ub is at most ub - 1
    slack = 1.0 - 1e-6 if integral else 1e-6 * max(1.0, abs(ub))
    proven = bound > ub - slack
    if proven:
        bound = ub  # the bound rounds up to the objective
    state = "optimal" if proven else ("time_limit" if timed_out else "heuristic")
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
