"""The placement stage's result: one tier per student with its reason, and its table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from lrcplan.models.entities import Tier
from lrcplan.models.plan import KeyFigure, StageOptions, StageSummary
from lrcplan.models.tables import (
    CellError,
    Cells,
    StageFiles,
    TableSpec,
    as_id,
    as_tier,
    cell,
    text,
)

BASES = ("given", "assessment", "assessment+severity", "severity", "undecided")


@dataclass(frozen=True)
class Decision:
    """A student's placement tier and the reason, in a case officer's words."""

    student_id: str
    tier: Tier | None  # None: not decidable from the data (refer to the committee)
    basis: str  # one of BASES
    reason: str


@dataclass(frozen=True)
class PlacementOptions(StageOptions):
    """Options of the placement stage (rule-based: only the common time limit)."""


@dataclass(frozen=True)
class PlacementResult:
    """The placement stage: one Decision per student."""

    stage: ClassVar[str] = "placement"
    summary: StageSummary
    decisions: tuple[Decision, ...]
    options: PlacementOptions = field(default_factory=PlacementOptions)

    def tier_of(self) -> dict[str, Tier | None]:
        """Tier by student id."""
        return {d.student_id: d.tier for d in self.decisions}

    @cached_property
    def counts(self) -> Counter[str]:
        """Students by tier value ('undecided' for no tier)."""
        return Counter(d.tier.value if d.tier else "undecided" for d in self.decisions)

    def figures(self) -> tuple[KeyFigure, ...]:
        """Students by placement tier."""
        return (KeyFigure("placed_lrc", self.counts["lrc"]),
                KeyFigure("placed_special", self.counts["special"]),
                KeyFigure("placed_home", self.counts["home"]),
                KeyFigure("placed_undecided", self.counts["undecided"], alarm=True))


def _decision(row: Cells) -> Decision:
    basis = cell(row, "basis")
    if basis not in BASES:
        raise CellError("basis", f"unknown basis {basis!r} (expected {', '.join(BASES)})")
    return Decision(as_id(row, "student_id"), as_tier(row, "tier", blank=True), basis,
                    cell(row, "reason"))


DECISIONS = TableSpec[Decision](
    "placement.csv", ("student_id", "tier", "basis", "reason"),
    items=lambda r: r.decisions,
    cells=lambda d, sc: (d.student_id, text(d.tier), d.basis, d.reason),
    parse=_decision)


def _build(summary: StageSummary, options: StageOptions, extra: Mapping[str, Any],
           tables: Mapping[str, list[Any]]) -> PlacementResult:
    assert isinstance(options, PlacementOptions)
    return PlacementResult(summary, tuple(tables["placement.csv"]), options)


PLACEMENT_FILES = StageFiles[PlacementResult](
    "placement", (DECISIONS,), PlacementOptions, extra=lambda r: {}, build=_build)
