"""Osman-Christofides capacitated p-median files and their benchmark rows.

A file is `problem best_value` on its first line, `n p capacity` on the second, then one
`id x y demand` line per point; every point is both a customer and a candidate median
with that capacity. Distances are Euclidean, rounded down to integers (the convention the
best values assume). Read by hand so that a malformed file is an InputError naming the
file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrcplan.models.errors import InputError, file_error, read_text


@dataclass(frozen=True, eq=False)
class CPMedianInstance:
    """A capacitated p-median instance: distances, demands, one capacity, p, best value."""

    name: str
    dist: np.ndarray  # (n, n) floor of the Euclidean distances, int64
    demand: np.ndarray  # (n,) int64
    capacity: int
    p: int
    best_known: int | None  # the file's best value (0 or missing: unknown)


def _numbers(path: Path, lineno: int, fields: list[str], want: int, what: str) -> list[float]:
    """`want` finite numbers from one line (InputError naming the line otherwise)."""
    if len(fields) != want:
        raise file_error(path, lineno, f"expected {what}, got {' '.join(fields)!r}")
    out = []
    for f in fields:
        try:
            v = float(f)
        except ValueError:
            raise file_error(path, lineno, f"{f!r} is not a number") from None
        if not math.isfinite(v):
            raise file_error(path, lineno, f"{f!r} is not a finite number")
        out.append(v)
    return out


def _whole(path: Path, lineno: int, value: float, what: str, low: int) -> int:
    if value != int(value) or value < low:
        raise file_error(path, lineno, f"{what} must be a whole number >= {low}, got {value:g}")
    return int(value)


def read_cpmedian(path: str | Path) -> CPMedianInstance:
    """An Osman-Christofides file as a CPMedianInstance (InputError if malformed)."""
    path = Path(path)
    text = read_text(path)
    lines = [(no, raw.split()) for no, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    if len(lines) < 2:
        raise file_error(path, None, "expected 'problem best_value' and 'n p capacity' first")
    (no1, f1), (no2, f2) = lines[0], lines[1]
    _, best = _numbers(path, no1, f1, 2, "'problem best_value'")
    n_f, p_f, q_f = _numbers(path, no2, f2, 3, "'n p capacity'")
    n = _whole(path, no2, n_f, "n", 1)
    p = _whole(path, no2, p_f, "p", 1)
    q = _whole(path, no2, q_f, "capacity", 1)
    if p > n:
        raise file_error(path, no2, f"p must be in 1..n={n}, got {p}")
    body = lines[2:]
    if len(body) != n:
        raise file_error(path, None, f"the header announces {n} points, the file has "
                                     f"{len(body)}")
    xy = np.zeros((n, 2))
    demand = np.zeros(n, np.int64)
    for k, (no, fields) in enumerate(body):
        _, x, y, dem = _numbers(path, no, fields, 4, "'id x y demand'")
        xy[k] = (x, y)
        demand[k] = _whole(path, no, dem, "demand", 0)
    if demand.sum() > p * q:
        raise file_error(path, no2, f"total demand {int(demand.sum())} exceeds p x capacity "
                                    f"= {p * q}: no assignment fits")
    if demand.max(initial=0) > q:
        raise file_error(path, None, f"a demand of {int(demand.max())} exceeds the capacity {q}")
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.floor(np.sqrt((diff ** 2).sum(axis=2)) + 1e-9).astype(np.int64)
    return CPMedianInstance(path.stem, dist, demand, q, p,
                            int(best) if best > 0 and best == int(best) else None)


# ------------------------------------------------------------------ benchmark runs
@dataclass(frozen=True)
class BenchRow:
    """One capacitated instance solved and re-checked."""

    instance: str
    path: str
    n: int
    p: int
    objective: float
    bound: float
    proven: bool
    best_known: int | None
    seconds: float
    status: str
    checked: bool  # the checker's recomputed objective equals the solver's

    @property
    def gap_pct(self) -> float | None:
        """Objective over the best known value, in percent (None without one)."""
        if self.best_known is None or not self.best_known:
            return None
        return 100.0 * (self.objective - self.best_known) / self.best_known

    def record(self) -> dict[str, object]:
        """The row as a JSON-ready dict."""
        gap = self.gap_pct
        return {"instance": self.instance, "path": self.path, "n": self.n, "p": self.p,
                "objective": self.objective, "bound": self.bound, "proven": self.proven,
                "best_known": self.best_known,
                "gap_pct": None if gap is None else round(gap, 4),
                "seconds": round(self.seconds, 3), "status": self.status,
                "checked": self.checked}


def bench_cpmedian(paths: list[Path], *, time_limit_s: float,
                   on_row: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    """Solve every file exactly; every file is read before any solving (bad input fails fast)."""
    from lrcplan.optimizer.cpmedian import check_cpmedian, solve_cpmedian

    if not time_limit_s > 0:
        raise InputError(f"--time-limit must be positive, got {time_limit_s}")
    loaded = [(p, read_cpmedian(p)) for p in paths]
    rows = []
    for path, inst in loaded:
        res = solve_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, time_limit_s)
        recomputed = check_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, res)
        row = BenchRow(inst.name, str(path), inst.dist.shape[0], inst.p, res.objective,
                       res.bound, res.proven, inst.best_known, res.seconds, res.status,
                       bool(abs(recomputed - res.objective) < 1e-6))
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def bench_header() -> str:
    """The column titles of `bench_line`."""
    return (f"{'instance':<12} {'n':>4} {'p':>3} {'objective':>10} {'best':>6} {'gap %':>7} "
            f"{'bound':>10} {'proven':>6} {'seconds':>8}")


def bench_line(row: BenchRow) -> str:
    """One instance as a table row."""
    best = "-" if row.best_known is None else str(row.best_known)
    gap = "-" if row.gap_pct is None else f"{row.gap_pct:.2f}"
    return (f"{row.instance:<12} {row.n:>4} {row.p:>3} {row.objective:>10.0f} {best:>6} "
            f"{gap:>7} {row.bound:>10.1f} {'yes' if row.proven else 'no':>6} "
            f"{row.seconds:>8.2f}")


def bench_summary(rows: list[BenchRow]) -> str:
    """How many instances are proven optimal and how many match the best known value."""
    known = [r for r in rows if r.best_known is not None]
    matched = sum(round(r.objective) == r.best_known for r in known)
    return (f"proven optimal: {sum(r.proven for r in rows)} of {len(rows)}; matching the "
            f"best known value: {matched} of {len(known)}; checker disagreements: "
            f"{sum(not r.checked for r in rows)}")
