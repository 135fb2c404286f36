"""Errors raised for a user's bad input, each carrying every problem found."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where it is and what is wrong."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        if self.column:
            return f"{where}: {self.column}: {self.message}"
        return f"{where}: {self.message}"


class InputError(ValueError):
    """The user's input is wrong; the message says where and how (CLI exit code 2)."""


def file_error(path: Path, line: int | None, message: str) -> InputError:
    """An InputError naming a file (and line) of a one-file input, worded as a Problem."""
    return InputError(str(Problem(str(path), line, None, message)))


def read_text(path: Path) -> str:
    """A UTF-8 text file's content (an InputError naming the file if it is not text)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise file_error(path, None, "not a text file") from None


class ScenarioError(InputError):
    """A scenario failed validation; holds every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the scenario:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class PolicyError(InputError):
    """A policy value or key in scenario.toml is invalid."""


class OutputError(Exception):
    """An output folder could not be written (disk full, permission denied, read-only file
    system...); the previous folder is intact (CLI exit code 3). Not an InputError: the
    input was fine, the place to write it was not."""
