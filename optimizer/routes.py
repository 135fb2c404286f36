"""Weekly routes of itinerant and home-delivery teachers: a periodic VRPTW, decomposed.

The weekly problem (k visits of a place on different days, the same teacher all week,
skills, windows, lunch, hours and a working-time limit) is modelled by no routing engine
as a whole, and its teacher-days are short (a few visits of 45 minutes or more). So:

1. Patterns (CP-SAT): each stream of visits (models/visits.py) gets one skilled teacher
   and its days; most visits first, then the least estimated travel (each visit reached
   from the teacher's base), within each teacher-day's working time less travel.
2. Routes (exact): each teacher-day is routed by a labelling programme over its few
   visits and the lunch break (optimizer/dayroute.py), proven least-travel; a day that
   does not fit sheds its visit with the least slack, which is tried elsewhere.
3. Improvement (local search): a stream's visits move to other days of its teacher, or
   all of them to another skilled teacher, when every day touched is re-routed exactly
   and the plan gets better (more visits, then travel plus the balance weight times the
   longest teacher-day). Deterministic for a seed: CP-SAT runs on one worker with a
   deterministic time limit and the search makes a fixed number of passes; only the wall
   time limit can end it sooner (the status then says so).

Why not a VRPTW engine for the days: PyVRP (the strongest engine measured on Solomon,
see benchmarks/README.md) solves routing with time windows well but knows no "same
teacher, different days" and no lunch anywhere on the road; a teacher-day of at most
ten visits is solved to proven optimality faster by the exact programme than an engine
is set up. Unserved visits are named with their reason: no skilled teacher, no skilled
teacher on an allowed day, the window unreachable from any base, or hours exhausted.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import Role, Teacher
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import StageSummary, Status
from lrcplan.models.policy import parse_hhmm
from lrcplan.models.routes import RoutesOptions, RoutesResult, Stop, Visit
from lrcplan.models.scenario import Scenario
from lrcplan.models.visits import ITINERANT, Horizon, Stream, required_streams
from lrcplan.optimizer.dayroute import DayRoute, DayRules, DayVisit, route_day

BIG = 1_000_000  # a served visit outweighs any travel (minutes) a plan can have
SEARCH_PASSES = 3


@dataclass
class _Problem:
    """Streams, teachers, travel and who may serve what, in solver indices."""

    sc: Scenario
    hz: Horizon
    streams: list[Stream]
    teachers: list[Teacher]
    travel: np.ndarray  # minutes between places: teacher bases first, then stream sites
    base_node: list[int]  # per teacher
    site_node: list[int]  # per stream
    able: dict[int, list[int]]  # stream -> teachers who may serve it
    days_of: dict[tuple[int, int], list[int]]  # (stream, teacher) -> possible days
    rules: list[DayRules]  # per teacher
    why: dict[int, str]  # stream -> why nobody can serve it


def _role(kind: str) -> Role:
    return Role.ITINERANT if kind == ITINERANT else Role.HOME_DELIVERY


def _problem(sc: Scenario, hz: Horizon, streams: list[Stream]) -> _Problem:
    pol = sc.policy
    teachers = sorted((t for t in sc.teachers if t.role in (Role.ITINERANT,
                                                             Role.HOME_DELIVERY)),
                      key=lambda t: t.id)
    bases = sorted({t.base for t in teachers})
    pts = [(sc.school_by_id[b].lon, sc.school_by_id[b].lat) for b in bases] + \
          [(s.lon, s.lat) for s in streams]
    arr = np.array(pts, float).reshape(-1, 2)
    travel = sc.travel.matrix(arr, arr).duration_s / 60.0 if len(arr) else np.zeros((0, 0))
    base_node = [bases.index(t.base) for t in teachers]
    site_node = [len(bases) + i for i in range(len(streams))]
    lunch = (parse_hhmm(pol.lunch_start), parse_hhmm(pol.lunch_end))
    rules = [DayRules(parse_hhmm(t.start), parse_hhmm(t.end), t.max_minutes_per_day, lunch,
                      pol.lunch_minutes) for t in teachers]
    able: dict[int, list[int]] = {}
    days_of: dict[tuple[int, int], list[int]] = {}
    why: dict[int, str] = {}
    for i, s in enumerate(streams):
        able[i] = []
        skilled = [j for j, t in enumerate(teachers)
                   if t.role is _role(s.kind) and s.skills <= t.skills]
        if s.blocked or not skilled:
            why[i] = s.blocked or "no teacher with the skills"
            continue
        for j in skilled:
            days = [h for h in s.days if hz.label(h)[1] in teachers[j].days]
            alone = [DayVisit(1, s.minutes, s.window)]
            nodes = [base_node[j], site_node[i]]
            if days and route_day(alone, travel[np.ix_(nodes, nodes)].tolist(), rules[j]):
                able[i].append(j)
                days_of[(i, j)] = days
        if not able[i]:
            on_day = any(hz.label(h)[1] in teachers[j].days for j in skilled for h in s.days)
            why[i] = ("the window cannot be reached within the hours of any skilled "
                      "teacher" if on_day else "no skilled teacher works on any allowed day")
    return _Problem(sc, hz, streams, teachers, travel, base_node, site_node, able, days_of,
                    rules, why)


def _day_matrix(p: _Problem, j: int, streams: list[int]) -> list[list[float]]:
    nodes = [p.base_node[j]] + [p.site_node[i] for i in streams]
    return p.travel[np.ix_(nodes, nodes)].tolist()


# ------------------------------------------------------------------ 1. patterns
def _patterns(p: _Problem, budget_s: float, seed: int) -> dict[int, tuple[int, list[int]]]:
    """Stream -> (teacher, days) from CP-SAT on estimated day loads (empty if none)."""
    m = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    cost = []
    for i, s in enumerate(p.streams):
        ys = []
        for j in p.able[i]:
            y = m.new_bool_var(f"y{i}_{j}")
            ys.append(y)
            reach = int(round(p.travel[p.base_node[j], p.site_node[i]]))
            for h in p.days_of[(i, j)]:
                v = m.new_bool_var(f"x{i}_{j}_{h}")
                m.add_implication(v, y)
                x[(i, j, h)] = v
                load[(j, h)].append((v, s.minutes + reach))
                cost.append(BIG * v - reach * v)
        if len(ys) > 1:
            m.add_at_most_one(ys)
        for h in range(p.hz.size):
            same_day = [x[(i, j, h)] for j in p.able[i] if (i, j, h) in x]
            if len(same_day) > 1:
                m.add_at_most_one(same_day)
        if s.per_week:
            for w in range(1, p.hz.weeks + 1):
                m.add(sum(x[(i, j, h)] for j in p.able[i] for h in p.hz.in_week(w)
                          if (i, j, h) in x) <= s.per_week)
        else:
            m.add(sum(v for (a, _, _), v in x.items() if a == i) <= s.total)
    for (j, _), terms in load.items():
        r = p.rules[j]
        # The day's time less lunch; the legs counted above are each visit's way in from
        # the base, an estimate the exact routing of the day then corrects.
        cap = min(r.max_minutes, r.end - r.start) - r.lunch_minutes
        m.add(sum(v * w for v, w in terms) <= cap)
    m.maximize(sum(cost))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # with a deterministic limit: the same plan every run
    solver.parameters.max_deterministic_time = max(1.0, budget_s)
    solver.parameters.random_seed = seed
    status = solver.solve(m)
    out: dict[int, tuple[int, list[int]]] = {}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return out
    for (i, j, h), v in x.items():
        if solver.value(v):
            out.setdefault(i, (j, []))[1].append(h)
    return out


# ------------------------------------------------------------------ 2. routes
@dataclass
class _Plan:
    """The current assignment: stream -> (teacher, days), and the routed teacher-days."""

    assign: dict[int, tuple[int, list[int]]]
    routes: dict[tuple[int, int], DayRoute]  # (teacher, day) -> route
    members: dict[tuple[int, int], list[int]]  # (teacher, day) -> streams, route order

    def served(self) -> int:
        """Visits served."""
        return sum(len(d) for _, d in self.assign.values())

    def score(self, balance: float) -> tuple[int, float]:
        """(-visits, travel + balance x longest day): smaller is better."""
        travel = sum(r.travel for r in self.routes.values())
        longest = max((r.back - r.depart for r in self.routes.values()), default=0)
        return -self.served(), round(travel + balance * longest, 6)


class _Router:
    """Routes teacher-days, remembering each (teacher, set of streams) already routed."""

    def __init__(self, p: _Problem) -> None:
        self.p = p
        self.memo: dict[tuple[int, frozenset[int]], DayRoute | None] = {}

    def day(self, j: int, streams: list[int]) -> DayRoute | None:
        """The least-travel route of these streams' visits for teacher j, or None."""
        key = (j, frozenset(streams))
        if key not in self.memo:
            order = sorted(streams)
            visits = [DayVisit(k + 1, self.p.streams[i].minutes, self.p.streams[i].window)
                      for k, i in enumerate(order)]
            r = route_day(visits, _day_matrix(self.p, j, order), self.p.rules[j])
            # Event.visit indexes `order`: map it back to stream numbers.
            self.memo[key] = None if r is None else _relabel(r, order)
        return self.memo[key]


def _relabel(r: DayRoute, order: list[int]) -> DayRoute:
    from dataclasses import replace

    return replace(r, events=tuple(replace(e, visit=order[e.visit]) if e.visit >= 0 else e
                                   for e in r.events))


def _route_all(p: _Problem, router: _Router, assign: dict[int, tuple[int, list[int]]]
               ) -> _Plan:
    """Route every teacher-day; a day that does not fit sheds visits until it does."""
    days: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (j, hs) in assign.items():
        for h in hs:
            days[(j, h)].append(i)
    assign = {i: (j, list(hs)) for i, (j, hs) in assign.items()}
    routes: dict[tuple[int, int], DayRoute] = {}
    for key in sorted(days):
        j, h = key
        members = sorted(days[key])
        route = router.day(j, members)
        while route is None and members:
            # Shed the visit whose absence leaves the shortest day (deterministic ties).
            trials = [(router.day(j, [m for m in members if m != i]), i) for i in members]
            fits = [(r.back - r.depart, i) for r, i in trials if r is not None]
            drop = min(fits)[1] if fits else max(members, key=lambda i: (
                p.streams[i].minutes, i))
            members.remove(drop)
            assign[drop][1].remove(h)
            route = router.day(j, members)
        if members and route is not None:
            routes[key] = route
            days[key] = members
    assign = {i: v for i, v in assign.items() if v[1]}
    return _Plan(assign, routes, {k: v for k, v in days.items() if k in routes})


# ------------------------------------------------------------------ 3. improvement
def _candidates(p: _Problem, i: int, plan: _Plan) -> list[tuple[int, list[int]]]:
    """Alternative (teacher, days) for stream i: one day moved, or another teacher."""
    s = p.streams[i]
    out = []
    cur = plan.assign.get(i)
    for j in p.able[i]:
        free = p.days_of[(i, j)]
        want = s.total if not s.per_week else s.per_week * p.hz.weeks
        if cur is None or cur[0] != j:
            out.append((j, _spread(p, s, free, want)))
            if cur is None:  # a stream left out: a single visit is a start
                out += [(j, [h]) for h in free]
        else:
            for old in cur[1]:
                for new in free:
                    if new not in cur[1]:
                        days = sorted([d for d in cur[1] if d != old] + [new])
                        if _pattern_ok(p, s, days):
                            out.append((j, days))
            if len(cur[1]) < want:
                for new in free:
                    if new not in cur[1] and _pattern_ok(p, s, sorted([*cur[1], new])):
                        out.append((j, sorted([*cur[1], new])))
    return out


def _pattern_ok(p: _Problem, s: Stream, days: list[int]) -> bool:
    if len(set(days)) != len(days):
        return False
    if s.per_week:
        return all(sum(1 for h in days if h in p.hz.in_week(w)) <= s.per_week
                   for w in range(1, p.hz.weeks + 1))
    return len(days) <= s.total


def _spread(p: _Problem, s: Stream, free: list[int], want: int) -> list[int]:
    """`want` days spread over the free ones, respecting the per-week count."""
    chosen: list[int] = []
    step = max(1, len(free) // max(1, want))
    for h in free[::step] + free:
        if len(chosen) < want and h not in chosen and _pattern_ok(p, s, sorted([*chosen, h])):
            chosen.append(h)
    return sorted(chosen)


def _try(p: _Problem, router: _Router, plan: _Plan, i: int, j: int, days: list[int]
         ) -> _Plan | None:
    """The plan with stream i moved to (j, days), if every touched day routes."""
    members = {k: list(v) for k, v in plan.members.items()}
    routes = dict(plan.routes)
    touched = set()
    if i in plan.assign:
        oj, ohs = plan.assign[i]
        for h in ohs:
            members[(oj, h)].remove(i)
            touched.add((oj, h))
    for h in days:
        members.setdefault((j, h), []).append(i)
        touched.add((j, h))
    for key in touched:
        if not members[key]:
            routes.pop(key, None)
            del members[key]
            continue
        r = router.day(key[0], members[key])
        if r is None:
            return None
        routes[key] = r
    assign = dict(plan.assign)
    assign[i] = (j, list(days))
    return _Plan(assign, routes, members)


def _improve(p: _Problem, router: _Router, plan: _Plan, seed: int, deadline: float
             ) -> tuple[_Plan, bool]:
    """Local search over streams' days and teachers; True if the deadline cut it short."""
    rng = random.Random(seed)
    balance = p.sc.policy.route_balance_weight
    order = [i for i in range(len(p.streams)) if p.able[i]]
    for _ in range(SEARCH_PASSES):
        improved = False
        rng.shuffle(order)
        for i in order:
            if time.perf_counter() > deadline:
                return plan, True
            best = plan.score(balance)
            for j, days in _candidates(p, i, plan):
                new = _try(p, router, plan, i, j, days)
                if new is not None and new.score(balance) < best:
                    plan, best, improved = new, new.score(balance), True
        if not improved:
            break
    return plan, False


# ------------------------------------------------------------------ the stage
def solve_routes(sc: Scenario, placement: PlacementResult, enrolment: EnrolmentResult,
                 options: RoutesOptions | None = None) -> RoutesResult:
    """Plan the week's itinerant and home visits: patterns, exact days, local search."""
    opt = options or RoutesOptions()
    t0 = time.perf_counter()
    deadline = t0 + opt.time_limit_s
    seats = [(s.student_id, s.school_id) for s in enrolment.lrc_seats]
    hz, streams = required_streams(sc, placement.tier_of(), seats)
    p = _problem(sc, hz, streams)
    assign = _patterns(p, 0.25 * opt.time_limit_s, opt.seed)
    planned = sum(len(d) for _, d in assign.values())
    router = _Router(p)
    plan = _route_all(p, router, assign)
    plan, cut = _improve(p, router, plan, opt.seed, deadline)
    visits, stops = _rows(p, plan)
    required = sum(s.total for s in streams)
    served = plan.served()
    travel = sum(r.travel for r in plan.routes.values())
    exact = all(r.exact for r in plan.routes.values())
    # Every teacher-day is proven least-travel (when exact), the week's split is not:
    # the plan is feasible, its bound a lower bound on the travel of the visits served.
    status = Status.FEASIBLE
    proof = (f"{served} of {required} visits served (the patterns planned "
             f"{'-' if planned is None else planned}); every teacher-day routed "
             f"{'exactly' if exact else 'by insertion (over 10 visits)'}"
             + ("; the time limit ended the improvement" if cut else ""))
    bound = _travel_bound(p, plan)
    if served == required and round(travel, 1) <= bound:
        status = Status.OPTIMAL  # every visit served, and travel meets its lower bound
        proof += "; proven: the travel equals its lower bound"
    summary = StageSummary("routes", status, time.perf_counter() - t0,
                           objective=round(travel, 1), bound=bound,
                           engine="CP-SAT patterns + exact teacher-days + local search",
                           proof=proof)
    return RoutesResult(summary, tuple(visits), tuple(stops), hz.weeks, opt)


def _travel_bound(p: _Problem, plan: _Plan) -> float:
    """A lower bound on the travel of the visits served: each is reached by its shortest
    leg from another place, and each teacher-day returns by its shortest leg home."""
    if not plan.routes:
        return 0.0
    t = p.travel.copy()
    np.fill_diagonal(t, np.inf)
    enter = t.min(axis=0)
    total = sum(float(enter[p.site_node[i]]) * len(days) for i, (_, days) in
                plan.assign.items())
    for (j, _), members in plan.members.items():
        total += min(float(t[p.site_node[i], p.base_node[j]]) for i in members)
    return round(total, 1)


def _rows(p: _Problem, plan: _Plan) -> tuple[list[Visit], list[Stop]]:
    """visits.csv and routes.csv rows of a plan."""
    visits: list[Visit] = []
    vid_at: dict[tuple[int, int], str] = {}  # (stream, day) -> the visit served there
    for i, s in enumerate(p.streams):
        j, days = plan.assign.get(i, (None, []))
        free = sorted(days)
        for n, vid in enumerate(s.visit_ids(), start=1):
            week = s.week_of(n)
            h = next((d for d in free if week is None or p.hz.label(d)[0] == week), None)
            if h is not None and j is not None:
                free.remove(h)
                vid_at[(i, h)] = vid
                w, d = p.hz.label(h)
                visits.append(Visit(vid, s.kind, s.site_id, p.teachers[j].id, w, d,
                                    s.minutes, "served", ""))
            else:
                visits.append(Visit(vid, s.kind, s.site_id, "", None, "", s.minutes,
                                    "unserved", p.why.get(i) or
                                    "teacher hours exhausted: no skilled teacher has room "
                                    "on an allowed day"))
    stops: list[Stop] = []
    for (j, h), r in sorted(plan.routes.items()):
        stops += _day_stops(p, j, h, r, vid_at)
    return visits, stops


def _day_stops(p: _Problem, j: int, h: int, r: DayRoute,
               vid_at: dict[tuple[int, int], str]) -> list[Stop]:
    """A teacher-day as stops: leaving the base, visits and lunch, coming back."""
    t = p.teachers[j]
    week, day = p.hz.label(h)
    out = [Stop(t.id, week, day, 0, t.base, "base", "", r.depart, r.depart, r.depart, 0.0)]
    here = t.base
    for e in r.events:
        if e.visit < 0:
            out.append(Stop(t.id, week, day, len(out), here, "lunch", "", e.arrival,
                            e.start, e.end, 0.0))
            continue
        s = p.streams[e.visit]
        out.append(Stop(t.id, week, day, len(out), s.site_id, s.kind, vid_at[(e.visit, h)],
                        e.arrival, e.start, e.end, round(e.travel, 2)))
        here = s.site_id
    out.append(Stop(t.id, week, day, len(out), t.base, "base", "", r.back, r.back, r.back,
                    round(r.back_travel, 2)))
    return out
