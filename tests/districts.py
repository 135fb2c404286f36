"""Tiny hand-made districts built in code, for enrolment and checker tests."""

from __future__ import annotations

from collections.abc import Sequence

from shapely.geometry import box

from lrcplan.models.entities import (
    Category,
    Class,
    Role,
    School,
    SchoolKind,
    SchoolLevel,
    Severity,
    Student,
    Teacher,
    Town,
)
from lrcplan.models.policy import Policy
from lrcplan.models.scenario import Scenario

# Along a parallel near Hangzhou, 0.01 degree of longitude is about 0.96 km.
LAT = 30.2


def lon_at_km(km: float) -> float:
    """Longitude at `km` east of 120.0 on the district's parallel (great circle, close)."""
    return 120.0 + km / 96.2


def district(
    schools: Sequence[tuple[str, float, int]],
    students: Sequence[tuple[str, float, str | None]],
    *,
    grade: int = 1,
    incumbents: dict[str, tuple[str, int]] | None = None,
    policy: Policy | None = None,
    special_school_km: float | None = None,
) -> Scenario:
    """A one-street district: schools (id, km, classes) and mild students (id, km, catchment).

    Every student is in `grade`; `incumbents` maps a student to (school, class index).
    """
    inc = incumbents or {}
    sites = [School(sid, f"School {sid}", lon_at_km(km), LAT, "Town", SchoolLevel.PRIMARY,
                    SchoolKind.REGULAR) for sid, km, _ in schools]
    classes = [Class(sid, grade, i + 1, 40) for sid, _, n in schools for i in range(n)]
    if special_school_km is not None:
        sites.append(School("SPE", "Special", lon_at_km(special_school_km), LAT, "Town",
                            SchoolLevel.SPECIAL, SchoolKind.SPECIAL))
        classes.append(Class("SPE", grade, 1, 10))
    pupils = [Student(sid, lon_at_km(km), LAT, grade, Category.INTELLECTUAL,
                      severity=Severity.MILD, catchment_school=catch,
                      current_school=inc[sid][0] if sid in inc else None,
                      current_class=inc[sid][1] if sid in inc else None)
              for sid, km, catch in students]
    teacher = Teacher("T1", Role.ITINERANT, sites[0].id, frozenset({Category.INTELLECTUAL}),
                      ("Mon",))
    return Scenario(name="hand-made", crs="EPSG:32651", policy=policy or Policy(),
                    schools=tuple(sites), classes=tuple(classes), students=tuple(pupils),
                    teachers=(teacher,), towns=(Town("Town", box(119.9, 30.0, 121.0, 30.4)),))
