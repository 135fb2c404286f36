"""Results: what every stage reports, the key figures it shows, and the Plan holding them.

A stage result is a frozen dataclass satisfying `StageResult`: its stage name, its typed
options, a `StageSummary` (status, objective, bound, time, engine, proof) and its own key
figures. The Plan holds the results of the stages that ran, in pipeline order; readers
ask for one by type (`plan.get(EnrolmentResult)`) instead of by string key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import ClassVar, Protocol, TypeVar, runtime_checkable


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
    subject: str  # the student, class, school or file cell concerned
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.message}"


@dataclass(frozen=True)
class StageSummary:
    """What every stage reports: status, objective, bound, wall time, engine and proof."""

    stage: str
    status: Status
    seconds: float
    objective: float | None = None
    bound: float | None = None
    engine: str = ""
    proof: str = ""  # why the status holds, e.g. the optimality certificate in words

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"seconds must be 0 or more, got {self.seconds}")


@dataclass(frozen=True)
class KeyFigure:
    """One key number of a stage, as the CLI summary and the report show it."""

    key: str  # label key (models/labels.py), also its English text
    value: int | float | str
    indent: bool = False  # a detail of the figure above it
    alarm: bool = False  # a planner must act on it when it is not zero


@dataclass(frozen=True)
class StageOptions:
    """Options every stage has; a stage's own options subclass this."""

    time_limit_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s must be positive, got {self.time_limit_s}")


@runtime_checkable
class StageResult(Protocol):
    """The result of one stage (a frozen dataclass)."""

    stage: ClassVar[str]
    summary: StageSummary
    options: StageOptions

    def figures(self) -> tuple[KeyFigure, ...]:
        """The stage's key numbers, computed from its own rows."""
        ...


R = TypeVar("R")


@dataclass(frozen=True)
class Plan:
    """A district plan: every stage's result in pipeline order, and what the checker found."""

    scenario: str  # the scenario's name
    fingerprint: str  # digest of the scenario's content (models/fingerprint.py)
    created: str  # ISO date-time the plan was made
    results: tuple[StageResult, ...]
    violations: tuple[Violation, ...] = ()
    # Cells of a plan read from files that disagree with their own row, found while reading.
    cell_mismatches: tuple[Violation, ...] = field(default=(), compare=False)

    def get(self, kind: type[R]) -> R:
        """The result of the stage of type `kind`; KeyError when that stage did not run."""
        for r in self.results:
            if isinstance(r, kind):
                return r
        raise KeyError(f"the plan has no {kind.__name__}")

    def find(self, kind: type[R]) -> R | None:
        """The result of the stage of type `kind`, or None when that stage did not run."""
        return next((r for r in self.results if isinstance(r, kind)), None)

    def replacing(self, result: StageResult) -> Plan:
        """A copy with the result of the same stage replaced (for tests and re-planning)."""
        if not any(r.stage == result.stage for r in self.results):
            raise KeyError(f"the plan has no {result.stage} stage")
        return replace(self, results=tuple(result if r.stage == result.stage else r
                                           for r in self.results))

    def figure_values(self) -> dict[str, int | float | str]:
        """Every stage's key figures by label key (computed by the stages, once each)."""
        return {f.key: f.value for r in self.results for f in r.figures()}

    @property
    def stages(self) -> tuple[StageSummary, ...]:
        """Summaries of the stages run, in pipeline order."""
        return tuple(r.summary for r in self.results)
