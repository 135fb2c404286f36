"""Siting benchmark: the xiaoshan preset in budget mode with 10 new rooms, optimal with proof
in under 60 s; the other modes and the budget curve timed on the same district.

Each plan comes from the pipeline (placement, enrolment, siting) and is re-checked by the
independent checker; the siting stage is re-run alone and timed (`summary.seconds`).
"""

from __future__ import annotations

import pytest
from conftest import district

from lrcplan.models.plan import Status
from lrcplan.models.siting import SitingOptions, SitingResult
from lrcplan.optimizer.check import check
from lrcplan.optimizer.pipeline import run_plan
from lrcplan.optimizer.stages import SITE_STAGES

pytestmark = pytest.mark.slow


def _site(benchmark, options: SitingOptions) -> SitingResult:  # type: ignore[no-untyped-def]
    sc = district("xiaoshan", 1.0)
    plan = benchmark.pedantic(lambda: run_plan(sc, {"siting": options}, stages=SITE_STAGES),
                              rounds=1, iterations=1)
    r = plan.get(SitingResult)
    benchmark.extra_info.update({
        "mode": options.mode, "rooms": options.rooms, "status": r.summary.status.value,
        "objective": r.summary.objective, "bound": r.summary.bound,
        "stage_seconds": round(r.summary.seconds, 2), "built": len(r.built),
        "moves": len(r.moves), "towns_covered": sum(t.covered for t in r.towns),
        "curve": [(p.rooms, p.value) for p in r.curve]})
    print(f"\n{benchmark.name}: {r.summary.status.value}, objective {r.summary.objective}, "
          f"bound {r.summary.bound}, stage {r.summary.seconds:.1f} s, {len(r.built)} rooms "
          f"built, {len(r.moves)} moves; {r.summary.proof}")
    assert plan.violations == ()
    assert check(sc, plan, SITE_STAGES) == []
    return r


def test_xiaoshan_budget_10_rooms_proven_under_60s(benchmark) -> None:  # noqa: ANN001
    r = _site(benchmark, SitingOptions(mode="budget", rooms=10, curve=False))
    assert r.summary.status is Status.OPTIMAL
    assert r.summary.seconds < 60.0


@pytest.mark.parametrize("mode", ["coverage", "p-median"])
def test_xiaoshan_other_modes_proven(benchmark, mode: str) -> None:  # noqa: ANN001
    r = _site(benchmark, SitingOptions(mode=mode, rooms=60, curve=False))
    assert r.summary.status in (Status.OPTIMAL, Status.INFEASIBLE)


def test_xiaoshan_budget_curve(benchmark) -> None:  # noqa: ANN001
    r = _site(benchmark, SitingOptions(mode="budget", rooms=10, time_limit_s=120.0))
    assert [p.rooms for p in r.curve] == list(range(11))
