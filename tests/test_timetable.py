"""The timetable solver's constraints, each alone on hand-made school weeks (a case that
satisfies it and one it forbids), the explanations of unserved students, and the
solver against brute force on tiny schools."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from ortools.sat.python import cp_model

from lrcplan.models.entities import PinnedSession
from lrcplan.models.policy import Policy
from lrcplan.models.support import SchoolWeek, Slot
from lrcplan.optimizer import timetable as tt
from lrcplan.optimizer.timetable_explain import explain_unserved

POL = Policy(school_days=("Mon", "Tue", "Wed"), periods_per_day=3)
ALL = frozenset((d, p) for d in range(3) for p in range(1, 4))


def week(students: dict[str, str], teachers: dict[str, frozenset[Slot]],
         core: dict[str, set[Slot]] | None = None, need: int = 3, room: int = 6,
         at_once: int = 6, itinerant: frozenset[str] = frozenset()) -> SchoolWeek:
    """A school week: students with their category, teachers with their slots."""
    core = core or {}
    return SchoolWeek("S", tuple(sorted(students)), need, dict(students),
                      {s: frozenset(core.get(s, set())) for s in students}, teachers,
                      itinerant, "S-RR", room, at_once)


def most(w: SchoolWeek, pol: Policy, rules: tuple) -> tuple[int, int]:  # type: ignore[type-arg]
    """(students served, sessions) at the optimum of a model of only these rules."""
    from collections import defaultdict

    sm = tt.SchoolModel(w, pol, cp_model.CpModel(), {}, {}, {}, {}, defaultdict(list),
                       {s: w.need for s in w.students})
    for rule in (tt.hard_teacher_availability, *rules, tt.soft_entitlement):
        rule(sm)
    if tt.hard_groups not in rules:  # busy literals are made by hard_groups
        tt.hard_groups(replace_pol(sm, 99))
    sm.m.maximize(tt.SERVED * sum(sm.served.values()) + tt.SESSION * sum(sm.count.values()))
    solver = cp_model.CpSolver()
    assert solver.solve(sm.m) == cp_model.OPTIMAL
    return (sum(solver.value(v) for v in sm.served.values()),
            sum(solver.value(v) for (_, _, _), v in sm.x.items()))


def replace_pol(sm: tt.SchoolModel, group: int) -> tt.SchoolModel:
    sm.pol = replace(sm.pol, support_group_max=group)
    return sm


def test_one_a_day_pair() -> None:
    one_day = frozenset({(0, 1), (0, 2), (0, 3)})
    w = week({"a": "v"}, {"T": one_day}, need=2)
    assert most(w, POL, ()) == (1, 2)  # without the rule: two on Monday
    assert most(w, POL, (tt.hard_one_a_day,)) == (0, 1)
    relaxed = replace(POL, support_one_per_day=False)
    assert most(w, relaxed, (tt.hard_one_a_day,)) == (1, 2)


def test_core_clash_pair() -> None:
    w = week({"a": "v"}, {"T": ALL}, core={"a": {(d, p) for d in range(3) for p in (1, 2)}})
    assert most(w, POL, (tt.hard_one_a_day,)) == (1, 3)  # period 3 each day is free
    w2 = week({"a": "v"}, {"T": ALL}, core={"a": {(d, p) for d in range(2) for p in (1, 2, 3)}})
    assert most(w2, POL, (tt.hard_one_a_day,)) == (0, 1)  # only Wednesday is free
    soft = replace(POL, support_core_hard=False)
    assert most(w2, soft, (tt.hard_one_a_day,)) == (1, 3)  # soft: clashes allowed


def test_teacher_availability_pair() -> None:
    w = week({"a": "v"}, {"T": frozenset({(0, 1), (1, 1)})})
    assert most(w, POL, (tt.hard_one_a_day,)) == (0, 2)
    w2 = week({"a": "v"}, {"T": frozenset({(0, 1), (1, 1), (2, 2)})})
    assert most(w2, POL, (tt.hard_one_a_day,)) == (1, 3)


def test_groups_pair() -> None:
    """One teacher, one slot a day: three students fit only as a group of one need."""
    slots = frozenset({(0, 1), (1, 1), (2, 1)})
    same = week({"a": "v", "b": "v", "c": "v"}, {"T": slots})
    assert most(same, POL, (tt.hard_one_a_day, tt.hard_groups)) == (3, 9)
    mixed = week({"a": "v", "b": "v", "c": "h"}, {"T": slots})
    assert most(mixed, POL, (tt.hard_one_a_day, tt.hard_groups)) == (2, 6)
    solo = replace(POL, support_group_max=1)
    assert most(same, solo, (tt.hard_one_a_day, tt.hard_groups)) == (1, 3)


def test_room_pair() -> None:
    """Two teachers, one slot a day: a designated space holds one session at a time."""
    slots = frozenset({(0, 1), (1, 1), (2, 1)})
    w = week({"a": "v", "b": "h"}, {"T": slots, "U": slots}, room=3, at_once=1)
    rules = (tt.hard_one_a_day, tt.hard_groups, tt.hard_room)
    assert most(w, POL, rules) == (1, 3)
    assert most(replace(w, room_sessions=2), POL, rules) == (2, 6)


def test_teacher_day_pair() -> None:
    """A resource teacher at most 1 period a day (policy): 3 students of different needs."""
    w = week({"a": "v", "b": "h", "c": "i"}, {"T": ALL})
    pol = replace(POL, resource_teacher_max_periods=1)
    rules = (tt.hard_one_a_day, tt.hard_one_place, tt.hard_groups, tt.hard_teacher_day)
    assert most(w, pol, rules) == (1, 3)
    assert most(w, replace(pol, resource_teacher_max_periods=3), rules) == (3, 9)
    # An itinerant teacher is bounded by the visit, not the daily maximum.
    assert most(replace(w, itinerant=frozenset({"T"})), pol, rules) == (3, 9)


def test_one_place_pair() -> None:
    """Two teachers in the same single slot: a student takes only one of them."""
    w = week({"a": "v"}, {"T": frozenset({(0, 1)}), "U": frozenset({(0, 1)})}, need=2)
    assert most(w, replace(POL, support_one_per_day=False), ()) == (1, 2)
    assert most(w, replace(POL, support_one_per_day=False), (tt.hard_one_place,)) == (0, 1)


def test_soft_costs_are_named_and_avoided() -> None:
    """Edge periods and consecutive days are avoided when the week allows it."""
    pol = Policy(school_days=("Mon", "Tue", "Wed", "Thu", "Fri"), periods_per_day=3)
    slots = frozenset((d, p) for d in range(5) for p in range(1, 4))
    w = SchoolWeek("S", ("a",), 3, {"a": "v"}, {"a": frozenset()}, {"T": slots},
                   frozenset(), "S-RR", 6, 6)
    got = tt.solve_school(w, pol, [], 5.0)
    assert got.status == cp_model.OPTIMAL and not got.penalties
    assert sorted((s.day, s.period) for s in got.sessions) == [("Fri", 2), ("Mon", 2),
                                                               ("Wed", 2)]
    # Only Mon-Tue-Wed period 1 left: three edge periods and two consecutive pairs.
    w2 = replace(w, teachers={"T": frozenset({(0, 1), (1, 1), (2, 1)})})
    got2 = tt.solve_school(w2, pol, [], 5.0)
    assert {(p.constraint, p.count, p.student_ids) for p in got2.penalties} == {
        ("edge_period", 3, ("a",)), ("consecutive_days", 2, ("a",))}


def test_pins_are_kept() -> None:
    w = week({"a": "v"}, {"T": ALL})
    pin = PinnedSession("S", "Tue", 3, "T", ("a",))
    got = tt.solve_school(w, POL, [pin], 5.0)
    assert ("Tue", 3, "T", ("a",), True) in {(s.day, s.period, s.teacher_id, s.student_ids,
                                              s.pinned) for s in got.sessions}
    assert sum(s.pinned for s in got.sessions) == 1


def _brute(w: SchoolWeek, pol: Policy) -> int:
    """Most students served, one teacher, groups of one (every assignment tried)."""
    (teacher, slots), = w.teachers.items()
    free = {s: [x for x in sorted(slots) if x not in w.core[s]] for s in w.students}
    best = 0
    for pick in itertools.product(*(list(itertools.combinations(free[s], w.need)) + [()]
                                    for s in w.students)):
        used = [x for p in pick for x in p]
        days_ok = all(len({d for d, _ in p}) == len(p) for p in pick)
        per_day = {d: sum(1 for dd, _ in used if dd == d) for d in range(3)}
        if (len(used) == len(set(used)) and days_ok
                and all(n <= pol.resource_teacher_max_periods for n in per_day.values())):
            best = max(best, sum(1 for p in pick if p))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_students_served_match_brute_force(seed: int) -> None:
    import random

    rng = random.Random(seed)
    students = {f"s{i}": "v" for i in range(3)}
    core = {s: {x for x in ALL if rng.random() < 0.4} for s in students}
    slots = frozenset(x for x in ALL if rng.random() < 0.7)
    w = week(students, {"T": slots}, core=core)
    pol = replace(POL, support_group_max=1, resource_teacher_max_periods=2)
    got = tt.solve_school(w, pol, [], 5.0)
    served = sum(1 for s in w.students
                 if sum(s in x.student_ids for x in got.sessions) >= w.need)
    assert served == _brute(w, pol)


def test_unserved_explained_by_the_blocking_constraints() -> None:
    """Core lessons leave Mon and Tue free only: 'only 2 ... on distinct days'."""
    w = week({"a": "v"}, {"T": ALL}, core={"a": {(2, p) for p in (1, 2, 3)}})
    got = tt.solve_school(w, POL, [], 5.0)
    why = explain_unserved(w, POL, got.sessions, ["a"])["a"]
    assert why == ("student a: only 2 periods outside core lessons, on distinct days "
                   "(blocking: no core-lesson clash; one session a day)")
    # The teacher away on Wednesday instead: teacher availability and one a day block.
    w2 = week({"a": "v"}, {"T": frozenset(x for x in ALL if x[0] != 2)})
    got2 = tt.solve_school(w2, POL, [], 5.0)
    why2 = explain_unserved(w2, POL, got2.sessions, ["a"])["a"]
    assert why2 == ("student a: only 2 periods on distinct days, with a teacher available "
                    "(blocking: one session a day; teacher availability)")


def test_unserved_because_others_took_the_teacher() -> None:
    """One teacher, one slot a day, groups of one: the second student is blocked by the
    first one's sessions."""
    slots = frozenset({(0, 1), (1, 1), (2, 1)})
    w = week({"a": "v", "b": "v"}, {"T": slots})
    pol = replace(POL, support_group_max=1)
    got = tt.solve_school(w, pol, [], 5.0)
    served = {s for x in got.sessions for s in x.student_ids}
    assert len(served) == 1
    (short,) = set(w.students) - served
    why = explain_unserved(w, pol, got.sessions, [short])[short]
    assert "sessions of other students" in why and why.startswith(f"student {short}: only 0")


def test_model_soft_literals_agree_with_the_stated_costs() -> None:
    """At the optimum the model's soft literals count exactly what support.soft_costs
    counts from the sessions (the costs penalties.csv reports and the checker re-counts)."""
    from lrcplan.models.support import soft_costs

    pol = Policy(school_days=("Mon", "Tue", "Wed", "Thu", "Fri"), periods_per_day=4)
    slots = frozenset({(0, 1), (0, 4), (1, 1), (1, 4), (2, 1), (3, 4)})
    w = SchoolWeek("S", ("a", "b", "c"), 3, {"a": "v", "b": "h", "c": "v"},
                   {s: frozenset() for s in "abc"}, {"T": slots}, frozenset(), "S-RR", 6, 6)
    sm = tt.build(w, replace(pol, support_group_max=2), [])
    solver = cp_model.CpSolver()
    assert solver.solve(sm.m) == cp_model.OPTIMAL
    literal = sum(wt for terms in sm.soft.values() for v, wt, _ in terms if solver.value(v))
    got = tt.solve_school(w, replace(pol, support_group_max=2), [], 5.0)
    assert got.penalties and sum(p.cost for p in got.penalties) == literal
    assert {(p.constraint, p.cost) for p in got.penalties} == {
        (p.constraint, p.cost) for p in soft_costs(pol, w, got.sessions)}


def test_room_less_school_shares_the_nearest_room_when_policy_allows() -> None:
    """School B has no room and no teacher; with sharing allowed its student goes to A's
    room (3 km away) for all three sessions, the travel counted; the checker agrees."""
    from districts import district

    from lrcplan.models.routes import RoutesOptions
    from lrcplan.models.timetable import TimetableResult
    from lrcplan.optimizer.check import check
    from lrcplan.optimizer.pipeline import run_plan

    def scenario(minutes: float):  # type: ignore[no-untyped-def]
        sc = district([("A", 0, 1), ("B", 3, 1)], [("a1", 0, "A"), ("b1", 3, "B")],
                      policy=Policy(support_shared_room_minutes=minutes))
        schools = tuple(replace(s, resource_room=s.id == "A",
                                resource_teachers=1 if s.id == "A" else 0)
                        for s in sc.schools)
        return replace(sc, schools=schools, teachers=())

    for minutes, b1 in ((0.0, 0), (30.0, 3)):
        sc = scenario(minutes)
        plan = run_plan(sc, {"routes": RoutesOptions(time_limit_s=1)})
        assert plan.violations == () and check(sc, plan) == []
        r = plan.get(TimetableResult)
        rows = {s.student_id: s for s in r.support}
        assert rows["a1"].sessions == 3 and rows["b1"].sessions == b1
        assert rows["b1"].school_id == "B"
        if b1:
            assert {s.school_id for s in r.sessions_of("b1")} == {"A"}
            travel = [p for p in r.penalties if p.constraint == "room_travel"]
            assert travel and travel[0].student_ids == ("b1",) and travel[0].count == 3
        else:
            assert "no teacher gives support at B" in rows["b1"].reason


def _one_teacher(slots: set[Slot], students: dict[str, str], need: int = 1,
                 days: int = 3, periods: int = 5) -> tuple[SchoolWeek, Policy]:
    pol = Policy(school_days=("Mon", "Tue", "Wed", "Thu", "Fri")[:days],
                 periods_per_day=periods)
    w = SchoolWeek("S", tuple(sorted(students)), need, dict(students),
                   {s: frozenset() for s in students}, {"T": frozenset(slots)}, frozenset(),
                   "S-RR", 6, 6)
    return w, pol


def _costs(w: SchoolWeek, pol: Policy) -> dict[str, int]:
    got = tt.solve_school(w, replace(pol, support_group_max=1), [], 5.0)
    assert got.status == cp_model.OPTIMAL
    return {p.constraint: p.count for p in got.penalties}


def test_teacher_gap_pair() -> None:
    """Two students, one a day: adjacent periods avoid the gap; only 2 and 4 force one."""
    w, pol = _one_teacher({(0, 2), (0, 3), (0, 4)}, {"a": "v", "b": "h"})
    assert _costs(w, pol) == {}
    w2, _ = _one_teacher({(0, 2), (0, 4)}, {"a": "v", "b": "h"})
    assert _costs(w2, pol) == {"teacher_gap": 1}


def test_edge_period_pair() -> None:
    w, pol = _one_teacher({(0, 1), (0, 3)}, {"a": "v"})
    assert _costs(w, pol) == {}  # period 3 chosen over period 1
    w2, _ = _one_teacher({(0, 1), (0, 5)}, {"a": "v"})
    assert _costs(w2, pol) == {"edge_period": 1}


def test_consecutive_days_pair() -> None:
    w, pol = _one_teacher({(0, 3), (1, 3), (2, 3)}, {"a": "v"}, need=2)
    assert _costs(w, pol) == {}  # Monday and Wednesday
    w2, _ = _one_teacher({(0, 3), (1, 3)}, {"a": "v"}, need=2)
    assert _costs(w2, pol) == {"consecutive_days": 1}
