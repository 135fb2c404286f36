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


@pytest.fixture
def case() -> tuple[Scenario, Plan]:
    """Two schools of one class each; s1, s2 catchment A; i1 an incumbent in B."""
    sc = district([("A", 0, 1), ("B", 3, 2)],
                  [("s1", 0, "A"), ("s2", 0.5, None), ("i1", 3, "B")],
                  incumbents={"i1": ("B", 1)})
    plan = run_plan(sc)
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
    return {v.rule for v in check(sc, plan)}


def test_valid_plan_passes(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    assert check(sc, plan) == []
    assert {s.student_id: s.school_id for s in plan.get(EnrolmentResult).seats} == {
        "s1": "A", "s2": "B", "i1": "B"}


def test_class_cap(case: tuple[Scenario, Plan]) -> None:
    sc, plan = case
    sc3 = district([("A", 0, 1)], [("a", 0, "A"), ("b", 0, "A"), ("c", 0, "A")])
    p = run_plan(sc3)
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
    plan = run_plan(sc)
    assert check(sc, plan) == []
    # n1 (catchment B) takes h2's place at A; h2 goes to B: they could simply swap back.
    seats = [replace(s, school_id="A", class_index=1, catchment=False)
             if s.student_id == "n1" else
             replace(s, school_id="B", class_index=1, catchment=False)
             if s.student_id == "h2" else s for s in plan.get(EnrolmentResult).seats]
    found = rules(sc, with_seats(sc, plan, seats))
    assert "priority" in found
