"""Resource-room siting: required rooms, the bureau's budget, maximal covering, p-median.

Modes (models/siting.py MODES), each exact, each with status, objective and bound:

* required -- a count, not a search: every regular school the enrolment plan gives
  `resource_room_threshold` or more LRC students and no room must build one; its cost.
* budget -- K new rooms (or what a budget in yuan pays for) chosen jointly with where
  students enrol (optimizer/sitebudget.py: a MIP on HiGHS, lexicographic tiers towns
  covered > students served > travel > rooms, each proven).
* coverage -- maximal covering: K new rooms, the most LRC students whose school lies
  within `siting_cover_minutes` (or `--minutes`) of a room (a MIP on HiGHS; enrolment unchanged).
* p-median -- K new rooms minimising LRC students' total travel from their school to
  the nearest room (optimizer/pmedian.py's radius formulation, proven; existing rooms
  and centres enter as each school's distance cap min(d_ij, nearest existing), which is
  exact: a school's nearest room is either an existing one or a new one).

In every mode the threshold rule holds: coverage and p-median do not move students, so
the schools that need a room get one first (counted in K); budget may move students
instead. When K cannot keep the rule, the stage is infeasible and says the least K
that can. The budget-versus-coverage curve solves the same mode for 0..K new rooms.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.plan import StageSummary, Status
from lrcplan.models.rooms import (
    centres,
    existing_rooms,
    mover_classes,
    reach,
    reach_minutes,
    room_candidates,
    room_cost_yuan,
    rooms_for_budget,
    towns_covered,
)
from lrcplan.models.scenario import Scenario
from lrcplan.models.siting import CurvePoint, Move, Room, SitingOptions, SitingResult, TownCover
from lrcplan.optimizer.mip import MipArrays, solve_mip
from lrcplan.optimizer.sitebudget import BudgetData, budget_data, solve_budget


@dataclass(frozen=True)
class Outcome:
    """What a mode decided: new rooms, moved students, and its proof in numbers."""

    feasible: bool
    new: frozenset[str]
    school_of: dict[str, str]  # moved students: student -> new school
    objective: float | None
    bound: float | None
    proven: bool
    proof: str
    engine: str


def budget_rooms(sc: Scenario, opt: SitingOptions) -> int:
    """New rooms allowed: --rooms, else what --budget-yuan pays for, else -1 (none given)."""
    if opt.rooms >= 0:
        return opt.rooms
    if opt.budget_yuan >= 0:
        return rooms_for_budget(sc.policy, opt.budget_yuan)
    return -1


def required_schools(sc: Scenario, loads: Counter[str]) -> tuple[str, ...]:
    """Regular schools at or above the threshold without a room (the rule's demand)."""
    have = existing_rooms(sc)
    t = sc.policy.resource_room_threshold
    return tuple(s for s in room_candidates(sc) if loads.get(s, 0) >= t and s not in have)


def solve_siting(sc: Scenario, enrolment: EnrolmentResult, opt: SitingOptions
                 ) -> SitingResult:
    """Run the chosen mode and describe its rooms, towns, moves and curve."""
    t0 = time.perf_counter()
    loads = Counter(s.school_id for s in enrolment.lrc_seats)
    need = required_schools(sc, loads)
    k = budget_rooms(sc, opt)
    if opt.mode in ("budget", "coverage", "p-median") and k < 0:
        k = len(need)  # no budget given: as many as the rule needs
    data = budget_data(sc, enrolment) if opt.mode == "budget" else None
    cover = reach_minutes(sc.policy, "coverage", opt.cover_minutes)
    out = _run(sc, opt.mode, loads, need, k, data, opt.time_limit_s, cover)
    curve: tuple[CurvePoint, ...] = ()
    if opt.curve and opt.mode != "required" and k >= 0:
        curve = _curve(sc, opt.mode, loads, need, k, data, opt.time_limit_s, cover)
    return _result(sc, enrolment, opt, k, need, out, curve, time.perf_counter() - t0)


def _run(sc: Scenario, mode: str, loads: Counter[str], need: tuple[str, ...], k: int,
         data: BudgetData | None, limit_s: float, cover_minutes: float, *, tiers: int = 3
         ) -> Outcome:
    if mode == "required":
        return _required(sc, need, k)
    if mode == "budget":
        assert data is not None
        return _budget(sc, data, k, limit_s, tiers)
    if len(need) > k:
        return Outcome(False, frozenset(), {}, None, None, True,
                       f"{len(need)} schools need a room by the threshold rule and "
                       f"{mode} does not move students: at least {len(need)} new rooms "
                       f"are needed, the budget allows {k}", "")
    if mode == "coverage":
        return _coverage(sc, loads, need, k, limit_s, cover_minutes)
    return _pmedian(sc, loads, need, k, limit_s)


def _required(sc: Scenario, need: tuple[str, ...], k: int) -> Outcome:
    cost = room_cost_yuan(sc.policy) * len(need)
    note = f"{len(need)} schools reach the threshold without a room: {cost:,} yuan"
    if k >= 0:
        note += ("; the budget covers them" if k >= len(need) else
                 f"; the budget pays for {k} rooms, {len(need) - k} short")
    return Outcome(True, frozenset(need), {}, float(cost), float(cost), True, note,
                   "count (no search)")


def _budget(sc: Scenario, d: BudgetData, k: int, limit_s: float, tiers: int) -> Outcome:
    sol = solve_budget(d, k, limit_s, tiers=tiers)
    if not sol.feasible:
        least = least_rooms(d, limit_s) if tiers > 2 else None  # not for curve points
        why = (f"no plan with {k} new rooms keeps every school without a room under "
               f"{sc.policy.resource_room_threshold} LRC students" +
               (f"; the least number that can is {least}" if least is not None else ""))
        return Outcome(False, frozenset(), {}, None, None, sol.proven_infeasible, why,
                       "HiGHS MIP")
    new = frozenset(d.schools[j] for j in sol.new_rooms)
    moved = {s.student_id: d.schools[j] for s, j in zip(d.movable, sol.school_of, strict=True)
             if d.schools[j] != s.school_id}
    words = ", ".join(f"{t.name} {t.value:,.0f}" + ("" if t.proven else
                                                     f" (bound {t.bound:,.0f})")
                      for t in sol.tiers)
    served = next((t for t in sol.tiers if t.name == "served"), None)
    proof = (("proven optimal, tier by tier: " if sol.proven else "not proven: ") + words
             + ("; assignment certified by min-cost flow potentials" if sol.certified else ""))
    return Outcome(True, new, moved, served.value if served else None,
                   served.bound if served else None, sol.proven, proof,
                   "HiGHS MIP (lexicographic) + min-cost flow")


def least_rooms(d: BudgetData, limit_s: float) -> int | None:
    """The fewest new rooms that keep the threshold rule (None if unknown in time)."""
    from lrcplan.optimizer.sitebudget import build_model

    bm = build_model(d, len(d.schools))
    ycols = np.array(list(bm.y.values()), np.int64)
    bm.mip.objective(ycols, 1.0)
    sol = solve_mip(bm.mip, maximize=False, time_limit_s=limit_s, abs_gap=0.5)
    return int(round(sol.objective)) if sol.optimal else None


def _demand(sc: Scenario, loads: Counter[str]) -> list[str]:
    return sorted(s for s, n in loads.items() if n > 0)


def _fixed_sites(sc: Scenario, need: tuple[str, ...]) -> list[str]:
    return sorted(existing_rooms(sc) | centres(sc) | set(need))


def _coverage(sc: Scenario, loads: Counter[str], need: tuple[str, ...], k: int,
              limit_s: float, minutes: float) -> Outcome:
    demand = _demand(sc, loads)
    fixed = set(_fixed_sites(sc, need))
    cand = [s for s in room_candidates(sc) if s not in fixed]
    r = reach(sc, demand, sorted(fixed | set(cand)), minutes)
    m = MipArrays()
    y = m.add_cols(len(cand), 0.0, 1.0, integer=True)
    cidx = {s: c for s, c in zip(cand, y.tolist(), strict=True)}
    cover_cols, weights, const = [], [], 0
    for s in demand:
        near = (s, *r.near.get(s, ()))
        if any(x in fixed for x in near):
            const += loads[s]
            continue
        cols = [cidx[x] for x in near if x in cidx]
        if not cols:
            continue
        c = int(m.add_cols(1)[0])
        m.add_row(np.array([c, *cols], np.int64), np.array([1.0] + [-1.0] * len(cols)),
                  upper=0.0)
        cover_cols.append(c)
        weights.append(float(loads[s]))
    m.add_row(y, 1.0, upper=float(k - len(need)))
    if not cover_cols:
        return Outcome(True, frozenset(need), {}, float(const), float(const), True,
                       f"{const} LRC students within {minutes:g} min of a room; no new "
                       f"room can add any", "HiGHS MIP")
    m.objective(np.array(cover_cols, np.int64), np.array(weights))
    sol = solve_mip(m, maximize=True, time_limit_s=limit_s, abs_gap=0.5)
    if sol.values is None:
        return Outcome(False, frozenset(need), {}, None, None, False,
                       "no covering found within the time limit", "HiGHS MIP")
    # then the fewest rooms reaching that coverage (no room that covers nobody)
    m.add_row(np.array(cover_cols, np.int64), np.array(weights),
              lower=float(round(sol.objective)))
    m.clear_objective()
    m.objective(y, 1.0)
    few = solve_mip(m, maximize=False, time_limit_s=limit_s, start=sol.values, abs_gap=0.5)
    best = few if few.values is not None else sol
    assert best.values is not None
    new = frozenset(need) | {c for c, col in cidx.items() if best.values[col] > 0.5}
    value = const + round(sol.objective)
    bound = const + (sol.bound if not sol.optimal else round(sol.objective))
    proven = sol.optimal and few.optimal
    return Outcome(True, new, {}, float(value), float(bound), proven,
                   f"{'proven optimal' if proven else 'not proven'}: {value} LRC students "
                   f"within {minutes:g} min of a room, bound {bound:,.0f}; then the fewest "
                   f"rooms that cover them ({len(new)})", "HiGHS MIP")


def _pmedian(sc: Scenario, loads: Counter[str], need: tuple[str, ...], k: int,
             limit_s: float) -> Outcome:
    from lrcplan.optimizer.pmedian import objective_of, solve_pmedian

    demand = _demand(sc, loads)
    fixed = _fixed_sites(sc, need)
    cand = [s for s in room_candidates(sc) if s not in set(fixed)]
    p = k - len(need)
    if not demand:
        return Outcome(True, frozenset(need), {}, 0.0, 0.0, True, "no LRC students",
                       "radius formulation + HiGHS")
    t = _minutes(sc, demand, fixed + cand)  # student-school minutes, integral seconds
    w = np.array([loads[s] for s in demand], float)[:, None]
    cap = t[:, :len(fixed)].min(axis=1, initial=math.inf)
    d = np.minimum(t[:, len(fixed):], cap[:, None]) if cand else np.zeros((len(demand), 0))
    if p <= 0 or not cand:
        total = round(float((w[:, 0] * np.where(np.isfinite(cap), cap, 0.0)).sum()) / 60, 1)
        return Outcome(True, frozenset(need), {}, total, total, True,
                       "no new room beyond the required ones: nothing to choose",
                       "radius formulation + HiGHS")
    p = min(p, len(cand))
    finite = np.where(np.isfinite(d), d, np.nanmax(np.where(np.isfinite(d), d, 0)) * 10 + 1)
    res = solve_pmedian(finite * w, p, limit_s)
    opened = frozenset(need) | {cand[j] for j in res.open_sites}
    total = objective_of(finite * w, list(res.open_sites)) / 60.0
    return Outcome(True, opened, {}, round(total, 1), round(res.bound / 60.0, 1), res.proven,
                   f"{'proven optimal' if res.proven else res.status}: LRC students' total "
                   f"travel to the nearest room {total:,.0f} student-minutes (bound "
                   f"{res.bound / 60.0:,.0f})", "radius formulation + HiGHS")


def _minutes(sc: Scenario, a: list[str], b: list[str]) -> np.ndarray:
    """School-to-site travel in whole seconds (an integral matrix proves faster)."""
    sb = sc.school_by_id
    pa = np.array([[sb[s].lon, sb[s].lat] for s in a]).reshape(len(a), 2)
    pb = np.array([[sb[s].lon, sb[s].lat] for s in b]).reshape(len(b), 2)
    return np.rint(sc.travel.matrix(pa, pb).duration_s)


def _curve(sc: Scenario, mode: str, loads: Counter[str], need: tuple[str, ...], k: int,
           data: BudgetData | None, limit_s: float, cover_minutes: float
           ) -> tuple[CurvePoint, ...]:
    """The mode solved for 0..k new rooms (budget: towns and served tiers only)."""
    points = []
    for kk in range(k + 1):
        out = _run(sc, mode, loads, need, kk, data, limit_s, cover_minutes, tiers=2)
        rooms = existing_rooms(sc) | centres(sc) | out.new
        covered = sum(towns_covered(sc, frozenset(rooms)).values())
        points.append(CurvePoint(kk, out.feasible, covered if out.feasible else 0,
                                 float(out.objective or 0.0) if out.feasible else 0.0,
                                 out.proven))
    return tuple(points)


def _result(sc: Scenario, enrolment: EnrolmentResult, opt: SitingOptions, k: int,
            need: tuple[str, ...], out: Outcome, curve: tuple[CurvePoint, ...],
            seconds: float) -> SitingResult:
    """Rooms, towns and moves of an outcome, every number counted from its decisions."""
    pol = sc.policy
    school_of = {s.student_id: out.school_of.get(s.student_id, s.school_id)
                 for s in enrolment.lrc_seats}
    loads = Counter(school_of.values())
    have = existing_rooms(sc)
    cent = centres(sc)
    new = out.new if out.feasible else frozenset()
    sites = frozenset(have | cent | new)
    minutes = reach_minutes(pol, opt.mode, opt.cover_minutes)
    r = reach(sc, loads, sorted(sites), minutes)
    uses = {s: r.shares(s, sites) for s in sorted(loads)}
    users = Counter()
    for s, room in uses.items():
        if room is not None:
            users[room] += loads[s]
    cost = room_cost_yuan(pol)
    t = pol.resource_room_threshold
    rooms = []
    for s in sorted(sites):
        status = ("centre" if s in cent else "existing" if s in have else
                  "required" if loads.get(s, 0) >= t else "new")
        rooms.append(Room(s, sc.school_by_id[s].town, status,
                          cost if status in ("required", "new") else 0, loads.get(s, 0),
                          users.get(s, 0)))
    served_at: dict[str, int] = defaultdict(int)
    lrc_at: dict[str, int] = defaultdict(int)
    for s, n in loads.items():
        town = sc.school_by_id[s].town
        lrc_at[town] += n
        if uses.get(s) is not None:
            served_at[town] += n
    in_town = Counter(sc.school_by_id[s].town for s in sites)
    towns = tuple(TownCover(tn, in_town.get(tn, 0), lrc_at.get(tn, 0), served_at.get(tn, 0),
                            ok) for tn, ok in towns_covered(sc, sites).items())
    moves = _moves(sc, enrolment, out.school_of)
    # no plan: proven infeasible, or the time limit came first
    status = (Status.INFEASIBLE if not out.feasible and out.proven else
              Status.TIMED_OUT if not out.feasible else
              Status.DONE if opt.mode == "required" else
              Status.OPTIMAL if out.proven else Status.FEASIBLE)
    summary = StageSummary("siting", status, seconds, out.objective, out.bound, out.engine,
                           out.proof)
    return SitingResult(summary, tuple(rooms), towns, moves, curve, k, opt)


def _moves(sc: Scenario, enrolment: EnrolmentResult, school_of: dict[str, str]
           ) -> tuple[Move, ...]:
    """The moved students with their new class (models/rooms.py `mover_classes`)."""
    seat = {s.student_id: s for s in enrolment.lrc_seats}
    classes = mover_classes(sc, [(s.student_id, s.school_id, s.grade, s.class_index)
                                 for s in enrolment.lrc_seats], school_of)
    moved = sorted(school_of.items())
    st, sb = sc.student_by_id, sc.school_by_id
    _, dur = sc.travel.pairs(
        np.array([[st[sid].lon, st[sid].lat] for sid, _ in moved]).reshape(len(moved), 2),
        np.array([[sb[to].lon, sb[to].lat] for _, to in moved]).reshape(len(moved), 2))
    return tuple(Move(sid, seat[sid].grade, seat[sid].school_id, to, classes[sid],
                      float(dur[k]) / 60.0) for k, (sid, to) in enumerate(moved))
