"""The routes stage's result: each required visit and what became of it, each teacher-day's
stops, and their tables (visits.csv, routes.csv)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from lrcplan.models.plan import KeyFigure, StageOptions, StageSummary
from lrcplan.models.policy import parse_hhmm
from lrcplan.models.tables import (
    CellError,
    Cells,
    StageFiles,
    TableSpec,
    as_choice,
    as_float,
    as_id,
    as_int,
    cell,
)

STOP_KINDS = ("base", "itinerant", "home", "lunch")
VISIT_STATUS = ("served", "unserved")


@dataclass(frozen=True)
class RoutesOptions(StageOptions):
    """Options of the routes stage."""

    time_limit_s: float = 20.0
    seed: int = 0  # the improvement phase's random order

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.seed < 0:
            raise ValueError(f"seed must be 0 or more, got {self.seed}")


@dataclass(frozen=True)
class Visit:
    """A required visit and what became of it (one row of visits.csv)."""

    visit_id: str  # "<stream key>:<n>", see models/visits.py
    kind: str  # itinerant / home
    site_id: str  # the school, or the home-taught student
    teacher_id: str  # '' when unserved
    week: int | None  # None when unserved
    day: str  # '' when unserved
    minutes: int
    status: str  # served / unserved
    reason: str  # why unserved ('' when served)


@dataclass(frozen=True)
class Stop:
    """One stop of a teacher-day (one row of routes.csv); times in minutes after midnight."""

    teacher_id: str
    week: int
    day: str
    seq: int  # 0: leaving the base
    site_id: str  # the base, a school, a home-taught student, or where lunch is taken
    kind: str  # base / itinerant / home / lunch
    visit_id: str  # '' for base and lunch
    arrival: int
    start: int
    end: int
    travel_minutes: float  # from the previous stop, by the travel model


def hhmm(minutes: int) -> str:
    """'HH:MM' of minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class RoutesResult:
    """The routes stage: visits (served or not, and why) and teacher-day routes."""

    stage: ClassVar[str] = "routes"
    summary: StageSummary
    visits: tuple[Visit, ...]
    stops: tuple[Stop, ...]
    weeks: int = 1  # the horizon: 1, or 2 where schools are visited every second week
    options: RoutesOptions = field(default_factory=RoutesOptions)

    @cached_property
    def days(self) -> dict[tuple[str, int, str], tuple[Stop, ...]]:
        """Stops by (teacher, week, day), in route order."""
        out: dict[tuple[str, int, str], list[Stop]] = defaultdict(list)
        for s in self.stops:
            out[(s.teacher_id, s.week, s.day)].append(s)
        return {k: tuple(sorted(v, key=lambda s: s.seq)) for k, v in out.items()}

    def day_minutes(self) -> dict[tuple[str, int, str], int]:
        """Working minutes of each teacher-day: leaving the base to coming back."""
        return {k: v[-1].arrival - v[0].end for k, v in self.days.items() if v}

    def figures(self) -> tuple[KeyFigure, ...]:
        """Coverage, unserved visits, travel and the longest teacher-day."""
        served = sum(v.status == "served" for v in self.visits)
        n = len(self.visits)
        longest = max(self.day_minutes().values(), default=0)
        return (
            KeyFigure("visits_required", n),
            KeyFigure("visits_served", served),
            KeyFigure("coverage", f"{100.0 * served / n:.1f} %" if n else "-", indent=True),
            KeyFigure("visits_unserved", n - served, alarm=True),
            KeyFigure("teacher_days", len(self.days)),
            KeyFigure("route_travel_minutes", round(sum(s.travel_minutes
                                                        for s in self.stops), 1)),
            KeyFigure("longest_teacher_day", f"{longest // 60} h {longest % 60:02d} min"),
        )


# ------------------------------------------------------------------ tables
def _time(row: Cells, column: str) -> int:
    t = cell(row, column)
    try:
        if len(t) != 5:
            raise ValueError
        return parse_hhmm(t)
    except ValueError:
        raise CellError(column, f"expected a time HH:MM, got {t!r}") from None


def _visit(row: Cells) -> Visit:
    status = as_choice(row, "status", VISIT_STATUS)
    week = as_int(row, "week", blank=True)
    minutes = as_int(row, "minutes")
    assert minutes is not None
    return Visit(as_id(row, "visit_id"), as_choice(row, "kind", ("itinerant", "home")),
                 as_id(row, "site_id"), cell(row, "teacher_id"), week, cell(row, "day"),
                 minutes, status, cell(row, "reason"))


VISITS = TableSpec[Visit](
    "visits.csv",
    ("visit_id", "kind", "site_id", "teacher_id", "week", "day", "minutes", "status",
     "reason"),
    items=lambda r: r.visits,
    cells=lambda v, sc: (v.visit_id, v.kind, v.site_id, v.teacher_id, v.week, v.day,
                         v.minutes, v.status, v.reason),
    parse=_visit)


def _stop(row: Cells) -> Stop:
    week, seq = as_int(row, "week"), as_int(row, "seq")
    assert week is not None and seq is not None
    travel = as_float(row, "travel_minutes")
    if travel < 0:
        raise CellError("travel_minutes", f"must be 0 or more, got {travel}")
    return Stop(as_id(row, "teacher_id"), week, cell(row, "day"), seq, as_id(row, "site_id"),
                as_choice(row, "kind", STOP_KINDS), cell(row, "visit_id"),
                _time(row, "arrival"), _time(row, "start"), _time(row, "end"), travel)


STOPS = TableSpec[Stop](
    "routes.csv",
    ("teacher_id", "week", "day", "seq", "site_id", "kind", "visit_id", "arrival", "start",
     "end", "travel_minutes"),
    items=lambda r: r.stops,
    cells=lambda s, sc: (s.teacher_id, s.week, s.day, s.seq, s.site_id, s.kind, s.visit_id,
                         hhmm(s.arrival), hhmm(s.start), hhmm(s.end), s.travel_minutes),
    parse=_stop)


def _build(summary: StageSummary, options: StageOptions, extra: Mapping[str, Any],
           tables: Mapping[str, list[Any]]) -> RoutesResult:
    assert isinstance(options, RoutesOptions)
    weeks = extra.get("weeks", 1)
    if weeks not in (1, 2):
        raise ValueError(f"weeks: expected 1 or 2, got {weeks!r}")
    return RoutesResult(summary, tuple(tables["visits.csv"]), tuple(tables["routes.csv"]),
                        weeks, options)


ROUTES_FILES = StageFiles[RoutesResult](
    "routes", (VISITS, STOPS), RoutesOptions, extra=lambda r: {"weeks": r.weeks},
    build=_build)

