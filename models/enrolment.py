"""The enrolment stage's result: seats, unplaced students, school loads, and their tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from lrcplan.models.entities import Tier
from lrcplan.models.plan import KeyFigure, StageOptions, StageSummary
from lrcplan.models.tables import (
    CellError,
    Cells,
    StageFiles,
    TableSpec,
    as_bool,
    as_float,
    as_id,
    as_int,
    as_tier,
    cell,
    text,
)

ENGINES = ("ortools", "networkx")


@dataclass(frozen=True)
class EnrolmentOptions(StageOptions):
    """Options of the enrolment stage."""

    reshuffle: bool = False  # incumbents give up their seats and are placed afresh
    candidates: int = 16  # nearest (school, grade) groups per student before pricing
    engine: str = "ortools"  # or "networkx" (reference, slow)
    max_rounds: int = 8  # pricing rounds before giving up the optimality proof

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {self.candidates}")
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be at least 1, got {self.max_rounds}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be 'ortools' or 'networkx', got {self.engine!r}")


@dataclass(frozen=True)
class Seat:
    """A student's seat: a class of a regular school (LRC) or a special school."""

    student_id: str
    tier: Tier
    school_id: str
    grade: int
    class_index: int | None  # None where a special school's class is not planned here
    travel_minutes: float
    distance_km: float
    catchment: bool  # the student's catchment school
    incumbent: bool  # kept the seat the student already had

    @property
    def class_id(self) -> str:
        """The class as "SCHOOL-grade-index" ('' where no class is planned)."""
        if self.class_index is None:
            return ""
        return f"{self.school_id}-{self.grade}-{self.class_index}"


@dataclass(frozen=True)
class Unplaced:
    """A student without a seat, and exactly why."""

    student_id: str
    tier: Tier | None
    grade: int
    reason: str


@dataclass(frozen=True)
class SchoolLoad:
    """Per-school figures after enrolment."""

    school_id: str
    lrc_students: int
    classes_with_lrc: int
    classes_with_two: int
    room_required: bool  # reaches the resource-room threshold
    has_room: bool
    resource_teachers_needed: int
    resource_teachers_present: int


@dataclass(frozen=True)
class EnrolmentStats:
    """How the solver got there (reported, not part of the plan's rules)."""

    flow_arcs: int = 0
    pricing_rounds: int = 0
    solver_seconds: float = 0.0
    weight_extra_seat: int = 0
    weight_outside_catchment: int = 0
    weight_unplaced: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnrolmentResult:
    """The enrolment stage: seats, unplaced students and per-school loads."""

    stage: ClassVar[str] = "enrolment"
    summary: StageSummary
    seats: tuple[Seat, ...]
    unplaced: tuple[Unplaced, ...]
    schools: tuple[SchoolLoad, ...]
    preferred_per_class: int = 1  # the policy's preferred LRC students per class
    options: EnrolmentOptions = field(default_factory=EnrolmentOptions)
    stats: EnrolmentStats = field(default_factory=EnrolmentStats)

    @cached_property
    def lrc_seats(self) -> tuple[Seat, ...]:
        """Seats of LRC students."""
        return tuple(s for s in self.seats if s.tier is Tier.LRC)

    def figures(self) -> tuple[KeyFigure, ...]:
        """Seats, travel, unplaced students and resource rooms."""
        lrc, loads = self.lrc_seats, self.schools
        per_class = Counter((s.school_id, s.grade, s.class_index) for s in lrc)
        beyond = sum(max(0, n - self.preferred_per_class) for n in per_class.values())
        minutes = [s.travel_minutes for s in lrc]
        mean = sum(minutes) / len(minutes) if minutes else 0.0
        # Present teachers count only up to the need: a surplus at one school fills no gap.
        present = sum(min(x.resource_teachers_present, x.resource_teachers_needed)
                      for x in loads)
        return (
            KeyFigure("lrc_seated", len(lrc)),
            KeyFigure("kept_seats", sum(s.incumbent for s in lrc), indent=True),
            KeyFigure("outside_catchment", sum(not s.catchment for s in lrc), indent=True),
            KeyFigure("beyond_preferred", beyond, indent=True),
            KeyFigure("travel_mean_max", f"{mean:.1f} / {max(minutes, default=0):.1f}",
                      indent=True),
            KeyFigure("special_seated", len(self.seats) - len(lrc)),
            KeyFigure("unplaced", len(self.unplaced), alarm=True),
            KeyFigure("room_schools", sum(x.room_required for x in loads)),
            KeyFigure("without_room", sum(x.room_required and not x.has_room for x in loads),
                      indent=True, alarm=True),
            KeyFigure("resource_teachers",
                      f"{sum(x.resource_teachers_needed for x in loads)} / {present}"),
        )


# ------------------------------------------------------------------ tables
def _seat(row: Cells) -> Seat:
    tier = as_tier(row, "tier")
    assert tier is not None
    minutes, km = as_float(row, "travel_minutes"), as_float(row, "distance_km")
    for name, v in (("travel_minutes", minutes), ("distance_km", km)):
        if v < 0:
            raise CellError(name, f"must be 0 or more, got {v}")
    return Seat(as_id(row, "student_id"), tier, as_id(row, "school_id"),
                as_int(row, "grade"), as_int(row, "class_index", blank=True),  # type: ignore[arg-type]
                minutes, km, as_bool(row, "catchment"), as_bool(row, "incumbent"))


SEATS = TableSpec[Seat](
    "enrolment.csv",
    ("student_id", "tier", "school_id", "grade", "class_index", "class_id",
     "travel_minutes", "distance_km", "catchment", "incumbent"),
    items=lambda r: r.seats,
    cells=lambda s, sc: (s.student_id, text(s.tier), s.school_id, s.grade, s.class_index,
                         s.class_id, s.travel_minutes, s.distance_km, s.catchment,
                         s.incumbent),
    parse=_seat, derived=("class_id",))


def _unplaced(row: Cells) -> Unplaced:
    return Unplaced(as_id(row, "student_id"), as_tier(row, "tier", blank=True),
                    as_int(row, "grade"), cell(row, "reason"))  # type: ignore[arg-type]


UNPLACED = TableSpec[Unplaced](
    "unplaced.csv", ("student_id", "tier", "grade", "reason"),
    items=lambda r: r.unplaced,
    cells=lambda u, sc: (u.student_id, text(u.tier), u.grade, u.reason),
    parse=_unplaced)


def _school_cells(x: SchoolLoad, sc: Any) -> tuple[object, ...]:
    school = sc.school_by_id.get(x.school_id)
    name, town, kind = ((school.name, school.town, school.kind.value) if school
                        else ("", "", ""))
    return (x.school_id, name, town, kind, x.lrc_students, x.classes_with_lrc,
            x.classes_with_two, x.room_required, x.has_room, x.resource_teachers_needed,
            x.resource_teachers_present)


def _load(row: Cells) -> SchoolLoad:
    return SchoolLoad(as_id(row, "school_id"), *(as_int(row, c) for c in (  # type: ignore[arg-type]
        "lrc_students", "classes_with_lrc", "classes_with_two")),
        as_bool(row, "room_required"), as_bool(row, "has_room"),
        as_int(row, "resource_teachers_needed"), as_int(row, "resource_teachers_present"))


SCHOOLS = TableSpec[SchoolLoad](
    "schools.csv",
    ("school_id", "name", "town", "kind", "lrc_students", "classes_with_lrc",
     "classes_with_two", "room_required", "has_room", "resource_teachers_needed",
     "resource_teachers_present"),
    items=lambda r: r.schools, cells=_school_cells, parse=_load,
    derived=("name", "town", "kind"))


def _stats_json(r: EnrolmentResult) -> dict[str, Any]:
    return {"preferred_per_class": r.preferred_per_class, "stats": asdict(r.stats)}


def _build(summary: StageSummary, options: StageOptions, extra: Mapping[str, Any],
           tables: Mapping[str, list[Any]]) -> EnrolmentResult:
    assert isinstance(options, EnrolmentOptions)
    stats = dict(extra.get("stats") or {})
    stats["notes"] = tuple(stats.get("notes") or ())
    preferred = extra.get("preferred_per_class", 1)
    if not isinstance(preferred, int) or isinstance(preferred, bool):
        raise ValueError(f"preferred_per_class: expected a whole number, got {preferred!r}")
    return EnrolmentResult(summary, tuple(tables["enrolment.csv"]),
                           tuple(tables["unplaced.csv"]), tuple(tables["schools.csv"]),
                           preferred, options, EnrolmentStats(**stats))


ENROLMENT_FILES = StageFiles[EnrolmentResult](
    "enrolment", (SEATS, UNPLACED, SCHOOLS), EnrolmentOptions, extra=_stats_json,
    build=_build)
