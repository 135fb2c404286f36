"""Scenario folders: find and read the tables, validate every row and table, save.

The pieces live in their own modules: models/readers.py reads raw tables (encodings,
delimiters, Excel quirks), models/schema.py types and range-checks each cell and builds
entities, models/writers.py writes a folder back. This module ties them to a folder.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import shapely

from lrcplan.models.coords import to_wgs84
from lrcplan.models.eligibility import EligibilityStandard, default_standard
from lrcplan.models.entities import PinnedSession, Town
from lrcplan.models.errors import InputError, Problem, ScenarioError
from lrcplan.models.outdir import atomic_folder
from lrcplan.models.policy import Policy
from lrcplan.models.readers import TABLE_EXTENSIONS, RawTable, check_encoding, read_table
from lrcplan.models.scenario import Scenario, _Draft, cross_check, session_problems, utm_crs
from lrcplan.models.schema import (
    CLASS_COLUMNS,
    COLUMNS,
    PARSERS,
    SCHOOL_COLUMNS,
    SESSION_COLUMNS,
    STUDENT_COLUMNS,
    TEACHER_COLUMNS,
    TOWN_COLUMNS,
    Column,
    check_columns,
)
from lrcplan.models.writers import write_scenario

__all__ = ["CLASS_COLUMNS", "LOAD_STEPS", "SCHOOL_COLUMNS", "SESSION_COLUMNS",
           "STUDENT_COLUMNS", "TABLE_EXTENSIONS", "TEACHER_COLUMNS", "TOWN_COLUMNS", "Column",
           "RawTable", "load_scenario", "read_table", "save_scenario", "write_scenario"]

REQUIRED_TABLES = ("schools", "classes", "students", "teachers")
OPTIONAL_TABLES = ("towns", "sessions")
#: Calls of load_scenario's `progress`: one a table, one for the cross-table checks.
LOAD_STEPS = len(PARSERS) + 1
TOML_KEYS = {"name", "crs", "coordinates", "roads", "description", "seed", "preset", "policy",
             "week", "eligibility", "encoding"}
# [week] keys are the week-shape fields of Policy under shorter names.
WEEK_KEYS = {"days": "school_days", "periods_per_day": "periods_per_day",
             "period_minutes": "period_minutes", "start": "day_start", "end": "day_end"}
# Columns never read, whatever the file holds: student records stay out of lrcplan.
PRIVATE_COLUMNS = {"name", "student_name", "姓名", "id_card", "身份证号", "guardian", "phone"}


# ---------------------------------------------------------------- the folder
def _find_tables(folder: Path, problems: list[Problem]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for table in (*REQUIRED_TABLES, *OPTIONAL_TABLES):
        paths = sorted(p for p in folder.iterdir()
                       if p.stem.lower() == table and p.suffix.lower() in TABLE_EXTENSIONS)
        if len(paths) > 1:
            problems.append(Problem(paths[1].name, None, None,
                                    f"two files for table {table!r}: "
                                    f"{', '.join(p.name for p in paths)}"))
        elif not paths and table in REQUIRED_TABLES:
            problems.append(Problem(f"{table}.csv", None, None,
                                    f"table {table!r} is missing (expected {table}.csv, "
                                    f".xlsx, .geojson or .gpkg)"))
        if paths:
            found[table] = paths[0]
    return found


def _read(table: str, path: Path, encoding: str | None, head: list[Problem],
          notes: list[str]) -> RawTable | None:
    """The raw table, or None with a table-level problem when it cannot be used at all."""
    spec = COLUMNS[table]
    try:
        raw = read_table(path, encoding=encoding,
                         expect=[c.name for c in spec if c.required])
    except InputError as exc:
        text = str(exc).removeprefix(f"{path.name}: ")
        head.append(Problem(path.name, None, None, f"the {table} table cannot be read: {text}"))
        return None
    notes.extend(raw.notes)
    private = sorted(PRIVATE_COLUMNS & set(raw.columns)) if table == "students" else []
    if private:
        notes.append(f"{raw.file}: column(s) {', '.join(private)} ignored: personal "
                     "records are never read")
        for row in raw.rows:
            for c in private:
                row.pop(c, None)
    if not check_columns(raw, spec, head):
        return None
    if not raw.rows:
        head.append(Problem(raw.file, None, None, f"{raw.file} has no rows (only a header)"))
        return None
    return raw


def _read_toml(folder: Path, problems: list[Problem]) -> dict[str, Any]:
    path = folder / "scenario.toml"
    if not path.exists():
        problems.append(Problem("scenario.toml", None, None, "file is missing"))
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Notepad writes a BOM
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem("scenario.toml", None, None, f"not valid TOML: {exc}"))
        return {}
    for key in data:
        if key not in TOML_KEYS:
            problems.append(Problem("scenario.toml", None, key, "unknown key"))
    return data


def _policy(data: dict[str, Any], problems: list[Problem]) -> Policy:
    for key in ("policy", "week"):
        if key in data and not isinstance(data[key], dict):
            problems.append(Problem("scenario.toml", None, key,
                                    f"expected a table [{key}], got {data[key]!r}"))
            data = {k: v for k, v in data.items() if k != key}
    table = dict(data.get("policy") or {})
    for key, value in (data.get("week") or {}).items():
        if key not in WEEK_KEYS:
            problems.append(Problem("scenario.toml", None, f"week.{key}", "unknown key"))
        else:
            table[WEEK_KEYS[key]] = value
    try:
        return Policy.from_mapping(table)
    except ScenarioError as exc:
        problems.extend(exc.problems)
        return Policy()


def load_scenario(folder: str | os.PathLike[str], *,
                  progress: Callable[[str], None] | None = None) -> Scenario:
    """Load and validate a scenario folder; ScenarioError lists every problem found.

    `progress`, if given, is called with a label after each table and after the
    cross-table checks (LOAD_STEPS calls in all) so a CLI can draw a bar.
    """
    folder = Path(folder)
    step = progress or (lambda label: None)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a scenario folder (no such directory)")
    problems: list[Problem] = []
    data = _read_toml(folder, problems)
    policy = _policy(data, problems)
    system = str(data.get("coordinates", "wgs84")).lower()
    if system not in ("wgs84", "gcj02", "bd09"):
        problems.append(Problem("scenario.toml", None, "coordinates",
                                f"unknown coordinate system {system!r} "
                                "(expected wgs84, gcj02 or bd09)"))
        system = "wgs84"
    roads = None
    if data.get("roads"):
        roads = folder / str(data["roads"])
        if not roads.is_file():
            problems.append(Problem("scenario.toml", None, "roads", f"no file {roads.name}"))
            roads = None

    standard = default_standard()
    if data.get("eligibility"):
        path = folder / str(data["eligibility"])
        if not path.is_file():
            problems.append(Problem("scenario.toml", None, "eligibility", f"no file {path.name}"))
        else:
            try:
                standard = EligibilityStandard.from_toml(path)
            except ScenarioError as exc:
                problems.extend(exc.problems)

    encoding = None
    if data.get("encoding"):
        try:
            encoding = check_encoding(str(data["encoding"]))
        except ValueError as exc:
            problems.append(Problem("scenario.toml", None, "encoding", str(exc)))

    # Table-level problems (a table missing, unreadable, without its columns or rows) come
    # first, and references into such a table are not checked: one clear cause, not
    # hundreds of consequences in other tables.
    head: list[Problem] = []
    n_toml = len(problems)
    paths = _find_tables(folder, head)
    unusable = {t for t in REQUIRED_TABLES if t not in paths}
    parsed: dict[str, list[tuple[int, Any]]] = {}
    bad: dict[str, set[str]] = {}
    files: dict[str, tuple[str, list[int]]] = {}
    notes: list[str] = []
    for table, path in paths.items():
        raw = _read(table, path, encoding, head, notes)
        if raw is None:
            unusable.add(table)
            step(table)
            continue
        head.extend(p for p in raw.problems if p.row is None or p.row <= 1)
        problems.extend(p for p in raw.problems if not (p.row is None or p.row <= 1))
        bad[table] = set()
        parsed[table] = PARSERS[table](raw, policy, problems, bad[table])
        files[table] = (raw.file, [raw.row_numbers[i] for i, _ in parsed[table]])
        step(table)
    for table in sorted(set(PARSERS) - set(paths)):
        step(table)
    problems[n_toml:n_toml] = head

    def locate(table: str, index: int) -> tuple[str, int | None]:
        file, rows = files.get(table, (f"{table}.csv", []))
        return file, rows[index] if index < len(rows) else None

    items = {t: tuple(e for _, e in parsed.get(t, [])) for t in PARSERS}
    # Every valid row of the sessions table is checked against the other tables, but only
    # the pinned ones are kept: rows with pinned = false are the old timetable, replanned
    # freely. sessions.csv rows are located among all rows here, among the pinned ones
    # (Scenario.sessions) by `locate`.
    session_rows: tuple[tuple[PinnedSession, bool], ...] = items.pop("sessions")
    session_file, all_session_rows = files.pop("sessions", ("sessions.csv", []))
    if session_rows:
        files["sessions"] = (session_file, [n for n, (_, pinned) in
                                            zip(all_session_rows, session_rows, strict=True)
                                            if pinned])
    sessions = tuple(s for s, pinned in session_rows if pinned)

    def where(index: int) -> tuple[str, int | None]:
        return session_file, all_session_rows[index]

    if system != "wgs84":
        items = _convert(items, system)
    crs = str(data.get("crs") or "")
    if not crs:
        pts = items["schools"] or items["students"]
        crs = utm_crs(*_median_lonlat(pts)) if pts else "EPSG:3857"
    else:
        problems.extend(_crs_problems(crs))
    name = str(data.get("name") or folder.name)

    draft = _Draft(name, crs, policy, items["schools"], items["classes"], items["students"],
                   items["teachers"], items["towns"], locate)
    pins = session_problems(draft, session_rows, where, extra_ids=bad, unchecked=unusable)
    if problems or pins:
        if _crs_problems(crs):
            draft.crs = "EPSG:3857"
        problems.extend(cross_check(draft, extra_ids=bad, unchecked=unusable))
        problems.extend(pins)
        raise ScenarioError(problems)
    scenario = Scenario(name=name, crs=crs, policy=policy, schools=items["schools"],
                    classes=items["classes"], students=items["students"],
                    teachers=items["teachers"], towns=items["towns"], roads=roads,
                    sessions=sessions, standard=standard, locate=locate, notes=tuple(notes),
                    source=folder.resolve())
    if roads is not None:
        try:  # a broken road file is found by `validate`, not half-way through a plan
            _ = scenario.travel
        except InputError as exc:
            raise ScenarioError([Problem(roads.name, None, None, str(exc))]) from None
    step("cross-checks")
    return scenario


def _median_lonlat(points: Sequence[Any]) -> tuple[float, float]:
    lons = sorted(p.lon for p in points)
    lats = sorted(p.lat for p in points)
    return lons[len(lons) // 2], lats[len(lats) // 2]


def _crs_problems(crs: str) -> list[Problem]:
    import pyproj

    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        return [Problem("scenario.toml", None, "crs", f"unknown CRS {crs!r}")]
    if not parsed.is_projected:
        return [Problem("scenario.toml", None, "crs",
                        f"{crs} is not a projected CRS (metres), e.g. EPSG:32651")]
    return []


def _convert(items: dict[str, tuple[Any, ...]], system: str) -> dict[str, tuple[Any, ...]]:
    """Entities with GCJ-02 / BD-09 coordinates moved to WGS84."""
    from dataclasses import replace

    import numpy as np

    out = dict(items)
    for table in ("schools", "students"):
        rows = items[table]
        if not rows:
            continue
        lon, lat = to_wgs84(np.array([r.lon for r in rows]), np.array([r.lat for r in rows]),
                            system)
        out[table] = tuple(replace(r, lon=float(x), lat=float(y))
                           for r, x, y in zip(rows, lon, lat, strict=True))
    out["towns"] = tuple(
        Town(t.name, shapely.transform(t.geometry, lambda xy: np.column_stack(
            to_wgs84(xy[:, 0], xy[:, 1], system))))
        for t in items["towns"])
    return out


# ---------------------------------------------------------------- saving
def save_scenario(sc: Scenario, folder: str | os.PathLike[str], *,
                  extra: dict[str, Any] | None = None,
                  protect: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Write a scenario folder atomically; it loads back equal to `sc`.

    `protect` lists folders the output may not be, contain or lie inside (see outdir).
    """
    with atomic_folder(folder, kind="scenario", protect=protect) as tmp:
        write_scenario(sc, tmp, extra=extra)
    return Path(folder)
