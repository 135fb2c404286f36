"""Capacitated p-median solved exactly, with a proof: a Lagrangian-reduced strong model on HiGHS.

Given an (m, n) distance matrix (customers x candidate sites), each customer's demand d_i,
each site's capacity Q_j and p, open p sites and give every customer to one open site, the
demand a site serves within its capacity, so that the sum of the customers' distances to
their sites is least (single sourcing; the objective is not weighted by demand, as in
Osman and Christofides 1994).

Model (x_ij: customer i served by site j; y_j: site j open):

    min  sum_ij c_ij x_ij
    s.t. sum_j x_ij = 1                    every customer served once
         sum_i d_i x_ij <= Q_j y_j         capacity, only at an open site
         x_ij <= y_j                       the disaggregated linking rows (strong LP)
         sum_j y_j = p,   sum_j Q_j y_j >= sum_i d_i,   x, y binary
         x_ij absent where d_i > Q_j       (that site can never serve i)

The total-capacity row is implied (sum the capacity rows), kept as an explicit knapsack
on y alone for HiGHS's propagation and covers when capacities differ; HiGHS separates
lifted knapsack covers of the capacity rows itself, so none are added by hand.

Stages (deterministic: one HiGHS thread, fixed seed, every tie broken by index):

1. Heuristic: the uncapacitated p-median's greedy + interchange (pmedian.py) opens p
   sites; customers are assigned by regret (the one whose best fitting site is furthest
   ahead of its second goes first), improved by shifts and swaps; site swaps priced by a
   quick repair; the best open set's assignment solved exactly (a small generalized
   assignment MIP, ~20-30 ms at n = 100).
2. Lagrangian bound by column generation (integer demands and capacities): relax the
   assignment rows with multipliers lambda; each site is then a 0-1 knapsack (profits
   lambda_i - c_ij, a DP over capacities) and L(lambda) = sum lambda + the p least site
   values is a lower bound for any lambda. The master LP (p columns, one per site, a
   column being a site with a set of customers within its capacity) gives the lambda
   maximising it: the set-partitioning bound, stronger than the model's LP.
3. Guided search: site swaps among the sites the master LP uses, each candidate's
   assignment solved exactly; from the incumbent and from the master's p heaviest sites.
4. Reduction and proof: forcing one variable raises L by a penalty computed exactly from
   prefix and suffix knapsack tables (see `_penalties`); every variable whose penalty
   lifts L above a threshold T is fixed the other way, which keeps every solution costing
   at most T. HiGHS solves that restricted model: first T = L + 1.2 % with a cutoff at T
   (optimum <= T: found and proven; else optimum > T), then T = the incumbent's cost,
   warm-started from it (setSolution). Its dual bound, capped at T (anything dropped
   costs more), is the proven bound; `proven` when it reaches the objective (integer
   distances: within 1). Without integer demands, or when the DP would be too large, the
   full model is solved, warm-started, with no reduction.

Measured (2026-11-25, 2 cores shared with other jobs, load about 2, HiGHS 1.16, 60 s
limit), on the shared odd Osman-Christofides files and on 15 generated like them (points
on 1..100, demands 1..20, capacity 120, p = n / 10; tightness 0.78-0.94):

* The model alone (HiGHS, no warm start): pmedcap11/15/19 in 13.3 / 30.4 / 20.4 s; of
  five generated n = 100 instances with demands scaled to tightness 0.88-0.96, two (0.94,
  0.95) not proven in 120 s (gaps 3.8 %, 3.5 %).
  Root LP 1068.9 on pmedcap15 (optimum 1091), HiGHS's root cuts reach about 1077; the
  Lagrangian bound is 1080.4 (column generation: 65 rounds, 1.6 s).
* pmedian.py's LP reduced-cost fixing with the heuristic's bound removed 5 % of the
  pairs on pmedcap15 (no faster); the Lagrangian penalties at the optimum keep 8-14 % of
  the pairs and close 28-41 of the 100 sites (pmedcap11 / 15 / 19: 841 / 1,418 / 974 of
  10,000 pairs; penalties 0.03 s).
* With the reduction, the search is what is left: about 100-800 nodes for a 1 % gap. The
  cuts sum_i (c_ij - lambda_i) x_ij >= v_j y_j lift the root LP to L but did not shorten
  it (the hardest generated instance, optimum known: 17.5 s without, 21.1 s with);
  HiGHS's RINS/RENS/root reduced-cost sub-MIPs off: pmedcap15 25 -> 16.5 s (kept off:
  the incumbent is ours).
* Thresholds: straight to the incumbent / L + 0.6 % then 1.2 % / L + 1.2 % then the
  incumbent: 125 / 140 / 109 s over the eight hardest instances (kept the last).
* HiGHS threads 2 against 1 (three generated instances, pmedcap15): 18.5 / 20.5,
  16.4 / 16.6, 19.8 / 15.6, 14.3 / 12.7 s -- no gain on the shared cores; 1 kept
  (pmedian uses 1 and HiGHS keeps one thread pool per process).
* Result: every shared instance at its best value, proven, in 0.3-13 s (pmedcap15 the
  hardest, 37.6 s for all ten); the 15 generated ones in 0.3-21 s. Harder than the
  benchmark, the two scaled instances above stay unproven at 60 s (gaps 2.8 %, 1.8 %).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lrcplan.models.errors import InputError
from lrcplan.optimizer.cpmedlagrange import (
    _column_generation,
    _integer_data,
    _Penalties,
    _penalties,
)
from lrcplan.optimizer.mip import highs, pass_model

_EPS = 1e-9  # demand/capacity comparisons: demands may be real numbers


@dataclass(frozen=True, eq=False)
class CPMedianResult:
    """A capacitated p-median solution: open sites, each customer's site, objective, bound."""

    open_sites: tuple[int, ...]  # column indices, ascending
    assignment: tuple[int, ...]  # per customer, the open site serving it
    objective: float
    bound: float  # a proven lower bound on the optimum
    proven: bool  # bound reaches objective: the solution is optimal
    status: str  # "optimal", "time_limit" (feasible, gap open) or "heuristic"
    seconds: float
    engine: str


def _validate(dist: np.ndarray, demand: np.ndarray, capacity: float | np.ndarray,
              p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distances, demands and per-site capacities as float64 (InputError if unusable)."""
    d = np.asarray(dist, dtype=float)
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise InputError(f"capacitated p-median: the distance matrix must be 2-D and "
                         f"non-empty, got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise InputError("capacitated p-median: distances must be finite and not negative")
    m, n = d.shape
    dem = np.asarray(demand, dtype=float)
    if dem.shape != (m,):
        raise InputError(f"capacitated p-median: {m} customers but {dem.size} demands")
    if not np.all(np.isfinite(dem)) or np.any(dem < 0):
        raise InputError("capacitated p-median: demands must be finite and not negative")
    cap = np.asarray(capacity, dtype=float)
    if cap.ndim == 0:
        cap = np.full(n, float(cap))
    if cap.shape != (n,):
        raise InputError(f"capacitated p-median: {n} sites but {cap.size} capacities")
    if not np.all(np.isfinite(cap)) or np.any(cap < 0):
        raise InputError("capacitated p-median: capacities must be finite and not negative")
    if not 1 <= p <= n:
        raise InputError(f"capacitated p-median: p must be in 1..{n} (the sites), got {p}")
    big = np.flatnonzero(dem > cap.max() + _EPS)
    if big.size:
        raise InputError(f"capacitated p-median: customer {int(big[0])}'s demand "
                         f"{dem[big[0]]:g} exceeds every site's capacity")
    room = float(np.sort(cap)[::-1][:p].sum())
    if dem.sum() > room + _EPS:
        raise InputError(f"capacitated p-median: the demand {dem.sum():g} exceeds what the "
                         f"p = {p} largest capacities hold ({room:g})")
    return d, dem, cap


def assignment_cost(dist: np.ndarray, assignment: list[int] | tuple[int, ...]) -> float:
    """Sum over customers of the distance to the site serving them."""
    d = np.asarray(dist, dtype=float)
    return float(d[np.arange(d.shape[0]), np.asarray(assignment, dtype=np.int64)].sum())


# ------------------------------------------------------------------ heuristic
def _fill(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, sites: np.ndarray,
          assign: np.ndarray, load: np.ndarray) -> bool:
    """Assign every unassigned customer (assign < 0) by regret; False if one fits nowhere.

    The customer whose best fitting site is furthest ahead of its second goes first (one
    fitting site left: infinite regret), ties to the larger demand, then the lower index.
    """
    todo = np.flatnonzero(assign < 0)
    while todo.size:
        rem = cap[sites] - load[sites]
        fits = dem[todo, None] <= rem[None, :] + _EPS
        c = np.where(fits, d[np.ix_(todo, sites)], np.inf)
        if sites.size > 1:
            two = np.partition(c, 1, axis=1)[:, :2]
            best, second = two[:, 0], two[:, 1]
        else:
            best, second = c[:, 0], np.full(todo.size, np.inf)
        if not np.all(np.isfinite(best)):
            return False
        regret = np.where(np.isfinite(second), second - best, np.inf)
        k = int(np.lexsort((todo, -dem[todo], -regret))[0])
        i, j = int(todo[k]), int(sites[int(np.argmin(c[k]))])
        assign[i] = j
        load[j] += dem[i]
        todo = np.delete(todo, k)
    return True


def _improve(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, sites: np.ndarray,
             assign: np.ndarray, load: np.ndarray, deadline: float) -> None:
    """Best-improvement shifts (one customer to another open site) and swaps (two
    customers of different sites trade places) within capacity, until none improves."""
    m = d.shape[0]
    rows = np.arange(m)
    diff = dem[:, None] - dem[None, :]
    while time.perf_counter() < deadline:
        cur = d[rows, assign]
        rem = cap - load
        shift = d[:, sites] - cur[:, None]
        shift[(dem[:, None] > rem[sites][None, :] + _EPS)
              | (sites[None, :] == assign[:, None])] = np.inf
        da = d[:, assign]  # da[i, k] = d[i, site of k]
        swap = da + da.T - cur[:, None] - cur[None, :]
        ra = rem[assign]
        swap[(diff > ra[None, :] + _EPS) | (-diff > ra[:, None] + _EPS)
             | (assign[:, None] == assign[None, :])] = np.inf
        s = int(np.argmin(shift))
        w = int(np.argmin(swap))
        if min(shift.flat[s], swap.flat[w]) >= -1e-9:
            return
        if shift.flat[s] <= swap.flat[w]:
            i, k = divmod(s, sites.size)
            load[assign[i]] -= dem[i]
            assign[i] = sites[k]
            load[sites[k]] += dem[i]
        else:
            i, k = divmod(w, m)
            a, b = assign[i], assign[k]
            load[a] += dem[k] - dem[i]
            load[b] += dem[i] - dem[k]
            assign[i], assign[k] = b, a


def _assign_from_scratch(d: np.ndarray, dem: np.ndarray, cap: np.ndarray,
                         sites: np.ndarray, deadline: float) -> np.ndarray | None:
    """A good assignment to the open `sites` (None if the heuristic finds none)."""
    m, n = d.shape
    for order in ("regret", "first fit"):
        assign = np.full(m, -1, dtype=np.int64)
        load = np.zeros(n)
        if order == "first fit":  # tight packings: largest demand first, nearest that fits
            for i in sorted(range(m), key=lambda i: (-dem[i], i)):
                fits = sites[cap[sites] - load[sites] >= dem[i] - _EPS]
                if fits.size == 0:
                    break
                j = int(fits[np.argmin(d[i, fits])])
                assign[i] = j
                load[j] += dem[i]
        if _fill(d, dem, cap, sites, assign, load):
            _improve(d, dem, cap, sites, assign, load, deadline)
            return assign
    return None


def _swap_in(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, sites: np.ndarray,
             assign: np.ndarray, load: np.ndarray, f: int, j: int) -> tuple[
                 np.ndarray, np.ndarray, np.ndarray] | None:
    """A quick repair for closing site f and opening site j (None if it fails).

    f's customers are freed; the customers nearer to j than to their site move there
    while it has room (largest gain first); the freed ones are placed by regret.
    """
    rows = np.arange(d.shape[0])
    a = assign.copy()
    ld = load.copy()
    a[a == f] = -1
    ld[f] = 0.0
    gain = np.where(a < 0, np.inf, d[rows, assign]) - d[:, j]
    for i in np.lexsort((rows, -gain)):
        if gain[i] <= 0:
            break
        if ld[j] + dem[i] <= cap[j] + _EPS:
            if a[i] >= 0:
                ld[a[i]] -= dem[i]
            a[i] = j
            ld[j] += dem[i]
    new = np.sort(np.append(sites[sites != f], j))
    if not _fill(d, dem, cap, new, a, ld):
        return None
    return new, a, ld


def _site_search(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, sites: np.ndarray,
                 assign: np.ndarray, candidates: np.ndarray, deadline: float, *,
                 each: bool, best_of: int,
                 polish: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Swap one open site for a candidate while that lowers the cost.

    Every swap is priced by `_swap_in` (then shift/swap-improved too when `each`); the
    `best_of` cheapest get `polish` (the full improvement, or the exact assignment); the
    best polished one is taken if it beats the current solution; until none does.
    """
    n = d.shape[1]
    cost = assignment_cost(d, assign)
    while time.perf_counter() < deadline:
        load = np.bincount(assign, weights=dem, minlength=n)
        priced: list[tuple[float, int, int, np.ndarray, np.ndarray, np.ndarray]] = []
        for f in sites:
            for j in candidates:
                if j in sites or time.perf_counter() >= deadline:
                    continue
                got = _swap_in(d, dem, cap, sites, assign, load, int(f), int(j))
                if got is None:
                    continue
                new, a, ld = got
                if each:
                    _improve(d, dem, cap, new, a, ld, deadline)
                priced.append((assignment_cost(d, a), int(f), int(j), new, a, ld))
        priced.sort(key=lambda t: (t[0], t[1], t[2]))
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for _, _, _, new, a, ld in priced[:best_of]:
            a = polish(new, a, ld)
            c = assignment_cost(d, a)
            if best is None or c < best[0] - 1e-9:
                best = (c, new, a)
        if best is None or not best[0] < cost - 1e-9:
            break
        cost, sites, assign = best
    return sites, assign


def heuristic_cpmedian(dist: np.ndarray, demand: np.ndarray, capacity: float | np.ndarray,
                       p: int, time_limit_s: float = 10.0) -> tuple[list[int], list[int]] | None:
    """Open sites and an assignment, no optimality claimed (None if none was found)."""
    d, dem, cap = _validate(dist, demand, capacity, p)
    found = _heuristic(d, dem, cap, p, time.perf_counter() + time_limit_s)
    if found is None:
        return None
    sites, assign = found
    return [int(j) for j in sites], [int(j) for j in assign]


def _heuristic(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, p: int,
               deadline: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The uncapacitated p-median's sites, assigned by regret, then site swaps."""
    from lrcplan.optimizer.pmedian import _greedy, _interchange

    start = time.perf_counter()
    sites = np.array(_interchange(d, _greedy(d, p), start + 0.2 * (deadline - start)),
                     dtype=np.int64)
    assign = _assign_from_scratch(d, dem, cap, sites, deadline)
    if assign is None:  # the p-median sites' capacities cannot hold the demand
        sites = np.sort(np.argsort(-cap, kind="stable")[:p])
        assign = _assign_from_scratch(d, dem, cap, sites, deadline)
        if assign is None:
            return None

    def improved(new: np.ndarray, a: np.ndarray, ld: np.ndarray) -> np.ndarray:
        _improve(d, dem, cap, new, a, ld, deadline)
        return a

    return _site_search(d, dem, cap, sites, assign, np.arange(d.shape[1]), deadline,
                        each=False, best_of=4, polish=improved)


# ------------------------------------------------------------------ exact model
@dataclass(frozen=True, eq=False)
class AssignModel:
    """The strong model's arrays: columns y_0..y_{n-1}, then one x per allowed pair."""

    m: int
    n: int
    p: int
    pair_i: np.ndarray  # per x column, its customer
    pair_j: np.ndarray  # per x column, its site
    cost: np.ndarray  # per column
    rows: np.ndarray  # COO row index
    cols: np.ndarray  # COO column index
    vals: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray


def assign_model(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, p: int,
                 keep: np.ndarray | None = None, x_lower: np.ndarray | None = None,
                 y_lower: np.ndarray | None = None,
                 y_upper: np.ndarray | None = None) -> AssignModel:
    """Build the strong model; `keep` (an (m, n) mask) drops the pairs it marks False,
    `x_lower` (same shape) fixes pairs to 1, `y_lower` / `y_upper` fix sites open / closed.
    """
    m, n = d.shape
    allowed = dem[:, None] <= cap[None, :] + _EPS
    if keep is not None:
        allowed &= keep
    pi, pj = np.nonzero(allowed)  # row-major: customer by customer
    k = pi.size
    xc = n + np.arange(k)
    ar = np.arange
    r_vub = m + n + ar(k)  # one row per pair
    r_card = m + n + k
    r_total = r_card + 1
    rows = np.concatenate([pi, m + pj, m + ar(n), r_vub, r_vub,
                           np.full(n, r_card), np.full(n, r_total)])
    cols = np.concatenate([xc, xc, ar(n), xc, pj, ar(n), ar(n)])
    vals = np.concatenate([np.ones(k), dem[pi], -cap, np.ones(k), -np.ones(k),
                           np.ones(n), cap])
    nrow = r_total + 1
    row_lower = np.full(nrow, -np.inf)
    row_upper = np.zeros(nrow)
    row_lower[:m] = 1.0
    row_upper[:m] = 1.0
    row_lower[r_card] = row_upper[r_card] = float(p)
    row_lower[r_total] = float(dem.sum())
    row_upper[r_total] = np.inf
    col_lower = np.zeros(n + k)
    col_upper = np.ones(n + k)
    if y_lower is not None:
        col_lower[:n] = y_lower
    if y_upper is not None:
        col_upper[:n] = y_upper
    if x_lower is not None:
        col_lower[n:] = x_lower[pi, pj]
    return AssignModel(m, n, p, pi, pj, np.concatenate([np.zeros(n), d[pi, pj]]), rows,
                       cols, vals, row_lower, row_upper, col_lower, col_upper)


def _highs(model: AssignModel, time_limit_s: float, threads: int, integral: bool,
           cutoff: float = np.inf):  # noqa: ANN202
    """A quiet, deterministic HiGHS MIP holding the model; `cutoff` (HiGHS's
    objective_bound) discards every solution costing more."""
    # integer distances: a gap below 1 already proves the incumbent
    h = highs(time_limit_s, abs_gap=0.999 if integral else 1e-6, threads=threads)
    if np.isfinite(cutoff):
        h.setOptionValue("objective_bound", float(cutoff))
    # the incumbent comes from our own search: HiGHS's large-neighbourhood heuristics
    # (RINS, RENS, root reduced-cost sub-MIPs) measured as a third of its time here
    for opt in ("mip_heuristic_run_rins", "mip_heuristic_run_rens",
                "mip_heuristic_run_root_reduced_cost"):
        h.setOptionValue(opt, False)
    pass_model(h, model.cost, model.col_lower, model.col_upper, model.row_lower,
               model.row_upper, model.rows, model.cols, model.vals,
               np.ones(len(model.cost), bool))
    return h


def _columns(model: AssignModel, sites: np.ndarray, assign: np.ndarray) -> np.ndarray | None:
    """The column vector of a solution, or None if the model cannot hold it."""
    if sites.size == 0:
        return None
    x = np.zeros(len(model.cost))
    x[sites] = 1.0
    pos = np.full((model.m, model.n), -1, dtype=np.int64)
    pos[model.pair_i, model.pair_j] = model.n + np.arange(model.pair_i.size)
    cols = pos[np.arange(model.m), assign]
    if np.any(cols < 0):
        return None
    x[cols] = 1.0
    if np.any(x < model.col_lower - 1e-9) or np.any(x > model.col_upper + 1e-9):
        return None
    return x


def _read_solution(h, model: AssignModel) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The open sites and assignment of HiGHS's incumbent."""
    v = np.asarray(h.getSolution().col_value)
    sites = np.sort(np.argsort(-v[:model.n], kind="stable")[:model.p])
    xv = v[model.n:]
    assign = np.full(model.m, -1, dtype=np.int64)
    best = np.full(model.m, -np.inf)
    for k in np.flatnonzero(xv > 0.5):
        i = model.pair_i[k]
        if xv[k] > best[i]:
            best[i], assign[i] = xv[k], model.pair_j[k]
    return sites, assign


def _feasible(dem: np.ndarray, cap: np.ndarray, p: int, sites: np.ndarray,
              assign: np.ndarray) -> bool:
    if len(set(sites.tolist())) != p or np.any(assign < 0):
        return False
    if not np.all(np.isin(assign, sites)):
        return False
    load = np.bincount(assign, weights=dem, minlength=cap.size)
    return bool(np.all(load <= cap + 1e-6))


def _run(h, x: np.ndarray | None) -> None:  # noqa: ANN001
    """Solve, warm-started from column vector x when there is one."""
    if x is not None:
        import highspy

        sol = highspy.HighsSolution()
        sol.col_value = list(x)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()


def _exact_assignment(d: np.ndarray, dem: np.ndarray, cap: np.ndarray,
                      sites: np.ndarray, assign: np.ndarray, time_limit_s: float,
                      threads: int, integral: bool) -> np.ndarray:
    """The open set's best assignment (a generalized assignment MIP), if it is better."""
    keep = np.zeros(d.shape, dtype=bool)
    keep[:, sites] = True
    y = np.zeros(d.shape[1])
    y[sites] = 1.0
    model = assign_model(d, dem, cap, len(sites), keep, None, y, y)
    h = _highs(model, time_limit_s, threads, integral)
    _run(h, _columns(model, sites, assign))
    if h.getInfo().primal_solution_status == 2:  # kSolutionStatusFeasible
        s2, a2 = _read_solution(h, model)
        if _feasible(dem, cap, len(sites), s2, a2) and \
                assignment_cost(d, a2) < assignment_cost(d, assign) - 1e-9:
            return a2
    return assign


def _restricted(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, p: int,
                pen: _Penalties, threshold: float) -> AssignModel:
    """The model keeping every solution that costs at most `threshold`: a variable
    whose forcing lifts the Lagrangian bound above it is fixed the other way."""
    room = threshold - pen.bound + 1e-6 * max(1.0, abs(threshold))
    return assign_model(d, dem, cap, p, pen.x1 <= room, (pen.x0 > room).astype(float),
                        (pen.y0 > room).astype(float), np.where(pen.y1 > room, 0.0, 1.0))


ROUNDS = (0.012,)  # thresholds above the Lagrangian bound, as fractions of it


def solve_cpmedian(dist: np.ndarray, demand: np.ndarray, capacity: float | np.ndarray,
                   p: int, time_limit_s: float, *, reduce: bool = True,
                   threads: int = 1) -> CPMedianResult:
    """Open p sites and assign every customer within capacity, minimising total distance;
    proven optimal when `proven` is true.

    `reduce=False` skips the Lagrangian stages (column generation, the guided search and
    the reduction) and hands HiGHS the full model warm-started from the heuristic (kept to
    measure what they buy). `threads` is HiGHS's; HiGHS keeps one thread pool per
    process, so every solve in a process must ask for the same number (pmedian uses 1).
    """
    import highspy

    start = time.perf_counter()
    d, dem, cap = _validate(dist, demand, capacity, p)
    if not time_limit_s > 0:
        raise InputError(f"capacitated p-median: the time limit must be positive, got "
                         f"{time_limit_s}")
    deadline = start + time_limit_s
    integral = bool(np.all(d == np.round(d)))
    gap_limit = min(0.5, 0.01 * time_limit_s)  # per exact assignment

    def exact(new: np.ndarray, a: np.ndarray, ld: np.ndarray) -> np.ndarray:  # noqa: ARG001
        return _exact_assignment(d, dem, cap, new, a, gap_limit, threads, integral)

    sites = np.zeros(0, dtype=np.int64)
    assign = np.zeros(0, dtype=np.int64)
    ub = np.inf

    def consider(s2: np.ndarray, a2: np.ndarray) -> None:
        nonlocal sites, assign, ub
        if _feasible(dem, cap, p, s2, a2) and assignment_cost(d, a2) < ub - 1e-9:
            sites, assign, ub = np.sort(s2), a2, assignment_cost(d, a2)

    found = _heuristic(d, dem, cap, p, start + 0.1 * time_limit_s)
    if found is not None:
        consider(found[0], exact(*found, None))  # type: ignore[arg-type]
    bound = 0.0
    timed_out = False

    def closed() -> bool:  # the bound proves the incumbent
        return bound > ub - (1.0 - 1e-6 if integral else 1e-6 * max(1.0, abs(ub)))

    ints = _integer_data(dem, cap) if reduce else None
    if ints is None:  # the full model, warm-started
        model = assign_model(d, dem, cap, p)
        h = _highs(model, deadline - time.perf_counter(), threads, integral)
        _run(h, _columns(model, sites, assign))
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise InputError("capacitated p-median: no assignment fits the capacities")
        timed_out = status != highspy.HighsModelStatus.kOptimal
        if h.getInfo().primal_solution_status == 2:
            consider(*_read_solution(h, model))
        bound = max(bound, float(h.getInfo().mip_dual_bound))
    else:
        demi, capi = ints
        master = _column_generation(d, demi, capi, p, sites, assign if sites.size else None,
                                    start + 0.35 * time_limit_s, threads)
        bound = max(bound, master.bound)
        if not closed():  # site swaps among the master's sites, exact assignments
            support = np.flatnonzero(master.site_weight > 1e-6)
            guess = np.sort(np.argsort(-master.site_weight, kind="stable")[:p])
            starts = [(sites, assign)] if sites.size else []
            got = _assign_from_scratch(d, dem, cap, guess, deadline)
            if got is not None:
                starts.append((guess, exact(guess, got, None)))  # type: ignore[arg-type]
            for s0, a0 in starts:
                consider(*_site_search(d, dem, cap, s0, a0, support,
                                       start + 0.45 * time_limit_s, each=True, best_of=6,
                                       polish=exact))
        pen = _penalties(d, demi, capi, p, master.lam)
        scale = max(1.0, abs(pen.bound))
        for thr in [*(pen.bound + f * scale for f in ROUNDS), np.inf]:
            if closed() or time.perf_counter() >= deadline:
                break
            thr = min(thr, ub)
            if integral and np.isfinite(thr):
                thr = float(np.floor(thr + 1e-9))
            if thr < bound - 1e-9:
                continue  # already proven above this threshold
            model = _restricted(d, dem, cap, p, pen, thr)
            # below the incumbent, HiGHS only looks for solutions within the threshold
            cutoff = np.inf if thr >= ub else thr + (0.5 if integral else 1e-6 * scale)
            h = _highs(model, deadline - time.perf_counter(), threads, integral, cutoff)
            _run(h, _columns(model, sites, assign) if thr >= ub else None)
            status = h.getModelStatus()
            if h.getInfo().primal_solution_status == 2:
                consider(*_read_solution(h, model))
            # no solution within thr was dropped, so: optimum > thr, or <= thr and found
            above = thr + 1.0 if integral else thr
            if status == highspy.HighsModelStatus.kInfeasible or (
                    status == highspy.HighsModelStatus.kOptimal
                    and h.getInfo().primal_solution_status != 2):
                if not np.isfinite(thr):  # nothing was fixed and no cutoff set
                    raise InputError("capacitated p-median: no assignment fits the "
                                     "capacities")
                bound = max(bound, min(above, ub))
            elif status == highspy.HighsModelStatus.kOptimal:
                z = float(h.getInfo().objective_function_value)
                bound = max(bound, min(z, above, ub))
            else:
                timed_out = True
                bound = max(bound, min(float(h.getInfo().mip_dual_bound), above, ub))
    if not np.isfinite(ub):
        return CPMedianResult((), (), np.inf, bound, False, "time_limit",
                              time.perf_counter() - start, _ENGINE)
    bound = min(bound, ub)
    proven = closed()
    if proven:
        bound = ub  # the bound rounds up to the objective
    state = "optimal" if proven else ("time_limit" if timed_out else "heuristic")
    return CPMedianResult(tuple(int(j) for j in np.sort(sites)),
                          tuple(int(j) for j in assign), ub, bound, proven, state,
                          time.perf_counter() - start, _ENGINE)


_ENGINE = "strong assignment model + Lagrangian reduction + HiGHS"


def check_cpmedian(dist: np.ndarray, demand: np.ndarray, capacity: float | np.ndarray,
                   p: int, result: CPMedianResult) -> float:
    """Recompute the objective from the open sites and assignment alone (InputError if
    the result is wrong).

    The solver is not trusted: p distinct sites in range, every customer assigned to an
    open site, every site's served demand within its capacity, the objective equal to the
    recomputed one and the bound not above it.
    """
    d, dem, cap = _validate(dist, demand, capacity, p)
    m, n = d.shape
    sites = [int(j) for j in result.open_sites]
    if len(sites) != p or len(set(sites)) != p:
        raise InputError(f"capacitated p-median check: {len(set(sites))} distinct sites "
                         f"open, want {p}")
    if any(not 0 <= j < n for j in sites):
        raise InputError("capacitated p-median check: an open site is out of range")
    if len(result.assignment) != m:
        raise InputError(f"capacitated p-median check: {len(result.assignment)} customers "
                         f"assigned, want {m}")
    opened = set(sites)
    load = dict.fromkeys(sites, 0.0)
    total = 0.0
    for i, j in enumerate(result.assignment):
        if j not in opened:
            raise InputError(f"capacitated p-median check: customer {i} is assigned to "
                             f"{j}, not an open site")
        load[j] += float(dem[i])
        total += float(d[i, j])
    for j, used in load.items():
        if used > cap[j] + 1e-6:
            raise InputError(f"capacitated p-median check: site {j} serves {used:g}, over "
                             f"its capacity {cap[j]:g}")
    if abs(total - result.objective) > 1e-6 * max(1.0, abs(total)):
        raise InputError(f"capacitated p-median check: objective {result.objective} but "
                         f"the assignment gives {total}")
    if result.bound > total + 1e-6 * max(1.0, abs(total)):
        raise InputError(f"capacitated p-median check: bound {result.bound} exceeds the "
                         f"objective {total}")
    return total
