"""Weekly routes benchmark: the routes stage on xiaoshan (as generated, with teachers enough,
with too few), and `bench week` (lrcplan against stock OR-Tools routing and VROOM).

Every plan comes from the plan pipeline (placement, enrolment, routes) and is re-checked
by the independent checker, which must come back clean. The comparisons count every
solver's routes with `benchweek.count_week` (see optimizer/benchweek.py); their figures
go to extra_info and are printed (-s); the targets of issue 8 are printed as verdicts,
not asserted (the README records whether they are met).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import district

from lrcplan.models.entities import Role
from lrcplan.models.plan import Plan
from lrcplan.models.routes import RoutesOptions, RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer import benchweek
from lrcplan.optimizer.check import check
from lrcplan.optimizer.pipeline import run_plan

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOLOMON = ROOT.parent / "shared" / "instances" / "vrptw-solomon"
SOLOMON_SUBSET = ["C101", "R101", "RC101", "C201", "R201", "RC201"]
COMPARE_LIMIT = 10.0
ROLES = (Role.ITINERANT, Role.HOME_DELIVERY)


def _plan(sc: Scenario, benchmark, options: RoutesOptions | None = None  # type: ignore[no-untyped-def]
          ) -> tuple[Plan, RoutesResult, float]:
    t0 = time.perf_counter()
    plan = benchmark.pedantic(
        lambda: run_plan(sc, {"routes": options or RoutesOptions()}), rounds=1, iterations=1)
    seconds = time.perf_counter() - t0
    r = plan.get(RoutesResult)
    served = sum(v.status == "served" for v in r.visits)
    benchmark.extra_info.update({
        "seconds": round(seconds, 2), "routes_seconds": round(r.summary.seconds, 2),
        "required": len(r.visits), "served": served,
        "coverage_pct": round(100 * served / max(1, len(r.visits)), 2),
        "travel_minutes": r.summary.objective, "status": r.summary.status.value,
        "teachers": sum(t.role in ROLES for t in sc.teachers)})
    print(f"\n{benchmark.name}: {served}/{len(r.visits)} visits served, travel "
          f"{r.summary.objective} min, routes {r.summary.seconds:.1f} s, plan {seconds:.1f} s, "
          f"{r.summary.status.value}; {r.summary.proof}")
    assert plan.violations == ()
    assert check(sc, plan) == []  # re-checked clean, independently of the pipeline's run
    return plan, r, seconds


def test_routes_xiaoshan(benchmark) -> None:  # type: ignore[no-untyped-def]
    """The preset as generated, the default routes time limit: under 120 s, checked clean;
    full coverage, or a proof that no plan has it (teachers do not suffice)."""
    _, r, seconds = _plan(district("xiaoshan", 1.0), benchmark)
    assert seconds < 120
    served = sum(v.status == "served" for v in r.visits)
    assert served == len(r.visits) or "can be served by any plan" in r.summary.proof


def _doubled(sc: Scenario) -> Scenario:
    """Every itinerant and home-delivery teacher cloned with a new id at the same base."""
    clones = tuple(replace(t, id=f"{t.id}X") for t in sc.teachers if t.role in ROLES)
    return replace(sc, teachers=sc.teachers + clones)


@pytest.mark.xfail(strict=True, reason=(
    "issue 8 target not met: 977 of 1,054 served at the default 20 s (1,017 at 90 s); the "
    "coverage bound (optimizer/weekbound.py) finds no group of teachers short of its "
    "visits, so whether 100 % is feasible is not known"))
def test_routes_xiaoshan_teachers_enough(benchmark) -> None:  # type: ignore[no-untyped-def]
    """Twice the itinerant and home teachers: every visit served."""
    _, r, _ = _plan(_doubled(district("xiaoshan", 1.0)), benchmark)
    unserved = [v for v in r.visits if v.status != "served"]
    assert not unserved, f"{len(unserved)} unserved, e.g. {unserved[:3]}"


def _scarce(sc: Scenario) -> Scenario:
    """One itinerant and one home-delivery teacher left (the first of each by id)."""
    keep = {min(t.id for t in sc.teachers if t.role is role) for role in ROLES}
    return replace(sc, teachers=tuple(t for t in sc.teachers
                                      if t.role not in ROLES or t.id in keep))


REASONS = ("teacher hours exhausted", "no itinerant teacher has", "no home-delivery teacher",
           "no skilled teacher", "no teacher with the skills",
           "the window cannot be reached", "the family's window")


def test_routes_xiaoshan_too_few_teachers(benchmark) -> None:  # type: ignore[no-untyped-def]
    """One itinerant and one home teacher: unserved visits are named with their reason."""
    _, r, _ = _plan(_scarce(district("xiaoshan", 1.0)), benchmark)
    unserved = [v for v in r.visits if v.status != "served"]
    assert unserved
    assert all(v.reason.startswith(REASONS) for v in unserved), \
        sorted({v.reason for v in unserved if not v.reason.startswith(REASONS)})
    hours = sum(v.reason.startswith("teacher hours exhausted") for v in unserved)
    benchmark.extra_info["unserved_hours_exhausted"] = hours
    benchmark.extra_info["unserved_other_reasons"] = len(unserved) - hours


# ------------------------------------------------------------------ bench week
RESULTS: list[benchweek.WeekRow] = []
CASES = [("district", label) for label, _, _ in benchweek.DISTRICTS] + \
    [("solomon", name) for name in SOLOMON_SUBSET]


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[n for _, n in CASES])
def test_bench_week(benchmark, kind: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """lrcplan, OR-Tools and VROOM at 10 s on one instance; figures in extra_info."""
    if kind == "district":
        _, preset, scale = next(d for d in benchweek.DISTRICTS if d[0] == name)
        run = lambda: benchweek.run_district(name, preset, scale, COMPARE_LIMIT, 1)  # noqa: E731
    else:
        path = SOLOMON / f"{name}.vrp"
        if not path.is_file():
            pytest.skip(f"benchmark instance not found: {path}")
        run = lambda: benchweek.run_solomon(path, COMPARE_LIMIT, 1)  # noqa: E731
    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    RESULTS.extend(rows)
    print("\n" + benchweek.HEADER + "\n" + "\n".join(benchweek.line(r) for r in rows))
    benchmark.extra_info.update({r.solver: r.record() for r in rows})
    lrc = rows[0]
    assert lrc.solver == "lrcplan"
    # lrcplan's plan keeps every weekly rule: the common counting repairs nothing
    assert (lrc.not_allowed, lrc.same_day, lrc.other_teacher, lrc.excess, lrc.late) == \
        (0, 0, 0, 0, 0)


def test_bench_week_verdicts() -> None:
    """The issue's targets over every instance compared above (printed, not asserted)."""
    if not RESULTS:
        pytest.skip("run the bench week cases first (the whole module)")
    print("\n" + "\n".join(benchweek.verdicts(RESULTS)))
