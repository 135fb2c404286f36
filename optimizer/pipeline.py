"""The plan pipeline: Scenario -> placement -> enrolment -> (later stages) -> checked Plan."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from lrcplan.models.outdir import atomic_folder
from lrcplan.models.plan import Plan
from lrcplan.models.planio import write_plan
from lrcplan.models.scenario import Scenario
from lrcplan.models.summary import format_table
from lrcplan.optimizer.check import check
from lrcplan.optimizer.enrolment import EnrolmentOptions, solve_enrolment
from lrcplan.optimizer.placement import solve_placement


@dataclass(frozen=True)
class PlanOptions:
    """Options of a whole plan run."""

    enrolment: EnrolmentOptions = field(default_factory=EnrolmentOptions)


def run_plan(sc: Scenario, options: PlanOptions | None = None, *,
             created: str | None = None) -> Plan:
    """Run every stage in order and the independent checker on the result."""
    opt = options or PlanOptions()
    placement = solve_placement(sc)
    enrolment = solve_enrolment(sc, placement, opt.enrolment)
    plan = Plan(sc.name, created or dt.datetime.now().isoformat(timespec="seconds"),
                placement, enrolment, options={"reshuffle": opt.enrolment.reshuffle,
                                               "enrolment": asdict(opt.enrolment)})
    return replace(plan, violations=tuple(check(sc, plan)))


def save_plan(plan: Plan, sc: Scenario, out: str | os.PathLike[str], *, maps: bool = True,
              lang: str = "en", tiles: bool = False) -> Path:
    """Write the plan folder atomically: tables, GIS layers and, unless told not to, maps.

    Nothing appears at `out` unless everything was written.
    """
    from lrcplan.maps.render import write_layers, write_maps

    with atomic_folder(out) as tmp:
        write_plan(plan, sc, tmp)
        write_layers(plan, sc, tmp)
        if maps:
            write_maps(plan, sc, tmp, lang=lang, tiles=tiles)
    return Path(out)


def plan_summary(plan: Plan) -> str:
    """The table printed after a plan run: stages, key numbers, the checker's verdict."""
    rows = [[s.stage, s.status.value,
             "-" if s.objective is None else f"{s.objective:,.0f}",
             "-" if s.bound is None else f"{s.bound:,.0f}",
             f"{s.seconds:.2f}", s.engine] for s in plan.stages]
    text = [format_table(["stage", "status", "objective", "bound", "seconds", "engine"], rows,
                         title=f"Plan for {plan.scenario}")]
    p = plan.placement.summary.details
    e = plan.enrolment.summary.details
    loads = plan.enrolment.schools
    key = [
        ["students placed in regular classes (LRC)", p.get("lrc", 0)],
        ["students placed in special schools", p.get("special", 0)],
        ["students taught at home", p.get("home", 0)],
        ["tier undecided (refer to the committee)", p.get("undecided", 0)],
        ["LRC students seated", e["lrc_seated"]],
        ["  of which kept their seat", sum(s.incumbent for s in plan.enrolment.seats
                                          if s.tier.value == "lrc")],
        ["  outside their catchment school", e["outside_catchment"]],
        ["  sharing a class beyond the preferred number", e["seats_beyond_preferred"]],
        ["  mean / max travel (min)",
         f"{e['lrc_travel_minutes_total'] / max(1, e['lrc_seated']):.1f} / "
         f"{e['lrc_travel_minutes_max']:.1f}"],
        ["special-school students seated", e["special_seated"]],
        ["unplaced students", e["unplaced"]],
        ["schools reaching the resource-room threshold", sum(x.room_required for x in loads)],
        ["  of which without a room", sum(x.room_required and not x.has_room for x in loads)],
        ["resource teachers needed / present",
         f"{sum(x.resource_teachers_needed for x in loads)} / "
         f"{sum(min(x.resource_teachers_present, x.resource_teachers_needed) for x in loads)}"],
    ]
    text.append(format_table(["", "value"], key, title="\nKey numbers"))
    text.append(f"\nOptimality: {e['optimality']}")
    if plan.violations:
        text.append(f"\nCHECK FAILED: {len(plan.violations)} violation(s)")
        text += [f"  {v}" for v in plan.violations[:20]]
    else:
        text.append("\nCheck: OK (every hard rule re-verified independently)")
    return "\n".join(text)
