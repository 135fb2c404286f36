"""The district's entities: schools, classes, students, teachers, towns (immutable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from shapely.geometry.base import BaseGeometry

from lrcplan.models.policy import DAYS


class SchoolKind(StrEnum):
    """What a site is: a regular school, a special school, or a resource centre."""

    REGULAR = "regular"
    SPECIAL = "special"
    CENTRE = "centre"


class SchoolLevel(StrEnum):
    """Which grades a school teaches."""

    PRIMARY = "primary"
    JUNIOR = "junior"
    NINE_YEAR = "nine_year"
    SPECIAL = "special"
    NONE = "none"


class Category(StrEnum):
    """Disability categories of the Chinese classification (GB/T 26341)."""

    VISION = "vision"
    HEARING = "hearing"
    SPEECH = "speech"
    PHYSICAL = "physical"
    INTELLECTUAL = "intellectual"
    MENTAL = "mental"
    AUTISM = "autism"
    MULTIPLE = "multiple"


class Severity(StrEnum):
    """Severity of a disability as recorded by the assessing doctor or committee."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Tier(StrEnum):
    """Placement tier (安置方式)."""

    LRC = "lrc"
    SPECIAL = "special"
    HOME = "home"


class Role(StrEnum):
    """A teacher's role in special-education services."""

    ITINERANT = "itinerant"
    RESOURCE = "resource"
    HOME_DELIVERY = "home_delivery"


#: Assessment fields a student may carry instead of (or as well as) a severity.
ASSESSMENT_FIELDS: tuple[str, ...] = (
    "acuity",  # best corrected visual acuity, decimal (0.1 .. 1.5)
    "hearing_db",  # better-ear average hearing loss, dB HL
    "aided_result",  # hearing-aid result: optimal / suitable / fair / poor
    "intelligibility_pct",  # speech intelligibility, %
    "physical_grade",  # physical impairment grade 1 (most severe) .. 4 (mild)
    "dq",  # developmental quotient, age 0-6
    "iq",  # intelligence quotient, age 7+
    "adaptive",  # adaptive-behaviour deficit: none / mild / moderate / severe
    "whodas",  # WHO-DAS II score
    "autism_prescreen",  # 23-item pre-screen all "yes"/"mostly": true / false
    "ppvt_iq",  # Peabody picture vocabulary test IQ
    "cars_total",  # Childhood Autism Rating Scale total
    "cars_max_item",  # highest single CARS item
    "pep_age_months",  # PEP developmental age, months
)


# A Chinese IME in full-width mode types "Mon：1／2"; the meaning is plain.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９：／，－　", "0123456789:/,- ")


@lru_cache(maxsize=4096)
def parse_periods(text: str, periods_per_day: int = 7, days: tuple[str, ...] = DAYS) -> int:
    """Bit mask of a timetable written "Mon:1/2/3 Tue:1-4" (bit = day * periods + period - 1).

    Periods are separated by "/" (or "," inside a quoted CSV cell); "a-b" is a range with
    a <= b; every day must be one of `days` (the scenario's school week).
    """
    mask = 0
    for chunk in text.translate(_FULL_WIDTH).split():
        day, sep, periods = chunk.partition(":")
        day = day.capitalize()
        if not sep or day not in DAYS:
            raise ValueError(f"expected Day:periods like 'Mon:1/2/3', got {chunk!r}")
        if day not in days:
            raise ValueError(f"{day} is not a school day (the week is {', '.join(days)})")
        d = DAYS.index(day)
        for part in periods.replace(",", "/").split("/"):
            lo, dash, hi = part.partition("-")
            for p in (lo, hi) if dash else (lo,):
                # isascii: str.isdigit() is also true of "²" and Arabic-Indic digits.
                if not (p.isascii() and p.isdigit()) or not 1 <= int(p) <= periods_per_day:
                    raise ValueError(f"period {p!r} on {day} is not in 1..{periods_per_day}")
            if dash and int(lo) > int(hi):
                raise ValueError(f"range {part!r} on {day} runs backwards (write "
                                 f"{hi}-{lo})")
            for p in range(int(lo), int(hi if dash else lo) + 1):
                mask |= 1 << (d * periods_per_day + p - 1)
    return mask


def format_periods(mask: int, periods_per_day: int = 7) -> str:
    """The "Mon:1/2/3 Tue:1/4" text of a timetable bit mask."""
    parts = []
    for d, day in enumerate(DAYS):
        ps = [str(p + 1) for p in range(periods_per_day) if mask >> (d * periods_per_day + p) & 1]
        if ps:
            parts.append(f"{day}:{'/'.join(ps)}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class School:
    """A school or resource centre (a site on the map)."""

    id: str
    name: str
    lon: float
    lat: float
    town: str
    level: SchoolLevel
    kind: SchoolKind
    resource_room: bool = False
    resource_teachers: int = 0


@dataclass(frozen=True, slots=True)
class Class:
    """One class of one grade in a school, with its weekly core-subject periods."""

    school_id: str
    grade: int
    index: int
    pupils: int
    core_mask: int = 0  # bit mask of core-subject periods, see parse_periods

    @property
    def key(self) -> tuple[str, int, int]:
        """(school, grade, index): a class's identity."""
        return (self.school_id, self.grade, self.index)

    @property
    def id(self) -> str:
        """A readable class id, e.g. "SCH001-3-2" for grade 3, class 2."""
        return f"{self.school_id}-{self.grade}-{self.index}"


@dataclass(frozen=True, slots=True)
class Assessment:
    """Assessment scores by the reference standard; absent scores are None."""

    acuity: float | None = None
    hearing_db: float | None = None
    aided_result: str | None = None
    intelligibility_pct: float | None = None
    physical_grade: int | None = None
    dq: float | None = None
    iq: float | None = None
    adaptive: str | None = None
    whodas: float | None = None
    autism_prescreen: bool | None = None
    ppvt_iq: float | None = None
    cars_total: float | None = None
    cars_max_item: float | None = None
    pep_age_months: float | None = None

    def is_empty(self) -> bool:
        """True when no score is given."""
        return all(getattr(self, f) is None for f in ASSESSMENT_FIELDS)


@dataclass(frozen=True, slots=True)
class Student:
    """A student with a disability, known only by a pseudonymous id."""

    id: str
    lon: float  # home; used for travel only, never written to outputs
    lat: float
    grade: int
    category: Category
    severity: Severity | None = None
    categories: tuple[Category, ...] = ()  # the components when category is "multiple"
    unable_to_attend: bool = False
    assessment: Assessment = field(default_factory=Assessment)
    catchment_school: str | None = None
    current_school: str | None = None
    current_class: int | None = None  # class index within the student's grade
    tier: Tier | None = None  # a tier already decided by the expert committee
    # When the family can receive a home visit (home-delivered education): days (empty:
    # any school day) and a time window (None: the school day).
    family_days: tuple[str, ...] = ()
    family_start: str | None = None
    family_end: str | None = None


@dataclass(frozen=True, slots=True)
class Teacher:
    """An itinerant, resource or home-delivery teacher."""

    id: str
    role: Role
    base: str  # site id (school, special school or centre) where the teacher starts
    skills: frozenset[Category]
    days: tuple[str, ...]
    start: str = "08:00"
    end: str = "16:30"
    max_minutes_per_day: int = 480


@dataclass(frozen=True, slots=True)
class PinnedSession:
    """A support session already in a school's timetable, kept by the planner
    (sessions.csv rows with pinned = true)."""

    school_id: str
    day: str
    period: int  # 1-based
    teacher_id: str
    student_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Town:
    """A town or street (乡镇/街道) with its boundary polygon (WGS84)."""

    name: str
    geometry: BaseGeometry
