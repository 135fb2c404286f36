"""Results: one object per stage (status, objective, bound, time) and the Plan holding them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lrcplan.models.entities import Tier


class Status(StrEnum):
    """How a stage ended."""

    OPTIMAL = "optimal"  # proven optimal by the solver
    FEASIBLE = "feasible"  # a valid plan, optimality not proven
    INFEASIBLE = "infeasible"  # no valid plan exists (the result says why)
    TIMED_OUT = "timed_out"  # stopped by the time limit without a valid plan
    DONE = "done"  # a rule-based stage (no optimisation) that completed


@dataclass(frozen=True)
class Violation:
    """A hard rule broken by a plan, found by the independent checker."""

    rule: str
    subject: str  # the student, class or school concerned
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.message}"


@dataclass(frozen=True)
class StageSummary:
    """What every stage reports: status, objective, bound, wall time and engine."""

    stage: str
    status: Status
    seconds: float
    objective: float | None = None
    bound: float | None = None
    engine: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One fixed-width line for the summary table."""
        obj = "-" if self.objective is None else f"{self.objective:,.1f}"
        bnd = "-" if self.bound is None else f"{self.bound:,.1f}"
        return (f"{self.stage:<11} {self.status.value:<10} {obj:>14} {bnd:>14} "
                f"{self.seconds:>8.2f}s  {self.engine}")


@dataclass(frozen=True)
class Decision:
    """A student's placement tier and the reason, in a case officer's words."""

    student_id: str
    tier: Tier | None  # None: not decidable from the data (refer to the committee)
    basis: str  # given / assessment / severity / undecided
    reason: str


@dataclass(frozen=True)
class PlacementResult:
    """The placement stage: one Decision per student."""

    summary: StageSummary
    decisions: tuple[Decision, ...]

    def tier_of(self) -> dict[str, Tier | None]:
        """Tier by student id."""
        return {d.student_id: d.tier for d in self.decisions}


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
class EnrolmentResult:
    """The enrolment stage: seats, unplaced students and per-school loads."""

    summary: StageSummary
    seats: tuple[Seat, ...]
    unplaced: tuple[Unplaced, ...]
    schools: tuple[SchoolLoad, ...]


@dataclass(frozen=True)
class Plan:
    """A district plan: every stage's result, and what the checker found."""

    scenario: str
    created: str  # ISO date-time the plan was made
    placement: PlacementResult
    enrolment: EnrolmentResult
    violations: tuple[Violation, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def stages(self) -> tuple[StageSummary, ...]:
        """Summaries of the stages run, in pipeline order."""
        return (self.placement.summary, self.enrolment.summary)
