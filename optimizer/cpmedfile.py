"""Osman-Christofides capacitated p-median files (pmedcap1-pmedcap20) and benchmark runs.

Read by hand so that a malformed file is an InputError naming the file, line and field. A
file is `problem best_value` on its first line, `n p capacity` on its second, then one
`id x y demand` line per point (ids 1..n in order); every point is both a customer and a
candidate median, all medians with the same capacity. Distances are Euclidean, rounded
down to whole numbers (the convention the best values assume).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrcplan.models.errors import InputError, Problem, file_error, read_text


@dataclass(frozen=True, eq=False)
class CPMedianInstance:
    """A capacitated p-median instance: points, demands, one capacity, p, distances."""

    name: str
    best_known: int | float | None  # the file's best value (None when it gives 0 or less)
    p: int
    capacity: int | float
    xy: np.ndarray  # (n, 2)
    demand: np.ndarray  # (n,)
    dist: np.ndarray  # (n, n) Euclidean distances rounded down, int64


def _plain(value: float) -> int | float:
    """A whole number as an int (for tables and JSON), anything else as it is."""
    return int(value) if float(value).is_integer() else float(value)


def _field_error(path: Path, line: int, field: str, message: str) -> InputError:
    return InputError(str(Problem(str(path), line, field, message)))


def _number(path: Path, line: int, field: str, text: str, *, whole: bool = False) -> float:
    """One field as a finite number (a whole number when `whole`)."""
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise _field_error(path, line, field, f"{text!r} is not {kind}") from None
    if not math.isfinite(value):
        raise _field_error(path, line, field, f"{text!r} is not a finite number")
    return value


def _fields(path: Path, line: int, fields: list[str], names: tuple[str, ...]) -> None:
    if len(fields) != len(names):
        want = " ".join(names)
        raise file_error(path, line, f"expected '{want}' ({len(names)} fields), got "
                                     f"{' '.join(fields)!r}")


def read_cpmedian(path: str | Path) -> CPMedianInstance:
    """An Osman-Christofides file as a CPMedianInstance (InputError if malformed)."""
    path = Path(path)
    text = read_text(path)
    lines = [(no, raw.split()) for no, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    if not lines:
        raise file_error(path, None, "the file is empty (expected 'problem best_value' "
                                     "first)")
    no, fields = lines[0]
    _fields(path, no, fields, ("problem", "best_value"))
    best = _number(path, no, "best_value", fields[1])
    if len(lines) < 2:
        raise file_error(path, None, "the second line 'n p capacity' is missing")
    no, fields = lines[1]
    _fields(path, no, fields, ("n", "p", "capacity"))
    n = int(_number(path, no, "n", fields[0], whole=True))
    p = int(_number(path, no, "p", fields[1], whole=True))
    capacity = _number(path, no, "capacity", fields[2])
    cap_text = fields[2]
    if n < 1:
        raise _field_error(path, no, "n", f"must be positive, got {n}")
    if not 1 <= p <= n:
        raise _field_error(path, no, "p", f"must be in 1..n={n}, got {p}")
    if capacity <= 0:
        raise _field_error(path, no, "capacity", f"must be positive, got {cap_text}")
    header = no
    body = lines[2:]
    if len(body) < n:
        raise file_error(path, None, f"line {header} announces {n} points, the file has "
                                     f"{len(body)}")
    if len(body) > n:
        raise file_error(path, body[n][0], f"line {header} announces {n} points; this is "
                                           f"point {n + 1}")
    xy = np.zeros((n, 2))
    demand = np.zeros(n)
    names = ("id", "x", "y", "demand")
    for k, (no, fields) in enumerate(body):
        _fields(path, no, fields, names)
        ident = int(_number(path, no, "id", fields[0], whole=True))
        if ident != k + 1:
            raise _field_error(path, no, "id", f"expected {k + 1} (ids run 1..n in order), "
                                               f"got {ident}")
        xy[k] = (_number(path, no, "x", fields[1]), _number(path, no, "y", fields[2]))
        demand[k] = _number(path, no, "demand", fields[3])
        if demand[k] < 0:
            raise _field_error(path, no, "demand", f"must not be negative, got {fields[3]}")
        if demand[k] > capacity:
            raise _field_error(path, no, "demand", f"{fields[3]} exceeds the capacity "
                                                   f"{cap_text}: no median can serve it")
    if demand.sum() > p * capacity:
        raise file_error(path, header, f"the total demand {demand.sum():g} exceeds p x "
                                       f"capacity = {p * capacity:g}: no solution")
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.floor(np.sqrt((diff ** 2).sum(axis=2)) + 1e-9).astype(np.int64)
    return CPMedianInstance(path.stem, _plain(best) if best > 0 else None, p,
                            _plain(capacity), xy, demand, dist)


# ------------------------------------------------------------------ benchmark runs
@dataclass(frozen=True)
class BenchRow:
    """One capacitated p-median file solved and re-checked."""

    instance: str
    path: str
    n: int
    p: int
    capacity: int | float
    objective: float | None  # None when no solution was found in time
    bound: float
    proven: bool
    best_known: int | float | None
    matches: bool | None  # objective == best_known; None without a best value
    gap_pct: float | None  # (objective - best_known) / best_known, in %
    seconds: float
    status: str
    engine: str
    checked: bool  # the checker's recomputed objective equals the solver's

    def record(self) -> dict[str, object]:
        """The row as a JSON-ready dict."""
        return {"instance": self.instance, "path": self.path, "n": self.n, "p": self.p,
                "capacity": self.capacity, "objective": self.objective,
                "bound": self.bound, "proven": self.proven, "best_known": self.best_known,
                "matches": self.matches, "gap_pct": self.gap_pct,
                "seconds": round(self.seconds, 3), "status": self.status,
                "engine": self.engine, "checked": self.checked}


def bench_cpmedian(paths: list[Path], *, time_limit_s: float,
                   on_row: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    """Solve every file exactly; every file is read before any solving (bad input fails fast)."""
    from lrcplan.optimizer.cpmedian import check_cpmedian, solve_cpmedian

    if not time_limit_s > 0:
        raise InputError(f"--time-limit must be positive, got {time_limit_s}")
    loaded = [(path, read_cpmedian(path)) for path in paths]
    rows = []
    for path, inst in loaded:
        try:
            res = solve_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, time_limit_s)
        except InputError as exc:  # e.g. the demands cannot be packed into p medians
            raise file_error(path, None, str(exc)) from None
        found = math.isfinite(res.objective)
        checked = found and abs(check_cpmedian(inst.dist, inst.demand, inst.capacity,
                                               inst.p, res) - res.objective) < 1e-6
        best = inst.best_known
        row = BenchRow(inst.name, str(path), inst.dist.shape[0], inst.p, inst.capacity,
                       res.objective if found else None, res.bound, res.proven, best,
                       None if best is None or not found
                       else bool(abs(res.objective - best) < 1e-6),
                       None if best is None or not found
                       else round(100.0 * (res.objective - best) / best, 4),
                       res.seconds, res.status, res.engine, checked)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def bench_header() -> str:
    """The column titles of `bench_line`."""
    return (f"{'instance':<11} {'n':>4} {'p':>3} {'objective':>10} {'best':>8} "
            f"{'gap %':>6} {'bound':>10} {'proven':>6} {'seconds':>8}")


def bench_line(row: BenchRow) -> str:
    """One instance as a table row."""
    obj = "-" if row.objective is None else f"{row.objective:.0f}"
    best = "-" if row.best_known is None else f"{row.best_known:g}"
    gap = "-" if row.gap_pct is None else f"{row.gap_pct:.2f}"
    proven = "yes" if row.proven else "no"
    return (f"{row.instance:<11} {row.n:>4} {row.p:>3} {obj:>10} {best:>8} {gap:>6} "
            f"{row.bound:>10.1f} {proven:>6} {row.seconds:>8.2f}")


def bench_summary(rows: list[BenchRow]) -> str:
    """How many instances are proven optimal and how many match the best value."""
    known = [r for r in rows if r.best_known is not None]
    return (f"proven optimal: {sum(r.proven for r in rows)} of {len(rows)}; "
            f"matching the best value: {sum(bool(r.matches) for r in known)} of "
            f"{len(known)}; checker disagreements: {sum(not r.checked for r in rows)}")
