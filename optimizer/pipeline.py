"""The plan pipeline: Scenario -> every registered stage in order -> checked Plan.

The pipeline names no stage: it runs `optimizer.stages.STAGES`, each with its typed options,
and hands the result to the independent checker. Writing a plan folder is the output
layer's job (maps/render.py `save_plan`), so nothing here imports maps.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from lrcplan.models.fingerprint import scenario_fingerprint
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan, StageOptions, StageResult
from lrcplan.models.planio import read_plan
from lrcplan.models.scenario import Scenario
from lrcplan.models.summary import format_table
from lrcplan.optimizer.check import check
from lrcplan.optimizer.stages import STAGE_FILES, STAGES, Stage


def run_plan(sc: Scenario, options: Mapping[str, StageOptions] | None = None, *,
             stages: Sequence[Stage] = STAGES, created: str | None = None) -> Plan:
    """Run every stage in order with its options (by stage name), then the checker."""
    opts = dict(options or {})
    unknown = sorted(set(opts) - {s.name for s in stages})
    if unknown:
        raise ValueError(f"options for unknown stage(s): {', '.join(unknown)}")
    results: list[StageResult] = []
    for stage in stages:
        opt = opts.get(stage.name) or stage.options_type()
        results.append(stage.solve(sc, tuple(results), opt))
    plan = Plan(sc.name, scenario_fingerprint(sc),
                created or dt.datetime.now().isoformat(timespec="seconds"), tuple(results))
    return replace(plan, violations=tuple(check(sc, plan, stages)))


def load_plan(folder: str | os.PathLike[str], sc: Scenario) -> Plan:
    """Read a written plan folder of this scenario back (InputError if it is not one)."""
    return read_plan(folder, sc, STAGE_FILES)


def row_counts(plan: Plan) -> list[tuple[str, int]]:
    """(file, rows) of every table of the plan, in stage order."""
    by_stage = {f.stage: f for f in STAGE_FILES}
    return [(t.file, sum(1 for _ in t.items(r)))
            for r in plan.results for t in by_stage[r.stage].tables]


def options_relied_on(plan: Plan) -> str:
    """The options of every stage that ran, as `stage.option=value` words."""
    parts = []
    for r in plan.results:
        for name, value in vars(r.options).items():
            shown = str(value).lower() if isinstance(value, bool) else value
            parts.append(f"{r.stage}.{name}={shown}")
    return " ".join(parts)


def plan_summary(plan: Plan) -> str:
    """The table printed after a plan run: stages, key numbers, the checker's verdict."""
    rows = [[s.stage, s.status.value,
             "-" if s.objective is None else f"{s.objective:,.0f}",
             "-" if s.bound is None else f"{s.bound:,.0f}",
             f"{s.seconds:.2f}", s.engine] for s in plan.stages]
    text = [format_table(["stage", "status", "objective", "bound", "seconds", "engine"], rows,
                         title=f"Plan for {plan.scenario}")]
    for r in plan.results:
        key: list[list[Any]] = [[("  " if f.indent else "") + label(f.key), f.value]
                                for f in r.figures()]
        text.append(format_table(["", "value"], key, title=f"\n{label('stage_' + r.stage)}"))
    text.append("")
    text += [f"{s.stage}: {s.proof}" for s in plan.stages if s.proof]
    text.append(f"options: {options_relied_on(plan)}")
    if plan.violations:
        text.append(f"\nCHECK FAILED: {len(plan.violations)} violation(s)")
        text += [f"  {v}" for v in plan.violations[:20]]
    else:
        text.append("\nCheck: OK (every hard rule re-verified independently)")
    return "\n".join(text)

