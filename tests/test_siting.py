"""The siting stage: exact plans on hand-made districts, brute force on small random ones,
infeasibility, a checker test breaking each rule, and the `lrcplan site` command."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from districts import LAT, lon_at_km
from shapely.geometry import box

from lrcplan.cli import main
from lrcplan.models.entities import (
    Category,
    Class,
    Role,
    School,
    SchoolKind,
    SchoolLevel,
    Severity,
    Student,
    Teacher,
    Town,
)
from lrcplan.models.plan import Plan, Status
from lrcplan.models.policy import Policy
from lrcplan.models.rooms import reach, towns_covered
from lrcplan.models.scenario import Scenario
from lrcplan.models.siting import Move, Room, SitingOptions, SitingResult
from lrcplan.optimizer.check import check
from lrcplan.optimizer.enrolment import solve_enrolment
from lrcplan.optimizer.pipeline import run_plan
from lrcplan.optimizer.placement import solve_placement
from lrcplan.optimizer.sitebudget import assign, budget_data
from lrcplan.optimizer.siting import solve_siting
from lrcplan.optimizer.stages import SITE_STAGES

ROOT = Path(__file__).parent.parent


def town_district(schools: list[tuple[str, float, str, int, bool]],
                  students: list[tuple[str, float, str, tuple[str, int] | None]],
                  policy: Policy | None = None) -> Scenario:
    """Schools (id, km, town, classes, room) along a street, grade-1 students (id, km,
    catchment, incumbent seat or None); a special school 60 km out in town "Far"."""
    sites = [School(sid, f"School {sid}", lon_at_km(km), LAT, town, SchoolLevel.PRIMARY,
                    SchoolKind.REGULAR, resource_room=room) for sid, km, town, _, room in schools]
    sites.append(School("SPE", "Special", lon_at_km(60.0), LAT, "Far", SchoolLevel.SPECIAL,
                        SchoolKind.SPECIAL))
    classes = [Class(sid, 1, i + 1, 40) for sid, _, _, n, _ in schools for i in range(n)]
    classes.append(Class("SPE", 1, 1, 10))
    pupils = [Student(sid, lon_at_km(km), LAT, 1, Category.INTELLECTUAL,
                      severity=Severity.MILD, catchment_school=catch,
                      current_school=inc[0] if inc else None,
                      current_class=inc[1] if inc else None)
              for sid, km, catch, inc in students]
    towns = sorted({t for _, _, t, _, _ in schools} | {"Far"})
    shapes = tuple(Town(t, box(119.9, 30.0, 121.0, 30.4)) for t in towns)
    teacher = Teacher("T1", Role.ITINERANT, sites[0].id, frozenset({Category.INTELLECTUAL}),
                      ("Mon",))
    return Scenario(name="siting", crs="EPSG:32651", policy=policy or Policy(),
                    schools=tuple(sites), classes=tuple(classes), students=tuple(pupils),
                    teachers=(teacher,), towns=shapes)


def plan_of(sc: Scenario, **options: object) -> Plan:
    """Placement, enrolment and siting with these siting options, checked."""
    return run_plan(sc, {"siting": SitingOptions(**options)}, stages=SITE_STAGES,
                    created="2026-01-01T00:00:00")


def siting(plan: Plan) -> SitingResult:
    """The plan's siting result."""
    return plan.get(SitingResult)


def six_at_b() -> Scenario:
    """A (room) at 0 km, B at 3 km with six students near it, C at 20 km in town T2."""
    return town_district(
        [("A", 0.0, "T1", 6, True), ("B", 3.0, "T1", 6, False), ("C", 20.0, "T2", 6, False)],
        [(f"S{i}", 3.0 + 0.1 * i, "B", None) for i in range(6)])


# ------------------------------------------------------------------ exact plans
def test_required_mode_lists_the_school_at_the_threshold() -> None:
    plan = plan_of(six_at_b())
    r = siting(plan)
    assert plan.violations == ()
    assert r.summary.status is Status.DONE
    assert [(x.school_id, x.status, x.cost_yuan, x.lrc_students) for x in r.rooms] == [
        ("A", "existing", 0, 0), ("B", "required", 150_000, 6), ("SPE", "centre", 0, 0)]
    assert r.summary.objective == 150_000


def test_budget_zero_moves_everyone_to_the_room() -> None:
    """No money: served first, so all six go to A's room (3 km away, within the limit)."""
    plan = plan_of(six_at_b(), mode="budget", rooms=0)
    r = siting(plan)
    assert plan.violations == ()
    assert r.summary.status is Status.OPTIMAL
    assert [(m.student_id, m.from_school, m.to_school) for m in r.moves] == [
        (f"S{i}", "B", "A") for i in range(6)]
    assert r.summary.objective == 6
    assert not r.built


def test_budget_zero_without_a_room_in_reach_sheds_two() -> None:
    """A's room is beyond the travel limit: B keeps 4, the two cheapest to move go to C."""
    sc = town_district(
        [("A", 0.0, "T1", 6, True), ("B", 30.0, "T1", 6, False), ("C", 33.0, "T1", 6, False)],
        [(f"S{i}", 30.0 + 0.1 * i, "B", None) for i in range(6)])
    r = siting(plan_of(sc, mode="budget", rooms=0))
    assert r.summary.status is Status.OPTIMAL and r.summary.objective == 0
    assert [(m.student_id, m.to_school) for m in r.moves] == [("S4", "C"), ("S5", "C")]


def test_budget_one_covers_the_uncovered_town_first() -> None:
    """Towns first: the one room goes to C (town T2 has none); B's six go to A's room."""
    r = siting(plan_of(six_at_b(), mode="budget", rooms=1))
    assert [(x.school_id, x.status) for x in r.built] == [("C", "new")]
    assert len(r.moves) == 6
    assert all(t.covered for t in r.towns)


def test_budget_two_builds_at_b_and_moves_nobody() -> None:
    r = siting(plan_of(six_at_b(), mode="budget", rooms=2))
    assert sorted((x.school_id, x.status) for x in r.built) == [("B", "required"),
                                                                 ("C", "new")]
    assert r.moves == ()
    assert r.summary.objective == 6
    assert [p.value for p in r.curve] == [6.0, 6.0, 6.0]
    assert [p.towns_covered for p in r.curve] == [2, 3, 3]


def test_budget_in_yuan_pays_for_whole_rooms() -> None:
    r = siting(plan_of(six_at_b(), mode="budget", budget_yuan=299_999.0))
    assert r.budget_rooms == 1


def test_incumbents_force_a_room_and_too_small_a_budget_is_infeasible() -> None:
    sc = town_district([("A", 0.0, "T1", 6, True), ("B", 3.0, "T1", 6, False)],
                       [(f"S{i}", 3.0, "B", ("B", i + 1)) for i in range(5)])
    plan = plan_of(sc, mode="budget", rooms=0)
    r = siting(plan)
    assert r.summary.status is Status.INFEASIBLE
    assert "the least number that can is 1" in r.summary.proof
    assert plan.violations == ()
    r1 = siting(plan_of(sc, mode="budget", rooms=1))
    assert r1.summary.status is Status.OPTIMAL and [x.school_id for x in r1.built] == ["B"]


def test_a_budget_solve_out_of_time_is_timed_out_not_infeasible(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from lrcplan.optimizer import siting as stage
    from lrcplan.optimizer.sitebudget import BudgetSolution

    monkeypatch.setattr(stage, "solve_budget", lambda d, k, t, tiers=3: BudgetSolution(
        False, (), (), (), False, t, proven_infeasible=False))
    plan = plan_of(six_at_b(), mode="budget", rooms=2, curve=False)
    assert siting(plan).summary.status is Status.TIMED_OUT
    assert plan.violations == ()


def test_coverage_radius_from_the_options() -> None:
    """B's six students are 3 km (7.8 min) from A's room: covered at 10 min, not at 5."""
    r10 = siting(plan_of(six_at_b(), mode="coverage", rooms=1, cover_minutes=10.0))
    r5 = siting(plan_of(six_at_b(), mode="coverage", rooms=1, cover_minutes=5.0))
    assert r10.summary.objective == 6 and r5.summary.objective == 6  # B has its room
    sc = town_district([("A", 0.0, "T1", 6, True), ("B", 3.0, "T1", 6, False)],
                       [(f"S{i}", 3.0, "B", None) for i in range(4)])
    assert siting(plan_of(sc, mode="coverage", rooms=0, cover_minutes=10.0)
                  ).summary.objective == 4
    assert siting(plan_of(sc, mode="coverage", rooms=0, cover_minutes=5.0)
                  ).summary.objective == 0


def test_coverage_and_pmedian_need_the_required_rooms_first() -> None:
    r = siting(plan_of(six_at_b(), mode="coverage", rooms=0))
    assert r.summary.status is Status.INFEASIBLE and "at least 1 new rooms" in r.summary.proof


# ------------------------------------------------------------------ brute force
def random_district(seed: int) -> Scenario:
    """Six schools in two towns, a few with rooms, 14 students; small enough to enumerate."""
    rng = random.Random(seed)
    schools = [(f"K{j}", rng.uniform(0, 30), "T1" if j < 3 else "T2", rng.randint(1, 3),
                rng.random() < 0.25) for j in range(6)]
    students = [(f"S{i:02d}", rng.uniform(0, 30), f"K{rng.randrange(6)}", None)
                for i in range(14)]
    pol = Policy(resource_room_threshold=3, max_home_school_minutes=30.0,
                 siting_share_minutes=float(rng.choice([0, 0, 10])))
    return town_district(schools, students, pol)


def _budget_brute(sc: Scenario, k: int) -> tuple[int, int, float] | None:
    """Best (towns, served, -travel) over every set of at most k new rooms, each set's
    students assigned by the exact min-cost flow."""
    pl = solve_placement(sc)
    en = solve_enrolment(sc, pl)
    d = budget_data(sc, en)
    cands = [j for j in range(d.n) if not d.room[j]]
    best = None
    for size in range(k + 1):
        for ys in itertools.combinations(cands, size):
            school_of, ok = assign(d, frozenset(ys))
            loads = Counter(school_of)
            for (j, _g), n in d.kept.items():
                loads[j] += n
            rooms = {j for j in range(d.n) if d.room[j]} | set(ys)
            if not ok or any(loads[j] >= d.threshold and j not in rooms for j in loads):
                continue
            served = sum(n for j, n in loads.items()
                         if j in rooms or d.shared[j] or any(q in ys for q in d.near[j]))
            travel = sum(d.pair_cost[(d.pair_student == i) & (d.pair_school == j)][0]
                         for i, j in enumerate(school_of))
            covered = sum(bool(d.town_fixed[t]) or any(j in ys for j in js)
                          for t, js in enumerate(d.town_schools))
            key = (covered, served, -round(travel, 6))
            best = key if best is None or key > best else best
    return best


@pytest.mark.parametrize("seed", range(8))
def test_budget_matches_brute_force(seed: int) -> None:
    sc = random_district(seed)
    for k in (0, 1, 2):
        plan = plan_of(sc, mode="budget", rooms=k, curve=False)
        r = siting(plan)
        want = _budget_brute(sc, k)
        assert plan.violations == (), plan.violations
        if want is None:
            assert r.summary.status is Status.INFEASIBLE
            continue
        assert r.summary.status is Status.OPTIMAL
        covered = sum(t.covered for t in r.towns)
        assert (covered, r.summary.objective) == (want[0], want[1]), (seed, k)


def _coverage_brute(sc: Scenario, plan: Plan, k: int) -> int:
    r = siting(plan)
    loads = Counter(s.school_id for s in plan.get(type(plan.results[1])).lrc_seats)
    fixed = {x.school_id for x in r.rooms if x.status in ("existing", "centre", "required")}
    cands = [s.id for s in sc.schools if s.kind is SchoolKind.REGULAR and not s.resource_room
             and s.id not in fixed]
    near = reach(sc, loads, [s.id for s in sc.schools], sc.policy.siting_cover_minutes)
    need = k - sum(x.status == "required" for x in r.rooms)
    best = 0
    for ys in itertools.combinations(cands, max(0, min(need, len(cands)))):
        rooms = frozenset(fixed | set(ys))
        best = max(best, sum(n for s, n in loads.items() if near.shares(s, rooms)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_coverage_and_pmedian_match_brute_force(seed: int) -> None:
    sc = random_district(seed)
    for k in (2, 3):
        plan = plan_of(sc, mode="coverage", rooms=k, curve=False)
        r = siting(plan)
        assert plan.violations == ()
        if r.summary.status is Status.INFEASIBLE:
            continue
        assert r.summary.objective == _coverage_brute(sc, plan, k)
        pm_plan = plan_of(sc, mode="p-median", rooms=k, curve=False)
        assert pm_plan.violations == ()
        pm = siting(pm_plan)
        fixed = {x.school_id for x in pm.rooms if x.status != "new"}
        cands = [s.id for s in sc.schools if s.kind is SchoolKind.REGULAR
                 and not s.resource_room and s.id not in fixed]
        loads = Counter(x.school_id for x in plan.results[1].lrc_seats)  # type: ignore[attr-defined]
        pts = lambda ids: np.array([[sc.school_by_id[s].lon, sc.school_by_id[s].lat]  # noqa: E731
                                    for s in ids])
        schools = sorted(loads)
        free = k - sum(x.status == "required" for x in pm.rooms)
        best = math.inf
        for ys in itertools.combinations(cands, max(0, min(free, len(cands)))):
            sites = sorted(fixed | set(ys))
            t = np.rint(sc.travel.matrix(pts(schools), pts(sites)).duration_s).min(axis=1)
            best = min(best, float((np.array([loads[s] for s in schools]) * t).sum() / 60))
        assert pm.summary.status is Status.OPTIMAL
        assert pm.summary.objective == pytest.approx(round(best, 1), abs=0.051)


# ------------------------------------------------------------------ the checker
def _budget_plan() -> Plan:
    plan = plan_of(six_at_b(), mode="budget", rooms=0)
    assert plan.violations == ()
    return plan


def _with(plan: Plan, **changes: object) -> list[str]:
    sc = six_at_b()
    r = replace(siting(plan), **changes)
    return sorted({v.rule for v in check(sc, plan.replacing(r), SITE_STAGES)})


def test_checker_catches_a_move_into_a_full_class() -> None:
    plan = _budget_plan()
    first = siting(plan).moves[0]
    crowded = tuple(replace(m, to_class=first.to_class) for m in siting(plan).moves)
    assert _with(plan, moves=crowded) == ["siting-class", "siting-seats"]
    assert "siting-seats" in _with(plan, moves=(replace(first, to_class=99),
                                                *siting(plan).moves[1:]))


def test_moved_students_spread_one_per_class() -> None:
    plan = _budget_plan()
    moves = siting(plan).moves
    assert sorted(m.to_class for m in moves) == [1, 2, 3, 4, 5, 6]
    swapped = (replace(moves[0], to_class=moves[1].to_class),
               replace(moves[1], to_class=moves[0].to_class), *moves[2:])
    assert _with(plan, moves=swapped) == ["siting-class"]


def test_checker_catches_the_threshold_broken() -> None:
    plan = _budget_plan()
    assert "room-threshold" in _with(plan, moves=())


def test_checker_catches_a_move_beyond_the_travel_limit_and_a_wrong_travel() -> None:
    plan = _budget_plan()
    m = siting(plan).moves[0]
    assert "siting-travel" in _with(plan, moves=(replace(m, travel_minutes=m.travel_minutes + 1),
                                                 *siting(plan).moves[1:]))
    assert "siting-move" in _with(plan, moves=(replace(m, from_school="A"),
                                               *siting(plan).moves[1:]))


def test_checker_catches_rooms_over_budget_and_wrong_rows() -> None:
    plan = plan_of(six_at_b(), mode="budget", rooms=2)
    r = siting(plan)
    assert "room-budget" in _with(plan, budget_rooms=1, options=replace(r.options, rooms=1))
    bad = tuple(replace(x, students_served=x.students_served + 1) if x.status == "required"
                else x for x in r.rooms)
    assert _with(plan, rooms=bad) == ["rooms-table"]
    extra = (*r.rooms, Room("A", "T1", "new", 150_000, 0, 0))
    assert "rooms-table" in _with(plan, rooms=extra)
    wrong_cost = tuple(replace(x, cost_yuan=1) if x.status == "new" else x for x in r.rooms)
    assert "room-cost" in _with(plan, rooms=wrong_cost)


def test_checker_catches_towns_objective_and_curve() -> None:
    plan = plan_of(six_at_b(), mode="budget", rooms=2)
    r = siting(plan)
    flipped = tuple(replace(t, covered=not t.covered) if t.town == "T2" else t for t in r.towns)
    assert "towns-table" in _with(plan, towns=flipped)
    assert "siting-objective" in _with(plan, summary=replace(r.summary, objective=5.0))
    assert "siting-curve" in _with(plan, curve=r.curve[:-1])
    moved = (Move("S0", 1, "B", "A", 1, 7.8),)
    assert "siting-move" in _with(plan_of(six_at_b(), mode="coverage", rooms=2), moves=moved)


# ------------------------------------------------------------------ the command
def test_site_command_writes_a_checked_plan(tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert main(["site", str(ROOT / "scenarios" / "demo"), "--mode", "budget", "--rooms", "3",
                 "-o", str(out), "--no-maps"]) == 0
    for f in ("rooms.csv", "room_towns.csv", "siting_moves.csv", "siting_curve.csv"):
        assert (out / f).is_file()
    assert main(["check", str(ROOT / "scenarios" / "demo"), str(out)]) == 0


@pytest.mark.parametrize("args, words", [
    (["--rooms", "-2"], "--rooms must be 0 or more"),
    (["--budget-yuan", "-5"], "--budget-yuan must be 0 or more"),
    (["--time-limit", "0"], "--time-limit must be positive"),
    (["--minutes", "nan"], "--minutes must be in 0..1440"),
])
def test_site_command_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  args: list[str], words: str) -> None:
    out = tmp_path / "site"
    code = main(["site", str(ROOT / "scenarios" / "demo"), "--mode", "budget", *args,
                 "-o", str(out)])
    assert code == 2 and words in capsys.readouterr().err
    assert not out.exists()


def test_towns_covered_counts_centres() -> None:
    sc = six_at_b()
    got = towns_covered(sc, frozenset({"A", "SPE"}))
    assert got == {"Far": True, "T1": True, "T2": False}
    assert solve_siting(sc, solve_enrolment(sc, solve_placement(sc)),
                        SitingOptions()).towns[1].covered
