"""Checker rules of the routes stage: every visit and every stop re-derived and re-timed.

The required visits are re-derived from the plan's placement and enrolment by the rules
(models/visits.py); places, skills, days and windows from the scenario; each leg's travel
from the scenario's travel model. Nothing the solver computed is used.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import Role, Teacher
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import Plan, Violation
from lrcplan.models.policy import parse_hhmm
from lrcplan.models.routes import RoutesResult, Stop, Visit, hhmm
from lrcplan.models.scenario import Scenario
from lrcplan.models.visits import HOME, ITINERANT, Horizon, Stream, required_streams
from lrcplan.optimizer.check import per_plan

TRAVEL_TOLERANCE_MIN = 0.006  # minutes are written to two decimals


def _v(rule: str, subject: str, message: str) -> Violation:
    return Violation(rule, subject, message)


@per_plan  # every rule below starts from the required visits
def _required(sc: Scenario, plan: Plan) -> tuple[Horizon, dict[str, Stream], dict[str, int]]:
    """The horizon, each required visit's stream, and each visit's number in it."""
    seats = [(s.student_id, s.school_id) for s in plan.get(EnrolmentResult).lrc_seats]
    hz, streams = required_streams(sc, plan.get(PlacementResult).tier_of(), seats)
    stream_of, number = {}, {}
    for s in streams:
        for n, vid in enumerate(s.visit_ids(), start=1):
            stream_of[vid], number[vid] = s, n
    return hz, stream_of, number


def check_visit_rows(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: visits.csv lists each required visit once, as the rules define it."""
    result = plan.get(RoutesResult)
    hz, stream_of, _ = _required(sc, plan)
    if result.weeks != hz.weeks:
        yield _v("visit", "plan.json", f"a {result.weeks}-week horizon, the rules give "
                                       f"{hz.weeks}")
    seen = Counter(v.visit_id for v in result.visits)
    for vid, n in sorted(seen.items()):
        if vid not in stream_of:
            yield _v("visit", vid, "not a visit the rules require")
        elif n > 1:
            yield _v("visit", vid, f"listed {n} times")
    for vid in sorted(set(stream_of) - set(seen)):
        yield _v("visit", vid, "required but missing from visits.csv")
    for v in result.visits:
        s = stream_of.get(v.visit_id)
        if s is None:
            continue
        for name, want in (("kind", s.kind), ("site_id", s.site_id), ("minutes", s.minutes)):
            if getattr(v, name) != want:
                yield _v("visit", v.visit_id, f"{name} is {getattr(v, name)}, the rules "
                                              f"give {want}")
        if v.status == "unserved":
            if v.teacher_id or v.day or v.week is not None:
                yield _v("visit", v.visit_id, "an unserved visit has a teacher or a day")
            if not v.reason:
                yield _v("visit", v.visit_id, "unserved without a reason")
            elif s.blocked and v.reason != s.blocked:
                yield _v("visit", v.visit_id, f"reason {v.reason!r}, the data give "
                                              f"{s.blocked!r}")
        elif v.reason:
            yield _v("visit", v.visit_id, "a served visit carries a reason")


def _teacher(sc: Scenario, teacher_id: str) -> Teacher | None:
    return next((t for t in sc.teachers if t.id == teacher_id), None)


def check_visit_assignment(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a served visit has a skilled teacher of the right role, on an allowed day of
    the right week that the teacher works."""
    hz, stream_of, number = _required(sc, plan)
    for v in plan.get(RoutesResult).visits:
        s = stream_of.get(v.visit_id)
        if s is None or v.status != "served":
            continue
        t = _teacher(sc, v.teacher_id)
        role = Role.ITINERANT if s.kind == ITINERANT else Role.HOME_DELIVERY
        if t is None or t.role is not role:
            yield _v("skill", v.visit_id, f"{v.teacher_id!r} is not a {role.value} teacher")
            continue
        if not s.skills <= t.skills:
            gap = "/".join(sorted(c.value for c in s.skills - t.skills))
            yield _v("skill", v.visit_id, f"{t.id} lacks the skill {gap}")
        try:
            h = hz.index(v.week or 0, v.day)
        except ValueError as exc:
            yield _v("day", v.visit_id, str(exc))
            continue
        want = s.week_of(number[v.visit_id])
        if want is not None and v.week != want:
            yield _v("day", v.visit_id, f"in week {v.week}, the visit belongs to week {want}")
        if h not in s.days:
            yield _v("day", v.visit_id, f"{v.day} is not a day the family can receive visits")
        if v.day not in t.days:
            yield _v("day", v.visit_id, f"{t.id} does not work on {v.day}")


def check_continuity(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a place's visits are on different days, by one teacher (home visits: unless
    the policy lets them be split)."""
    _, stream_of, _ = _required(sc, plan)
    teachers: dict[str, set[str]] = defaultdict(set)
    days: dict[str, Counter[tuple[int | None, str]]] = defaultdict(Counter)
    for v in plan.get(RoutesResult).visits:
        s = stream_of.get(v.visit_id)
        if s is not None and v.status == "served":
            teachers[s.key].add(v.teacher_id)
            days[s.key][(v.week, v.day)] += 1
    for key in sorted(teachers):
        split_ok = key.startswith("H:") and not sc.policy.home_same_teacher
        if len(teachers[key]) > 1 and not split_ok:
            yield _v("continuity", key, f"visited by {', '.join(sorted(teachers[key]))}")
        for (week, day), n in sorted(days[key].items(), key=str):
            if n > 1:
                yield _v("continuity", key, f"{n} visits on week {week} {day}")


def _place(sc: Scenario, site_id: str) -> tuple[float, float] | None:
    school = sc.school_by_id.get(site_id)
    if school is not None:
        return school.lon, school.lat
    st = sc.student_by_id.get(site_id)
    return None if st is None else (st.lon, st.lat)


def check_route_links(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: each served visit is a stop of its teacher's route that day, once, and each
    visit stop is a served visit."""
    result = plan.get(RoutesResult)
    served = {v.visit_id: v for v in result.visits if v.status == "served"}
    stops = Counter(s.visit_id for s in result.stops if s.visit_id)
    for vid in sorted(set(served) | set(stops)):
        if stops[vid] != 1 or vid not in served:
            yield _v("route", vid, f"{stops[vid]} stop(s) for "
                                   f"{'a served' if vid in served else 'no served'} visit")
    for s in result.stops:
        v = served.get(s.visit_id)
        if s.kind in (ITINERANT, HOME) and v is not None and (
                (s.teacher_id, s.week, s.day, s.site_id, s.kind)
                != (v.teacher_id, v.week, v.day, v.site_id, v.kind)):
            yield _v("route", s.visit_id, f"the stop ({s.teacher_id} week {s.week} {s.day} "
                                          f"at {s.site_id}) is not the visit's")
        if s.kind in ("base", "lunch") and s.visit_id:
            yield _v("route", f"{s.teacher_id} week {s.week} {s.day}",
                     f"a {s.kind} stop carries visit {s.visit_id}")


def _day_problems(sc: Scenario, t: Teacher, stops: tuple[Stop, ...],
                  visit_of: dict[str, Visit], window_of: dict[str, tuple[int, int]],
                  model: dict[int, float]) -> list[str]:
    """What breaks the rules in one teacher-day's stops."""
    out: list[str] = []
    if [s.seq for s in stops] != list(range(len(stops))):
        out.append("stops are not numbered 0, 1, 2, ... in order")
    if len(stops) < 3 or stops[0].kind != "base" or stops[-1].kind != "base" or any(
            s.kind == "base" for s in stops[1:-1]):
        return [*out, "a route leaves the base first and comes back last, once"]
    if stops[0].site_id != t.base or stops[-1].site_id != t.base:
        out.append(f"the route does not start and end at {t.id}'s base {t.base}")
    lo, hi = parse_hhmm(t.start), parse_hhmm(t.end)
    depart, back = stops[0].end, stops[-1].arrival
    if depart < lo or back > hi:
        out.append(f"works {hhmm(depart)}-{hhmm(back)}, outside the teacher's hours "
                   f"{t.start}-{t.end}")
    if back - depart > t.max_minutes_per_day:
        out.append(f"{back - depart} working minutes exceed {t.max_minutes_per_day}")
    pol = sc.policy
    if not stops[0].arrival == stops[0].start == stops[0].end:
        out.append("leaving the base has one time: arrival, start and end")
    lunch_lo = parse_hhmm(pol.lunch_start)
    for prev, s in zip(stops, stops[1:], strict=False):
        # The schedule lrcplan writes: arrive as soon as the way allows (each leg rounded
        # up to the minute), start as soon as the window or the lunch hour opens.
        way = 0.0 if s.kind == "lunch" else model[s.seq]
        arrive = prev.end + math.ceil(way - 1e-9)
        # The leg rounded up to the minute, the model's minutes taken within a millionth
        # either way: two float paths to one distance may straddle a whole minute.
        if not math.ceil(way - 1e-6) <= s.arrival - prev.end <= math.ceil(way + 1e-6):
            out.append(f"stop {s.seq}: arrives {hhmm(s.arrival)}, leaving "
                       f"{hhmm(prev.end)} it arrives {hhmm(arrive)}")
        w = window_of.get(s.visit_id)
        opens = (w[0] if w is not None and s.kind in (ITINERANT, HOME)
                 else lunch_lo if s.kind == "lunch" else s.arrival)
        if s.start != max(s.arrival, opens) or s.end < s.start:
            out.append(f"stop {s.seq}: starts {hhmm(s.start)}, it can start at "
                       f"{hhmm(max(s.arrival, opens))}")
        if s.kind == "base" and s.end != s.start:
            out.append(f"stop {s.seq}: coming back has one time")
        v, w = visit_of.get(s.visit_id), window_of.get(s.visit_id)
        if s.kind in (ITINERANT, HOME) and v is not None and w is not None:
            if s.end - s.start != v.minutes:
                out.append(f"stop {s.seq}: lasts {s.end - s.start} min, the visit "
                           f"{v.minutes}")
            if s.start < w[0] or s.end > w[1]:
                out.append(f"stop {s.seq}: outside the window {hhmm(w[0])}-{hhmm(w[1])}")
        if s.kind == "lunch" and s.site_id != prev.site_id:
            out.append(f"stop {s.seq}: lunch at {s.site_id}, the teacher is at "
                       f"{prev.site_id}")
    lunch_lo, lunch_hi = parse_hhmm(pol.lunch_start), parse_hhmm(pol.lunch_end)
    free = max(0, min(depart, lunch_hi) - lunch_lo) + max(0, lunch_hi - max(back, lunch_lo))
    breaks = [s for s in stops if s.kind == "lunch"]
    if len(breaks) > 1:
        out.append(f"{len(breaks)} lunch stops")
    for b in breaks:
        if b.end - b.start != pol.lunch_minutes or b.start < lunch_lo or b.end > lunch_hi:
            out.append(f"lunch {hhmm(b.start)}-{hhmm(b.end)} is not {pol.lunch_minutes} min "
                       f"inside {pol.lunch_start}-{pol.lunch_end}")
    if not breaks and free < pol.lunch_minutes:
        out.append(f"no lunch: only {free} free minutes in {pol.lunch_start}-{pol.lunch_end}")
    return out


def check_route_times(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: each teacher-day starts and ends at the base inside the teacher's hours and
    working-time limit, every leg takes its travel time, every visit its duration inside
    its window, and the lunch break is taken."""
    result = plan.get(RoutesResult)
    _, stream_of, _ = _required(sc, plan)
    visit_of = {v.visit_id: v for v in result.visits}
    window_of = {vid: s.window for vid, s in stream_of.items()}
    minutes = _leg_minutes(sc, result)
    for (tid, week, day), stops in sorted(result.days.items(), key=str):
        t = _teacher(sc, tid)
        subject = f"{tid} week {week} {day}"
        if t is None:
            yield _v("route", subject, "not a teacher of the scenario")
            continue
        if day not in t.days:
            yield _v("route", subject, f"{tid} does not work on {day}")
        model = {s.seq: minutes.get(id(s), s.travel_minutes) for s in stops}
        for problem in _day_problems(sc, t, stops, visit_of, window_of, model):
            yield _v("route", subject, problem)


def _legs(sc: Scenario, result: RoutesResult) -> tuple[list[tuple[Stop, tuple[float, float],
                                                                   tuple[float, float]]],
                                                        list[Stop]]:
    """Each stop with the places it is reached from and at; stops at unknown places."""
    legs, unknown = [], []
    for stops in result.days.values():
        for prev, s in zip(stops, stops[1:], strict=False):
            a, b = _place(sc, prev.site_id), _place(sc, s.site_id)
            if a is None or b is None:
                unknown.append(s)
            else:
                legs.append((s, a, b))
    return legs, unknown


def _leg_minutes(sc: Scenario, result: RoutesResult) -> dict[int, float]:
    """The travel model's minutes to each stop (by the stop's identity)."""
    legs, _ = _legs(sc, result)
    if not legs:
        return {}
    _, dur = sc.travel.pairs(np.array([a for _, a, _ in legs]),
                             np.array([b for _, _, b in legs]))
    return {id(s): float(d) for (s, _, _), d in zip(legs, dur / 60.0, strict=True)}


def check_route_travel(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: each stop's travel_minutes is the travel model's, from the stop before."""
    result = plan.get(RoutesResult)
    legs, unknown = _legs(sc, result)
    for s in unknown:
        yield _v("travel", f"{s.teacher_id} week {s.week} {s.day} stop {s.seq}",
                 f"unknown place on the way to {s.site_id!r}")
    minutes = _leg_minutes(sc, result)
    for s, _, _ in legs:
        d = minutes[id(s)]
        if abs(s.travel_minutes - d) > TRAVEL_TOLERANCE_MIN:
            yield _v("travel", f"{s.teacher_id} week {s.week} {s.day} stop {s.seq}",
                     f"plan says {s.travel_minutes} min, the travel model {d:.2f}")


RULES = (check_visit_rows, check_visit_assignment, check_continuity, check_route_links,
         check_route_times, check_route_travel)
