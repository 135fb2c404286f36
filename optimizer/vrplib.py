"""VRPLIB VRPTW files (Solomon, Gehring-Homberger) and their `.sol` best-known costs.

Read by hand rather than with the `vrplib` package so that a malformed file is an
InputError naming the file and line. Values follow the DIMACS convention, as
`pyvrp.read(path, round_func="dimacs")` does: every distance, time, service time,
demand and capacity is multiplied by 10 and truncated to an integer (distances are
Euclidean, so truncated to one decimal); `VrptwInstance.scale` is 10, and costs divided
by it are in the instance's own units, comparable with the `.sol` file's `Cost`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrcplan.models.errors import InputError, file_error, read_text
from lrcplan.optimizer.vrptw import VrptwInstance

DIMACS_SCALE = 10
_SECTIONS = {"NODE_COORD_SECTION": 2, "DEMAND_SECTION": 1, "TIME_WINDOW_SECTION": 2,
             "SERVICE_TIME_SECTION": 1, "DEPOT_SECTION": 0}


@dataclass(frozen=True)
class BestKnown:
    """A `.sol` file: the best-known cost (instance units) and its routes."""

    cost: float
    routes: tuple[tuple[int, ...], ...]  # client indices, depot 0 left out


def _number(path: Path, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise file_error(path, line, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise file_error(path, line, f"{text!r} is not a finite number")
    return value


def _dimacs(values: np.ndarray) -> np.ndarray:
    """Scale by 10 and truncate, exactly as pyvrp's 'dimacs' rounding does."""
    return np.trunc(np.asarray(values, dtype=float) * DIMACS_SCALE).astype(np.int64)


def _distances(coords: np.ndarray) -> np.ndarray:
    """Euclidean distances, scaled by 10 and truncated (exact for whole coordinates)."""
    if np.all(coords == np.trunc(coords)) and np.abs(coords).max(initial=0) < 2**20:
        xy = coords.astype(np.int64)
        sq = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2) * DIMACS_SCALE ** 2
        # floor(sqrt(100 * d^2)) in integers: no float rounding at the truncation edge
        return np.vectorize(math.isqrt, otypes=[np.int64])(sq)
    diff = coords[:, None, :] - coords[None, :, :]
    return _dimacs(np.sqrt((diff ** 2).sum(axis=2)))


def read_vrptw(path: str | Path) -> VrptwInstance:
    """A VRPLIB CVRPTW file as a VrptwInstance in DIMACS units (InputError if malformed)."""
    path = Path(path)
    text = read_text(path)
    header: dict[str, tuple[str, int]] = {}
    rows: dict[str, list[tuple[int, list[str]]]] = {}
    section: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line == "EOF":
            break
        key = line.split()[0].rstrip(":").upper()
        if key in _SECTIONS:
            if key in rows:
                raise file_error(path, lineno, f"{key} appears twice")
            section = key
            rows[key] = []
        elif ":" in line and section is None:
            k, _, v = line.partition(":")
            header[k.strip().upper()] = (v.strip(), lineno)
        elif section is None:
            raise file_error(path, lineno, f"expected 'KEY : value' or a section, got {line!r}")
        elif section == "DEPOT_SECTION":
            if line != "-1":
                rows[section].append((lineno, line.split()))
            else:
                section = None  # -1 ends the depot list; nothing but EOF may follow
        else:
            rows[section].append((lineno, line.split()))
    return _build(path, header, rows)


def _header_int(path: Path, header: dict[str, tuple[str, int]], key: str,
                required: bool = True) -> int | None:
    if key not in header:
        if required:
            raise file_error(path, None, f"the header has no {key}")
        return None
    value, lineno = header[key]
    try:
        number = int(value)
    except ValueError:
        raise file_error(path, lineno, f"{key} must be a whole number, got {value!r}") from None
    if number < (1 if key in ("DIMENSION", "VEHICLES") else 0):
        raise file_error(path, lineno, f"{key} must be positive, got {number}")
    return number


def _table(path: Path, rows: dict[str, list[tuple[int, list[str]]]], key: str, n: int
           ) -> np.ndarray | None:
    """The section's values by node (ids 1..n, each once), as an (n, width) array."""
    if key not in rows:
        return None
    width = _SECTIONS[key]
    out = np.full((n, width), np.nan)
    for lineno, fields in rows[key]:
        if len(fields) != width + 1:
            raise file_error(path, lineno, f"{key}: expected {width + 1} values (node id and "
                                      f"{width}), got {len(fields)}")
        node = _number(path, lineno, fields[0])
        if node != int(node) or not 1 <= node <= n:
            raise file_error(path, lineno, f"{key}: node id {fields[0]} is not in 1..{n}")
        if not np.isnan(out[int(node) - 1, 0]):
            raise file_error(path, lineno, f"{key}: node {int(node)} appears twice")
        values = [_number(path, lineno, f) for f in fields[1:]]
        if key != "NODE_COORD_SECTION" and min(values) < 0:
            raise file_error(path, lineno, f"{key}: values must not be negative")
        out[int(node) - 1] = values
    missing = np.flatnonzero(np.isnan(out[:, 0]))
    if missing.size:
        raise file_error(path, None, f"{key}: no line for node {int(missing[0]) + 1}")
    return out


def _build(path: Path, header: dict[str, tuple[str, int]],
           rows: dict[str, list[tuple[int, list[str]]]]) -> VrptwInstance:
    n = _header_int(path, header, "DIMENSION")
    assert n is not None
    capacity = _header_int(path, header, "CAPACITY")
    assert capacity is not None
    vehicles = _header_int(path, header, "VEHICLES", required=False)
    ewt, lineno = header.get("EDGE_WEIGHT_TYPE", ("", None))  # type: ignore[assignment]
    if ewt.upper() != "EUC_2D":
        raise file_error(path, lineno, f"EDGE_WEIGHT_TYPE must be EUC_2D, got {ewt or 'nothing'}")
    # every section present is read before any missing one is named: a misspelt section
    # title lands in the section above it, and its line is the better message
    tables = {key: _table(path, rows, key, n) for key in rows if key != "DEPOT_SECTION"}
    for key in ("NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION"):
        if tables.get(key) is None:
            raise file_error(path, None, f"no {key}")
    coords, demand, windows = (tables[k] for k in ("NODE_COORD_SECTION", "DEMAND_SECTION",
                                                    "TIME_WINDOW_SECTION"))
    assert coords is not None and demand is not None and windows is not None
    depots = rows.get("DEPOT_SECTION", [])
    if len(depots) > 1 or (depots and depots[0][1] != ["1"]):
        raise file_error(path, depots[-1][0] if depots else None,
                    "DEPOT_SECTION: only one depot, node 1, is supported")
    service_table = tables.get("SERVICE_TIME_SECTION")
    if service_table is not None:
        service = _dimacs(service_table[:, 0])
    else:
        value, lineno = header.get("SERVICE_TIME", ("0", 0))  # one time for every client
        uniform = _number(path, lineno, value)
        if uniform < 0:
            raise file_error(path, lineno, f"SERVICE_TIME must not be negative, got {value}")
        service = np.full(n, _dimacs(np.array([uniform]))[0])
    service[0] = 0  # the depot serves no one
    bad = np.flatnonzero(windows[:, 0] > windows[:, 1])
    if bad.size:
        line = next(ln for ln, f in rows["TIME_WINDOW_SECTION"] if f[0] == str(bad[0] + 1))
        raise file_error(path, line, f"node {bad[0] + 1}: the time window closes before it opens")
    if demand[0, 0] != 0:
        raise file_error(path, rows["DEMAND_SECTION"][0][0], "the depot (node 1) has a demand")
    name = header.get("NAME", (path.stem, 0))[0] or path.stem
    return VrptwInstance(duration=_distances(coords), demand=_dimacs(demand[:, 0]),
                         capacity=int(_dimacs(np.array([capacity]))[0]),
                         ready=_dimacs(windows[:, 0]), due=_dimacs(windows[:, 1]),
                         service=service, vehicles=vehicles, name=name,
                         scale=DIMACS_SCALE, coords=coords)


_ROUTE = re.compile(r"^Route\s*#\s*\d+\s*:(.*)$", re.IGNORECASE)


def read_solution(path: str | Path) -> BestKnown:
    """A VRPLIB `.sol` file: `Route #k: clients...` lines and `Cost X` (InputError if bad)."""
    path = Path(path)
    text = read_text(path)
    routes: list[tuple[int, ...]] = []
    cost: float | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if m := _ROUTE.match(line):
            route = []
            for f in m.group(1).split():
                if not f.isdigit() or int(f) < 1:
                    raise file_error(path, lineno, f"{f!r} is not a client number")
                route.append(int(f))
            routes.append(tuple(route))
        elif line.lower().startswith("cost"):
            fields = line.split()
            if len(fields) != 2:
                raise file_error(path, lineno, f"expected 'Cost X', got {line!r}")
            cost = _number(path, lineno, fields[1])
            if cost < 0:
                raise file_error(path, lineno, f"the cost must not be negative, got {fields[1]}")
        # other lines (Time, comments) carry nothing we use
    if cost is None:
        raise file_error(path, None, "no 'Cost' line")
    return BestKnown(cost, tuple(routes))


def best_known_for(instance_path: str | Path) -> BestKnown | None:
    """The `.sol` file beside a `.vrp` file (same stem), if there is one."""
    sol = Path(instance_path).with_suffix(".sol")
    return read_solution(sol) if sol.is_file() else None


# ------------------------------------------------------------------ benchmark runs
_CLASS = re.compile(r"^(RC|R|C)([12])", re.IGNORECASE)
CLASSES = ("C1", "C2", "R1", "R2", "RC1", "RC2")


def instance_class(name: str) -> str:
    """The Solomon / Gehring-Homberger class from the instance name (C101 -> C1), or ''."""
    m = _CLASS.match(name)
    return f"{m.group(1).upper()}{m.group(2)}" if m else ""


@dataclass(frozen=True)
class BenchRow:
    """One benchmark instance solved: costs in the instance's own units."""

    instance: str
    path: str
    cost: float
    best_known: float | None
    gap_pct: float | None  # 100 (cost - best) / best; None without a best-known cost
    vehicles: int
    seconds: float
    feasible: bool
    status: str
    engine: str
    problems: tuple[str, ...]

    def record(self) -> dict[str, object]:
        """The row as a JSON-ready dict."""
        return {"instance": self.instance, "class": instance_class(self.instance),
                "path": self.path, "cost": self.cost, "best_known": self.best_known,
                "gap_pct": self.gap_pct, "feasible": self.feasible,
                "vehicles": self.vehicles, "seconds": round(self.seconds, 3),
                "status": self.status, "engine": self.engine,
                "problems": list(self.problems)}


def gap_pct(cost: float, best: float | None) -> float | None:
    """The gap to the best-known cost in percent (None without one, or a zero best)."""
    return None if best is None or best <= 0 else 100.0 * (cost - best) / best


def bench_vrptw(paths: list[Path], *, time_limit_s: float, seed: int,
                on_row: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    """Solve every file with lrcplan's engine; every file is read before any solving."""
    from lrcplan.optimizer.vrptw import solve_vrptw

    if not time_limit_s > 0:
        raise InputError(f"--time-limit must be positive, got {time_limit_s}")
    loaded = [(p, read_vrptw(p), best_known_for(p)) for p in paths]  # bad input: fail fast
    rows = []
    for path, inst, best in loaded:
        res = solve_vrptw(inst, time_limit_s=time_limit_s, seed=seed)
        cost = res.cost / inst.scale
        bk = best.cost if best is not None else None
        gap = gap_pct(cost, bk)
        row = BenchRow(inst.name, str(path), cost, bk,
                       None if gap is None else round(gap, 4), res.vehicles, res.seconds,
                       res.feasible, res.status, res.engine, res.problems)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def bench_header() -> str:
    """The column titles of `bench_line`."""
    return (f"{'instance':<12} {'cost':>10} {'best-known':>10} {'gap %':>7} "
            f"{'vehicles':>8} {'seconds':>8}  feasible")


def bench_line(row: BenchRow) -> str:
    """One instance as a table row."""
    best = "-" if row.best_known is None else f"{row.best_known:.1f}"
    gap = "-" if row.gap_pct is None else f"{row.gap_pct:.2f}"
    ok = "yes" if row.feasible else f"NO ({row.status}: {'; '.join(row.problems[:2])})"
    return (f"{row.instance:<12} {row.cost:>10.1f} {best:>10} {gap:>7} "
            f"{row.vehicles:>8} {row.seconds:>8.1f}  {ok}")


def bench_summary(rows: list[BenchRow]) -> str:
    """Mean gap per class and overall (feasible instances with a best-known cost only),
    and how many instances are not OK (infeasible)."""
    def mean(rs: list[BenchRow]) -> str:
        gaps = [r.gap_pct for r in rs if r.feasible and r.gap_pct is not None]
        return f"{sum(gaps) / len(gaps):.2f} % ({len(gaps)})" if gaps else "-"

    lines = ["mean gap, feasible instances (how many):"]
    others = sorted({instance_class(r.instance) for r in rows} - set(CLASSES))
    for cls in [*CLASSES, *others]:
        members = [r for r in rows if instance_class(r.instance) == cls]
        if members:
            lines.append(f"  {cls or 'other':<8} {mean(members)}")
    lines.append(f"  {'overall':<8} {mean(rows)}")
    lines.append(f"not OK: {sum(not r.feasible for r in rows)} of {len(rows)}")
    return "\n".join(lines)
