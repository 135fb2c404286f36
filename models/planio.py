"""Write a Plan as CSV and JSON files, and read it back for the checker and the maps.

Outputs carry pseudonymous student ids only (maps/ draws homes only as grid cells).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lrcplan.models.entities import Tier
from lrcplan.models.errors import InputError
from lrcplan.models.plan import (
    Decision,
    EnrolmentResult,
    PlacementResult,
    Plan,
    SchoolLoad,
    Seat,
    StageSummary,
    Status,
    Unplaced,
    Violation,
)
from lrcplan.models.scenario import Scenario

PLAN_FILES = ("plan.json", "placement.csv", "enrolment.csv", "schools.csv", "unplaced.csv")


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else (str(v).lower() if isinstance(v, bool) else v)
                        for v in row])


def _summary_dict(s: StageSummary) -> dict[str, Any]:
    return {"stage": s.stage, "status": s.status.value, "objective": s.objective,
            "bound": s.bound, "seconds": round(s.seconds, 3), "engine": s.engine,
            "details": s.details}


def write_plan(plan: Plan, sc: Scenario, folder: Path) -> None:
    """Write every plan table and layer into an existing (temporary) folder."""
    _write(folder / "placement.csv", ["student_id", "tier", "basis", "reason"],
           ((d.student_id, d.tier.value if d.tier else "", d.basis, d.reason)
            for d in plan.placement.decisions))
    _write(folder / "enrolment.csv",
           ["student_id", "tier", "school_id", "grade", "class_index", "class_id",
            "travel_minutes", "distance_km", "catchment", "incumbent"],
           ((s.student_id, s.tier.value, s.school_id, s.grade, s.class_index,
             f"{s.school_id}-{s.grade}-{s.class_index}" if s.class_index is not None else "",
             s.travel_minutes, s.distance_km, s.catchment, s.incumbent)
            for s in plan.enrolment.seats))
    _write(folder / "schools.csv",
           ["school_id", "name", "town", "kind", "lrc_students", "classes_with_lrc",
            "classes_with_two", "room_required", "has_room", "resource_teachers_needed",
            "resource_teachers_present"],
           ((x.school_id, sc.school_by_id[x.school_id].name, sc.school_by_id[x.school_id].town,
             sc.school_by_id[x.school_id].kind.value, x.lrc_students, x.classes_with_lrc,
             x.classes_with_two, x.room_required, x.has_room, x.resource_teachers_needed,
             x.resource_teachers_present) for x in plan.enrolment.schools))
    _write(folder / "unplaced.csv", ["student_id", "tier", "grade", "reason"],
           ((u.student_id, u.tier.value if u.tier else "", u.grade, u.reason)
            for u in plan.enrolment.unplaced))
    doc = {
        "scenario": plan.scenario,
        "scenario_path": str(sc.source) if sc.source else None,
        "created": plan.created,
        "options": plan.options,
        "stages": [_summary_dict(s) for s in plan.stages],
        "check": {"ok": not plan.violations, "violations": len(plan.violations),
                  "list": [{"rule": v.rule, "subject": v.subject, "message": v.message}
                           for v in plan.violations]},
        "privacy": "student ids are pseudonymous; homes are shown only as "
                   f"{sc.policy.privacy_grid_m:g} m grid cells",
    }
    (folder / "plan.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")


# ------------------------------------------------------------------ reading back
def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / name
    if not path.is_file():
        raise InputError(f"{path}: missing (not a plan folder written by lrcplan plan?)")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _opt_int(text: str) -> int | None:
    return int(text) if text else None


def read_plan(folder: str | os.PathLike[str]) -> Plan:
    """Read a plan folder back into a Plan (for `lrcplan check` and `lrcplan map`)."""
    folder = Path(folder)
    try:
        doc = json.loads((folder / "plan.json").read_text(encoding="utf-8"))
        stages = {s["stage"]: StageSummary(s["stage"], Status(s["status"]), s["seconds"],
                                           s["objective"], s["bound"], s["engine"],
                                           s["details"]) for s in doc["stages"]}
        decisions = tuple(Decision(r["student_id"], Tier(r["tier"]) if r["tier"] else None,
                                   r["basis"], r["reason"])
                          for r in _rows(folder, "placement.csv"))
        seats = tuple(Seat(r["student_id"], Tier(r["tier"]), r["school_id"], int(r["grade"]),
                           _opt_int(r["class_index"]), float(r["travel_minutes"]),
                           float(r["distance_km"]), r["catchment"] == "true",
                           r["incumbent"] == "true")
                      for r in _rows(folder, "enrolment.csv"))
        unplaced = tuple(Unplaced(r["student_id"], Tier(r["tier"]) if r["tier"] else None,
                                  int(r["grade"]), r["reason"])
                         for r in _rows(folder, "unplaced.csv"))
        loads = tuple(SchoolLoad(r["school_id"], int(r["lrc_students"]),
                                 int(r["classes_with_lrc"]), int(r["classes_with_two"]),
                                 r["room_required"] == "true", r["has_room"] == "true",
                                 int(r["resource_teachers_needed"]),
                                 int(r["resource_teachers_present"]))
                      for r in _rows(folder, "schools.csv"))
        violations = tuple(Violation(v["rule"], v["subject"], v["message"])
                           for v in doc["check"]["list"])
        return Plan(doc["scenario"], doc["created"],
                    PlacementResult(stages["placement"], decisions),
                    EnrolmentResult(stages["enrolment"], seats, unplaced, loads),
                    violations, doc.get("options", {}))
    except InputError:
        raise
    except FileNotFoundError as exc:
        raise InputError(f"{exc.filename}: missing (not a plan folder written by lrcplan "
                         "plan?)") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{folder}: not a readable lrcplan plan ({exc!r})") from None
