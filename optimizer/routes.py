"""Weekly routes of itinerant and home-delivery teachers: a periodic VRPTW, decomposed.

The weekly problem (k visits of a place on different days, the same teacher all week,
skills, windows, lunch, hours and a working-time limit) is modelled by no routing engine
as a whole, and its teacher-days are short (a few visits of 45 minutes or more). So:

The engine-neutral weekly solver is optimizer/week.py; this module builds its problem
from a scenario and turns its plan into the stage's result.

1. Patterns (CP-SAT): each stream of visits (models/visits.py) gets one skilled teacher
   and its days; most visits first, then the least estimated travel (each visit reached
   from the teacher's base), within each teacher-day's working time less travel.
   Above `PATTERN_VARIABLES_MAX` variables CP-SAT is skipped (measured: it found no plan
   in time); streams it leaves out are placed first-fit, scarcest first, each with the
   nearest skilled teacher whose days take it.
2. Routes (exact): each teacher-day is routed by a labelling programme over its few
   visits and the lunch break (optimizer/dayroute.py), proven least-travel; a day that
   does not fit sheds its visit with the least slack, which is tried elsewhere.
3. Improvement (local search): a stream's visits move to other days of its teacher, or
   all of them to another skilled teacher, when every day touched is re-routed exactly
   and the plan gets better (more visits, then travel plus the balance weight times the
   longest teacher-day); a visit that fits nowhere may take a day whose other visit moves
   to another of its days (an ejection); from the local optimum, rounds of ruin and
   recreate. Deterministic for a seed: CP-SAT runs on one worker with a deterministic
   time limit and the search on a work budget proportional to the time limit (measured
   to end before it); only the wall time limit can end it sooner (the proof says so).
4. Bound (optimizer/weekbound.py): a CP-SAT relaxation per group of teachers bounds the
   visits any plan can serve; below the visits required, it proves full coverage
   impossible, and the unserved visits of a short group cite it.

Why not a VRPTW engine for the days: PyVRP (the strongest engine measured on Solomon,
see benchmarks/README.md) solves routing with time windows well but knows no "same
teacher, different days" and no lunch anywhere on the road; a teacher-day of at most
ten visits is solved to proven optimality faster by the exact programme than an engine
is set up. Unserved visits are named with their reason: no skilled teacher, no skilled
teacher on an allowed day, the window unreachable from any base, or hours exhausted.
"""

from __future__ import annotations

import time

import numpy as np

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import Role
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import StageSummary, Status
from lrcplan.models.policy import parse_hhmm
from lrcplan.models.routes import RoutesOptions, RoutesResult, Stop, Visit
from lrcplan.models.scenario import Scenario
from lrcplan.models.visits import ITINERANT, Horizon, Stream, required_streams
from lrcplan.optimizer.dayroute import DayRoute, DayRules, DayVisit, route_day
from lrcplan.optimizer.week import WeekPlan, WeekProblem, solve_week
from lrcplan.optimizer.weekbound import CoverageBound, GroupBound, coverage_bound

# Share of the time limit for the coverage bound (optimizer/weekbound.py), solved before
# the plan. Measured on xiaoshan (seed 1): 2 deterministic units (about 3 s) of its default
# 20 s prove at most 1,036 of 1,054 visits can be served, 4 units 1,015.
BOUND_SHARE = 0.1


def _role(kind: str) -> Role:
    return Role.ITINERANT if kind == ITINERANT else Role.HOME_DELIVERY


def _problem(sc: Scenario, hz: Horizon, streams: list[Stream]) -> WeekProblem:
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
    relief: dict[int, int] = {}
    all_streams = list(streams)
    if not pol.home_same_teacher:  # soft continuity: a relief stream per home student
        for i, s in enumerate(streams):
            if s.kind != ITINERANT and len(able[i]) > 1:
                r = len(all_streams)
                all_streams.append(s)
                site_node.append(site_node[i])
                able[r] = list(able[i])
                days_of.update({(r, j): days_of[(i, j)] for j in able[i]})
                relief[r] = i
    return WeekProblem(hz, all_streams, teachers, travel, base_node, site_node, able,
                       days_of, rules, why, pol.route_balance_weight, relief,
                       pol.home_teacher_change_minutes)


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
    cover = coverage_bound(p, BOUND_SHARE * opt.time_limit_s, opt.seed)
    # Budgets from the time limit alone (the same plan on any machine), the deadline as
    # the safety net.
    # The bound's deterministic units took up to twice their number in seconds: the week
    # gets the rest of the limit (its share reserved, not the units spent, which a slow
    # machine's wall cap could change).
    plan, planned, cut = solve_week(p, (1 - 2 * BOUND_SHARE) * opt.time_limit_s, opt.seed,
                                    deadline)
    legs = _legs_between(p)
    visits, stops = _rows(p, plan, legs, cover)
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
             + ("; the time limit ended the improvement" if cut else "")
             + "; " + _coverage_proof(p, cover, served))
    bound = _travel_bound(p, plan, legs)
    if served == required and round(travel, 1) <= bound:
        status = Status.OPTIMAL  # every visit served, and travel meets its lower bound
        proof += "; proven: the travel equals its lower bound"
    summary = StageSummary("routes", status, time.perf_counter() - t0,
                           objective=round(travel, 1), bound=bound,
                           engine="CP-SAT patterns + exact teacher-days + local search",
                           proof=proof)
    return RoutesResult(summary, tuple(visits), tuple(stops), hz.weeks, opt)


def _coverage_proof(p: WeekProblem, cover: CoverageBound, served: int) -> str:
    """What the coverage bound proves about this plan's coverage."""
    if cover.visits >= cover.required:
        return "no bound below full coverage was found"
    groups = "; ".join(_group_text(p, g) for g in cover.groups)
    head = (f"at most {cover.visits} of {cover.required} visits can be served by any plan"
            + (f" ({groups})" if groups else ""))
    return head + ("; this plan's coverage is proven the most possible"
                   if served >= cover.visits else "")


def _group_text(p: WeekProblem, g: GroupBound) -> str:
    ids = ", ".join(p.teachers[j].id for j in g.teachers)
    who = "teacher" if len(g.teachers) == 1 else "teachers"
    return (f"{ids} (the only {who} able to serve {g.visits} visits, this one among them) "
            f"can serve at most {g.at_most} of them")


def _legs_between(p: WeekProblem) -> np.ndarray:
    """Travel minutes between distinct places (a place to itself: never a leg)."""
    t = p.travel.copy()
    np.fill_diagonal(t, np.inf)
    return t


def _travel_bound(p: WeekProblem, plan: WeekPlan, legs: np.ndarray) -> float:
    """A lower bound on the travel of the visits served: each is reached by its shortest
    leg from another place, and each teacher-day returns by its shortest leg home."""
    if not plan.routes:
        return 0.0
    enter = legs.min(axis=0)
    total = sum(float(enter[p.site_node[i]]) * len(days) for i, (_, days) in
                plan.assign.items())
    for (j, _), members in plan.members.items():
        total += min(float(legs[p.site_node[i], p.base_node[j]]) for i in members)
    return round(total, 1)


def hours_reason(p: WeekProblem, i: int, entry: np.ndarray) -> str:
    """Why stream i's visit found no room, with a proof where the numbers give one.

    The teachers able to serve it can work at most their days times their daily limit;
    the visits only they can serve need at least their minutes plus, each, the shortest
    way into the place (`entry`, by node). When the need exceeds the time, not every
    such visit can be served, whoever plans the week.
    """
    group = set(p.able[i])
    if not group:
        return "teacher hours exhausted"
    have = sum(len([d for d in p.hz.days if d in p.teachers[j].days]) * p.hz.weeks
               * min(p.rules[j].max_minutes, p.rules[j].end - p.rules[j].start)
               for j in group)
    need = sum(s.total * (s.minutes + float(entry[p.site_node[k]]))
               for k, s in enumerate(p.streams)
               if p.able[k] and set(p.able[k]) <= group and k not in p.relief)
    if need > have:
        ids = ", ".join(sorted(p.teachers[j].id for j in group))
        return (f"teacher hours exhausted: {ids} (the only teachers able to serve it) "
                f"work at most {have:,} min in the horizon; the visits only they can serve "
                f"need at least {need:,.0f} min")
    return "teacher hours exhausted: no skilled teacher has room on an allowed day"


def _rows(p: WeekProblem, plan: WeekPlan, legs: np.ndarray, cover: CoverageBound
          ) -> tuple[list[Visit], list[Stop]]:
    """visits.csv and routes.csv rows of a plan."""
    entry = legs.min(axis=0)
    short = {i: g for g in cover.groups for i in g.streams}
    reasons: dict[int, str] = {}  # one reason per stream, whichever of its visits asks
    visits: list[Visit] = []
    vid_at: dict[tuple[int, int], str] = {}  # (stream, day) -> the visit served there
    for i, s in enumerate(p.streams):
        if i in p.relief:
            continue  # its visits are its main stream's, numbered with them
        # (day, stream, teacher) of the visits made: the stream's, and its relief's.
        made = sorted((h, k, plan.assign[k][0]) for k in (i, p.linked(i))
                      if k is not None and k in plan.assign for h in plan.assign[k][1])
        for n, vid in enumerate(s.visit_ids(), start=1):
            week = s.week_of(n)
            got = next((m for m in made if week is None or p.hz.label(m[0])[0] == week), None)
            if got is not None:
                made.remove(got)
                h, k, j = got
                vid_at[(k, h)] = vid
                w, d = p.hz.label(h)
                visits.append(Visit(vid, s.kind, s.site_id, p.teachers[j].id, w, d,
                                    s.minutes, "served", ""))
            else:
                if i not in reasons:
                    reasons[i] = p.why.get(i) or (
                        f"teacher hours exhausted: {_group_text(p, short[i])}"
                        if i in short else hours_reason(p, i, entry))
                visits.append(Visit(vid, s.kind, s.site_id, "", None, "", s.minutes,
                                    "unserved", reasons[i]))
    stops: list[Stop] = []
    for (j, h), r in sorted(plan.routes.items()):
        stops += _day_stops(p, j, h, r, vid_at)
    return visits, stops


def _day_stops(p: WeekProblem, j: int, h: int, r: DayRoute,
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
