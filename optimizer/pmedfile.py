"""OR-Library p-median files (Beasley's pmed1-pmed40) and their optimal values.

Read by hand so that a malformed file is an InputError naming the file and line. A file is
`n edges p` on its first line, then one `i j cost` line per undirected edge of a graph on
vertices 1..n; the distance between two vertices is the shortest-path length in that
graph (all pairs, scipy's Dijkstra). Where an edge is listed twice the later line holds,
OR-Library's convention (the optimal values are only reproduced that way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrcplan.models.errors import InputError, file_error, read_text


@dataclass(frozen=True, eq=False)
class PMedianInstance:
    """A p-median instance: an (n, n) integer distance matrix and p."""

    name: str
    dist: np.ndarray  # (n, n) shortest-path lengths, int64
    p: int


def _ints(path: Path, lineno: int, fields: list[str], want: int, what: str) -> list[int]:
    """`want` whole numbers from one line (InputError naming the line otherwise)."""
    if len(fields) != want:
        raise file_error(path, lineno, f"expected {what}, got {' '.join(fields)!r}")
    out = []
    for f in fields:
        try:
            out.append(int(f))
        except ValueError:
            raise file_error(path, lineno, f"{f!r} is not a whole number") from None
    return out


def read_pmedian(path: str | Path) -> PMedianInstance:
    """An OR-Library pmed file as a PMedianInstance (InputError if malformed)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    path = Path(path)
    text = read_text(path)
    lines = [(no, raw.split()) for no, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    if not lines:
        raise file_error(path, None, "the file is empty (expected 'n edges p' first)")
    hno, hfields = lines[0]
    n, m, p = _ints(path, hno, hfields, 3, "'n edges p'")
    if n < 1:
        raise file_error(path, hno, f"n must be positive, got {n}")
    if not 1 <= p <= n:
        raise file_error(path, hno, f"p must be in 1..n={n}, got {p}")
    body = lines[1:]
    if len(body) != m:
        raise file_error(path, body[-1][0] if len(body) > m else None,
                    f"the header announces {m} edges, the file has {len(body)}")
    edges: dict[tuple[int, int], int] = {}
    for lineno, fields in body:
        i, j, c = _ints(path, lineno, fields, 3, "'i j cost'")
        for v in (i, j):
            if not 1 <= v <= n:
                raise file_error(path, lineno, f"vertex {v} is not in 1..{n}")
        if c < 0:
            raise file_error(path, lineno, f"the cost must not be negative, got {c}")
        if i != j:
            edges[(min(i, j), max(i, j))] = c  # a repeated edge: the later line holds
    if edges:
        ij = np.array(list(edges), dtype=np.int64) - 1
        w = np.array(list(edges.values()), dtype=float)
    else:
        ij, w = np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    # zero-cost edges would vanish from a sparse matrix: nudge them and round back
    graph = coo_matrix((np.where(w == 0, 1e-9, w), (ij[:, 0], ij[:, 1])), shape=(n, n))
    sp = shortest_path(graph.tocsr(), method="D", directed=False)
    if not np.all(np.isfinite(sp)):
        a, b = np.argwhere(~np.isfinite(sp))[0]
        raise file_error(path, None, f"the graph is not connected (no path from {a + 1} to "
                                f"{b + 1})")
    return PMedianInstance(path.stem, np.rint(sp).astype(np.int64), p)


def read_optimal(path: str | Path) -> dict[str, int]:
    """An `instance optimal` table (one `name value` per line, header optional)."""
    path = Path(path)
    out: dict[str, int] = {}
    for lineno, raw in enumerate(read_text(path).splitlines(), 1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            raise file_error(path, lineno, f"expected 'instance value', got {raw.strip()!r}")
        try:
            out[fields[0]] = int(fields[1])
        except ValueError:
            if lineno == 1:
                continue  # the header line
            raise file_error(path, lineno, f"{fields[1]!r} is not a whole number") from None
    return out


def optimal_for(instance_path: str | Path) -> int | None:
    """The known optimum from `optimal.txt` beside the file (same stem), if there is one."""
    table = Path(instance_path).with_name("optimal.txt")
    if not table.is_file():
        return None
    return read_optimal(table).get(Path(instance_path).stem)


# ------------------------------------------------------------------ benchmark runs
@dataclass(frozen=True)
class BenchRow:
    """One pmed instance solved and re-checked."""

    instance: str
    path: str
    n: int
    p: int
    objective: float
    bound: float
    proven: bool
    optimal_known: int | None
    matches: bool | None  # objective == optimal_known; None without a known optimum
    seconds: float
    status: str
    engine: str
    checked: bool  # the checker's recomputed objective equals the solver's

    def record(self) -> dict[str, object]:
        """The row as a JSON-ready dict."""
        return {"instance": self.instance, "path": self.path, "n": self.n, "p": self.p,
                "objective": self.objective, "bound": self.bound, "proven": self.proven,
                "optimal_known": self.optimal_known, "matches": self.matches,
                "seconds": round(self.seconds, 3), "status": self.status,
                "engine": self.engine, "checked": self.checked}


def bench_pmedian(paths: list[Path], *, time_limit_s: float,
                  on_row: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    """Solve every file exactly; every file is read before any solving (bad input fails fast)."""
    from lrcplan.optimizer.pmedian import check_pmedian, solve_pmedian

    if not time_limit_s > 0:
        raise InputError(f"--time-limit must be positive, got {time_limit_s}")
    loaded = [(p, read_pmedian(p), optimal_for(p)) for p in paths]
    rows = []
    for path, inst, best in loaded:
        res = solve_pmedian(inst.dist, inst.p, time_limit_s)
        recomputed = check_pmedian(inst.dist, inst.p, res)
        row = BenchRow(inst.name, str(path), inst.dist.shape[0], inst.p, res.objective,
                       res.bound, res.proven, best,
                       None if best is None else bool(round(res.objective) == best),
                       res.seconds, res.status, res.engine,
                       bool(abs(recomputed - res.objective) < 1e-6))
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def bench_header() -> str:
    """The column titles of `bench_line`."""
    return (f"{'instance':<10} {'n':>4} {'p':>4} {'objective':>10} {'optimal':>8} "
            f"{'match':>5} {'bound':>10} {'proven':>6} {'seconds':>8}")


def bench_line(row: BenchRow) -> str:
    """One instance as a table row."""
    best = "-" if row.optimal_known is None else str(row.optimal_known)
    match = "-" if row.matches is None else ("yes" if row.matches else "NO")
    proven = "yes" if row.proven else "no"
    return (f"{row.instance:<10} {row.n:>4} {row.p:>4} {row.objective:>10.0f} {best:>8} "
            f"{match:>5} {row.bound:>10.1f} {proven:>6} {row.seconds:>8.2f}")


def bench_summary(rows: list[BenchRow]) -> str:
    """How many instances are proven optimal and how many match the known optimum."""
    known = [r for r in rows if r.matches is not None]
    return (f"proven optimal: {sum(r.proven for r in rows)} of {len(rows)}; "
            f"matching the known optimum: {sum(bool(r.matches) for r in known)} of "
            f"{len(known)}; checker disagreements: {sum(not r.checked for r in rows)}")
