"""Plan tables: how a stage's rows become CSV cells and come back, and its plan.json part.

A stage declares its files once (`StageFiles`): each `TableSpec` turns an item into cells
and parses cells back; `derived` names the columns that restate values of the same row
(a class id, a school's name): read back, they must equal what the row's own values give,
or the reader reports the cell. Every other cell is parsed into a field that the checker
re-derives from the scenario. So no written value goes unchecked.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lrcplan.models.entities import Tier
from lrcplan.models.plan import StageOptions, StageSummary
from lrcplan.models.scenario import Scenario

T = TypeVar("T")
R = TypeVar("R")
Opt = TypeVar("Opt", bound=StageOptions)

Cells = Mapping[str, str]


class CellError(ValueError):
    """A cell that cannot be read: which column and why."""

    def __init__(self, column: str, message: str) -> None:
        self.column = column
        super().__init__(message)


@dataclass(frozen=True)
class TableSpec(Generic[T]):
    """One CSV table of a stage: its columns, item -> cells, and cells -> item."""

    file: str
    columns: tuple[str, ...]
    items: Callable[[Any], Iterable[T]]  # the rows of a stage result
    cells: Callable[[T, Scenario], Sequence[object]]  # one value per column
    parse: Callable[[Cells], T]  # raises CellError
    derived: tuple[str, ...] = ()  # columns restating the row's own values


@dataclass(frozen=True)
class StageFiles(Generic[R]):
    """Everything of one stage that goes to and comes from a plan folder."""

    stage: str
    tables: tuple[TableSpec[Any], ...]
    options_type: type[StageOptions]
    # The stage's extra plan.json fields (solver statistics) and how its result is rebuilt.
    extra: Callable[[R], dict[str, Any]]
    build: Callable[[StageSummary, StageOptions, Mapping[str, Any],
                     Mapping[str, list[Any]]], R]


# ------------------------------------------------------------------ cell formats
def text(value: object) -> str:
    """A value as a CSV cell: '' for None, lower-case booleans, enum values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def cell(row: Cells, column: str) -> str:
    """The text of a column (CellError when the column is missing)."""
    if column not in row or row[column] is None:
        raise CellError(column, "column is missing")
    return row[column]


def as_int(row: Cells, column: str, *, blank: bool = False) -> int | None:
    """A whole number cell (ASCII digits only)."""
    t = cell(row, column)
    if blank and t == "":
        return None
    s = t[1:] if t.startswith("-") else t
    if not (s.isascii() and s.isdigit()) or len(s) > 12:
        raise CellError(column, f"expected a whole number, got {t!r}")
    return int(t)


def as_float(row: Cells, column: str) -> float:
    """A finite decimal number cell."""
    t = cell(row, column)
    try:
        if not t.isascii() or "_" in t:
            raise ValueError
        v = float(t)
    except ValueError:
        raise CellError(column, f"expected a number, got {t!r}") from None
    if not math.isfinite(v):
        raise CellError(column, f"expected a finite number, got {t!r}")
    return v


def as_count(row: Cells, column: str, least: int = 0) -> int:
    """A whole number cell of at least `least`."""
    n = as_int(row, column)
    if n is None or n < least:
        raise CellError(column, f"expected a whole number of {least} or more, got "
                                f"{cell(row, column)!r}")
    return n


def as_choice(row: Cells, column: str, allowed: tuple[str, ...]) -> str:
    """A cell holding one of `allowed`, exactly."""
    t = cell(row, column)
    if t not in allowed:
        raise CellError(column, f"unknown value {t!r} (expected {', '.join(allowed)})")
    return t


def as_bool(row: Cells, column: str) -> bool:
    """A 'true' / 'false' cell, exactly as lrcplan writes it."""
    t = cell(row, column)
    if t not in ("true", "false"):
        raise CellError(column, f"expected true or false, got {t!r}")
    return t == "true"


def as_tier(row: Cells, column: str, *, blank: bool = False) -> Tier | None:
    """A placement tier cell (blank allowed where the tier may be undecided)."""
    t = cell(row, column)
    if blank and t == "":
        return None
    try:
        return Tier(t)
    except ValueError:
        raise CellError(column, f"unknown tier {t!r} (expected "
                                f"{', '.join(x.value for x in Tier)})") from None


def as_id(row: Cells, column: str) -> str:
    """A non-blank identifier cell."""
    t = cell(row, column)
    if not t:
        raise CellError(column, "value is missing")
    return t


# ------------------------------------------------------------------ plan.json parts
def options_json(options: StageOptions) -> dict[str, Any]:
    """A stage's options as plain JSON values."""
    return dataclasses.asdict(options)


def options_from_json(kind: type[Opt], data: object, where: str) -> Opt:
    """Typed options from plan.json, each field of the type its default has."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown option {unknown[0]!r}")
    values = {}
    for name, value in data.items():
        default = getattr(kind(), name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):  # a whole number stays whole: 16.5 candidates is wrong
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise ValueError(f"{where}.{name}: expected {_KIND_WORDS[type(default)]}, "
                             f"got {value!r}")
        values[name] = type(default)(value)
    try:
        return kind(**values)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
