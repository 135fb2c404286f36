"""The checker: each hard rule catches a hand-broken plan and passes the valid one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from districts import district

from lrcplan.models.enrolment import EnrolmentOptions, EnrolmentResult, Seat, Unplaced
from lrcplan.models.entities import Tier
from lrcplan.models.placement import Decision, PlacementResult
from lrcplan.models.plan import Plan
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.check import check
from lrcplan.optimizer.enrolment import school_loads
from lrcplan.optimizer.pipeline import run_plan
from lrcplan.optimizer.stages import ENROLMENT, PLACEMENT

# These tests break placement and enrolment rules; the stages after them are not run.
SEATING = (PLACEMENT, ENROLMENT)


@pytest.fixture
def case() -> tuple[Scenario, Plan]:
    """Two schools of one class each; s1, s2 catchment A; i1 an incumbent in B."""
    sc = district([("A", 0, 1), ("B", 3, 2)],
                  [("s1", 0, "A"), ("s2", 0.5, None), ("i1", 3, "B")],
                  incumbents={"i1": ("B", 1)})
    plan = run_plan(sc, stages=SEATING)
    assert plan.violations == ()
    return sc, plan


def with_seats(sc: Scenario, plan: Plan, seats: list[Seat],
               unplaced: tuple[Unplaced, ...] = ()) -> Plan:
    """The plan with other seats; school loads follow them, so one rule breaks at a time."""
    return plan.replacing(replace(plan.get(EnrolmentResult), seats=tuple(seats),
                                  schools=school_loads(sc, seats), unplaced=unplaced))


def seat(plan: Plan, sid: str) -> Seat:
    return next(s for s in plan.get(EnrolmentResult).seats if s.student_id == sid)


def rules(sc: Scenario, plan: Plan) -> set[str]:
    return {v.rule for v in check(sc, plan, SEATING)}


def test_valid_plan_passes(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    assert check(sc, plan, SEATING) == []
    assert {s.student_id: s.school_id for s in plan.get(EnrolmentResult).seats} == {
        "s1": "A", "s2": "B", "i1": "B"}


def test_class_cap(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    sc3 = district([("A", 0, 1)], [("a", 0, "A"), ("b", 0, "A"), ("c", 0, "A")])
    p = run_plan(sc3, stages=SEATING)
    extra = replace(p.get(EnrolmentResult).seats[0], student_id="c")
    bad = with_seats(sc3, p, [*p.get(EnrolmentResult).seats, extra])
    assert "class-cap" in rules(sc3, bad)


def test_grade_and_one_seat(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    seats = list(plan.get(EnrolmentResult).seats)
    assert "grade" in rules(sc, with_seats(sc, plan, [replace(seats[0], grade=2), *seats[1:]]))
    assert "one-seat" in rules(sc, with_seats(sc, plan, [*seats, seats[0]]))
    assert "zero-rejection" in rules(sc, with_seats(sc, plan, seats[1:]))


def test_travel_limit_and_true_minutes(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    seats = [replace(s, travel_minutes=s.travel_minutes + 1) if s.student_id == "s1" else s
             for s in plan.get(EnrolmentResult).seats]
    assert rules(sc, with_seats(sc, plan, seats)) == {"travel"}
    tight = replace(sc, policy=replace(sc.policy, max_home_school_minutes=5.0))
    assert "travel" in rules(tight, plan)  # s2 travels 6.5 min to B


def test_incumbent_moved(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    seats = [replace(s, class_index=2) if s.student_id == "i1" else s
             for s in plan.get(EnrolmentResult).seats]
    assert "incumbent" in rules(sc, with_seats(sc, plan, seats))
    moved = with_seats(sc, plan, seats)
    reshuffled = moved.replacing(replace(moved.get(EnrolmentResult), options=EnrolmentOptions(
        reshuffle=True)))
    # With reshuffle nobody must keep a seat, so the rule is silent, but the plan's
    # incumbent flag for i1 is now false: flipping the option alone is caught.
    assert "incumbent" not in rules(sc, reshuffled)
    assert "seat-flag" in rules(sc, reshuffled)


def test_catchment_ignored(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    s1 = replace(seat(plan, "s1"), school_id="B", class_index=2, catchment=False,
                 travel_minutes=7.8)
    seats = [s1 if s.student_id == "s1" else s for s in plan.get(EnrolmentResult).seats]
    assert "catchment" in rules(sc, with_seats(sc, plan, seats))


def test_spread_ignored(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    # s2 joins i1 in B class 1 while B class 2 and A's class have no LRC student.
    seats = [replace(s, class_index=1) if s.student_id == "s2" else s
             for s in plan.get(EnrolmentResult).seats]
    assert rules(sc, with_seats(sc, plan, seats)) == {"spread"}


def test_unplaced_while_a_seat_is_free(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    seats = [s for s in plan.get(EnrolmentResult).seats if s.student_id != "s2"]
    bad = with_seats(sc, plan, seats, (Unplaced("s2", Tier.LRC, 1, "all full"),))
    assert rules(sc, bad) == {"unplaced"}


def test_tier_against_the_standard(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    decisions = tuple(Decision(d.student_id, Tier.SPECIAL, "given", "x")
                      if d.student_id == "s1" else d for d in plan.get(PlacementResult).decisions)
    bad = plan.replacing(replace(plan.get(PlacementResult), decisions=decisions))
    assert {"tier", "seat"} <= rules(sc, bad)


def test_priority_of_home_students() -> None:
    sc = district([("A", 0, 1), ("B", 2, 1)], [("h1", 0.5, "A"), ("h2", 0.6, "A"),
                                               ("n1", 1.0, "B")])
    plan = run_plan(sc, stages=SEATING)
    assert check(sc, plan, SEATING) == []
    # n1 (catchment B) takes h2's place at A; h2 goes to B: they could simply swap back.
    seats = [replace(s, school_id="A", class_index=1, catchment=False)
             if s.student_id == "n1" else
             replace(s, school_id="B", class_index=1, catchment=False)
             if s.student_id == "h2" else s for s in plan.get(EnrolmentResult).seats]
    found = rules(sc, with_seats(sc, plan, seats))
    assert "priority" in found


# ------------------------------------------------------------------ columns re-derived
def test_catchment_and_incumbent_flags(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    seats = list(plan.get(EnrolmentResult).seats)
    for sid, field in (("s1", "catchment"), ("s2", "catchment"), ("i1", "incumbent"),
                       ("s1", "incumbent")):
        flipped = [replace(s, **{field: not getattr(s, field)}) if s.student_id == sid else s
                   for s in seats]
        assert rules(sc, with_seats(sc, plan, flipped)) == {"seat-flag"}, (sid, field)


def test_distance_must_be_the_travel_models(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    seats = [replace(s, distance_km=0.001) if s.student_id == "s2" else s
             for s in plan.get(EnrolmentResult).seats]
    assert rules(sc, with_seats(sc, plan, seats)) == {"travel"}
    # Kilometres are written to the metre: two metres off is already caught.
    off = [replace(s, distance_km=s.distance_km + 0.002) if s.student_id == "s1" else s
           for s in plan.get(EnrolmentResult).seats]
    assert rules(sc, with_seats(sc, plan, off)) == {"travel"}


@pytest.mark.parametrize("field, value", [("lrc_students", 9), ("classes_with_lrc", 0),
                                          ("classes_with_two", 1), ("room_required", True),
                                          ("has_room", True), ("resource_teachers_needed", 3),
                                          ("resource_teachers_present", 2)])
def test_school_rows_are_re_derived(case: tuple[Scenario, Plan], field: str,
                                    value: object) -> None:
    sc, plan = case
    result = plan.get(EnrolmentResult)
    loads = tuple(replace(x, **{field: value}) if x.school_id == "A" else x
                  for x in result.schools)
    assert rules(sc, plan.replacing(replace(result, schools=loads))) == {"school-row"}
    missing = plan.replacing(replace(result, schools=result.schools[1:]))
    assert rules(sc, missing) == {"school-row"}
    twice = plan.replacing(replace(result, schools=result.schools + result.schools[:1]))
    assert rules(sc, twice) == {"school-row"}


def test_unplaced_rows_carry_the_true_tier_grade_and_reason() -> None:
    # Two students, one class: the second (by id) is unplaced because the class is full.
    sc = district([("A", 0, 1)], [("a", 0, "A"), ("b", 0, "A"), ("c", 0, "A")])
    plan = run_plan(sc, stages=SEATING)
    result = plan.get(EnrolmentResult)
    assert check(sc, plan, SEATING) == []
    (u,) = result.unplaced
    assert u.reason == "all grade-1 classes of the 1 school(s) within 45 min are full " \
                      "(2 LRC students per class)"
    for bad in (replace(u, reason="no seat anywhere"), replace(u, grade=2),
                replace(u, tier=Tier.SPECIAL)):
        assert "unplaced" in rules(sc, plan.replacing(replace(result, unplaced=(bad,))))
    twice = plan.replacing(replace(result, unplaced=(u, u)))
    assert "unplaced" in rules(sc, twice)


def test_basis_and_reason_are_re_derived(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    placement = plan.get(PlacementResult)
    d = next(x for x in placement.decisions if x.student_id == "s1")
    assert d.basis == "severity"
    for bad in (replace(d, basis="given"),
                replace(d, reason="regular class (LRC): severity moderate"),
                replace(d, reason="special school: severity mild"),
                replace(d, reason="regular class (LRC): tier given by the expert committee")):
        decisions = tuple(bad if x.student_id == "s1" else x for x in placement.decisions)
        found = rules(sc, plan.replacing(replace(placement, decisions=decisions)))
        assert found & {"tier", "reason"}, bad


def test_missing_stage_is_a_violation(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    only_placement = replace(plan, results=plan.results[:1])
    assert rules(sc, only_placement) == {"stage"}
