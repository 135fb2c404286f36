"""The siting stage's result: which schools have, need or get a resource room, how each town
is covered, the enrolment changes the budget model made, and the budget-versus-coverage
curve; with its tables (rooms.csv, room_towns.csv, siting_moves.csv, siting_curve.csv)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lrcplan.models.plan import KeyFigure, StageOptions, StageSummary
from lrcplan.models.tables import (
    Cells,
    StageFiles,
    TableSpec,
    as_bool,
    as_choice,
    as_count,
    as_float,
    as_id,
    cell,
)

MODES = ("required", "budget", "coverage", "p-median")
# existing: a school's room before the plan; centre: a special school or resource centre;
# required: a new room the threshold rule demands; new: a new room the bureau chooses.
ROOM_STATUS = ("existing", "centre", "required", "new")


@dataclass(frozen=True)
class SitingOptions(StageOptions):
    """Options of the siting stage: the mode and the budget (new rooms or yuan)."""

    time_limit_s: float = 60.0
    mode: str = "required"
    rooms: int = -1  # new rooms the bureau may build; -1: from budget_yuan, else none
    budget_yuan: float = -1.0  # the budget in yuan; -1: not given
    curve: bool = True  # solve every budget 0..K for the budget-versus-coverage curve
    cover_minutes: float = -1.0  # coverage mode's radius; -1: Policy.siting_cover_minutes

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.rooms < -1 or (self.budget_yuan < 0 and self.budget_yuan != -1.0) or \
                (self.cover_minutes < 0 and self.cover_minutes != -1.0):
            raise ValueError("rooms, budget_yuan and cover_minutes must be 0 or more")


@dataclass(frozen=True)
class Room:
    """A school or centre with a room (or one to build), and whom it serves (rooms.csv)."""

    school_id: str
    town: str
    status: str  # one of ROOM_STATUS
    cost_yuan: int  # 0 unless built by this plan
    lrc_students: int  # LRC students enrolled at the site after the plan
    students_served: int  # LRC students using this room (its own and sharing schools')


@dataclass(frozen=True)
class TownCover:
    """One town's three-level coverage (room_towns.csv)."""

    town: str
    rooms: int  # rooms and centres in the town after the plan
    lrc_students: int
    served: int  # of them, students whose school has or shares a room
    covered: bool


@dataclass(frozen=True)
class Move:
    """An LRC student the budget model enrols at another school (siting_moves.csv)."""

    student_id: str
    grade: int
    from_school: str
    to_school: str
    to_class: int  # class index in the new school's grade (the one with fewest LRC)
    travel_minutes: float  # home to the new school


@dataclass(frozen=True)
class CurvePoint:
    """One point of the budget-versus-coverage curve: the best plan with `rooms` new rooms."""

    rooms: int
    feasible: bool
    towns_covered: int
    # students served (budget), covered (coverage) or student-minutes to the nearest room
    # (p-median); 0 where infeasible
    value: float
    proven: bool


@dataclass(frozen=True)
class SitingResult:
    """The siting stage: rooms, town coverage, enrolment changes and the budget curve."""

    stage: ClassVar[str] = "siting"
    summary: StageSummary
    rooms: tuple[Room, ...]
    towns: tuple[TownCover, ...]
    moves: tuple[Move, ...] = ()
    curve: tuple[CurvePoint, ...] = ()
    budget_rooms: int = -1  # new rooms allowed (-1: no budget, required mode)
    options: SitingOptions = field(default_factory=SitingOptions)

    @property
    def built(self) -> tuple[Room, ...]:
        """Rooms this plan builds (required and new)."""
        return tuple(r for r in self.rooms if r.status in ("required", "new"))

    def figures(self) -> tuple[KeyFigure, ...]:
        """Rooms by status, cost, towns covered, students served, enrolment changes."""
        by = {s: sum(r.status == s for r in self.rooms) for s in ROOM_STATUS}
        lrc = sum(t.lrc_students for t in self.towns)
        served = sum(t.served for t in self.towns)
        covered = sum(t.covered for t in self.towns)
        mode = self.options.mode
        # the required mode chooses no room and the budget mode alone moves students:
        # a figure that is 0 by construction is left out
        return (
            KeyFigure("siting_mode", mode),
            KeyFigure("rooms_existing", by["existing"] + by["centre"]),
            KeyFigure("rooms_required", by["required"]),
            *((KeyFigure("rooms_new", by["new"]),) if mode != "required" else ()),
            KeyFigure("rooms_cost_yuan", f"{sum(r.cost_yuan for r in self.rooms):,}"),
            KeyFigure("towns_covered", f"{covered} / {len(self.towns)}"),
            KeyFigure("towns_uncovered", len(self.towns) - covered, alarm=True),
            KeyFigure("lrc_room_served", f"{served} / {lrc}"),
            *((KeyFigure("siting_moves", len(self.moves)),) if mode == "budget" else ()),
        )


# ------------------------------------------------------------------ tables
def _room(row: Cells) -> Room:
    return Room(as_id(row, "school_id"), cell(row, "town"), as_choice(row, "status", ROOM_STATUS),
                as_count(row, "cost_yuan"), as_count(row, "lrc_students"),
                as_count(row, "students_served"))


ROOMS = TableSpec[Room](
    "rooms.csv",
    ("school_id", "town", "status", "cost_yuan", "lrc_students", "students_served"),
    items=lambda r: r.rooms,
    cells=lambda x, sc: (x.school_id, x.town, x.status, x.cost_yuan, x.lrc_students,
                         x.students_served),
    parse=_room)


def _town(row: Cells) -> TownCover:
    return TownCover(cell(row, "town"), as_count(row, "rooms"), as_count(row, "lrc_students"),
                     as_count(row, "served"), as_bool(row, "covered"))


TOWNS = TableSpec[TownCover](
    "room_towns.csv",
    ("town", "rooms", "lrc_students", "served", "covered"),
    items=lambda r: r.towns,
    cells=lambda t, sc: (t.town, t.rooms, t.lrc_students, t.served, t.covered),
    parse=_town)


def _move(row: Cells) -> Move:
    return Move(as_id(row, "student_id"), as_count(row, "grade"), as_id(row, "from_school"),
                as_id(row, "to_school"), as_count(row, "to_class"),
                as_float(row, "travel_minutes"))


MOVES = TableSpec[Move](
    "siting_moves.csv",
    ("student_id", "grade", "from_school", "to_school", "to_class", "travel_minutes"),
    items=lambda r: r.moves,
    cells=lambda m, sc: (m.student_id, m.grade, m.from_school, m.to_school, m.to_class,
                         round(m.travel_minutes, 2)),
    parse=_move)


def _point(row: Cells) -> CurvePoint:
    return CurvePoint(as_count(row, "rooms"), as_bool(row, "feasible"),
                      as_count(row, "towns_covered"), as_float(row, "value"),
                      as_bool(row, "proven"))


CURVE = TableSpec[CurvePoint](
    "siting_curve.csv",
    ("rooms", "feasible", "towns_covered", "value", "proven"),
    items=lambda r: r.curve,
    cells=lambda p, sc: (p.rooms, p.feasible, p.towns_covered, round(p.value, 1), p.proven),
    parse=_point)


def _build(summary: StageSummary, options: StageOptions, extra: Mapping[str, Any],
           tables: Mapping[str, list[Any]]) -> SitingResult:
    assert isinstance(options, SitingOptions)
    k = extra.get("budget_rooms", -1)
    if not isinstance(k, int) or isinstance(k, bool) or k < -1:
        raise ValueError(f"budget_rooms: expected a whole number, got {k!r}")
    return SitingResult(summary, tuple(tables["rooms.csv"]), tuple(tables["room_towns.csv"]),
                        tuple(tables["siting_moves.csv"]), tuple(tables["siting_curve.csv"]),
                        k, options)


SITING_FILES = StageFiles[SitingResult](
    "siting", (ROOMS, TOWNS, MOVES, CURVE), SitingOptions,
    extra=lambda r: {"budget_rooms": r.budget_rooms},
    build=_build)
