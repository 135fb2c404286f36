"""The timetable checker on a hand-made week: the valid timetable passes every rule, and
each hand-broken timetable fires exactly the rule it breaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from districts import district

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import Category, PinnedSession, Role, Teacher, parse_periods
from lrcplan.models.plan import Plan, StageSummary, Status
from lrcplan.models.policy import Policy
from lrcplan.models.routes import RoutesOptions, RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.models.support import school_weeks, soft_costs
from lrcplan.models.timetable import Session, Support, TimetableResult
from lrcplan.optimizer.check import check
from lrcplan.optimizer.check.timetable import RULES
from lrcplan.optimizer.pipeline import run_plan
from lrcplan.optimizer.stages import ENROLMENT, PLACEMENT, ROUTES

WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri")
SEATING = (PLACEMENT, ENROLMENT)
REASON = "not enough teacher time"

Case = tuple[Scenario, Plan, list[Session]]


def scenario(**policy: object) -> Scenario:
    """A (resource room, 3 classes: a1, a2 intellectual, a3 autistic) and B (no room, a
    designated space; 2 classes: b1, b2). Class n has its core subjects in period n every
    day; R1 is A's listed resource teacher (Mon-Wed), A-RT2, B-RT1 and B-RT2 are counted
    but not listed (every period)."""
    sc = district([("A", 0, 3), ("B", 3, 2)],
                  [("a1", 0, "A"), ("a2", 0.1, "A"), ("a3", 0.2, "A"), ("b1", 3, "B"),
                   ("b2", 3.1, "B")], policy=Policy(**policy))  # type: ignore[arg-type]
    a, b = sc.schools
    core = {c.index: parse_periods(" ".join(f"{d}:{c.index}" for d in WEEK))
            for c in sc.classes}
    pins = (PinnedSession("A", "Mon", 5, "R1", ("a1",)),
            # No longer applicable, so free to drop: a student seated at A, not B, and
            # a period when b1's class (core subjects in period 1) would have to be there.
            PinnedSession("B", "Fri", 7, "B-RT1", ("a1",)),
            PinnedSession("B", "Thu", 1, "B-RT1", ("b1",)))
    return replace(
        sc, schools=(replace(a, resource_room=True, resource_teachers=2),
                     replace(b, resource_teachers=2)),
        classes=tuple(replace(c, core_mask=core[c.index]) for c in sc.classes),
        students=tuple(replace(s, category=Category.AUTISM) if s.id == "a3" else s
                       for s in sc.students),
        teachers=(Teacher("R1", Role.RESOURCE, "A", frozenset(), ("Mon", "Tue", "Wed")),),
        sessions=pins)


def week() -> list[Session]:
    """A valid week: a1 + a2 (one group, pinned on Monday), a3 and b1 three sessions each,
    b2 two (unserved)."""
    return [
        Session("A", "Mon", 5, "A-RR", "R1", ("a1", "a2"), pinned=True),  # 0
        Session("A", "Tue", 5, "A-RR", "R1", ("a1", "a2")),  # 1
        Session("A", "Wed", 5, "A-RR", "R1", ("a1", "a2")),  # 2
        Session("A", "Mon", 5, "A-RR", "A-RT2", ("a3",)),  # 3
        Session("A", "Tue", 6, "A-RR", "A-RT2", ("a3",)),  # 4
        Session("A", "Wed", 6, "A-RR", "A-RT2", ("a3",)),  # 5
        Session("B", "Mon", 5, "B-SP", "B-RT1", ("b1",)),  # 6
        Session("B", "Tue", 5, "B-SP", "B-RT1", ("b1",)),  # 7
        Session("B", "Wed", 5, "B-SP", "B-RT1", ("b1",)),  # 8
        Session("B", "Mon", 6, "B-SP", "B-RT2", ("b2",)),  # 9
        Session("B", "Tue", 6, "B-SP", "B-RT2", ("b2",)),  # 10
    ]


def with_timetable(plan: Plan, result: TimetableResult) -> Plan:
    """The plan with this timetable result (added after the stages that ran, or replaced)."""
    if plan.find(TimetableResult) is not None:
        return plan.replacing(result)
    return replace(plan, results=(*plan.results, result))


def timetable(sc: Scenario, plan: Plan, sessions: list[Session]) -> Plan:
    """The plan with these sessions and support rows that agree with them, so that a
    broken session breaks its own rule and not the support rows."""
    need = sc.policy.min_support_periods_per_week
    rows = []
    for seat in plan.get(EnrolmentResult).lrc_seats:
        n = sum(seat.student_id in s.student_ids for s in sessions)
        rows.append(Support(seat.student_id, seat.school_id, n,
                            "served" if n >= need else "unserved",
                            "" if n >= need else REASON))
    weeks = school_weeks(sc, [(s.student_id, s.school_id, s.grade, s.class_index)
                              for s in plan.get(EnrolmentResult).lrc_seats],
                         plan.find(RoutesResult))
    costs = [p for w in weeks for p in soft_costs(
        sc.policy, w, [s for s in sessions if s.school_id == w.school_id])]
    result = TimetableResult(StageSummary("timetable", Status.FEASIBLE, 0.0),
                             tuple(sessions), tuple(rows), tuple(costs))
    return with_timetable(plan, result)


def with_support(plan: Plan, edit: Callable[[list[Support]], list[Support]]) -> Plan:
    """The plan with its support rows edited."""
    r = plan.get(TimetableResult)
    return plan.replacing(replace(r, support=tuple(edit(list(r.support)))))


def fired(sc: Scenario, plan: Plan) -> set[str]:
    """The timetable rules a plan breaks."""
    return {v.rule for rule in RULES for v in rule(sc, plan)}


def changed(sessions: list[Session], i: int, **kw: object) -> list[Session]:
    """The sessions with session i changed."""
    return [replace(s, **kw) if j == i else s for j, s in enumerate(sessions)]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def seated() -> tuple[Scenario, Plan]:
    """The scenario and its placement + enrolment (no routes: no itinerant sessions)."""
    sc = scenario()
    plan = run_plan(sc, stages=SEATING)
    assert plan.violations == ()
    return sc, plan


@pytest.fixture
def case(seated: tuple[Scenario, Plan]) -> Case:
    """The valid week on the seated plan."""
    sc, plan = seated
    return sc, timetable(sc, plan, week()), week()


def class_of(plan: Plan, sid: str) -> int:
    """A student's class index, as enrolment seated it."""
    index = next(s.class_index for s in plan.get(EnrolmentResult).lrc_seats
                 if s.student_id == sid)
    assert index is not None
    return index


def test_valid_week_passes(case: Case) -> None:
    sc, plan, _ = case
    assert fired(sc, plan) == set()
    assert check(sc, plan, SEATING) == []  # the earlier stages are valid too
    # The core periods (1-3) are where the classes are, away from the sessions (5-6).
    assert sorted(class_of(plan, sid) for sid in ("a1", "a2", "a3")) == [1, 2, 3]
    tt = plan.get(TimetableResult)
    assert {r.student_id: r.status for r in tt.support} == {
        "a1": "served", "a2": "served", "a3": "served", "b1": "served", "b2": "unserved"}


def test_every_rule_is_hard() -> None:
    assert all((r.__doc__ or "").startswith("Hard") for r in RULES)
    assert len({r.__name__ for r in RULES}) == len(RULES)


# --------------------------------------------------------------- 1. support rows
SUPPORT_BREAKS: dict[str, Callable[[list[Support]], list[Support]]] = {
    "missing": lambda rows: [r for r in rows if r.student_id != "b1"],
    "not entitled": lambda rows: [*rows, Support("zz", "A", 0, "unserved", REASON)],
    "twice": lambda rows: [*rows, rows[0]],
    "wrong school": lambda rows: [replace(r, school_id="B") if r.student_id == "a1" else r
                                  for r in rows],
    "miscounted": lambda rows: [replace(r, sessions=4) if r.student_id == "a1" else r
                                for r in rows],
    "served short": lambda rows: [replace(r, status="served", reason="")
                                  if r.student_id == "b2" else r for r in rows],
    "unserved in full": lambda rows: [replace(r, status="unserved", reason=REASON)
                                      if r.student_id == "a1" else r for r in rows],
    "no reason": lambda rows: [replace(r, reason="") if r.student_id == "b2" else r
                               for r in rows],
    "served with a reason": lambda rows: [replace(r, reason=REASON)
                                          if r.student_id == "a1" else r for r in rows],
}


@pytest.mark.parametrize("name", SUPPORT_BREAKS)
def test_support_rows(case: Case, name: str) -> None:
    sc, plan, _ = case
    assert fired(sc, with_support(plan, SUPPORT_BREAKS[name])) == {"support"}


def test_support_counts_sessions_from_the_timetable(case: Case) -> None:
    sc, plan, sessions = case
    # A session dropped but support.csv left as it was: the count no longer holds.
    r = plan.get(TimetableResult)
    dropped = plan.replacing(replace(r, sessions=tuple(sessions[:-1])))
    # (penalties.csv no longer holds either: b2 lost a session on consecutive days.)
    assert fired(sc, dropped) == {"support", "penalty"}


# --------------------------------------------------------------- 2. place
PLACE_BREAKS: dict[str, Callable[[list[Session]], list[Session]]] = {
    "not a school day": lambda ss: changed(ss, 5, day="Sat"),
    "after the last period": lambda ss: changed(ss, 5, period=8),
    "period 0": lambda ss: changed(ss, 5, period=0),
    "another room": lambda ss: changed(ss, 5, room="A-SP"),
    "a student of another school": lambda ss: changed(ss, 8, school_id="A", room="A-RR",
                                                      teacher_id="A-RT2"),
    "an unknown school": lambda ss: changed(ss, 5, school_id="C", room="C-SP"),
    "an unknown student": lambda ss: changed(ss, 10, student_ids=("zz",)),
}


@pytest.mark.parametrize("name", PLACE_BREAKS)
def test_session_place(case: Case, name: str) -> None:
    sc, plan, sessions = case
    assert fired(sc, timetable(sc, plan, PLACE_BREAKS[name](sessions))) == {"session-place"}


def test_special_school_holds_no_session(case: Case) -> None:
    sc, plan, sessions = case
    spe = district([("A", 0, 1)], [], special_school_km=1).schools[-1]
    sc2 = replace(sc, schools=(*sc.schools, spe))
    bad = timetable(sc2, plan, changed(sessions, 5, school_id="SPE", room="SPE-SP"))
    assert fired(sc2, bad) == {"session-place"}


# --------------------------------------------------------------- 3. core subjects
def test_core_clash(case: Case) -> None:
    sc, plan, sessions = case
    core = class_of(plan, "a3")  # a3's class has its core subjects in this period
    bad = timetable(sc, plan, changed(sessions, 5, period=core))
    assert fired(sc, bad) == {"core-clash"}
    # A soft penalty then, not a violation (and the pin of b1 in a core period would
    # apply again: see test_pin_that_no_longer_fits_may_go).
    soft = replace(sc, policy=replace(sc.policy, support_core_hard=False),
                   sessions=sc.sessions[:2])
    assert fired(soft, bad) == {"penalty"}  # the clash's cost is not in penalties.csv
    costed = timetable(soft, plan, changed(sessions, 5, period=core))
    assert fired(soft, costed) == set()
    assert any(p.constraint == "core_clash" for p in costed.get(TimetableResult).penalties)


# --------------------------------------------------------------- 4. one a day
def test_one_a_day(case: Case) -> None:
    sc, plan, sessions = case
    bad = timetable(sc, plan, changed(sessions, 5, day="Mon"))  # a3: Mon 5 and Mon 6
    assert fired(sc, bad) == {"one-a-day"}
    several = replace(sc, policy=replace(sc.policy, support_one_per_day=False))
    assert fired(several, bad) == set()


# --------------------------------------------------------------- 5. teacher available
TEACHER_BREAKS: dict[str, Callable[[list[Session]], list[Session]]] = {
    "off day": lambda ss: changed(ss, 2, day="Thu"),  # R1 works Mon-Wed
    "unknown teacher": lambda ss: changed(ss, 4, teacher_id="ZZ"),
    "another school's teacher": lambda ss: changed(ss, 5, teacher_id="B-RT1"),
}


@pytest.mark.parametrize("name", TEACHER_BREAKS)
def test_teacher_available(case: Case, name: str) -> None:
    sc, plan, sessions = case
    bad = timetable(sc, plan, TEACHER_BREAKS[name](sessions))
    assert fired(sc, bad) == {"teacher-available"}


def test_teacher_hours(seated: tuple[Scenario, Plan]) -> None:
    sc, plan = seated
    # R1 leaving at 12:00 cannot give period 5 (from 08:00, periods start every 72-73 min).
    early = replace(sc, teachers=(replace(sc.teachers[0], end="12:00"),))
    assert fired(early, timetable(early, plan, week())) == {"teacher-available"}
    assert fired(sc, timetable(sc, plan, week())) == set()


# --------------------------------------------------------------- 6. double booking
def test_teacher_clash(case: Case) -> None:
    sc, plan, sessions = case
    bad = timetable(sc, plan, changed(sessions, 3, teacher_id="R1"))  # R1 twice, Mon 5
    assert fired(sc, bad) == {"teacher-clash"}


def test_resource_teacher_load(case: Case) -> None:
    sc, plan, sessions = case
    two = timetable(sc, plan, changed(sessions, 4, teacher_id="R1"))  # R1: Tue 5 and 6
    assert fired(sc, two) == set()  # 5 a day by default
    one = replace(sc, policy=replace(sc.policy, resource_teacher_max_periods=1))
    assert fired(one, two) == {"teacher-load"}


def test_student_clash(case: Case) -> None:
    sc, plan, sessions = case
    several = replace(sc, policy=replace(sc.policy, support_one_per_day=False))
    # a1 with R1 (with a2) and with A-RT2 at once, Mon 5.
    bad = timetable(several, plan, changed(sessions, 3, student_ids=("a1",)))
    assert fired(several, bad) == {"student-clash"}
    assert fired(sc, bad) == {"student-clash", "one-a-day"}


# --------------------------------------------------------------- 7. room
def test_designated_space_holds_one_session(case: Case) -> None:
    sc, plan, sessions = case
    bad = timetable(sc, plan, changed(sessions, 9, period=5))  # B-SP: b1 and b2, Mon 5
    assert fired(sc, bad) == {"room"}


def test_resource_room_seats(case: Case) -> None:
    sc, plan, _ = case
    assert fired(sc, plan) == set()  # A-RR holds a1, a2 and a3 on Mon 5 ...
    small = replace(sc, policy=replace(sc.policy, resource_room_capacity=2))
    assert fired(small, plan) == {"room"}  # ... but not when it seats two


# --------------------------------------------------------------- 8. groups
GROUP_BREAKS: dict[str, Callable[[list[Session]], list[Session]]] = {
    "mixed needs": lambda ss: changed(ss, 5, day="Thu", student_ids=("a3", "a1")),
    "no student": lambda ss: changed(ss, 10, student_ids=()),
    "a student twice": lambda ss: changed(ss, 10, student_ids=("b2", "b2")),
}


@pytest.mark.parametrize("name", GROUP_BREAKS)
def test_group(case: Case, name: str) -> None:
    sc, plan, sessions = case
    assert fired(sc, timetable(sc, plan, GROUP_BREAKS[name](sessions))) == {"group"}


def test_group_size(case: Case) -> None:
    sc, plan, _ = case
    alone = replace(sc, policy=replace(sc.policy, support_group_max=1))
    assert fired(alone, plan) == {"group"}  # a1 + a2 are two


# --------------------------------------------------------------- 9. pinned
PIN_BREAKS: dict[str, Callable[[list[Session]], list[Session]]] = {
    "not marked": lambda ss: changed(ss, 0, pinned=False),
    "marked, not pinned": lambda ss: changed(ss, 1, pinned=True),
    "moved": lambda ss: changed(ss, 0, period=6),
    "pinned student left out": lambda ss: changed(ss, 0, student_ids=("a2",)),
    "dropped": lambda ss: ss[1:],
}


@pytest.mark.parametrize("name", PIN_BREAKS)
def test_pinned(case: Case, name: str) -> None:
    sc, plan, sessions = case
    assert fired(sc, timetable(sc, plan, PIN_BREAKS[name](sessions))) == {"pinned"}


def test_pin_that_no_longer_fits_may_go(case: Case) -> None:
    sc, plan, sessions = case
    # R1 no longer works on Mondays: the Monday pin no longer applies (and the sessions
    # of R1 on Monday go with it, pinned or not).
    off = replace(sc, teachers=(replace(sc.teachers[0], days=("Tue", "Wed", "Thu")),))
    assert fired(off, timetable(off, plan, sessions[1:])) == set()
    assert fired(sc, timetable(sc, plan, sessions[1:])) == {"pinned"}
    # With core subjects soft, b1's pin in a core period (Thu 1) applies: kept, it passes.
    soft = replace(sc, policy=replace(sc.policy, support_core_hard=False))
    assert fired(soft, plan) == {"pinned"}
    kept = Session("B", "Thu", 1, "B-SP", "B-RT1", ("b1",), pinned=True)
    assert fired(soft, timetable(soft, plan, [*sessions[:6], kept, *sessions[7:]])) == set()


# --------------------------------------------------------------- itinerant teachers
def periods_inside(sc: Scenario, start: int, end: int) -> list[int]:
    """The periods wholly inside [start, end] minutes."""
    return [p for p in range(1, sc.policy.periods_per_day + 1)
            if start <= sc.policy.period_window(p)[0]
            and sc.policy.period_window(p)[1] <= end]


def test_itinerant_teacher_within_the_visit() -> None:
    # Weekly visits long enough to hold whole periods; T1 visits A and B on Monday.
    sc = scenario(itinerant_weekly_min_lrc=1, itinerant_visit_base_minutes=150)
    t1 = Teacher("T1", Role.ITINERANT, "A", frozenset({Category.INTELLECTUAL,
                                                        Category.AUTISM}), ("Mon",))
    sc = replace(sc, teachers=(*sc.teachers, t1))
    plan = run_plan(sc, {"routes": RoutesOptions(time_limit_s=5)},
                    stages=(*SEATING, ROUTES))
    assert plan.violations == ()
    routes = plan.get(RoutesResult)
    assert routes.weeks == 1
    at = {s.site_id: periods_inside(sc, s.start, s.end) for s in routes.stops
          if s.kind == "itinerant"}
    core3, core1 = class_of(plan, "a3"), class_of(plan, "b1")
    pa = next(p for p in at["A"] if p != core3)
    pb = next(p for p in at["B"] if p != core1)
    # T1 takes a3 on Monday at A, then b1 on Monday at B, instead of A-RT2 and B-RT1.
    sessions = changed(changed(week(), 3, period=pa, teacher_id="T1"), 6, period=pb,
                       teacher_id="T1")
    good = timetable(sc, plan, sessions)
    assert fired(sc, good) == set()
    # Two sessions a day are T1's visits' business, not a resource teacher's cap.
    one = replace(sc, policy=replace(sc.policy, resource_teacher_max_periods=1))
    assert fired(one, good) == set()
    outside = next(p for p in range(1, 8) if p not in at["A"] and p != core3)
    bad = timetable(sc, plan, changed(sessions, 3, period=outside))
    assert fired(sc, bad) == {"teacher-available"}


# --------------------------------------------------------------- penalties.csv
def test_penalties_restate_the_sessions(case: Case) -> None:
    sc, plan, sessions = case
    r = plan.get(TimetableResult)
    assert {p.constraint for p in r.penalties} == {"consecutive_days"}  # Mon-Tue-Wed
    assert fired(sc, plan) == set()
    gone = plan.replacing(replace(r, penalties=r.penalties[1:]))
    assert fired(sc, gone) == {"penalty"}
    cheaper = plan.replacing(replace(r, penalties=(replace(r.penalties[0], cost=0),
                                                    *r.penalties[1:])))
    assert fired(sc, cheaper) == {"penalty"}
    # A session moved to the last period: the edge-period cost must appear.
    moved = timetable(sc, plan, changed(sessions, 6, period=7))
    assert fired(sc, moved) == set()
    stale = moved.replacing(replace(moved.get(TimetableResult), penalties=r.penalties))
    assert fired(sc, stale) == {"penalty"}
