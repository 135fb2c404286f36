"""The bureau's budget question: where to build K new rooms, jointly with enrolment, exactly.

Model (arrays in optimizer/mip.py, solved by HiGHS). For each regular school j a binary
y_j (new room; schools that have one are constants), for each LRC student i whose seat may
change and each school j of the student's grade within the travel limit -- every such
school, no nearest-k cut: the limit is a hard rule, so nothing feasible is left out -- and
the school the enrolment stage gave, an assignment x_ij in [0, 1]. Rows:

  sum_j x_ij = 1                                    each student one school
  sum_{i of grade g} x_ij <= seats_jg - kept_jg     class seats of the grade
  sum_i x_ij - seats_j y_j <= T - 1 - kept_j        without a room, at most T - 1 students
  S_j <= kept_j + sum_i x_ij,  S_j <= seats_j z_j   students served at j ...
  z_j <= y_j + sum_{k within reach} y_k             ... when j has or shares a room
  w_t <= sum_{j in town t} y_j                      town t covered (centres: constant)
  sum_j y_j <= K

x, S, z and w need not be integer: once y is fixed what remains is a transportation
problem (students -> school-grade seats -> school, split into served and unserved flow),
whose vertices are integral, so HiGHS branches on the y alone. The final assignment is
then taken from an exact min-cost flow over the same arcs with y fixed (integral by
construction, certified by residual potentials in optimizer/flow.py), and must reach the
MIP's values.

Objective, lexicographic, one proven solve per tier, each constrained to keep the earlier
tiers' optimum (the value recomputed from the solution, not the solver's report):
(1) towns covered, (2) students served, (3) travel minutes plus `siting_move_minutes`
per student moved from the enrolment plan's school, and ROOM_MINUTES per room built (no
room that helps nobody).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from lrcplan.models.enrolment import EnrolmentResult, Seat
from lrcplan.models.rooms import centres, existing_rooms, lrc_capacity, reach, room_candidates
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.flow import FlowNetwork, potentials, solve_ortools
from lrcplan.optimizer.mip import MipArrays, MipSolution, solve_mip

ROOM_MINUTES = 1e-3  # a new room's weight in the travel tier (student-minutes)


@dataclass
class BudgetData:
    """The district as the budget model sees it (indices into `schools`)."""

    schools: list[str]
    room: np.ndarray  # bool: has a room already
    seats: dict[tuple[int, int], int]  # (school, grade) -> LRC seats
    kept: dict[tuple[int, int], int]  # (school, grade) -> LRC students whose seat is kept
    movable: list[Seat]  # LRC seats the model may change
    pair_student: np.ndarray
    pair_school: np.ndarray
    pair_minutes: np.ndarray  # home to school
    pair_cost: np.ndarray  # minutes + the move cost where the school changes
    shared: np.ndarray  # bool: within reach of an existing room or centre
    near: list[list[int]]  # school -> schools without a room within reach
    towns: list[str]
    town_fixed: np.ndarray  # bool: covered by an existing room or centre
    town_schools: list[list[int]]  # town -> candidate schools in it
    threshold: int

    @property
    def n(self) -> int:
        """Schools."""
        return len(self.schools)

    @cached_property
    def seats_total(self) -> np.ndarray:
        """All LRC seats per school."""
        return _per_school(self.seats, self.n)

    @cached_property
    def kept_total(self) -> np.ndarray:
        """LRC students kept per school."""
        return _per_school(self.kept, self.n)


def _per_school(by_group: dict[tuple[int, int], int], n: int) -> np.ndarray:
    out = np.zeros(n, np.int64)
    for (j, _), v in by_group.items():
        out[j] += v
    return out


def budget_data(sc: Scenario, enrolment: EnrolmentResult) -> BudgetData:
    """Schools, kept and movable students, and every (student, school) pair within reach."""
    pol = sc.policy
    cap = lrc_capacity(sc)
    schools = sorted({s for s, _ in cap})
    idx = {s: j for j, s in enumerate(schools)}
    rooms = existing_rooms(sc)
    seats = {(idx[s], g): v for (s, g), v in cap.items()}
    kept: dict[tuple[int, int], int] = defaultdict(int)
    movable: list[Seat] = []
    for seat in enrolment.lrc_seats:
        j = idx.get(seat.school_id)
        if j is None:
            continue  # an LRC seat is in a regular school's class: cannot happen
        if seat.incumbent:
            kept[(j, seat.grade)] += 1
        else:
            movable.append(seat)
    movable.sort(key=lambda s: s.student_id)
    ps, pj, pm = _pairs(sc, movable, schools, idx, cap)
    moved = pj != np.array([idx[movable[i].school_id] for i in ps], np.int64)
    cost = pm + pol.siting_move_minutes * moved
    site_ids = sorted(set(schools) | centres(sc))
    r = reach(sc, schools, site_ids, pol.siting_share_minutes)
    fixed_sites = rooms | centres(sc)
    shared = np.array([s in rooms or any(k in fixed_sites for k in r.near.get(s, ()))
                       for s in schools], bool)
    near = [[idx[k] for k in r.near.get(s, ()) if k in idx and k not in rooms]
            for s in schools]
    cand = set(room_candidates(sc))
    towns = sorted({s.town for s in sc.schools} | {t.name for t in sc.towns})
    have = {sc.school_by_id[s].town for s in fixed_sites}
    town_schools = [[idx[s.id] for s in sc.schools if s.town == t and s.id in cand
                     and s.id in idx] for t in towns]
    return BudgetData(schools, np.array([s in rooms for s in schools], bool), seats,
                      dict(kept), movable, ps, pj, pm, cost, shared, near, towns,
                      np.array([t in have for t in towns], bool), town_schools,
                      pol.resource_room_threshold)


def _pairs(sc: Scenario, movable: list[Seat], schools: list[str], idx: dict[str, int],
           cap: dict[tuple[str, int], int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every school with seats of the student's grade within the limit, and the current one."""
    limit_s = sc.policy.max_home_school_minutes * 60.0
    st, sb = sc.student_by_id, sc.school_by_id
    pts = np.array([[st[s.student_id].lon, st[s.student_id].lat] for s in movable]
                   ).reshape(len(movable), 2)
    dest = np.array([[sb[s].lon, sb[s].lat] for s in schools]).reshape(len(schools), 2)
    w = sc.travel.within(pts, dest, max_duration_s=limit_s)
    grade = np.array([s.grade for s in movable], np.int64)
    ok = np.array([cap.get((schools[j], g), 0) > 0
                   for j, g in zip(w.dest.tolist(), grade[w.origin].tolist(), strict=True)],
                  bool)
    cur = np.array([idx[s.school_id] for s in movable], np.int64)
    ps = np.concatenate([w.origin[ok], np.arange(len(movable))]).astype(np.int64)
    pj = np.concatenate([w.dest[ok], cur]).astype(np.int64)
    pm = np.concatenate([w.duration_s[ok] / 60.0,
                         np.array([s.travel_minutes for s in movable], float)])
    order = np.lexsort((pj, ps))
    ps, pj, pm = ps[order], pj[order], pm[order]
    first = np.ones(len(ps), bool)
    first[1:] = (ps[1:] != ps[:-1]) | (pj[1:] != pj[:-1])
    return ps[first], pj[first], pm[first]


@dataclass
class BudgetModel:
    """The MIP's arrays and where each kind of column lives."""

    mip: MipArrays
    y: dict[int, int]  # school -> column (schools without a room)
    x: np.ndarray  # pair -> column
    served_cols: np.ndarray  # the columns whose weighted sum counts students served
    served_coef: np.ndarray
    served_const: float  # kept students at schools that have or share a room already
    towns: np.ndarray  # town -> column w_t (-1 where covered already)
    budget_row: int


def build_model(d: BudgetData, k: int) -> BudgetModel:
    """The MIP of the module docstring for a budget of k new rooms (no objective yet)."""
    m = MipArrays()
    kept = d.kept_total
    forced = (~d.room) & (kept >= d.threshold)
    ycols = m.add_cols(int((~d.room).sum()), lower=0.0, upper=1.0, integer=True)
    y = dict(zip(np.flatnonzero(~d.room).tolist(), ycols.tolist(), strict=True))
    for j in np.flatnonzero(forced).tolist():
        m.col_lower[y[j]] = 1.0
    x = m.add_cols(len(d.pair_student), 0.0, 1.0)
    for i in range(len(d.movable)):
        m.add_row(x[d.pair_student == i], 1.0, 1.0, 1.0)
    by_school: dict[int, list[int]] = defaultdict(list)
    by_group: dict[tuple[int, int], list[int]] = defaultdict(list)
    grades = np.array([s.grade for s in d.movable], np.int64)
    for p, (i, j) in enumerate(zip(d.pair_student.tolist(), d.pair_school.tolist(), strict=True)):
        by_school[j].append(p)
        by_group[(j, int(grades[i]))].append(p)
    for (j, g), ps in sorted(by_group.items()):
        m.add_row(x[ps], 1.0, upper=d.seats.get((j, g), 0) - d.kept.get((j, g), 0))
    s_cols: list[np.ndarray] = []
    s_coef: list[np.ndarray] = []
    for j in range(d.n):
        ps = np.array(by_school.get(j, []), np.int64)
        if d.room[j] or d.shared[j]:  # every student here is served
            s_cols.append(x[ps])
            s_coef.append(np.ones(len(ps)))
            if not d.room[j]:
                _threshold_row(m, d, j, x[ps], y[j], int(kept[j]))
            continue
        z = _room_within_reach(m, d, j, y)
        # u_p: pair p's student is served at j; u <= x and u <= z is the strong form of
        # "served only where a room is" (no big-M), and the unserved students of a school
        # are at most T - 1 - kept: with z = y (no sharing) this is the threshold rule.
        u = m.add_cols(len(ps), 0.0, 1.0)
        for up, xp in zip(u.tolist(), x[ps].tolist(), strict=True):
            m.add_row(np.array([up, xp]), np.array([1.0, -1.0]), upper=0.0)
            m.add_row(np.array([up, z]), np.array([1.0, -1.0]), upper=0.0)
        m.add_row(np.concatenate([x[ps], u]), np.concatenate([np.ones(len(ps)),
                                                              -np.ones(len(ps))]),
                  upper=float(max(0, d.threshold - 1 - kept[j])))
        if z != y[j]:  # sharing: the school's own count still obeys the rule
            _threshold_row(m, d, j, x[ps], y[j], int(kept[j]))
        s_cols.append(np.concatenate([u, [z]]))
        s_coef.append(np.concatenate([np.ones(len(ps)), [float(kept[j])]]))
    wcols = np.full(len(d.towns), -1, np.int64)
    for t, js in enumerate(d.town_schools):
        if d.town_fixed[t] or not js:
            continue
        wcols[t] = m.add_cols(1)[0]
        m.add_row(np.array([wcols[t], *[y[j] for j in js]], np.int64),
                  np.array([1.0] + [-1.0] * len(js)), upper=0.0)
    budget_row = m.add_row(np.array(list(y.values()), np.int64), 1.0, upper=float(k))
    const = float(sum(kept[j] for j in range(d.n) if d.room[j] or d.shared[j]))
    return BudgetModel(m, y, x, np.concatenate(s_cols).astype(np.int64),
                       np.concatenate(s_coef), const, wcols, budget_row)


def _threshold_row(m: MipArrays, d: BudgetData, j: int, xs: np.ndarray, yj: int,
                   kept: int) -> None:
    """sum x - M y_j <= T - 1 - kept, M the most students who could come (tight big-M)."""
    room_free = d.threshold - 1 - kept
    big = max(0, min(int(d.seats_total[j]) - kept, len(xs)) - room_free)
    m.add_row(np.concatenate([xs, [yj]]), np.concatenate([np.ones(len(xs)), [-float(big)]]),
              upper=float(room_free))


def _room_within_reach(m: MipArrays, d: BudgetData, j: int, y: dict[int, int]) -> int:
    """The column z_j "school j has or shares a room": y_j itself without sharing."""
    if not d.near[j]:
        return y[j]
    z = int(m.add_cols(1)[0])
    ks = [y[j]] + [y[k] for k in d.near[j]]
    m.add_row(np.array([z, *ks], np.int64), np.array([1.0] + [-1.0] * len(ks)), upper=0.0)
    return z


@dataclass(frozen=True)
class Tier:
    """One tier of the lexicographic solve."""

    name: str
    value: float
    bound: float
    proven: bool
    seconds: float


@dataclass(frozen=True)
class BudgetSolution:
    """The rooms built, each movable student's school, and each tier's value and proof."""

    feasible: bool
    new_rooms: tuple[int, ...]  # school indices
    school_of: tuple[int, ...]  # per movable student
    tiers: tuple[Tier, ...]
    certified: bool  # the final assignment's min-cost flow carries its dual certificate
    seconds: float
    proven_infeasible: bool = False  # HiGHS proved no plan exists (not a time-out)

    @property
    def proven(self) -> bool:
        """Every tier proven optimal and the assignment certified."""
        return self.certified and all(t.proven for t in self.tiers)


def _tier(bm: BudgetModel, name: str, cols: np.ndarray, coef: np.ndarray | float,
          maximize: bool, deadline: float, integral: bool) -> tuple[Tier, MipSolution]:
    m = bm.mip
    m.clear_objective()
    m.objective(cols, coef)
    # No warm start: with one (setSolution), HiGHS 1.x returned the start's values with
    # an objective value they do not have (seen on the demo's travel tier).
    sol = solve_mip(m, maximize=maximize, time_limit_s=deadline - time.perf_counter(),
                    abs_gap=0.5 if integral else 1e-6)
    if sol.values is None:
        return Tier(name, math.nan, sol.bound, False, sol.seconds), sol
    # the value is recomputed from the solution, never taken from the solver's report
    value = float(np.dot(np.broadcast_to(np.asarray(coef, float), (len(cols),)),
                         sol.values[cols]))
    if integral:
        value = float(round(value))
    proven = sol.optimal and abs(value - sol.objective) <= 1e-6 * max(1.0, abs(value)) + 1e-6
    bound = value if proven else sol.bound
    return Tier(name, value, bound, proven, sol.seconds), sol


def _keep(bm: BudgetModel, cols: np.ndarray, coef: np.ndarray | float, tier: Tier,
          maximize: bool, integral: bool) -> None:
    """Hold a solved tier at its value while the next tiers are solved."""
    slack = 0.0 if integral else 1e-3 + 1e-7 * abs(tier.value)  # HiGHS tolerances
    if maximize:
        bm.mip.add_row(cols, coef, lower=tier.value - slack)
    else:
        bm.mip.add_row(cols, coef, upper=tier.value + slack)


def solve_budget(d: BudgetData, k: int, time_limit_s: float, *, tiers: int = 3
                 ) -> BudgetSolution:
    """Solve the tiers in order (2: towns and served only, as the curve needs)."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    kept = d.kept_total
    if int(((~d.room) & (kept >= d.threshold)).sum()) > k:
        # incumbents alone bring more schools to the threshold than k rooms can serve
        return BudgetSolution(False, (), (), (), False, time.perf_counter() - t0, True)
    bm = build_model(d, k)
    ycols = np.array(list(bm.y.values()), np.int64)
    wcols = bm.towns[bm.towns >= 0]
    # (name, columns, coefficients, maximise, integral, constant the columns leave out)
    # Rooms ride on the travel tier at ROOM_MINUTES each: a fourth tier (fewest rooms at
    # that travel) took HiGHS over 120 s to find any solution on xiaoshan.
    plan = [("towns", wcols, 1.0, True, True, float(d.town_fixed.sum())),
            ("served", bm.served_cols, bm.served_coef, True, True, bm.served_const),
            ("travel", np.concatenate([bm.x, ycols]),
             np.concatenate([d.pair_cost, np.full(len(ycols), ROOM_MINUTES)]), False, False,
             0.0)]
    done: list[Tier] = []
    last: MipSolution | None = None
    for name, cols, coef, maximize, integral, const in plan[:tiers]:
        if len(cols) == 0:
            continue
        tier, sol = _tier(bm, name, cols, coef, maximize, deadline, integral)
        if sol.infeasible or sol.values is None:
            return BudgetSolution(False, (), (), tuple(done), False, time.perf_counter() - t0,
                                  sol.infeasible)
        _keep(bm, cols, coef, tier, maximize, integral)
        done.append(replace(tier, value=tier.value + const, bound=tier.bound + const))
        last = sol
    if last is None:  # nothing to decide (no schools): every student stays
        last = solve_mip(bm.mip, maximize=False,
                         time_limit_s=max(deadline - time.perf_counter(), 1.0))
        if last.values is None:
            return BudgetSolution(False, (), (), (), False, time.perf_counter() - t0,
                                  last.infeasible)
    assert last.values is not None
    new = tuple(sorted(j for j, c in bm.y.items() if last.values[c] > 0.5))
    school_of, certified = assign(d, frozenset(new))
    return BudgetSolution(True, new, school_of, tuple(done), certified,
                          time.perf_counter() - t0)


def assign(d: BudgetData, new: frozenset[int]) -> tuple[tuple[int, ...], bool]:
    """Each movable student's school for fixed rooms: served first, then least cost.

    A min-cost flow source -> student -> (school, grade) -> school -> sink, where a school
    with (or sharing) a room passes any number of students at cost 0 and one without
    passes at most T - 1 - kept, each at a cost above any travel (an unserved student).
    """
    n, ng = len(d.movable), 0
    grades = np.array([s.grade for s in d.movable], np.int64)
    groups = sorted({(int(j), int(grades[i])) for i, j in zip(d.pair_student, d.pair_school,
                                                               strict=True)})
    gidx = {g: q for q, g in enumerate(groups)}
    ng = len(groups)
    cent = np.rint(d.pair_cost * 100).astype(np.int64)  # centi-minutes
    unserved = int(cent.max(initial=0)) * max(n, 1) + 1
    s0, g0, j0 = 2, 2 + n, 2 + n + ng
    tails = [np.zeros(n, np.int64), 2 + d.pair_student]
    heads = [s0 + np.arange(n), g0 + np.array([gidx[(int(j), int(grades[i]))] for i, j in
                                               zip(d.pair_student, d.pair_school,
                                                   strict=True)], np.int64)]
    caps = [np.ones(n, np.int64), np.ones(len(cent), np.int64)]
    costs = [np.zeros(n, np.int64), cent]
    gt, gh, gc = [], [], []
    for q, (j, g) in enumerate(groups):
        gt.append(g0 + q)
        gh.append(j0 + j)
        gc.append(max(0, d.seats.get((j, g), 0) - d.kept.get((j, g), 0)))
    tails.append(np.array(gt, np.int64))
    heads.append(np.array(gh, np.int64))
    caps.append(np.array(gc, np.int64))
    costs.append(np.zeros(len(gt), np.int64))
    jt, jh, jc, jw = [], [], [], []
    for j in range(d.n):
        has = bool(d.room[j]) or j in new
        ok = has or bool(d.shared[j]) or any(k in new for k in d.near[j])
        room_left = n if has else max(0, d.threshold - 1 - int(d.kept_total[j]))
        jt.append(j0 + j)
        jh.append(1)
        jc.append(room_left)
        jw.append(0 if ok else unserved)
    tails.append(np.array(jt, np.int64))
    heads.append(np.array(jh, np.int64))
    caps.append(np.array(jc, np.int64))
    costs.append(np.array(jw, np.int64))
    supply = np.zeros(j0 + d.n, np.int64)
    supply[0], supply[1] = n, -n
    net = FlowNetwork(j0 + d.n, np.concatenate(tails), np.concatenate(heads),
                      np.concatenate(caps), np.concatenate(costs), supply)
    sol = solve_ortools(net)
    if not sol.optimal:
        return tuple(d.pair_school[d.pair_student == i][0] for i in range(n)), False
    flow = sol.flow[n:n + len(cent)]
    school_of = [-1] * n
    for p in np.flatnonzero(flow > 0).tolist():
        school_of[int(d.pair_student[p])] = int(d.pair_school[p])
    certified = potentials(net, sol.flow) is not None
    return tuple(school_of), certified
