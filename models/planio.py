"""Write a Plan as plan.json plus each stage's CSV tables, and read it back for checking.

plan.json carries the format and its version (what makes a folder an lrcplan plan), the
scenario's name and content fingerprint, every stage's summary and typed options, and the
checker's verdict. Tables are declared by the stages themselves (models/tables.py).
Outputs carry pseudonymous student ids only (maps/ draws homes only as grid cells).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lrcplan.models.errors import InputError
from lrcplan.models.plan import Plan, StageResult, StageSummary, Status, Violation
from lrcplan.models.scenario import Scenario
from lrcplan.models.tables import CellError, StageFiles, options_from_json, options_json, text

PLAN_FORMAT = "lrcplan-plan"
PLAN_FORMAT_VERSION = 3  # 3: the siting stage (rooms.csv ...) in every plan
MAX_CELL_CHARS = 100_000  # a plan's longest cell is a reason of a few hundred characters


def _write_csv(path: Path, header: Sequence[str], rows: Any) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([text(v) for v in row] for row in rows)


def _summary_json(s: StageSummary) -> dict[str, Any]:
    return {"stage": s.stage, "status": s.status.value, "objective": s.objective,
            "bound": s.bound, "seconds": round(s.seconds, 3), "engine": s.engine,
            "proof": s.proof}


def write_plan(plan: Plan, sc: Scenario, folder: Path,
               files: Sequence[StageFiles[Any]]) -> list[Path]:
    """Write plan.json and every stage's tables into an existing (temporary) folder."""
    by_stage = {f.stage: f for f in files}
    paths, stages = [], []
    for result in plan.results:
        spec = by_stage[result.stage]
        for table in spec.tables:
            path = folder / table.file
            _write_csv(path, table.columns, (table.cells(x, sc) for x in table.items(result)))
            paths.append(path)
        stages.append(_summary_json(result.summary)
                      | {"options": options_json(result.options)} | spec.extra(result))
    doc = {
        "format": PLAN_FORMAT,
        "format_version": PLAN_FORMAT_VERSION,
        "scenario": plan.scenario,
        "scenario_fingerprint": plan.fingerprint,
        "scenario_path": str(sc.source) if sc.source else None,
        "created": plan.created,
        "stages": stages,
        "check": {"ok": not plan.violations, "violations": len(plan.violations),
                  "list": [{"rule": v.rule, "subject": v.subject, "message": v.message}
                           for v in plan.violations]},
        "privacy": "student ids are pseudonymous; homes are shown only as "
                   f"{sc.policy.privacy_grid_m:g} m grid cells",
    }
    path = folder / "plan.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [path, *paths]


# ------------------------------------------------------------------ reading back
def read_plan_json(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """plan.json of a plan folder, after checking it is one lrcplan can read."""
    path = Path(folder) / "plan.json"
    if not Path(folder).is_dir():
        raise InputError(f"{folder}: not a plan folder (no such directory)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing (not a plan folder written by lrcplan plan)") \
            from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise InputError(f"{path}: not a plan written by lrcplan (no \"format\": "
                         f"\"{PLAN_FORMAT}\")")
    if doc.get("format_version") != PLAN_FORMAT_VERSION:
        raise InputError(f"{path}: plan format version {doc.get('format_version')!r}; this "
                         f"lrcplan reads version {PLAN_FORMAT_VERSION}: plan again")
    return doc


def _table_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path}: empty (no header row)")
            out = []
            for values in reader:
                if len(values) != len(header) or any(len(v) > MAX_CELL_CHARS for v in values):
                    out.append((reader.line_num, {}))  # reported as unreadable below
                    continue
                out.append((reader.line_num, dict(zip(header, values, strict=True))))
            return out
    except FileNotFoundError:
        raise InputError(f"{path}: missing (not a plan folder written by lrcplan plan)") \
            from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None


def _read_table(folder: Path, table: Any, sc: Scenario,
                problems: list[Violation]) -> list[Any]:
    """Items of one table; unreadable rows and cells disagreeing with their row reported."""
    path = folder / table.file
    items = []
    for n, row in _table_rows(path):
        # Name the row by its first column (the student or school) as well as its line.
        key = row.get(table.columns[0], "") if row else ""
        where = f"{table.file}:{n}" + (f" ({key[:40]})" if key else "")
        if not row:
            problems.append(Violation("cell", where, f"row does not have the "
                                                     f"{len(table.columns)} columns"))
            continue
        try:
            item = table.parse(row)
        except CellError as exc:
            problems.append(Violation("cell", where, f"{exc.column}: {exc}"))
            continue
        for column, value in zip(table.columns, table.cells(item, sc), strict=True):
            if column in table.derived and row.get(column) != text(value):
                problems.append(Violation("cell", where, f"{column}: written "
                                                         f"{row.get(column)!r}, the row's "
                                                         f"values give {text(value)!r}"))
        items.append(item)
    return items


def _summary(s: dict[str, Any], name: str) -> StageSummary:
    def number(key: str) -> float | None:
        v = s.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ValueError(f"stages.{name}.{key}: expected a number, got {v!r}")
        return v

    seconds = number("seconds")
    return StageSummary(name, Status(s["status"]), 0.0 if seconds is None else seconds,
                        number("objective"), number("bound"), str(s.get("engine", "")),
                        str(s.get("proof", "")))


def read_plan(folder: str | os.PathLike[str], sc: Scenario,
              files: Sequence[StageFiles[Any]]) -> Plan:
    """Read a plan folder back into a Plan, for `lrcplan check` and `lrcplan map`.

    A plan of another scenario, or a plan.json that cannot be read, is an InputError.
    Table cells that cannot be read, or that disagree with their own row, become
    `Plan.cell_mismatches`: the checker reports them as violations.
    """
    from lrcplan.models.fingerprint import scenario_fingerprint

    folder = Path(folder)
    doc = read_plan_json(folder)
    path = folder / "plan.json"
    want = scenario_fingerprint(sc)
    got = doc.get("scenario_fingerprint")
    if got != want and doc.get("scenario") == sc.name:
        raise InputError(f"{path}: the scenario {sc.name!r} has changed since this plan was "
                         f"made (fingerprint {got} then, {want} now), or this is another "
                         "scenario of the same name: plan again")
    if got != want:
        raise InputError(f"{path}: this plan was made from another scenario "
                         f"({doc.get('scenario')!r}, fingerprint {got}), not from "
                         f"{sc.name!r} (fingerprint {want}): check it against its own "
                         "scenario")
    by_stage = {f.stage: f for f in files}
    problems: list[Violation] = []
    results: list[StageResult] = []
    try:
        for s in doc["stages"]:
            name = s["stage"]
            if name not in by_stage:
                raise ValueError(f"unknown stage {name!r}")
            if any(r.stage == name for r in results):
                raise ValueError(f"stage {name!r} appears twice")
            spec = by_stage[name]
            options = options_from_json(spec.options_type, s.get("options", {}),
                                        f"stages.{name}.options")
            tables = {t.file: _read_table(folder, t, sc, problems) for t in spec.tables}
            results.append(spec.build(_summary(s, name), options, s, tables))
        violations = tuple(Violation(str(v["rule"]), str(v["subject"]), str(v["message"]))
                           for v in doc["check"]["list"])
        return Plan(str(doc["scenario"]), want, str(doc["created"]), tuple(results),
                    violations, tuple(problems))
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a readable lrcplan plan ({exc})") from None
