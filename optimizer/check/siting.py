"""Checker rules of the siting stage: moves, seats, the threshold rule, the budget, and
every cell of rooms.csv and room_towns.csv re-derived from the scenario and the plan.

The students' schools after siting are the enrolment plan's seats with siting_moves.csv
applied; travel comes from the scenario's travel model; rooms from schools.csv plus the
rows the plan builds. No solver code is called.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import SchoolKind
from lrcplan.models.plan import Plan, Violation
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
from lrcplan.models.siting import SitingResult
from lrcplan.optimizer.check import per_plan

TRAVEL_TOLERANCE_MIN = 0.05  # minutes are written to the hundredth
OBJECTIVE_TOLERANCE = 0.05


def _v(rule: str, subject: str, message: str) -> Violation:
    return Violation(rule, subject, message)


@dataclass(frozen=True)
class Derived:
    """What every siting rule starts from: schools after the moves, rooms, who uses which."""

    school_of: dict[str, str]  # LRC student -> school after siting
    loads: Counter[str]
    rooms: frozenset[str]  # room sites after the plan: existing, centres, built
    built: frozenset[str]
    uses: dict[str, str | None]  # school -> the room site its students use


def _planned(r: SitingResult) -> bool:
    """Whether the stage made a plan (not infeasible, not stopped by its time limit)."""
    return r.summary.status.value not in ("infeasible", "timed_out")


@per_plan
def derive(sc: Scenario, plan: Plan) -> Derived:
    """Schools after siting_moves.csv, room sites after rooms.csv, and who uses which."""
    r = plan.get(SitingResult)
    school_of = {s.student_id: s.school_id for s in plan.get(EnrolmentResult).lrc_seats}
    for m in r.moves:
        if m.student_id in school_of:
            school_of[m.student_id] = m.to_school
    loads = Counter(school_of.values())
    built = frozenset(x.school_id for x in r.rooms if x.status in ("required", "new"))
    rooms = frozenset(existing_rooms(sc) | centres(sc) | built)
    minutes = reach_minutes(sc.policy, r.options.mode, r.options.cover_minutes)
    near = reach(sc, [s for s in loads if s in sc.school_by_id],
                 sorted(x for x in rooms if x in sc.school_by_id), minutes)
    uses = {s: near.shares(s, rooms) for s in sorted(loads)}
    return Derived(school_of, loads, rooms, built, uses)


def check_moves(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a move takes a seated, non-incumbent LRC student of the budget mode from the
    enrolment plan's school to another regular school of their grade, within the travel
    limit, once, and its travel is the travel model's."""
    r = plan.get(SitingResult)
    seats = {s.student_id: s for s in plan.get(EnrolmentResult).lrc_seats}
    if r.moves and r.options.mode != "budget":
        yield _v("siting-move", r.options.mode, "only the budget mode moves students")
    seen: Counter[str] = Counter(m.student_id for m in r.moves)
    limit = sc.policy.max_home_school_minutes
    for m in r.moves:
        seat = seats.get(m.student_id)
        school = sc.school_by_id.get(m.to_school)
        if seen[m.student_id] > 1:
            yield _v("siting-move", m.student_id, f"moved {seen[m.student_id]} times")
        if seat is None or school is None:
            yield _v("siting-move", m.student_id, "not a seated LRC student, or an unknown "
                                                  f"school {m.to_school!r}")
            continue
        if seat.incumbent:
            yield _v("siting-move", m.student_id, "an incumbent keeps their seat")
        if m.from_school != seat.school_id or m.to_school == seat.school_id:
            yield _v("siting-move", m.student_id, f"from {m.from_school} to {m.to_school}, "
                                                  f"but enrolled at {seat.school_id}")
        if m.grade != seat.grade:
            yield _v("siting-move", m.student_id, f"grade {m.grade}, seated in {seat.grade}")
        if school.kind is not SchoolKind.REGULAR or \
                (m.to_school, seat.grade) not in sc.classes_by_school_grade:
            yield _v("siting-move", m.student_id, f"{m.to_school} has no class of grade "
                                                  f"{seat.grade}")
            continue
        st = sc.student_by_id[m.student_id]
        _, dur = sc.travel.pairs(np.array([[st.lon, st.lat]]),
                                 np.array([[school.lon, school.lat]]))
        minutes = float(dur[0]) / 60.0
        if minutes > limit + 1e-9:
            yield _v("siting-travel", m.student_id, f"{minutes:.1f} min to {m.to_school} "
                                                    f"(limit {limit:g})")
        if abs(minutes - m.travel_minutes) > TRAVEL_TOLERANCE_MIN:
            yield _v("siting-travel", m.student_id, f"travel_minutes {m.travel_minutes} but "
                                                    f"the travel model gives {minutes:.1f}")


def check_seats(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: after the moves every class holds at most max_lrc_per_class LRC students, and
    a moved student's class exists in the new school's grade."""
    moved = {m.student_id: m for m in plan.get(SitingResult).moves}
    per: Counter[tuple[str, int, int | None]] = Counter()
    for s in plan.get(EnrolmentResult).lrc_seats:
        m = moved.get(s.student_id)
        if m is None:
            per[(s.school_id, s.grade, s.class_index)] += 1
            continue
        if m.to_class not in {c.index for c in
                              sc.classes_by_school_grade.get((m.to_school, s.grade), ())}:
            yield _v("siting-seats", m.student_id, f"{m.to_school} has no class {m.to_class} "
                                                   f"in grade {s.grade}")
        per[(m.to_school, s.grade, m.to_class)] += 1
    cap = sc.policy.max_lrc_per_class
    for (school, grade, idx), n in sorted(per.items(), key=str):
        if n > cap:
            yield _v("siting-seats", f"{school}-{grade}-{idx}", f"{n} LRC students after "
                                                                f"the moves (max {cap})")


def check_classes(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a moved student takes the class of the grade with the fewest LRC students
    (one per class preferred), as models/rooms.py `mover_classes` states the rule."""
    r = plan.get(SitingResult)
    if len({m.student_id for m in r.moves}) != len(r.moves):
        return  # check_moves names the duplicate
    seats = plan.get(EnrolmentResult).lrc_seats
    want = mover_classes(sc, [(s.student_id, s.school_id, s.grade, s.class_index)
                              for s in seats], {m.student_id: m.to_school for m in r.moves
                                                if m.student_id in {s.student_id for s in seats}})
    for m in r.moves:
        if m.student_id in want and want[m.student_id] != m.to_class:
            yield _v("siting-class", m.student_id, f"class {m.to_class}, but class "
                                                   f"{want[m.student_id]} of {m.to_school} has "
                                                   "fewer LRC students")


def check_threshold(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: every school with resource_room_threshold or more LRC students after the plan
    has a room, existing or built by it (where the stage made a plan)."""
    if not _planned(plan.get(SitingResult)):
        return
    d = derive(sc, plan)
    t = sc.policy.resource_room_threshold
    for school, n in sorted(d.loads.items()):
        if n >= t and school not in d.rooms:
            yield _v("room-threshold", school, f"{n} LRC students and no resource room")


def check_built(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: rooms are built only at regular schools with classes and no room, at the
    policy's cost each, within the budget (rooms and yuan)."""
    r = plan.get(SitingResult)
    cand = set(room_candidates(sc))
    cost = room_cost_yuan(sc.policy)
    built = [x for x in r.rooms if x.status in ("required", "new")]
    for x in built:
        if x.school_id not in cand:
            yield _v("room-built", x.school_id, "not a regular school without a room")
        if x.cost_yuan != cost:
            yield _v("room-cost", x.school_id, f"cost {x.cost_yuan} yuan, a room costs {cost}")
    for x in r.rooms:
        if x.status not in ("required", "new") and x.cost_yuan != 0:
            yield _v("room-cost", x.school_id, f"{x.status} room costs {x.cost_yuan} yuan")
    o = r.options
    if o.mode != "required":
        allowed = r.budget_rooms
        if o.rooms >= 0 and allowed != o.rooms or o.rooms < 0 and o.budget_yuan >= 0 and \
                allowed != rooms_for_budget(sc.policy, o.budget_yuan):
            yield _v("room-budget", o.mode, f"budget_rooms {allowed} is not what the "
                                            "options allow")
        if allowed >= 0 and len(built) > allowed:
            yield _v("room-budget", o.mode, f"{len(built)} rooms built, budget {allowed}")
        if o.budget_yuan >= 0 and len(built) * cost > o.budget_yuan + 1e-6:
            yield _v("room-budget", o.mode, f"{len(built) * cost:,} yuan spent, budget "
                                            f"{o.budget_yuan:,.0f}")


def check_rooms_table(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: rooms.csv lists every room site once -- existing, centre, required (a built
    room at a school reaching the threshold) or new -- with its LRC students and the
    students using it, recounted."""
    r, d = plan.get(SitingResult), derive(sc, plan)
    rows = Counter(x.school_id for x in r.rooms)
    for s, n in rows.items():
        if n > 1:
            yield _v("rooms-table", s, f"listed {n} times")
    want = {s for s in d.rooms if s in sc.school_by_id}
    for s in sorted(want - set(rows)):
        yield _v("rooms-table", s, "a room site missing from rooms.csv")
    users: Counter[str] = Counter()
    for school, room in d.uses.items():
        if room is not None:
            users[room] += d.loads[school]
    have, cent, t = existing_rooms(sc), centres(sc), sc.policy.resource_room_threshold
    for x in r.rooms:
        school = sc.school_by_id.get(x.school_id)
        if school is None:
            yield _v("rooms-table", x.school_id, "unknown school")
            continue
        status = ("centre" if x.school_id in cent else "existing" if x.school_id in have
                  else "required" if d.loads.get(x.school_id, 0) >= t else "new")
        got = (x.town, x.status, x.lrc_students, x.students_served)
        exp = (school.town, status, d.loads.get(x.school_id, 0), users.get(x.school_id, 0))
        if got != exp:
            yield _v("rooms-table", x.school_id, f"row says (town, status, lrc, served) "
                                                 f"{got}, the plan gives {exp}")


def check_towns(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: room_towns.csv gives every town once with its rooms, LRC students, students
    served and coverage, recounted."""
    r, d = plan.get(SitingResult), derive(sc, plan)
    lrc: dict[str, int] = defaultdict(int)
    served: dict[str, int] = defaultdict(int)
    for s, n in d.loads.items():
        town = sc.school_by_id[s].town if s in sc.school_by_id else ""
        lrc[town] += n
        if d.uses.get(s) is not None:
            served[town] += n
    sites = Counter(sc.school_by_id[s].town for s in d.rooms if s in sc.school_by_id)
    want = {t: (sites.get(t, 0), lrc.get(t, 0), served.get(t, 0), ok)
            for t, ok in towns_covered(sc, d.rooms).items()}
    got = {}
    for x in r.towns:
        if x.town in got:
            yield _v("towns-table", x.town, "listed twice")
        got[x.town] = (x.rooms, x.lrc_students, x.served, x.covered)
    for town in sorted(set(want) | set(got)):
        if want.get(town) != got.get(town):
            yield _v("towns-table", town, f"row {got.get(town)}, the plan gives "
                                          f"(rooms, lrc, served, covered) {want.get(town)}")


def check_objective(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: the stage's objective is what its rooms give: cost (required), students served
    (budget), covered (coverage) or student-minutes to the nearest room (p-median); its
    bound never on the wrong side of it."""
    r, d = plan.get(SitingResult), derive(sc, plan)
    s = r.summary
    if s.objective is None or not _planned(r):
        return
    mode = r.options.mode
    if mode == "required":
        value = float(len(d.built) * room_cost_yuan(sc.policy))
    elif mode in ("budget", "coverage"):
        value = float(sum(n for sch, n in d.loads.items() if d.uses.get(sch) is not None))
    else:
        value = _pmedian_minutes(sc, d)
    if abs(value - s.objective) > OBJECTIVE_TOLERANCE + 1e-6 * abs(value):
        yield _v("siting-objective", mode, f"objective {s.objective} but the plan gives "
                                           f"{value:.1f}")
    if s.bound is not None:
        wrong = s.bound < value - 1e-6 if mode in ("budget", "coverage") else \
            s.bound > value + OBJECTIVE_TOLERANCE
        if wrong:
            yield _v("siting-objective", mode, f"bound {s.bound} on the wrong side of "
                                               f"{value:.1f}")


def check_curve(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: the budget curve holds one point per budget 0..K in order (none in required
    mode or when not asked), an infeasible point carries no value, and the point at K
    agrees with the plan itself (feasible when the plan is; budget and coverage: the same
    students served when both are proven)."""
    r = plan.get(SitingResult)
    want = list(range(r.budget_rooms + 1)) if r.options.curve and \
        r.options.mode != "required" and r.budget_rooms >= 0 else []
    got = [p.rooms for p in r.curve]
    if got != want:
        yield _v("siting-curve", r.options.mode, f"points for budgets {got[:12]}, the plan "
                                                 f"asks for {want[:12]}")
        return
    for p in r.curve:
        if not p.feasible and (p.value != 0 or p.towns_covered != 0):
            yield _v("siting-curve", str(p.rooms), "an infeasible point with a value")
    if not r.curve:
        return
    last, s = r.curve[-1], r.summary
    feasible = _planned(r)
    if last.feasible != feasible:
        yield _v("siting-curve", str(last.rooms), f"feasible {last.feasible}, the plan "
                                                  f"is {s.status.value}")
    elif feasible and r.options.mode in ("budget", "coverage") and last.proven and \
            s.status.value == "optimal" and s.objective is not None and \
            abs(last.value - s.objective) > OBJECTIVE_TOLERANCE:
        yield _v("siting-curve", str(last.rooms), f"value {last.value} at the plan's budget, "
                                                  f"the plan serves {s.objective}")
    if feasible and last.feasible:
        covered = sum(t.covered for t in r.towns)
        if last.towns_covered != covered:
            yield _v("siting-curve", str(last.rooms), f"{last.towns_covered} towns covered at "
                                                      f"the plan's budget, the plan {covered}")


def _pmedian_minutes(sc: Scenario, d: Derived) -> float:
    """LRC students' total minutes from their school to the nearest room site."""
    schools = sorted(s for s, n in d.loads.items() if n > 0)
    sites = sorted(x for x in d.rooms if x in sc.school_by_id)
    if not schools or not sites:
        return 0.0
    sb = sc.school_by_id
    a = np.array([[sb[s].lon, sb[s].lat] for s in schools])
    b = np.array([[sb[s].lon, sb[s].lat] for s in sites])
    t = np.rint(sc.travel.matrix(a, b).duration_s).min(axis=1)
    w = np.array([d.loads[s] for s in schools], float)
    return float(np.round((w * t).sum() / 60.0, 1))


RULES = (check_moves, check_seats, check_classes, check_threshold, check_built, check_rooms_table,
         check_towns, check_objective, check_curve)
