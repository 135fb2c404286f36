"""Engine-neutral MIP arrays and the one place that hands them to HiGHS.

A model is columns (cost, bounds, integrality) and rows (bounds) with a COO matrix; the
siting models build these arrays with numpy and never call the engine themselves, so a
model can be inspected, tested and solved by another engine without rewriting it.
HiGHS runs quiet, single-threaded and seeded: the same model gives the same answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class MipArrays:
    """A MIP under construction: add columns and rows, then `solve_mip`."""

    cost: list[float] = field(default_factory=list)
    col_lower: list[float] = field(default_factory=list)
    col_upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    row_lower: list[float] = field(default_factory=list)
    row_upper: list[float] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    vals: list[np.ndarray] = field(default_factory=list)

    @property
    def n_cols(self) -> int:
        """Columns so far."""
        return len(self.cost)

    def add_cols(self, n: int, lower: float | np.ndarray = 0.0, upper: float | np.ndarray = 1.0,
                 *, integer: bool = False) -> np.ndarray:
        """Add n columns (cost 0) and return their indices."""
        first = len(self.cost)
        self.cost.extend([0.0] * n)
        self.col_lower.extend(np.broadcast_to(np.asarray(lower, float), (n,)).tolist())
        self.col_upper.extend(np.broadcast_to(np.asarray(upper, float), (n,)).tolist())
        self.integer.extend([integer] * n)
        return np.arange(first, first + n, dtype=np.int64)

    def add_row(self, cols: np.ndarray, vals: np.ndarray | float, lower: float = -np.inf,
                upper: float = np.inf) -> int:
        """Add one row lower <= sum vals*x[cols] <= upper; returns its index."""
        r = len(self.row_lower)
        cols = np.asarray(cols, dtype=np.int64)
        self.rows.append(np.full(len(cols), r, dtype=np.int64))
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, float), (len(cols),)).copy())
        self.row_lower.append(float(lower))
        self.row_upper.append(float(upper))
        return r

    def objective(self, cols: np.ndarray, coef: np.ndarray | float) -> None:
        """Set the cost of these columns (the others keep theirs)."""
        c = np.asarray(cols, dtype=np.int64)
        v = np.broadcast_to(np.asarray(coef, float), (len(c),))
        for j, x in zip(c.tolist(), v.tolist(), strict=True):
            self.cost[j] = x

    def clear_objective(self) -> None:
        """Every cost back to 0 (before the next tier of a lexicographic solve)."""
        self.cost = [0.0] * len(self.cost)


@dataclass(frozen=True, eq=False)
class MipSolution:
    """What HiGHS returned: status words, objective, dual bound, values, time."""

    optimal: bool  # proven optimal (gap closed)
    infeasible: bool
    timed_out: bool
    objective: float
    bound: float
    values: np.ndarray | None  # None when no solution was found
    seconds: float


def quiet_highs():  # noqa: ANN201
    """A new highspy.Highs without the copyright banner its constructor prints on stdout.

    The banner would land in the middle of the CLI's tables (and of --json piped output),
    so file descriptor 1 points at /dev/null while it is built.
    """
    import ctypes
    import os
    import sys

    import highspy

    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            libc.fflush(None)  # C stdio buffers the banner: drop it before fd 1 returns
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def highs(time_limit_s: float, *, abs_gap: float = 1e-6, threads: int = 1):  # noqa: ANN201
    """A quiet, seeded HiGHS with a time limit and relative gap 0 (one thread by default:
    two shared cores, and the same answer on every run)."""
    h = quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", abs_gap)
    return h


def pass_model(h, cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,  # noqa: ANN001
               row_lower: np.ndarray, row_upper: np.ndarray, rows: np.ndarray,
               cols: np.ndarray, vals: np.ndarray, integer: np.ndarray | None = None, *,
               offset: float = 0.0, maximize: bool = False) -> None:
    """Hand HiGHS a model given as column and row arrays and a COO matrix (duplicate
    entries summed); `integer` marks the integer columns (None: none)."""
    import highspy
    from scipy.sparse import csc_matrix

    ncol, nrow = len(cost), len(row_lower)
    a = csc_matrix((vals, (rows, cols)), shape=(nrow, ncol))
    a.sum_duplicates()
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = nrow
    lp.col_cost_ = np.asarray(cost, float)
    lp.offset_ = float(offset)
    lp.col_lower_ = np.asarray(col_lower, float)
    lp.col_upper_ = np.asarray(col_upper, float)
    lp.row_lower_ = np.asarray(row_lower, float)
    lp.row_upper_ = np.asarray(row_upper, float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    if integer is not None and np.any(integer):
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                           highspy.HighsVarType.kContinuous for i in integer]
    h.passModel(lp)


def solve_mip(m: MipArrays, *, maximize: bool, time_limit_s: float,
              start: np.ndarray | None = None, abs_gap: float = 1e-6) -> MipSolution:
    """Solve with HiGHS (one thread, seed 0, relative gap 0); `start` warm-starts it."""
    import highspy

    t0 = time.perf_counter()
    h = highs(time_limit_s, abs_gap=abs_gap)
    empty = np.zeros(0, np.int64)
    pass_model(h, np.asarray(m.cost), np.asarray(m.col_lower), np.asarray(m.col_upper),
               np.asarray(m.row_lower), np.asarray(m.row_upper),
               np.concatenate(m.rows) if m.rows else empty,
               np.concatenate(m.cols) if m.cols else empty,
               np.concatenate(m.vals) if m.vals else np.zeros(0),
               np.asarray(m.integer, bool), maximize=maximize)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(start, float))
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = np.asarray(h.getSolution().col_value, float) if has else None
    infeasible = status == highspy.HighsModelStatus.kInfeasible
    optimal = status == highspy.HighsModelStatus.kOptimal
    objective = float(info.objective_function_value) if has else float("nan")
    bound = float(info.mip_dual_bound) if any(m.integer) else objective
    return MipSolution(optimal, infeasible, not optimal and not infeasible, objective,
                       bound, values, time.perf_counter() - t0)
