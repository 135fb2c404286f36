"""The timetable stage's result: every support session, each LRC student's entitlement and
what became of it, the soft penalties per school, and their tables (timetable.csv,
support.csv, penalties.csv)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from lrcplan.models.plan import KeyFigure, StageOptions, StageSummary
from lrcplan.models.tables import (
    CellError,
    Cells,
    StageFiles,
    TableSpec,
    as_choice,
    as_count,
    as_id,
    as_int,
    cell,
)

SUPPORT_STATUS = ("served", "unserved")
# Soft constraints, as named in penalties.csv and the report (optimizer/timetable.py
# defines their weights).
SOFT = ("core_clash", "edge_period", "consecutive_days", "teacher_gap", "room_travel")


@dataclass(frozen=True)
class TimetableOptions(StageOptions):
    """Options of the timetable stage."""

    time_limit_s: float = 30.0
    explain: bool = True  # find the blocking constraints of each unserved student


@dataclass(frozen=True)
class Session:
    """One support session: a teacher, a room, a period, one or a few students."""

    school_id: str
    day: str
    period: int  # 1-based
    room: str  # "<school>-RR" (resource room) or "<school>-SP" (designated space)
    teacher_id: str
    student_ids: tuple[str, ...]
    pinned: bool = False  # kept from the input's pinned sessions


@dataclass(frozen=True)
class Support:
    """One LRC student's weekly entitlement and what became of it (support.csv)."""

    student_id: str
    school_id: str
    sessions: int
    status: str  # served (the entitlement met) / unserved
    reason: str  # why unserved: the blocking constraints ('' when served)


@dataclass(frozen=True)
class Penalty:
    """What one soft constraint costs in one school, and whom it hits."""

    school_id: str
    constraint: str  # one of SOFT
    count: int  # times it is broken
    cost: int  # count x its weight
    student_ids: tuple[str, ...]  # the students it hits (teachers' gaps: none)


@dataclass(frozen=True)
class TimetableResult:
    """The timetable stage: sessions, entitlements, soft penalties, per-school solve times."""

    stage: ClassVar[str] = "timetable"
    summary: StageSummary
    sessions: tuple[Session, ...]
    support: tuple[Support, ...]
    penalties: tuple[Penalty, ...] = ()
    school_seconds: tuple[tuple[str, float], ...] = ()  # solve time of each school
    options: TimetableOptions = field(default_factory=TimetableOptions)

    @cached_property
    def by_school(self) -> dict[str, tuple[Session, ...]]:
        """Sessions by school, in (day, period, teacher) order as written."""
        out: dict[str, list[Session]] = defaultdict(list)
        for s in self.sessions:
            out[s.school_id].append(s)
        return {k: tuple(v) for k, v in out.items()}

    def sessions_of(self, student_id: str) -> tuple[Session, ...]:
        """A student's sessions."""
        return tuple(s for s in self.sessions if student_id in s.student_ids)

    def figures(self) -> tuple[KeyFigure, ...]:
        """Entitlements met, sessions, soft penalties and solve time per school."""
        n = len(self.support)
        served = sum(s.status == "served" for s in self.support)
        times = [t for _, t in self.school_seconds]
        return (
            KeyFigure("support_students", n),
            KeyFigure("support_served", served),
            KeyFigure("support_coverage", f"{100.0 * served / n:.1f} %" if n else "-",
                      indent=True),
            KeyFigure("support_unserved", n - served, alarm=True),
            KeyFigure("support_sessions", len(self.sessions)),
            KeyFigure("support_pinned", sum(s.pinned for s in self.sessions)),
            KeyFigure("support_soft_cost", sum(p.cost for p in self.penalties)),
            KeyFigure("school_solve_seconds",
                      f"median {statistics.median(times):.2f} s, max {max(times):.2f} s"
                      if times else "-"),
        )


# ------------------------------------------------------------------ tables
def _bool(row: Cells, column: str) -> bool:
    return as_choice(row, column, ("true", "false")) == "true"


def _ids(row: Cells, column: str) -> tuple[str, ...]:
    t = cell(row, column)
    ids = tuple(x.strip() for x in t.split(";")) if t else ()
    if not ids or any(not x for x in ids) or len(set(ids)) != len(ids):
        raise CellError(column, f"expected distinct ids separated by ';', got {t!r}")
    return ids


def _session(row: Cells) -> Session:
    return Session(as_id(row, "school_id"), cell(row, "day"), as_count(row, "period", 1),
                   as_id(row, "room"), as_id(row, "teacher_id"), _ids(row, "student_ids"),
                   _bool(row, "pinned"))


SESSIONS = TableSpec[Session](
    "timetable.csv",
    ("school_id", "day", "period", "room", "teacher_id", "student_ids", "pinned"),
    items=lambda r: r.sessions,
    cells=lambda s, sc: (s.school_id, s.day, s.period, s.room, s.teacher_id,
                         ";".join(s.student_ids), "true" if s.pinned else "false"),
    parse=_session)


def _support(row: Cells) -> Support:
    n = as_int(row, "sessions")
    if n is None or n < 0:
        raise CellError("sessions", f"expected a whole number of 0 or more, got "
                                    f"{cell(row, 'sessions')!r}")
    return Support(as_id(row, "student_id"), as_id(row, "school_id"), n,
                   as_choice(row, "status", SUPPORT_STATUS), cell(row, "reason"))


SUPPORT = TableSpec[Support](
    "support.csv",
    ("student_id", "school_id", "sessions", "status", "reason"),
    items=lambda r: r.support,
    cells=lambda s, sc: (s.student_id, s.school_id, s.sessions, s.status, s.reason),
    parse=_support)


def _penalty(row: Cells) -> Penalty:
    count, cost = as_int(row, "count"), as_int(row, "cost")
    if count is None or cost is None or count < 0 or cost < 0:
        raise CellError("count", "count and cost are whole numbers of 0 or more")
    ids = cell(row, "student_ids")
    return Penalty(as_id(row, "school_id"), as_choice(row, "constraint", SOFT), count, cost,
                   tuple(ids.split(";")) if ids else ())


PENALTIES = TableSpec[Penalty](
    "penalties.csv",
    ("school_id", "constraint", "count", "cost", "student_ids"),
    items=lambda r: r.penalties,
    cells=lambda p, sc: (p.school_id, p.constraint, p.count, p.cost, ";".join(p.student_ids)),
    parse=_penalty)


def _build(summary: StageSummary, options: StageOptions, extra: Mapping[str, Any],
           tables: Mapping[str, list[Any]]) -> TimetableResult:
    assert isinstance(options, TimetableOptions)
    raw = extra.get("school_seconds", [])
    if not isinstance(raw, list) or not all(
            isinstance(x, list) and len(x) == 2 and isinstance(x[0], str)
            and isinstance(x[1], int | float) for x in raw):
        raise ValueError("school_seconds: expected a list of [school id, seconds]")
    return TimetableResult(summary, tuple(tables["timetable.csv"]),
                           tuple(tables["support.csv"]), tuple(tables["penalties.csv"]),
                           tuple((k, float(v)) for k, v in raw), options)


TIMETABLE_FILES = StageFiles[TimetableResult](
    "timetable", (SESSIONS, SUPPORT, PENALTIES), TimetableOptions,
    extra=lambda r: {"school_seconds": [[k, round(v, 3)] for k, v in r.school_seconds]},
    build=_build)
