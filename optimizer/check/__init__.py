"""The independent checker: every hard rule re-verified from a Plan and its Scenario alone.

One module per stage (`placement`, `enrolment`, ...), one function per hard rule, each
with a "Hard:" docstring; a stage lists its rules in its `RULES` and registers them with
the stage (optimizer/stages.py). The checker never calls solver code and never trusts a
column: cells that disagree with their own row were caught while reading the plan, every
other value is re-derived here from the scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import TYPE_CHECKING, TypeVar

from lrcplan.models.plan import Plan, Violation
from lrcplan.models.scenario import Scenario

if TYPE_CHECKING:
    from lrcplan.optimizer.stages import Stage

T = TypeVar("T")


def per_plan(derive: Callable[[Scenario, Plan], T]) -> Callable[[Scenario, Plan], T]:
    """`derive`, remembered for the last (scenario, plan): a stage's rules each start from
    the same derived facts, which one check then computes once. The pair is held (not its
    ids), so no other object can take an id and be mistaken for it."""
    last: list[tuple[Scenario, Plan, T]] = []

    @wraps(derive)
    def cached(sc: Scenario, plan: Plan) -> T:
        if last and last[0][0] is sc and last[0][1] is plan:
            return last[0][2]
        found = derive(sc, plan)
        last[:] = [(sc, plan, found)]
        return found

    return cached


def check(sc: Scenario, plan: Plan, stages: Sequence[Stage] | None = None) -> list[Violation]:
    """All violations of the hard rules in a plan (empty when the plan is valid)."""
    from lrcplan.optimizer.stages import STAGES

    ran = {r.stage for r in plan.results}
    out = list(plan.cell_mismatches)
    for stage in stages if stages is not None else STAGES:
        if stage.name not in ran:
            out.append(Violation("stage", stage.name, "the stage is missing from the plan"))
        elif all(n in ran for n in stage.needs):
            for rule in stage.rules:
                out.extend(rule(sc, plan))
    return out
