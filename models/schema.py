"""The table schema: each column's parser and plausible range, and rows turned into entities.

Every range sits next to its column with its source. A value outside its range is an
error naming file, row and column: a typing slip (an extra zero, a score from another
scale, a pasted total) must not reach the solvers or the printed plan.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely

from lrcplan.models.entities import (
    ASSESSMENT_FIELDS,
    Assessment,
    Category,
    Class,
    PinnedSession,
    Role,
    School,
    SchoolKind,
    SchoolLevel,
    Severity,
    Student,
    Teacher,
    Tier,
    Town,
    parse_periods,
)
from lrcplan.models.errors import Problem
from lrcplan.models.policy import DAYS, Policy, parse_hhmm
from lrcplan.models.readers import _EXCEL_ERRORS, RawTable

Parser = Callable[[str], Any]

# ---------------------------------------------------------------- numbers
# Only ASCII digits: Python's int()/float() also take Arabic-Indic or Devanagari digits,
# "1_000", "nan", "inf" and " 1e308", none of which a district table means as a number.
_WHOLE = re.compile(r"[+-]?\d+(?:\.0*)?", re.ASCII)  # "5.0": Excel's number-as-text
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.0*)?", re.ASCII)  # "1,234"
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/]\d{1,2}[-/]\d{2,4}")
# Full-width digits and signs are what a Chinese IME types in full-width mode (WPS keeps
# them as text): unambiguous, so they are read as their ASCII twins.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－＋，：／；", "0123456789.-+,:/;")


def _not_a_number(text: str, what: str) -> ValueError:
    """The most helpful reason why `text` is not `what`."""
    if any(c.isdigit() and not c.isascii() for c in text):
        return ValueError(f"{text!r} has non-ASCII digits: type the number with 0-9")
    if _DATE.match(text):
        return ValueError(f"{text!r} looks like a date: Excel or WPS turned the cell into a "
                          "date; format the column as Number or Text and type it again")
    return ValueError(f"expected {what}, got {text!r}")


def _int(text: str) -> int:
    if text.isascii() and text.isdigit():  # the common case, at C speed
        return int(text)
    if _WHOLE.fullmatch(text):
        return int(text.partition(".")[0])
    t = text.translate(_FULL_WIDTH)
    if _WHOLE.fullmatch(t):
        return int(t.partition(".")[0])
    if _THOUSANDS.fullmatch(t):  # a thousands separator, as Excel's number format shows
        return int(t.replace(",", "").partition(".")[0])
    raise _not_a_number(text, "a whole number")


def _float(text: str) -> float:
    t = text if _NUMBER.fullmatch(text) else text.translate(_FULL_WIDTH)
    if not _NUMBER.fullmatch(t):
        if re.fullmatch(r"[+-]?\d+,\d+", t, re.ASCII):
            raise ValueError(f"{text!r}: use '.' for decimals (no thousands separators)")
        raise _not_a_number(text, "a number")
    value = float(t)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def _percent(text: str) -> float:
    # "55%" is how Excel shows a percentage typed as text.
    return _float(text[:-1].rstrip() if text.endswith(("%", "％")) else text)


# ---------------------------------------------------------------- other cell kinds
_TRUE = {"true", "yes", "y", "1", "t", "是", "有", "对", "√", "✓", "✔"}
_FALSE = {"false", "no", "n", "0", "f", "否", "无", "没有", "不是", "错", "×", "✗", "✘"}


def _bool(text: str) -> bool:
    t = text.lower().translate(_FULL_WIDTH)
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"expected true/false, got {text!r}")


def _key(text: str) -> str:
    # "Nine-year", "home delivery" and "HOME_DELIVERY" all mean the same value.
    return text.lower().replace("-", "_").replace(" ", "_")


def _enum(kind: type) -> Parser:
    allowed = ", ".join(m.value for m in kind)
    members = {m.value: m for m in kind}

    def parse(text: str) -> Any:
        try:
            return members[_key(text)]
        except KeyError:
            raise ValueError(f"unknown value {text!r} (expected one of: {allowed})") from None

    return parse


def _choice(*options: str) -> Parser:
    def parse(text: str) -> str:
        if _key(text) not in options:
            raise ValueError(f"unknown value {text!r} (expected one of: {', '.join(options)})")
        return _key(text)

    return parse


_LIST_SEPARATORS = re.compile(r"[;,、，；]")  # Chinese text separates lists with 、


def _items(text: str) -> list[str]:
    return [t.strip() for t in _LIST_SEPARATORS.split(text) if t.strip()]


_category = _enum(Category)


def _categories(text: str) -> tuple[Category, ...]:
    return tuple(_category(t) for t in _items(text))


_ZH_DAYS = {f"{p}{d}": day for p in ("周", "星期") for d, day in zip("一二三四五六日", DAYS,
                                                                       strict=True)}


def _days(text: str) -> tuple[str, ...]:
    days = tuple(_ZH_DAYS.get(t, t.capitalize()[:3] if t.isascii() else t)
                 for t in _items(text))
    bad = [d for d in days if d not in DAYS]
    if bad:
        raise ValueError(f"unknown day {bad[0]!r} (expected {', '.join(DAYS)})")
    return days


def _day(text: str) -> str:
    try:
        days = _days(text)
    except ValueError:  # named as typed, not cut to three letters
        raise ValueError(f"unknown day {text!r} (expected {', '.join(DAYS)})") from None
    if len(days) != 1:
        raise ValueError(f"expected one day, got {text!r}")
    return days[0]


def _ids(text: str) -> tuple[str, ...]:
    return tuple(_id(t) for t in _items(text))


def _time(text: str) -> str:
    t = text.translate(_FULL_WIDTH)
    if re.fullmatch(r"\d{1,2}:\d\d:00", t, re.ASCII):  # Excel's time exported as text
        t = t[:-3]
    if not t.isascii():
        raise ValueError(f"expected a time HH:MM, got {text!r}")
    minutes = parse_hhmm(t)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"  # "8:00" and "08:00" are one time


_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+\d+", re.ASCII | re.IGNORECASE)


def _id(text: str) -> str:
    # Excel shows a long numeric id (a student number, an ID-card-like code) as 1.23E+11,
    # and saving to CSV keeps that text: the real id is lost and many rows collide.
    if _SCIENTIFIC.fullmatch(text):
        raise ValueError(f"{text!r} is an id Excel turned into scientific notation: format "
                         "the column as Text and type the ids again")
    return text


# ---------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    """A column: its parser, whether it must exist, whether blank is ok, its plausible range."""

    name: str
    parse: Parser
    required: bool = True
    blank_ok: bool = False
    lo: float | None = None  # inclusive plausible range; None: no range
    hi: float | None = None
    why: str = ""  # the range's source, shown with an out-of-range value
    hint: Callable[[float], str] | None = None  # extra advice for an out-of-range value


def _range_message(col: Column, text: str, value: float) -> str:
    msg = f"{text} is outside the plausible range {col.lo:g}..{col.hi:g}"
    if col.why:
        msg += f" ({col.why})"
    if col.hint is not None:
        msg += col.hint(value)
    return msg


def _acuity_hint(value: float) -> str:
    # Chinese records often give the 5-point (logMAR, GB 11533) notation instead.
    if 3.0 <= value <= 5.3:
        return (f"; {value:g} looks like the 5-point record: give the decimal acuity "
                "(4.0 = 0.1, 4.5 = 0.3, 5.0 = 1.0)")
    return ""


def _row_values(table: RawTable, i: int, spec: Sequence[Column],
                problems: list[Problem]) -> dict[str, Any] | None:
    """Typed values of row i, or None (with problems added) if any value is wrong."""
    if i in table.bad_rows:
        return None  # the reader reported this row already
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
        if text[0] == "#" and text in _EXCEL_ERRORS:
            problems.append(Problem(table.file, n, col.name,
                                    f"the cell shows the Excel error {text}"))
            ok = False
            continue
        try:
            value = out[col.name] = col.parse(text)
        except ValueError as exc:
            problems.append(Problem(table.file, n, col.name, str(exc)))
            ok = False
            continue
        if col.lo is not None and not col.lo <= value <= col.hi:  # type: ignore[operator]
            problems.append(Problem(table.file, n, col.name, _range_message(col, text, value)))
            ok = False
    return out if ok else None


def check_columns(table: RawTable, spec: Sequence[Column], problems: list[Problem]) -> bool:
    """Report required columns the table lacks; True when none is missing."""
    missing = [c.name for c in spec if c.required and c.name not in table.columns]
    if not missing:
        return True
    present = [c for c in table.columns if c]
    if len(missing) > 1 and len(present) == 1 and any(s in present[0] for s in ";\t|"):
        problems.append(Problem(table.file, 1, None, "the whole header is one column "
                                f"({present[0][:60]!r}): save as comma-separated CSV"))
        return False
    if len(missing) == len([c for c in spec if c.required]) and len(missing) > 1:
        problems.append(Problem(table.file, 1, None, "none of the required columns "
                                f"({', '.join(missing)}) is in the header; found: "
                                f"{', '.join(present[:10]) or 'nothing'}"))
        return False
    for name in missing:
        problems.append(Problem(table.file, 1, name, "required column is missing"))
    return False


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


# Class size: the Ministry of Education's plan to end large classes ("大班额", 56+) and
# super-large classes ("超大班额", 66+) caps regular classes at 45 (primary) and 50
# (junior); 80 leaves room for a legacy class and still catches an extra digit.
MAX_PUPILS = 80
# Resource teachers at one site: Policy asks 1-2 per school; a centre may pool a few dozen.
MAX_RESOURCE_TEACHERS = 50
# Classes per grade in one school: the largest Chinese schools run about 30 parallel
# classes; two digits is the most a class number has.
MAX_CLASS_INDEX = 99

SCHOOL_COLUMNS = (
    Column("id", _id), Column("name", str), Column("lon", _float), Column("lat", _float),
    Column("town", str), Column("level", _enum(SchoolLevel)), Column("kind", _enum(SchoolKind)),
    Column("resource_room", _bool, required=False),
    Column("resource_teachers", _int, required=False, lo=0, hi=MAX_RESOURCE_TEACHERS,
           why="resource teachers at one site"),
)
CLASS_COLUMNS = (
    Column("school_id", _id), Column("grade", _int),
    Column("class_index", _int, lo=1, hi=MAX_CLASS_INDEX, why="class number within a grade"),
    Column("pupils", _int, lo=1, hi=MAX_PUPILS,
           why="pupils in one class"),
    Column("core_periods", str, required=False),
)
# Assessment scores: the scales the reference standard (DESIGN.md section 1) reads.
ASSESSMENT_COLUMNS = (
    # Decimal visual acuity: 0 (no light perception) to 2.0, the top line of the chart.
    Column("acuity", _float, False, lo=0.0, hi=2.0, why="decimal acuity", hint=_acuity_hint),
    # Pure-tone audiometry runs from -10 to 120-130 dB HL at the speech frequencies.
    Column("hearing_db", _float, False, lo=-10.0, hi=130.0, why="dB HL of an audiogram"),
    Column("aided_result", _choice("optimal", "suitable", "fair", "poor"), False),
    Column("intelligibility_pct", _percent, False, lo=0.0, hi=100.0, why="percent"),
    # GB/T 26341-2010: physical impairment grades 1 (most severe) to 4 (mild).
    Column("physical_grade", _int, False, lo=1, hi=4, why="GB/T 26341 grades"),
    # Gesell / Griffiths developmental quotients and Wechsler / Binet IQs are normed
    # from about 20 (the floor of the scales' tables) to 160.
    Column("dq", _float, False, lo=20.0, hi=160.0, why="developmental quotient scales"),
    Column("iq", _float, False, lo=20.0, hi=160.0, why="Wechsler and Binet IQ scales"),
    Column("adaptive", _choice("none", "mild", "moderate", "severe"), False),
    # WHO-DAS II, the 36-item simple sum of GB/T 26341-2010 (grade 4 = 52-95, grade 1 =
    # 116+): 36 items scored 1-5 give 36-180; 0 admits the 0-4 item scoring.
    Column("whodas", _float, False, lo=0.0, hi=180.0, why="WHO-DAS II 36-item sum"),
    Column("autism_prescreen", _bool, False),
    # PPVT standard scores are normed 40-160.
    Column("ppvt_iq", _float, False, lo=40.0, hi=160.0, why="PPVT standard score"),
    # CARS: 15 items scored 1-4 (half points allowed), total 15-60.
    Column("cars_total", _float, False, lo=15.0, hi=60.0, why="CARS total, 15 items of 1-4"),
    Column("cars_max_item", _float, False, lo=1.0, hi=4.0, why="one CARS item"),
    # PEP developmental age in months, birth to 18 years.
    Column("pep_age_months", _float, False, lo=0.0, hi=216.0, why="months, 0-18 years"),
)
assert tuple(c.name for c in ASSESSMENT_COLUMNS) == ASSESSMENT_FIELDS
STUDENT_COLUMNS = (
    Column("id", _id), Column("lon", _float), Column("lat", _float), Column("grade", _int),
    Column("category", _enum(Category)),
    Column("severity", _enum(Severity), required=False),
    Column("categories", _categories, required=False),
    Column("unable_to_attend", _bool, required=False),
    *ASSESSMENT_COLUMNS,
    Column("catchment_school", _id, required=False),
    Column("current_school", _id, required=False),
    Column("current_class", _int, required=False, lo=1, hi=MAX_CLASS_INDEX,
           why="class number within a grade"),
    Column("tier", _enum(Tier), required=False),
    Column("family_days", _days, required=False),
    Column("family_start", _time, required=False),
    Column("family_end", _time, required=False),
)
TEACHER_COLUMNS = (
    Column("id", _id), Column("role", _enum(Role)), Column("base", _id),
    Column("skills", _categories), Column("days", _days, blank_ok=True),
    Column("start", _time, required=False), Column("end", _time, required=False),
    Column("max_minutes_per_day", _int, required=False, lo=1, hi=24 * 60,
           why="minutes in a day"),
)
TOWN_COLUMNS = (Column("name", str),)
# Support sessions already in a school's timetable (optional table). The period's range
# is the scenario's school day ([week] periods_per_day), checked by the row parser.
SESSION_COLUMNS = (
    Column("school_id", _id), Column("day", _day), Column("period", _int),
    Column("teacher_id", _id), Column("student_ids", _ids), Column("pinned", _bool),
)
COLUMNS = {"schools": SCHOOL_COLUMNS, "classes": CLASS_COLUMNS, "students": STUDENT_COLUMNS,
           "teachers": TEACHER_COLUMNS, "towns": TOWN_COLUMNS, "sessions": SESSION_COLUMNS}


# ---------------------------------------------------------------- rows to entities
Rows = list[tuple[int, Any]]


def _parse_schools(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                   ) -> list[tuple[int, School]]:
    out: list[tuple[int, School]] = []
    for i in range(len(t.rows)):
        v = _row_values(t, i, SCHOOL_COLUMNS, problems)
        ok = v is not None and _coordinates(t, t.row_numbers[i], v, problems)
        if not ok:
            bad.add(t.rows[i].get("id") or "")
            continue
        assert v is not None
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
    out: list[tuple[int, Class]] = []
    ppd, days = policy.periods_per_day, tuple(policy.school_days)
    for i in range(len(t.rows)):
        v = _row_values(t, i, CLASS_COLUMNS, problems)
        if v is None:
            continue
        n = t.row_numbers[i]
        ok = _grade_ok(t, n, v["grade"], policy, problems)
        mask = 0
        if v["core_periods"]:
            try:
                mask = parse_periods(v["core_periods"], ppd, days)
            except ValueError as exc:
                problems.append(Problem(t.file, n, "core_periods", str(exc)))
                ok = False
        if ok:
            out.append((i, Class(v["school_id"], v["grade"], v["class_index"], v["pupils"],
                                 mask)))
    return out


def _family_ok(t: RawTable, n: int, v: dict[str, Any], policy: Policy,
               problems: list[Problem]) -> bool:
    """A family's visiting days lie in the school week; its window is a real interval."""
    ok = True
    outside = [d for d in v["family_days"] or () if d not in policy.school_days]
    if outside:
        problems.append(Problem(t.file, n, "family_days",
                                f"{outside[0]} is not a school day "
                                f"({', '.join(policy.school_days)})"))
        ok = False
    start, end = v["family_start"], v["family_end"]
    if (start is None) != (end is None):
        problems.append(Problem(t.file, n, "family_end" if end is None else "family_start",
                                "give both family_start and family_end, or neither"))
        ok = False
    elif start is not None and parse_hhmm(end) - parse_hhmm(start) < 30:
        problems.append(Problem(t.file, n, "family_end",
                                f"the window {start}-{end} is shorter than 30 minutes"))
        ok = False
    return ok


def _parse_students(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                    ) -> list[tuple[int, Student]]:
    out: list[tuple[int, Student]] = []
    for i in range(len(t.rows)):
        v = _row_values(t, i, STUDENT_COLUMNS, problems)
        n = t.row_numbers[i]
        ok = v is not None and _coordinates(t, n, v, problems)
        ok = ok and _grade_ok(t, n, v["grade"], policy, problems)  # type: ignore[index]
        if ok and v["category"] is Category.MULTIPLE and len(v["categories"] or ()) < 2:
            problems.append(Problem(t.file, n, "categories",
                                    "a student with multiple disabilities needs at least two "
                                    "categories, e.g. 'hearing;intellectual'"))
            ok = False
        if ok and Category.MULTIPLE in (v["categories"] or ()):
            problems.append(Problem(t.file, n, "categories", "list the single categories"))
            ok = False
        ok = ok and _family_ok(t, n, v, policy, problems)  # type: ignore[arg-type]
        if not ok:
            bad.add(t.rows[i].get("id") or "")
            continue
        assert v is not None
        assessment = Assessment(**{f: v[f] for f in ASSESSMENT_FIELDS})
        out.append((i, Student(
            id=v["id"], lon=v["lon"], lat=v["lat"], grade=v["grade"], category=v["category"],
            severity=v["severity"], categories=v["categories"] or (),
            unable_to_attend=bool(v["unable_to_attend"]), assessment=assessment,
            catchment_school=v["catchment_school"], current_school=v["current_school"],
            current_class=v["current_class"], tier=v["tier"],
            family_days=v["family_days"] or (), family_start=v["family_start"],
            family_end=v["family_end"])))
    return out


def _parse_teachers(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                    ) -> list[tuple[int, Teacher]]:
    out: list[tuple[int, Teacher]] = []
    week = policy.school_days
    for i in range(len(t.rows)):
        v = _row_values(t, i, TEACHER_COLUMNS, problems)
        if v is None:
            bad.add(t.rows[i].get("id") or "")
            continue
        n, ok = t.row_numbers[i], True
        if not v["days"]:
            problems.append(Problem(t.file, n, "days", "the teacher has no working day"))
            ok = False
        off = [d for d in v["days"] or () if d not in week]
        if off:
            problems.append(Problem(t.file, n, "days", f"{off[0]} is not a school day (the "
                                                       f"week is {', '.join(week)})"))
            ok = False
        if not v["skills"]:
            problems.append(Problem(t.file, n, "skills", "the teacher has no skill listed"))
            ok = False
        start, end = v["start"] or policy.day_start, v["end"] or policy.day_end
        if parse_hhmm(end) <= parse_hhmm(start):
            problems.append(Problem(t.file, n, "end", f"end {end} is not after start {start}"))
            ok = False
        if not ok:
            bad.add(v["id"])
            continue
        out.append((i, Teacher(
            id=v["id"], role=v["role"], base=v["base"], skills=frozenset(v["skills"]),
            days=v["days"], start=start, end=end,
            max_minutes_per_day=v["max_minutes_per_day"] or parse_hhmm(end) - parse_hhmm(start))))
    return out


def _parse_towns(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                 ) -> list[tuple[int, Town]]:
    out: list[tuple[int, Town]] = []
    if t.geometries is None and "wkt" not in t.columns:
        problems.append(Problem(t.file, 1, "wkt", "a towns table needs polygons: use "
                                                  "GeoJSON, GeoPackage or a wkt column"))
        return out
    for i, row in enumerate(t.rows):
        n, name = t.row_numbers[i], row.get("name")
        if i in t.bad_rows:
            bad.add(name or "")
            continue
        try:
            geom = t.geometries[i] if t.geometries is not None else shapely.from_wkt(row["wkt"])
        except Exception as exc:  # shapely raises its own error types for bad WKT
            problems.append(Problem(t.file, n, "wkt", f"not a polygon: {exc}"))
            bad.add(name or "")
            continue
        if name is None:
            problems.append(Problem(t.file, n, "name", "value is missing"))
        elif geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(t.file, n, "geometry", "expected a polygon"))
            bad.add(name)
        elif not math.isfinite(float(shapely.get_coordinates(geom).sum())):
            problems.append(Problem(t.file, n, "geometry", "a coordinate is NaN or infinite"))
            bad.add(name)
        elif not geom.is_valid:
            problems.append(Problem(t.file, n, "geometry",
                                    f"invalid polygon: {shapely.is_valid_reason(geom)}"))
            bad.add(name)
        else:
            out.append((i, Town(name, geom)))
    return out


def _parse_sessions(t: RawTable, policy: Policy, problems: list[Problem], bad: set[str]
                    ) -> list[tuple[int, tuple[PinnedSession, bool]]]:
    """Every valid row as (session, pinned): the loader checks all of them against the
    other tables and keeps the pinned ones only."""
    out: list[tuple[int, tuple[PinnedSession, bool]]] = []
    week, ppd = policy.school_days, policy.periods_per_day
    for i in range(len(t.rows)):
        v = _row_values(t, i, SESSION_COLUMNS, problems)
        if v is None:
            continue
        n, ok = t.row_numbers[i], True
        if v["day"] not in week:
            problems.append(Problem(t.file, n, "day", f"{v['day']} is not a school day (the "
                                                      f"week is {', '.join(week)})"))
            ok = False
        if not 1 <= v["period"] <= ppd:
            problems.append(Problem(t.file, n, "period", f"period {v['period']} is not in "
                                    f"1..{ppd} (the periods of a school day)"))
            ok = False
        ids = v["student_ids"]
        if not ids:
            problems.append(Problem(t.file, n, "student_ids", "no student listed"))
            ok = False
        twice = sorted({s for s in ids if ids.count(s) > 1})
        if twice:
            problems.append(Problem(t.file, n, "student_ids",
                                    f"{', '.join(twice)} listed twice in one session"))
            ok = False
        if ok:
            out.append((i, (PinnedSession(v["school_id"], v["day"], v["period"],
                                          v["teacher_id"], ids), v["pinned"])))
    return out


PARSERS: dict[str, Callable[[RawTable, Policy, list[Problem], set[str]], Rows]] = {
    "schools": _parse_schools, "classes": _parse_classes, "students": _parse_students,
    "teachers": _parse_teachers, "towns": _parse_towns, "sessions": _parse_sessions}
