"""`Scenario`: one district's validated, immutable data, checked once when it is built."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import shapely

from lrcplan.models.eligibility import EligibilityStandard, default_standard
from lrcplan.models.entities import (
    Class,
    PinnedSession,
    Role,
    School,
    SchoolKind,
    Student,
    Teacher,
    Town,
)
from lrcplan.models.errors import Problem, ScenarioError
from lrcplan.models.policy import LEVEL_GRADES, Policy

if TYPE_CHECKING:
    from lrcplan.models.travel import TravelModel

#: Where an entity came from: (file name, row number) by table and position.
Locator = Callable[[str, int], tuple[str, int | None]]


def default_locator(table: str, index: int) -> tuple[str, int | None]:
    """Locate an entity as if it came from `<table>.csv` (header on row 1)."""
    return f"{table}.csv", index + 2


def utm_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone CRS holding a point, e.g. "EPSG:32651" for Hangzhou."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


@dataclass(frozen=True, eq=True)
class Scenario:
    """A district: schools, classes, students, teachers, towns and its Policy (WGS84 in)."""

    name: str
    crs: str
    policy: Policy
    schools: tuple[School, ...]
    classes: tuple[Class, ...]
    students: tuple[Student, ...]
    teachers: tuple[Teacher, ...]
    towns: tuple[Town, ...] = ()
    roads: Path | None = None
    sessions: tuple[PinnedSession, ...] = ()  # support sessions to keep (optional table)
    standard: EligibilityStandard = field(default_factory=default_standard)
    locate: Locator = field(default=default_locator, compare=False, repr=False)
    notes: tuple[str, ...] = field(default=(), compare=False, repr=False)
    source: Path | None = field(default=None, compare=False, repr=False)  # folder loaded

    def __post_init__(self) -> None:
        problems = cross_check(self)
        if problems:
            raise ScenarioError(problems)

    # Derived indexes: computed once on first use; the scenario itself never changes.
    @cached_property
    def school_by_id(self) -> dict[str, School]:
        """Schools by id."""
        return {s.id: s for s in self.schools}

    @cached_property
    def student_by_id(self) -> dict[str, Student]:
        """Students by id."""
        return {s.id: s for s in self.students}

    @cached_property
    def classes_by_school_grade(self) -> dict[tuple[str, int], tuple[Class, ...]]:
        """Classes of each (school, grade), ordered by class index."""
        out: dict[tuple[str, int], list[Class]] = defaultdict(list)
        for c in self.classes:
            out[(c.school_id, c.grade)].append(c)
        return {k: tuple(sorted(v, key=lambda c: c.index)) for k, v in out.items()}

    def classes_per_grade(self, school_id: str) -> dict[int, int]:
        """Number of classes in each grade of a school."""
        return {
            g: len(self.classes_by_school_grade.get((school_id, g), ()))
            for g in self.policy.grades
            if (school_id, g) in self.classes_by_school_grade
        }

    @cached_property
    def projector(self) -> pyproj.Transformer:
        """WGS84 lon/lat to the scenario's projected CRS (metres)."""
        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Projected x, y in metres of WGS84 points."""
        x, y = self.projector.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)

    @cached_property
    def travel(self) -> TravelModel:
        """The travel model: the road network where one is given, else great circle."""
        from lrcplan.models.travel import GreatCircleTravel, RoadTravel

        if self.roads is None:
            return GreatCircleTravel(
                detour_factor=self.policy.detour_factor, speed_kmh=self.policy.speed_kmh
            )
        if self.roads.suffix.lower() == ".graphml":
            return RoadTravel.from_graphml(self.roads, largest_component=True)
        return RoadTravel.from_osm_xml(self.roads, largest_component=True)


def _duplicates(ids: Iterable[str]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(ids):
        seen[key].append(i)
    return {k: v for k, v in seen.items() if len(v) > 1}


def cross_check(
    sc: Scenario | _Draft,
    *,
    extra_ids: Mapping[str, set[str]] | None = None,
    unchecked: Collection[str] = (),
) -> list[Problem]:
    """Problems between rows and tables: duplicates, references, places outside the district.

    `extra_ids` holds ids of rows that failed to parse, so that references to them are
    not reported a second time; references into the tables named in `unchecked` (missing
    or unreadable, already reported) are not checked at all.
    """
    extra = extra_ids or {}
    problems: list[Problem] = []
    loc = sc.locate

    def add(table: str, index: int, column: str, message: str) -> None:
        file, row = loc(table, index)
        problems.append(Problem(file, row, column, message))

    for table, keys in (
        ("schools", [s.id for s in sc.schools]),
        ("students", [s.id for s in sc.students]),
        ("teachers", [t.id for t in sc.teachers]),
        ("towns", [t.name for t in sc.towns]),
        ("classes", [c.id for c in sc.classes]),
    ):
        for key, where in _duplicates(keys).items():
            first = loc(table, where[0])[1]
            for i in where[1:]:
                add(table, i, {"towns": "name", "classes": "school_id/grade/class_index"}
                    .get(table, "id"),
                    f"duplicate id {key!r} (first on row {first})")
    problems.extend(_shared_ids(sc))

    schools = {s.id: s for s in sc.schools}
    school_ids: set[str] | _Everything = set(schools) | extra.get("schools", set())
    town_names = {t.name for t in sc.towns} | extra.get("towns", set())
    class_keys = {c.key for c in sc.classes}

    if "schools" in unchecked:
        school_ids = _Everything()
    if sc.towns:
        for i, s in enumerate(sc.schools):
            if s.town not in town_names:
                add("schools", i, "town", f"unknown town {s.town!r} (not in the towns table)")
    for i, c in enumerate(sc.classes):
        if c.school_id not in school_ids:
            add("classes", i, "school_id", f"unknown school {c.school_id!r}")
        elif c.school_id in schools and schools[c.school_id].kind is SchoolKind.CENTRE:
            add("classes", i, "school_id", f"{c.school_id!r} is a resource centre, not a school")
        elif c.school_id in schools:
            level = schools[c.school_id].level
            lo, hi = LEVEL_GRADES.get(level.value, (c.grade, c.grade))
            if not lo <= c.grade <= hi:
                add("classes", i, "grade", f"grade {c.grade} in {level.value} school "
                    f"{c.school_id!r}, which teaches grades {lo}-{hi}")
    for i, st in enumerate(sc.students):
        if st.catchment_school is not None:
            if st.catchment_school not in school_ids:
                add("students", i, "catchment_school", f"unknown school {st.catchment_school!r}")
            elif (st.catchment_school in schools
                  and schools[st.catchment_school].kind is not SchoolKind.REGULAR):
                add("students", i, "catchment_school",
                    f"{st.catchment_school!r} is not a regular school")
        if st.current_school is not None:
            if st.current_school not in school_ids:
                add("students", i, "current_school", f"unknown school {st.current_school!r}")
            elif st.current_class is not None and "classes" not in unchecked and (
                st.current_school in schools) and (
                (st.current_school, st.grade, st.current_class) not in class_keys
            ):
                add("students", i, "current_class",
                    f"school {st.current_school!r} has no class {st.current_class} "
                    f"in grade {st.grade}")
        elif st.current_class is not None:
            add("students", i, "current_class", "a current class needs a current_school")
    for i, t in enumerate(sc.teachers):
        if t.base not in school_ids:
            add("teachers", i, "base", f"unknown site {t.base!r}")
    problems.extend(session_problems(sc, [(p, True) for p in sc.sessions],
                                     lambda i: loc("sessions", i), extra_ids=extra,
                                     unchecked=unchecked))

    problems.extend(_outside_district(sc))
    return problems


def session_problems(
    sc: Scenario | _Draft,
    rows: Sequence[tuple[PinnedSession, bool]],
    where: Callable[[int], tuple[str, int | None]],
    *,
    extra_ids: Mapping[str, set[str]] | None = None,
    unchecked: Collection[str] = (),
) -> list[Problem]:
    """Problems of the sessions table's rows, (session, pinned), with the other tables.

    A session is given in a regular school, by one of its resource teachers (listed in
    the teachers table and based there, or `<school>-RT<n>`, one the school counts without
    listing, numbered as models/support.py numbers them) or by an itinerant teacher, to
    known students; a teacher has one session per (school, day, period), and a pinned
    student one per (day, period). Whether the students are the school's LRC students is
    only known after planning (the timetable stage drops and reports pins that no longer
    apply). `where(i)` locates row i; `extra_ids` and `unchecked` as in cross_check.
    """
    extra = extra_ids or {}
    problems: list[Problem] = []
    schools = {s.id: s for s in sc.schools}
    teachers = {t.id: t for t in sc.teachers}
    students = {s.id for s in sc.students} | extra.get("students", set())
    listed = Counter(t.base for t in sc.teachers if t.role is Role.RESOURCE)
    school_file = sc.locate("schools", 0)[0]
    teacher_file = sc.locate("teachers", 0)[0]
    slots: dict[tuple[str, str, int, str], int] = {}
    pins: dict[tuple[str, str, int], int] = {}

    def add(i: int, column: str, message: str) -> None:
        file, row = where(i)
        problems.append(Problem(file, row, column, message))

    for i, (p, pinned) in enumerate(rows):
        school = schools.get(p.school_id)
        if "schools" in unchecked or p.school_id in extra.get("schools", set()):
            school = None  # unreadable or a bad row: reported already, not checked again
        elif school is None:
            add(i, "school_id", f"unknown school {p.school_id!r}")
        elif school.kind is not SchoolKind.REGULAR:
            what = "a resource centre" if school.kind is SchoolKind.CENTRE else \
                "a special school"
            add(i, "school_id", f"{p.school_id!r} is {what}, not a regular school")
            school = None
        t = teachers.get(p.teacher_id)
        rt = re.fullmatch(re.escape(p.school_id) + r"-RT(\d+)", p.teacher_id, re.ASCII)
        if "teachers" in unchecked or p.teacher_id in extra.get("teachers", set()):
            pass
        elif t is not None and t.role is Role.RESOURCE and t.base != p.school_id:
            add(i, "teacher_id", f"resource teacher {t.id!r} is based at {t.base!r}, "
                                 f"not at {p.school_id!r}")
        elif t is not None and t.role not in (Role.RESOURCE, Role.ITINERANT):
            add(i, "teacher_id", f"{t.id!r} is a {t.role.value} teacher: a session is "
                                 "given by a resource or an itinerant teacher")
        elif t is None and rt is not None and school is not None:
            first, last = listed[school.id] + 1, school.resource_teachers
            if not first <= int(rt[1]) <= last:
                if last == 0:
                    why = f"{school_file} counts none at {school.id!r} (resource_teachers)"
                elif first > last:
                    why = (f"{school_file} counts {last} at {school.id!r}, all listed in "
                           f"{teacher_file}: name the teacher by id")
                else:
                    unlisted = f"{school.id}-RT{first}" + (f"..RT{last}" if last > first
                                                           else "")
                    why = (f"{school_file} counts {last} at {school.id!r}, {teacher_file} "
                           f"lists {first - 1}, so the unlisted are {unlisted}")
                add(i, "teacher_id", f"no resource teacher {p.teacher_id!r}: {why}")
        elif t is None and rt is None:
            add(i, "teacher_id", f"unknown teacher {p.teacher_id!r} (not in {teacher_file}, "
                                 f"nor {p.school_id}-RT<n>, a resource teacher the school "
                                 "counts without listing)")
        if "students" not in unchecked:
            unknown = [s for s in p.student_ids if s not in students]
            if unknown:
                add(i, "student_ids", f"unknown student{'s' if len(unknown) > 1 else ''} "
                                      f"{', '.join(map(repr, unknown))}")
        key = (p.school_id, p.day, p.period, p.teacher_id)
        if key in slots:
            add(i, "school_id/day/period/teacher_id",
                f"{p.teacher_id} already has a session at {p.school_id} on {p.day} period "
                f"{p.period} (row {where(slots[key])[1]})")
        else:
            slots[key] = i
        if pinned:
            for s in p.student_ids:
                seen = pins.setdefault((s, p.day, p.period), i)
                if seen != i:
                    add(i, "student_ids", f"student {s!r} is already pinned on {p.day} "
                                          f"period {p.period} (row {where(seen)[1]})")
    return problems


class _Everything:
    """A set holding every id: references into an unreadable table are not checked."""

    def __contains__(self, item: object) -> bool:
        return True

    def __or__(self, other: object) -> _Everything:
        return self


def _shared_ids(sc: Scenario | _Draft) -> list[Problem]:
    """Ids used by two of schools, students, teachers: routes put them in one namespace."""
    first: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for table, keys in (("schools", [s.id for s in sc.schools]),
                        ("students", [s.id for s in sc.students]),
                        ("teachers", [t.id for t in sc.teachers])):
        for i, key in enumerate(keys):
            seen = first.setdefault(key, (table, i))
            if seen[0] != table:
                file, row = sc.locate(table, i)
                other_file, other_row = sc.locate(*seen)
                problems.append(Problem(file, row, "id", f"id {key!r} is also used in "
                                        f"{other_file} row {other_row}: ids must be unique "
                                        "across schools, students and teachers"))
    return problems


@dataclass
class _Draft:
    """The tables of a scenario whose rows did not all parse, for cross-checking only."""

    name: str
    crs: str
    policy: Policy
    schools: tuple[School, ...]
    classes: tuple[Class, ...]
    students: tuple[Student, ...]
    teachers: tuple[Teacher, ...]
    towns: tuple[Town, ...]
    locate: Locator
    sessions: tuple[PinnedSession, ...] = ()  # the loader checks the sessions table itself


def _outside_district(sc: Scenario | _Draft) -> list[Problem]:
    """Schools and homes far outside the district, naming those that look lon/lat swapped."""
    if not sc.schools and not sc.towns:
        return []
    tr = pyproj.Transformer.from_crs("EPSG:4326", sc.crs, always_xy=True)
    margin_m = sc.policy.district_margin_km * 1000.0
    if sc.towns:
        polys = shapely.transform(np.array([t.geometry for t in sc.towns], dtype=object),
                                  lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        extent = shapely.union_all(polys)
    else:
        # Without towns the district is the hull of its schools, leaving out outliers
        # (a mistyped school must not stretch the district to reach itself).
        sx, sy = tr.transform([s.lon for s in sc.schools], [s.lat for s in sc.schools])
        sx, sy = np.asarray(sx), np.asarray(sy)
        cx, cy = np.median(sx), np.median(sy)
        d = np.hypot(sx - cx, sy - cy)
        keep = d <= max(3.0 * float(np.median(d)), margin_m)
        extent = shapely.MultiPoint(np.column_stack([sx[keep], sy[keep]])).convex_hull
    zone = extent.buffer(margin_m)
    shapely.prepare(zone)
    problems: list[Problem] = []
    for table, rows in (("schools", sc.schools), ("students", sc.students)):
        if not rows:
            continue
        lon = np.fromiter((r.lon for r in rows), float, len(rows))
        lat = np.fromiter((r.lat for r in rows), float, len(rows))
        x, y = tr.transform(lon, lat)
        inside = shapely.contains_xy(zone, np.asarray(x), np.asarray(y))
        for i in np.flatnonzero(~inside):
            file, row = sc.locate(table, int(i))
            sx, sy = tr.transform(lat[i], lon[i])
            pt = shapely.Point(x[i], y[i])
            km = extent.distance(pt) / 1000.0 if math.isfinite(x[i]) else float("inf")
            if -90 <= lon[i] <= 90 and math.isfinite(sx) and shapely.contains_xy(zone, sx, sy):
                msg = (f"({lon[i]}, {lat[i]}) is outside the district but inside it when "
                       "swapped: lon and lat look swapped")
            else:
                msg = f"({lon[i]}, {lat[i]}) is {km:,.0f} km outside the district"
            problems.append(Problem(file, row, "lon/lat", msg))
    return problems

