"""An upper bound on the visits any plan of a week can serve: a relaxation solved by CP-SAT.

When the bound is below the visits required, 100 % coverage is proven impossible for
every planner, not just missed by ours; when the plan serves as many visits as the
bound, its coverage is proven the most possible.

The relaxation keeps every rule of a stream (one teacher among the able ones -- unless
its continuity is soft --, its allowed days, at most one visit a day, its count per week)
and replaces each teacher-day's route by two necessary conditions:

* a knapsack: the visits' minutes plus, for each, the shortest leg into its place from
  anywhere the teacher could come from (the base or another place the teacher may
  serve), plus the shortest way home, must fit in the day's working time. That time is
  the teacher's limit or hours, less lunch when the lunch window lies inside the hours
  (lunch is taken on the road, inside the working time, or off duty inside the hours,
  outside it: either way the visits and legs get at most min(limit, hours - lunch));
* a schedule: each visit, with its shortest way in just before it, is an interval inside
  its window, after the direct leg from the base and leaving time for the direct leg
  back; a teacher's intervals of one day do not overlap (the teacher travels to one
  place at a time).

Legs are whole minutes rounded up, as the day router times them; the travel models keep
the triangle inequality, so no route reaches a place sooner than by the direct leg. Every
feasible plan satisfies all of this, so the relaxation's optimum -- and CP-SAT's proven
bound on it, when time runs out -- is an upper bound on the visits served.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

from lrcplan.optimizer.dayroute import DayRules

# Deterministic units per group relaxation: the small groups that prove a shortfall close
# in well under one unit (xiaoshan with its teachers doubled: the group of the only two
# teachers with the skill "mental" in 0.1); a larger group gets at most this.
GROUP_BUDGET_S = 2.0

if TYPE_CHECKING:
    from lrcplan.optimizer.week import WeekProblem


@dataclass(frozen=True)
class GroupBound:
    """The visits only these teachers can serve, and at most how many of them they can."""

    teachers: tuple[int, ...]
    streams: tuple[int, ...]
    visits: int
    at_most: int
    proven_optimal: bool  # the relaxation was solved, not just bounded


@dataclass(frozen=True)
class CoverageBound:
    """At most `visits` of `required` can be served, with the teacher groups that prove it."""

    visits: int
    required: int
    groups: tuple[GroupBound, ...]  # disjoint teacher groups, each short of its visits
    seconds: float


def day_capacity(r: DayRules) -> int:
    """Minutes of visits and travel a teacher-day can hold (see the module docstring)."""
    lunch_inside = r.start <= r.lunch[0] and r.lunch[1] <= r.end
    hours = r.end - r.start - (r.lunch_minutes if lunch_inside else 0)
    return max(0, min(r.max_minutes, hours))


def entry_minutes(p: WeekProblem, teachers: set[int]) -> dict[tuple[int, int], int]:
    """(stream, teacher) -> the shortest leg into the stream's place from anywhere the
    teacher could come from: its base or the place of another stream one of `teachers`
    may serve (the only places their routes pass), in whole minutes rounded up (the
    router's timing)."""
    places = sorted({p.site_node[k] for k in range(len(p.streams))
                     if set(p.able[k]) & teachers})
    out: dict[tuple[int, int], int] = {}
    for i, node in enumerate(p.site_node):
        if not set(p.able[i]) & teachers:
            continue
        others = [k for k in places if k != node]
        from_sites = float(p.travel[others, node].min()) if others else math.inf
        for j in set(p.able[i]) & teachers:
            b = p.base_node[j]
            leg = min(from_sites, float(p.travel[b, node])) if b != node else 0.0
            out[(i, j)] = math.ceil(leg - 1e-9)
    return out


def _leg(p: WeekProblem, a: int, b: int) -> int:
    """Whole minutes from node a to node b, rounded up as the router times legs (any
    route from a to b through other places takes at least this: the travel models keep
    the triangle inequality)."""
    return 0 if a == b else math.ceil(float(p.travel[a, b]) - 1e-9)


def _relaxation(p: WeekProblem, streams: list[int], teachers: set[int], budget_s: float,
                seed: int) -> tuple[int, bool, float]:
    """(upper bound, solved, deterministic time spent) on the visits of `streams` that
    `teachers` alone can serve."""
    entry = entry_minutes(p, teachers)
    m = cp_model.CpModel()
    x: list[cp_model.IntVar] = []
    load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    busy: dict[tuple[int, int], list[cp_model.IntervalVar]] = defaultdict(list)
    for i in streams:
        s = p.streams[i]
        ys, on_day, mine = [], defaultdict(list), []
        for j in (j for j in p.able[i] if j in teachers):
            y = m.new_bool_var("")
            ys.append(y)
            lead = entry[(i, j)]
            out_, home = _leg(p, p.base_node[j], p.site_node[i]), \
                _leg(p, p.site_node[i], p.base_node[j])
            lo = max(s.window[0], p.rules[j].start + out_)
            hi = min(s.window[1], p.rules[j].end - home) - s.minutes
            if lo > hi:
                continue
            for h in p.days_of[(i, j)]:
                v = m.new_bool_var("")
                m.add_implication(v, y)
                load[(j, h)].append((v, s.minutes + lead))
                busy[(j, h)].append(m.new_optional_fixed_size_interval_var(
                    m.new_int_var(lo - lead, hi - lead, ""), lead + s.minutes, v, ""))
                on_day[h].append(v)
                mine.append((h, v))
        if len(ys) > 1 and not p.split_ok(i):
            m.add_at_most_one(ys)
        for vs in on_day.values():
            if len(vs) > 1:
                m.add_at_most_one(vs)
        if s.per_week:
            for wk in range(1, p.hz.weeks + 1):
                days = set(p.hz.in_week(wk))
                m.add(sum(v for h, v in mine if h in days) <= s.per_week)
        else:
            m.add(sum(v for _, v in mine) <= s.total)
        x += [v for _, v in mine]
    for (j, _), terms in load.items():
        # The way home, from the nearest place the teacher may end at, once a day used.
        back = min(_leg(p, p.site_node[i], p.base_node[j]) for i in range(len(p.streams))
                   if j in p.able[i])
        used = m.new_bool_var("")
        for v, _ in terms:
            m.add_implication(v, used)
        m.add(sum(v * w for v, w in terms) + back * used <= day_capacity(p.rules[j]))
    for intervals in busy.values():
        m.add_no_overlap(intervals)
    m.maximize(sum(x))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # with a deterministic limit: the same bound every run
    solver.parameters.max_deterministic_time = budget_s
    solver.parameters.max_time_in_seconds = 2 * budget_s
    solver.parameters.random_seed = seed
    status = solver.solve(m)
    everything = sum(p.streams[i].total for i in streams)
    spent = solver.deterministic_time
    if status == cp_model.OPTIMAL:
        return int(round(solver.objective_value)), True, spent
    if status == cp_model.FEASIBLE:
        return min(everything, math.floor(solver.best_objective_bound + 1e-6)), False, spent
    return everything, False, spent  # nothing learned in time: the trivial bound


def coverage_bound(p: WeekProblem, budget_s: float, seed: int = 0) -> CoverageBound:
    """An upper bound on the visits any plan of the week can serve.

    For each set of teachers able to serve some stream (smallest first, while the budget
    lasts), the visits only they can serve are bounded by the relaxation; the groups
    short of their visits are then taken greedily, most short first, among pairwise
    disjoint ones: their shortfalls add up, as no visit or teacher is counted twice.
    """
    t0 = time.perf_counter()
    # A relief stream repeats its main stream's visits (soft continuity): not counted.
    servable = [i for i in range(len(p.streams)) if p.able[i] and i not in p.relief]
    required = sum(s.total for i, s in enumerate(p.streams) if i not in p.relief)
    unservable = required - sum(p.streams[i].total for i in servable)
    groups = sorted({frozenset(p.able[i]) for i in servable},
                    key=lambda g: (sum(len(p.days_of[(i, j)]) for i in servable
                                       if set(p.able[i]) <= g for j in p.able[i]),
                                   sorted(g)))
    short: list[GroupBound] = []
    left = budget_s  # deterministic units, so that the same groups are bounded every run
    for g in groups:
        if left <= 0 or time.perf_counter() - t0 > 2 * budget_s:  # a slow machine: stop
            break
        mine = [i for i in servable if set(p.able[i]) <= g]
        visits = sum(p.streams[i].total for i in mine)
        at_most, solved, spent = _relaxation(p, mine, set(g), min(left, GROUP_BUDGET_S),
                                             seed)
        left -= max(spent, 0.01)  # every group costs something: the loop ends
        if at_most < visits:
            short.append(GroupBound(tuple(sorted(g)), tuple(mine), visits, at_most, solved))
    chosen: list[GroupBound] = []
    used: set[int] = set()
    for gb in sorted(short, key=lambda gb: (gb.at_most - gb.visits, gb.teachers)):
        if not used & set(gb.teachers):
            chosen.append(gb)
            used |= set(gb.teachers)
    shortfall = sum(gb.visits - gb.at_most for gb in chosen)
    return CoverageBound(required - unservable - shortfall, required, tuple(chosen),
                         time.perf_counter() - t0)
