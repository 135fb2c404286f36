"""Scenario folders: read tables (CSV, XLSX, GeoJSON, GPKG), validate every row, save."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import shutil
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping, shape

from lrcplan.models.coords import to_wgs84
from lrcplan.models.eligibility import EligibilityStandard, default_standard
from lrcplan.models.entities import (
    ASSESSMENT_FIELDS,
    Assessment,
    Category,
    Class,
    Role,
    School,
    SchoolKind,
    SchoolLevel,
    Severity,
    Student,
    Teacher,
    Tier,
    Town,
    format_periods,
    parse_periods,
)
from lrcplan.models.errors import InputError, Problem, ScenarioError
from lrcplan.models.outdir import atomic_folder
from lrcplan.models.policy import DAYS, Policy, parse_hhmm
from lrcplan.models.scenario import Scenario, _Draft, cross_check, utm_crs

TABLE_EXTENSIONS = (".csv", ".xlsx", ".geojson", ".gpkg")
REQUIRED_TABLES = ("schools", "classes", "students", "teachers")
OPTIONAL_TABLES = ("towns",)
TOML_KEYS = {"name", "crs", "coordinates", "roads", "description", "seed", "preset", "policy",
             "week", "eligibility"}
# [week] keys are the week-shape fields of Policy under shorter names.
WEEK_KEYS = {"days": "school_days", "periods_per_day": "periods_per_day",
             "period_minutes": "period_minutes", "start": "day_start", "end": "day_end"}
# Columns never read, whatever the file holds: student records stay out of lrcplan.
PRIVATE_COLUMNS = {"name", "student_name", "姓名", "id_card", "身份证号", "guardian", "phone"}


# ---------------------------------------------------------------- reading raw tables
@dataclass
class RawTable:
    """A table as text: column names and rows of stripped strings (None when blank)."""

    file: str
    columns: list[str]
    rows: list[dict[str, str | None]]
    row_numbers: list[int]
    geometries: list[Any] | None = None  # shapely geometries (WGS84) for geo formats
    problems: list[Problem] = field(default_factory=list)  # header and row-shape problems


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.time):  # Excel stores a typed "08:00" as a time of day
        return value.strftime("%H:%M")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value).strip()
    return text or None


def read_table(path: Path) -> RawTable:
    """Read one table file by its extension; InputError if it cannot be read at all."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        if suffix == ".xlsx":
            return _read_xlsx(path)
        if suffix == ".geojson":
            return _read_geojson(path)
        if suffix == ".gpkg":
            return _read_gpkg(path)
    except InputError:
        raise
    except Exception as exc:  # a broken file of any kind is the user's to fix
        raise InputError(f"{path.name}: cannot read the file: {exc}") from None
    raise InputError(f"{path.name}: unsupported table format {suffix!r} "
                     f"(use one of {', '.join(TABLE_EXTENSIONS)})")


def _read_csv(path: Path) -> RawTable:
    # District staff save from Excel: UTF-8 with a BOM, or GB18030 on Chinese Windows.
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    # csv.reader on a stream (not splitlines) keeps U+2028 and the like inside cells.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path.name}: the file is empty (no header row)") from None
    problems = _header_problems(path.name, header)
    rows, numbers = [], []
    for values in reader:
        n = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            problems.append(Problem(path.name, n, None, f"{len(values)} cells but the header "
                                                        f"has {len(header)} columns"))
        rows.append({h: _clean(v) for h, v in zip(header, values, strict=False)})
        numbers.append(n)
    return RawTable(path.name, header, rows, numbers, problems=problems)


def _header_problems(file: str, header: list[str]) -> list[Problem]:
    """A column named twice would silently shadow the first: report it."""
    seen: set[str] = set()
    out = []
    for h in header:
        if h and h in seen:
            out.append(Problem(file, 1, h, "column appears twice in the header"))
        seen.add(h)
    return out


def _read_xlsx(path: Path) -> RawTable:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = wb.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        header = [(_clean(h) or "").lower() for h in next(it, ())]
        if not header:
            raise InputError(f"{path.name}: the first sheet is empty (no header row)")
        rows, numbers = [], []
        for n, values in enumerate(it, start=2):
            cleaned = [_clean(v) for v in values]
            if not any(cleaned):
                continue
            rows.append(dict(zip(header, cleaned, strict=False)))
            numbers.append(n)
    finally:
        wb.close()
    return RawTable(path.name, header, rows, numbers,
                    problems=_header_problems(path.name, header))


def _geo_rows(name: str, props: list[dict[str, Any]], geoms: list[Any]) -> RawTable:
    columns: list[str] = []
    for p in props:
        for k in p:
            if k.lower() not in columns:
                columns.append(k.lower())
    rows = [{k.lower(): _clean(v) for k, v in p.items()} for p in props]
    for row, g in zip(rows, geoms, strict=True):
        # Point layers give lon/lat by geometry where the columns are absent.
        if g is not None and g.geom_type == "Point":
            if row.get("lon") is None:
                row["lon"] = repr(g.x)
            if row.get("lat") is None:
                row["lat"] = repr(g.y)
    if any(g is not None and g.geom_type == "Point" for g in geoms):
        columns += [c for c in ("lon", "lat") if c not in columns]
    return RawTable(name, columns, rows, list(range(1, len(rows) + 1)), geoms)


def _read_geojson(path: Path) -> RawTable:
    # Parsed here rather than by GDAL so coordinates round-trip bit for bit.
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") != "FeatureCollection":
        raise InputError(f"{path.name}: expected a GeoJSON FeatureCollection")
    crs = (data.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and "4326" not in crs and "CRS84" not in crs:
        raise InputError(f"{path.name}: coordinates must be WGS84 lon/lat, file says {crs}")
    feats = data.get("features") or []
    geoms = [shape(f["geometry"]) if f.get("geometry") else None for f in feats]
    return _geo_rows(path.name, [dict(f.get("properties") or {}) for f in feats], geoms)


def _read_gpkg(path: Path) -> RawTable:
    import pyogrio

    df = pyogrio.read_dataframe(path)
    if df.crs is not None and not df.crs.equals("EPSG:4326"):
        df = df.to_crs("EPSG:4326")
    props = df.drop(columns="geometry").to_dict("records")
    return _geo_rows(path.name, props, list(df.geometry))


# ---------------------------------------------------------------- typed fields
Parser = Callable[[str], Any]


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        try:
            f = float(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if not f.is_integer():
            raise ValueError(f"expected a whole number, got {text!r}") from None
        return int(f)


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


_TRUE = {"true", "yes", "y", "1", "是"}
_FALSE = {"false", "no", "n", "0", "否"}


def _bool(text: str) -> bool:
    t = text.lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _enum(kind: type) -> Parser:
    allowed = ", ".join(m.value for m in kind)

    def parse(text: str) -> Any:
        try:
            return kind(text.lower())
        except ValueError:
            raise ValueError(f"unknown value {text!r} (expected one of: {allowed})") from None

    return parse


def _choice(*options: str) -> Parser:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(f"unknown value {text!r} (expected one of: {', '.join(options)})")
        return text.lower()

    return parse


def _categories(text: str) -> tuple[Category, ...]:
    parse = _enum(Category)
    return tuple(parse(t) for t in text.replace(",", ";").split(";") if t.strip())


def _days(text: str) -> tuple[str, ...]:
    days = tuple(t.strip().capitalize() for t in text.replace(",", ";").split(";") if t.strip())
    bad = [d for d in days if d not in DAYS]
    if bad:
        raise ValueError(f"unknown day {bad[0]!r} (expected {', '.join(DAYS)})")
    return days


def _time(text: str) -> str:
    parse_hhmm(text)
    return text


@dataclass(frozen=True)
class Column:
    """A column of a table: its parser, whether the column must exist, whether blank is ok."""

    name: str
    parse: Parser
    required: bool = True
    blank_ok: bool = False


def _row_values(table: RawTable, i: int, spec: Sequence[Column],
                problems: list[Problem]) -> dict[str, Any] | None:
    """Typed values of row i, or None (with problems added) if any value is wrong."""
    row, n, ok = table.rows[i], table.row_numbers[i], True
    out: dict[str, Any] = {}
    for col in spec:
        text = row.get(col.name)
        if text is None:
            if col.required and not col.blank_ok and col.name in table.columns:
                problems.append(Problem(table.file, n, col.name, "value is missing"))
                ok = False
            out[col.name] = None
            continue
        try:
            out[col.name] = col.parse(text)
        except ValueError as exc:
            problems.append(Problem(table.file, n, col.name, str(exc)))
            ok = False
    return out if ok else None


def _check_columns(table: RawTable, spec: Sequence[Column], problems: list[Problem]) -> bool:
    missing = [c.name for c in spec if c.required and c.name not in table.columns]
    for name in missing:
        problems.append(Problem(table.file, 1, name, "required column is missing"))
    return not missing


def _coordinates(table: RawTable, n: int, v: dict[str, Any],
                 problems: list[Problem]) -> bool:
    lon, lat = v["lon"], v["lat"]
    if lon is None or lat is None:
        return False
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return True
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        problems.append(Problem(table.file, n, "lat",
                                f"latitude {lat} is out of range -90..90; lon ({lon}) and lat "
                                f"({lat}) look swapped"))
    else:
        problems.append(Problem(table.file, n, "lon/lat",
                                f"({lon}, {lat}) is not a WGS84 lon/lat"))
    return False


SCHOOL_COLUMNS = (
    Column("id", str), Column("name", str), Column("lon", _float), Column("lat", _float),
    Column("town", str), Column("level", _enum(SchoolLevel)), Column("kind", _enum(SchoolKind)),
    Column("resource_room", _bool, required=False),
    Column("resource_teachers", _int, required=False),
)
CLASS_COLUMNS = (
    Column("school_id", str), Column("grade", _int), Column("class_index", _int),
    Column("pupils", _int), Column("core_periods", str, required=False),
)
_ASSESSMENT_PARSERS: dict[str, Parser] = {
    "aided_result": _choice("optimal", "suitable", "fair", "poor"),
    "adaptive": _choice("none", "mild", "moderate", "severe"),
    "autism_prescreen": _bool,
    "physical_grade": _int,
}
STUDENT_COLUMNS = (
    Column("id", str), Column("lon", _float), Column("lat", _float), Column("grade", _int),
    Column("category", _enum(Category)),
    Column("severity", _enum(Severity), required=False),
    Column("categories", _categories, required=False),
    Column("unable_to_attend", _bool, required=False),
    *(Column(f, _ASSESSMENT_PARSERS.get(f, _float), required=False) for f in ASSESSMENT_FIELDS),
    Column("catchment_school", str, required=False),
    Column("current_school", str, required=False),
    Column("current_class", _int, required=False),
    Column("tier", _enum(Tier), required=False),
)
TEACHER_COLUMNS = (
    Column("id", str), Column("role", _enum(Role)), Column("base", str),
    Column("skills", _categories), Column("days", _days, blank_ok=True),
    Column("start", _time, required=False), Column("end", _time, required=False),
    Column("max_minutes_per_day", _int, required=False),
)
TOWN_COLUMNS = (Column("name", str),)


def _parse_schools(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                   ) -> list[tuple[int, School]]:
    out = []
    if not _check_columns(t, SCHOOL_COLUMNS, problems):
        return out
    for i in range(len(t.rows)):
        v = _row_values(t, i, SCHOOL_COLUMNS, problems)
        n = t.row_numbers[i]
        ok = v is not None and _coordinates(t, n, v, problems)
        if v is not None and (v["resource_teachers"] or 0) < 0:
            problems.append(Problem(t.file, n, "resource_teachers", "must be 0 or more"))
            ok = False
        if not ok:
            bad.add(t.rows[i].get("id") or "")
            continue
        out.append((i, School(
            id=v["id"], name=v["name"], lon=v["lon"], lat=v["lat"], town=v["town"],
            level=v["level"], kind=v["kind"], resource_room=bool(v["resource_room"]),
            resource_teachers=v["resource_teachers"] or 0)))
    return out


def _grade_ok(t: RawTable, n: int, grade: int, policy: Policy, problems: list[Problem]) -> bool:
    if grade in policy.grades:
        return True
    problems.append(Problem(t.file, n, "grade", f"grade {grade} is out of range "
                                                f"{policy.min_grade}..{policy.max_grade}"))
    return False


def _parse_classes(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                   ) -> list[tuple[int, Class]]:
    out = []
    if not _check_columns(t, CLASS_COLUMNS, problems):
        return out
    ppd = policy.periods_per_day
    for i in range(len(t.rows)):
        v = _row_values(t, i, CLASS_COLUMNS, problems)
        if v is None:
            continue
        n = t.row_numbers[i]
        ok = _grade_ok(t, n, v["grade"], policy, problems)
        for name in ("class_index", "pupils"):
            if v[name] <= 0:
                problems.append(Problem(t.file, n, name, f"must be positive, got {v[name]}"))
                ok = False
        mask = 0
        if v["core_periods"]:
            try:
                mask = parse_periods(v["core_periods"], ppd)
            except ValueError as exc:
                problems.append(Problem(t.file, n, "core_periods", str(exc)))
                ok = False
        if ok:
            out.append((i, Class(v["school_id"], v["grade"], v["class_index"], v["pupils"],
                                 mask)))
    return out


def _parse_students(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                    ) -> list[tuple[int, Student]]:
    out = []
    if not _check_columns(t, STUDENT_COLUMNS, problems):
        return out
    for i in range(len(t.rows)):
        v = _row_values(t, i, STUDENT_COLUMNS, problems)
        n = t.row_numbers[i]
        ok = v is not None and _coordinates(t, n, v, problems)
        ok = ok and _grade_ok(t, n, v["grade"], policy, problems)
        if ok and v["category"] is Category.MULTIPLE and len(v["categories"] or ()) < 2:
            problems.append(Problem(t.file, n, "categories",
                                    "a student with multiple disabilities needs at least two "
                                    "categories, e.g. 'hearing;intellectual'"))
            ok = False
        if ok and Category.MULTIPLE in (v["categories"] or ()):
            problems.append(Problem(t.file, n, "categories", "list the single categories"))
            ok = False
        if not ok:
            bad.add(t.rows[i].get("id") or "")
            continue
        assessment = Assessment(**{f: v[f] for f in ASSESSMENT_FIELDS})
        out.append((i, Student(
            id=v["id"], lon=v["lon"], lat=v["lat"], grade=v["grade"], category=v["category"],
            severity=v["severity"], categories=v["categories"] or (),
            unable_to_attend=bool(v["unable_to_attend"]), assessment=assessment,
            catchment_school=v["catchment_school"], current_school=v["current_school"],
            current_class=v["current_class"], tier=v["tier"])))
    return out


def _parse_teachers(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                    ) -> list[tuple[int, Teacher]]:
    out = []
    if not _check_columns(t, TEACHER_COLUMNS, problems):
        return out
    for i in range(len(t.rows)):
        v = _row_values(t, i, TEACHER_COLUMNS, problems)
        if v is None:
            bad.add(t.rows[i].get("id") or "")
            continue
        n, ok = t.row_numbers[i], True
        if not v["days"]:
            problems.append(Problem(t.file, n, "days", "the teacher has no working day"))
            ok = False
        if not v["skills"]:
            problems.append(Problem(t.file, n, "skills", "the teacher has no skill listed"))
            ok = False
        start, end = v["start"] or policy.day_start, v["end"] or policy.day_end
        if parse_hhmm(end) <= parse_hhmm(start):
            problems.append(Problem(t.file, n, "end", f"end {end} is not after start {start}"))
            ok = False
        minutes = v["max_minutes_per_day"]
        if minutes is not None and minutes <= 0:
            problems.append(Problem(t.file, n, "max_minutes_per_day",
                                    f"must be positive, got {minutes}"))
            ok = False
        if not ok:
            bad.add(v["id"])
            continue
        out.append((i, Teacher(
            id=v["id"], role=v["role"], base=v["base"], skills=frozenset(v["skills"]),
            days=v["days"], start=start, end=end,
            max_minutes_per_day=minutes or parse_hhmm(end) - parse_hhmm(start))))
    return out


def _parse_towns(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                 ) -> list[tuple[int, Town]]:
    out: list[tuple[int, Town]] = []
    if not _check_columns(t, TOWN_COLUMNS, problems):
        return out
    if t.geometries is None:
        wkt_ok = "wkt" in t.columns
        if not wkt_ok:
            problems.append(Problem(t.file, 1, "wkt", "a towns table needs polygons: use "
                                                      "GeoJSON, GeoPackage or a wkt column"))
            return out
    for i, row in enumerate(t.rows):
        n, name = t.row_numbers[i], row.get("name")
        try:
            geom = t.geometries[i] if t.geometries is not None else shapely.from_wkt(row["wkt"])
        except Exception as exc:  # shapely raises its own error types for bad WKT
            problems.append(Problem(t.file, n, "wkt", f"not a polygon: {exc}"))
            geom = None
        if name is None:
            problems.append(Problem(t.file, n, "name", "value is missing"))
        elif geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(t.file, n, "geometry", "expected a polygon"))
            bad.add(name)
        elif not geom.is_valid:
            problems.append(Problem(t.file, n, "geometry",
                                    f"invalid polygon: {shapely.is_valid_reason(geom)}"))
            bad.add(name)
        else:
            out.append((i, Town(name, geom)))
    return out


PARSERS = {"schools": _parse_schools, "classes": _parse_classes, "students": _parse_students,
           "teachers": _parse_teachers, "towns": _parse_towns}


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
    cross-table checks (six calls in all) so a CLI can draw a bar.
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

    paths = _find_tables(folder, problems)
    parsed: dict[str, list[tuple[int, Any]]] = {}
    bad: dict[str, set[str]] = {}
    files: dict[str, tuple[str, list[int]]] = {}
    notes: list[str] = []
    for table, path in paths.items():
        raw = read_table(path)
        problems.extend(raw.problems)
        private = sorted(PRIVATE_COLUMNS & set(raw.columns)) if table == "students" else []
        if private:
            notes.append(f"{raw.file}: column(s) {', '.join(private)} ignored: personal "
                         "records are never read")
            for row in raw.rows:
                for c in private:
                    row.pop(c, None)
        bad[table] = set()
        parsed[table] = PARSERS[table](raw, policy, problems, bad[table])
        files[table] = (raw.file, [raw.row_numbers[i] for i, _ in parsed[table]])
        step(table)
    for table in sorted(set(PARSERS) - set(paths)):
        step(table)

    def locate(table: str, index: int) -> tuple[str, int | None]:
        file, rows = files.get(table, (f"{table}.csv", []))
        return file, rows[index] if index < len(rows) else None

    items = {t: tuple(e for _, e in parsed.get(t, [])) for t in PARSERS}
    if system != "wgs84":
        items = _convert(items, system)
    crs = str(data.get("crs") or "")
    if not crs:
        pts = items["schools"] or items["students"]
        crs = utm_crs(*_median_lonlat(pts)) if pts else "EPSG:3857"
    else:
        problems.extend(_crs_problems(crs))
    name = str(data.get("name") or folder.name)

    if problems:
        draft = _Draft(name, crs if not _crs_problems(crs) else "EPSG:3857", policy,
                       items["schools"], items["classes"], items["students"],
                       items["teachers"], items["towns"], locate)
        problems.extend(cross_check(draft, extra_ids=bad))
        raise ScenarioError(problems)
    scenario = Scenario(name=name, crs=crs, policy=policy, schools=items["schools"],
                    classes=items["classes"], students=items["students"],
                    teachers=items["teachers"], towns=items["towns"], roads=roads,
                    standard=standard, locate=locate, notes=tuple(notes),
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


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def write_scenario(sc: Scenario, folder: Path, *, extra: dict[str, Any] | None = None) -> None:
    """Write a scenario's files into an existing folder (WGS84, CSV and GeoJSON)."""
    lines = [f"name = {_toml_value(sc.name)}", f"crs = {_toml_value(sc.crs)}",
             'coordinates = "wgs84"']
    for key, value in (extra or {}).items():
        lines.append(f"{key} = {_toml_value(value)}")
    if sc.roads is not None:
        shutil.copyfile(sc.roads, folder / sc.roads.name)
        lines.append(f"roads = {_toml_value(sc.roads.name)}")
    if sc.standard != default_standard():
        (folder / "eligibility.toml").write_text(sc.standard.to_toml(), encoding="utf-8")
        lines.append('eligibility = "eligibility.toml"')
    overrides = sc.policy.to_overrides()
    if overrides:
        lines.append("\n[policy]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in overrides.items()]
    (folder / "scenario.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")

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
                 s.catchment_school, s.current_school, s.current_class, s.tier)
                for s in sc.students))
    _write_csv(folder / "teachers.csv", [c.name for c in TEACHER_COLUMNS],
               ((t.id, t.role, t.base, t.skills, ";".join(t.days), t.start, t.end,
                 t.max_minutes_per_day) for t in sc.teachers))
    if sc.towns:
        fc = {"type": "FeatureCollection",
              "features": [{"type": "Feature", "properties": {"name": t.name},
                            "geometry": mapping(t.geometry)} for t in sc.towns]}
        (folder / "towns.geojson").write_text(json.dumps(fc, ensure_ascii=False),
                                              encoding="utf-8")


def save_scenario(sc: Scenario, folder: str | os.PathLike[str], *,
                  extra: dict[str, Any] | None = None) -> Path:
    """Write a scenario folder atomically; it loads back equal to `sc`."""
    with atomic_folder(folder) as tmp:
        write_scenario(sc, tmp, extra=extra)
    return Path(folder)

