"""Writing a scenario folder: scenario.toml by tomli-w, tables as UTF-8 CSV, towns as GeoJSON."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w
from shapely.geometry import mapping

from lrcplan.models.eligibility import default_standard
from lrcplan.models.entities import ASSESSMENT_FIELDS, format_periods
from lrcplan.models.schema import (
    CLASS_COLUMNS,
    SCHOOL_COLUMNS,
    SESSION_COLUMNS,
    STUDENT_COLUMNS,
    TEACHER_COLUMNS,
)

if TYPE_CHECKING:
    from lrcplan.models.scenario import Scenario


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, tuple | frozenset):
        return ";".join(sorted(str(getattr(v, "value", v)) for v in value))
    return str(getattr(value, "value", value))


def _write_csv(path: Path, header: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([_fmt(v) for v in row] for row in rows)


def scenario_toml(sc: Scenario, *, extra: dict[str, Any] | None = None,
                  roads: str | None = None, eligibility: str | None = None) -> str:
    """The scenario.toml text of a scenario (tomli-w quotes every string correctly)."""
    data: dict[str, Any] = {"name": sc.name, "crs": sc.crs, "coordinates": "wgs84"}
    data.update(extra or {})
    if roads is not None:
        data["roads"] = roads
    if eligibility is not None:
        data["eligibility"] = eligibility
    overrides = sc.policy.to_overrides()
    if overrides:
        data["policy"] = overrides
    return tomli_w.dumps(data)


def write_scenario(sc: Scenario, folder: Path, *, extra: dict[str, Any] | None = None) -> None:
    """Write a scenario's files into an existing folder (WGS84, CSV and GeoJSON)."""
    roads = eligibility = None
    if sc.roads is not None:
        shutil.copyfile(sc.roads, folder / sc.roads.name)
        roads = sc.roads.name
    if sc.standard != default_standard():
        (folder / "eligibility.toml").write_text(sc.standard.to_toml(), encoding="utf-8")
        eligibility = "eligibility.toml"
    (folder / "scenario.toml").write_text(
        scenario_toml(sc, extra=extra, roads=roads, eligibility=eligibility), encoding="utf-8")

    _write_csv(folder / "schools.csv", [c.name for c in SCHOOL_COLUMNS],
               ((s.id, s.name, s.lon, s.lat, s.town, s.level, s.kind, s.resource_room,
                 s.resource_teachers) for s in sc.schools))
    ppd = sc.policy.periods_per_day
    _write_csv(folder / "classes.csv", [c.name for c in CLASS_COLUMNS],
               ((c.school_id, c.grade, c.index, c.pupils, format_periods(c.core_mask, ppd))
                for c in sc.classes))
    _write_csv(folder / "students.csv", [c.name for c in STUDENT_COLUMNS],
               ((s.id, s.lon, s.lat, s.grade, s.category, s.severity, s.categories,
                 s.unable_to_attend, *(getattr(s.assessment, f) for f in ASSESSMENT_FIELDS),
                 s.catchment_school, s.current_school, s.current_class, s.tier,
                 ";".join(s.family_days), s.family_start, s.family_end)
                for s in sc.students))
    _write_csv(folder / "teachers.csv", [c.name for c in TEACHER_COLUMNS],
               ((t.id, t.role, t.base, t.skills, ";".join(t.days), t.start, t.end,
                 t.max_minutes_per_day) for t in sc.teachers))
    if sc.sessions:  # the pinned sessions only: a scenario keeps no others
        _write_csv(folder / "sessions.csv", [c.name for c in SESSION_COLUMNS],
                   ((p.school_id, p.day, p.period, p.teacher_id, ";".join(p.student_ids), True)
                    for p in sc.sessions))
    if sc.towns:
        fc = {"type": "FeatureCollection",
              "features": [{"type": "Feature", "properties": {"name": t.name},
                            "geometry": mapping(t.geometry)} for t in sc.towns]}
        (folder / "towns.geojson").write_text(json.dumps(fc, ensure_ascii=False),
                                              encoding="utf-8")
