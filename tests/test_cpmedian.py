"""Capacitated p-median: the exact solver against brute force, the Lagrangian penalties
against every feasible solution, the independent checker, the Osman-Christofides reader's
messages and `lrcplan bench cpmedian`."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lrcplan.cli import main
from lrcplan.models.errors import InputError
from lrcplan.optimizer import cpmedian
from lrcplan.optimizer.cpmedfile import read_cpmedian
from lrcplan.optimizer.cpmedian import (
    assignment_cost,
    check_cpmedian,
    heuristic_cpmedian,
    solve_cpmedian,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "instances" / "cpmedian-osman"
TINY = "1 6\n4 2 5\n1 0 0 2\n2 3 0 2\n3 0 4 3\n4 3 4 2\n"


def _random(seed: int, m: int = 8, n: int | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray, int]:
    """m customers, n sites (the same points when n is None), p = 2 or 3, capacities
    (one per site, unequal when the sites are separate) tight enough to bind."""
    rng = np.random.default_rng(seed)
    p = int(rng.integers(2, 4))
    xy = rng.integers(0, 40, size=(m, 2))
    sites = xy if n is None else rng.integers(0, 40, size=(n, 2))
    d = np.floor(np.sqrt(((xy[:, None] - sites[None]) ** 2).sum(axis=2))).astype(np.int64)
    dem = rng.integers(1, 6, size=m)
    k = d.shape[1]
    cap = np.full(k, int(np.ceil(dem.sum() / p * 1.25)))
    if n is not None:
        cap = cap + rng.integers(-2, 3, size=k)
        cap[np.argsort(-cap)[:p]] = max(cap.max(), int(np.ceil(dem.sum() / p)) + 1)
    return d, dem, cap, p


def _solutions(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, p: int):  # noqa: ANN202
    """Every feasible (open set, assignments (k, m), costs (k,)), open set by open set."""
    m, n = d.shape
    cap = np.broadcast_to(np.asarray(cap, dtype=float), (n,))
    choice = np.array(list(itertools.product(range(p), repeat=m)))  # (p^m, m)
    for sites in itertools.combinations(range(n), p):
        s = np.array(sites)
        loads = np.stack([(dem[None, :] * (choice == k)).sum(axis=1) for k in range(p)])
        ok = (loads <= cap[s][:, None] + 1e-9).all(axis=0)
        if ok.any():
            assign = s[choice[ok]]
            yield s, assign, d[np.arange(m)[None, :], assign].sum(axis=1)


def _brute(d: np.ndarray, dem: np.ndarray, cap: np.ndarray, p: int) -> float:
    """Least cost over every open set and every assignment to it within capacity."""
    return min(float(costs.min()) for _, _, costs in _solutions(d, dem, cap, p))


@pytest.mark.parametrize("seed", range(8))
def test_solver_equals_brute_force(seed: int) -> None:
    d, dem, cap, p = _random(seed)
    res = solve_cpmedian(d, dem, cap[0], p, 20.0)
    best = _brute(d, dem, cap, p)
    assert res.proven and res.status == "optimal"
    assert res.objective == best == res.bound
    assert check_cpmedian(d, dem, cap[0], p, res) == best


@pytest.mark.parametrize("seed", range(3))
def test_rectangular_unequal_capacities_and_both_paths(seed: int) -> None:
    """7 customers, 5 sites of different capacities: the Lagrangian path, the full model
    (reduce=False) and real-valued demands (no knapsack DP) all reach brute force."""
    d, dem, cap, p = _random(10 + seed, m=7, n=5)
    best = _brute(d, dem, cap, p)
    for res in (solve_cpmedian(d, dem, cap, p, 20.0),
                solve_cpmedian(d, dem, cap, p, 20.0, reduce=False)):
        assert res.proven and res.objective == best
        check_cpmedian(d, dem, cap, p, res)
    real = dem - 0.25  # still fits wherever dem fitted; possibly more
    res = solve_cpmedian(d, real, cap, p, 20.0)
    assert res.proven and res.objective == _brute(d, real, cap, p)
    check_cpmedian(d, real, cap, p, res)


@pytest.mark.parametrize("which", ["optimal", "random"])
def test_lagrangian_penalties_bound_every_feasible_solution(which: str) -> None:
    """L + the penalty of any variable a solution sets is at most that solution's cost,
    for the column generation's multipliers and for arbitrary ones."""
    d, dem, cap, p = _random(4)
    demi, capi = cpmedian._integer_data(dem.astype(float), cap.astype(float))
    if which == "optimal":
        lam = cpmedian._column_generation(d.astype(float), demi, capi, p,
                                          np.zeros(0, dtype=np.int64), None,
                                          float("inf"), 1).lam
    else:
        lam = np.random.default_rng(0).uniform(0, 30, size=d.shape[0])
    pen = cpmedian._penalties(d.astype(float), demi, capi, p, lam)
    tol = 1e-6
    rows = np.arange(d.shape[0])
    for sites, assign, costs in _solutions(d, dem, cap, p):
        assert np.all(costs >= pen.bound + pen.y1[sites].max() - tol)
        closed = np.setdiff1d(np.arange(d.shape[1]), sites)
        assert np.all(costs >= pen.bound + pen.y0[closed].max(initial=0) - tol)
        used = pen.x1[rows[None, :], assign].max(axis=1)
        assert np.all(costs >= pen.bound + used - tol)
        for j in range(d.shape[1]):  # x_ij = 0 wherever i is served elsewhere
            unused = np.where(assign != j, pen.x0[:, j][None, :], 0.0).max(axis=1)
            assert np.all(costs >= pen.bound + unused - tol)


@pytest.mark.parametrize("guided", [True, False])
@pytest.mark.parametrize("rounds", [(), (1e-6,), (0.012,), (0.5,)])
def test_exact_stage_without_a_good_incumbent(monkeypatch: pytest.MonkeyPatch,
                                              rounds: tuple[float, ...], guided: bool) -> None:
    """No heuristic, no site search, and (not guided) no incumbent at all before HiGHS:
    the threshold rounds (a cutoff below the incumbent) must still find and prove the
    optimum."""
    monkeypatch.setattr(cpmedian, "_heuristic", lambda *a: None)
    monkeypatch.setattr(cpmedian, "_site_search", lambda d, dem, cap, s, a, *x, **k: (s, a))
    if not guided:
        monkeypatch.setattr(cpmedian, "_assign_from_scratch", lambda *a: None)
    monkeypatch.setattr(cpmedian, "ROUNDS", rounds)
    for seed in (0, 5):
        d, dem, cap, p = _random(seed)
        res = cpmedian.solve_cpmedian(d, dem, cap[0], p, 20.0)
        assert res.proven and res.objective == _brute(d, dem, cap, p)
        check_cpmedian(d, dem, cap[0], p, res)


def test_solver_is_deterministic() -> None:
    d, dem, cap, p = _random(3)
    a, b = solve_cpmedian(d, dem, cap[0], p, 20.0), solve_cpmedian(d, dem, cap[0], p, 20.0)
    assert (a.open_sites, a.assignment, a.objective) == (b.open_sites, b.assignment,
                                                         b.objective)


def test_heuristic_is_feasible_and_never_below_the_optimum() -> None:
    d, dem, cap, p = _random(6)
    sites, assign = heuristic_cpmedian(d, dem, cap[0], p)
    assert len(set(sites)) == p and set(assign) <= set(sites)
    assert np.all(np.bincount(assign, weights=dem, minlength=d.shape[1]) <= cap)
    assert assignment_cost(d, assign) >= _brute(d, dem, cap, p)


def test_infeasible_or_bad_input_is_an_input_error() -> None:
    d, dem, cap, p = _random(2)
    with pytest.raises(InputError, match="exceeds what the p = 2 largest"):
        solve_cpmedian(d, dem, dem.sum() / 2 - 1, 2, 5.0)
    with pytest.raises(InputError, match="exceeds every site's capacity"):
        solve_cpmedian(d, dem, dem.max() - 1, p, 5.0)
    with pytest.raises(InputError, match="time limit"):
        solve_cpmedian(d, dem, cap[0], p, 0.0)
    with pytest.raises(InputError, match="p must be"):
        solve_cpmedian(d, dem, cap[0], 0, 5.0)


@pytest.mark.parametrize("reduce", [True, False])
def test_demands_that_cannot_be_packed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       reduce: bool) -> None:
    """Total demand 9 fits two medians of 5, but no split does: an InputError (exit 2)."""
    d = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]])
    with pytest.raises(InputError, match="no assignment fits the capacities"):
        solve_cpmedian(d, [3, 3, 3], 5, 2, 10.0, reduce=reduce)
    f = tmp_path / "unpackable.txt"
    f.write_text("1 0\n3 2 5\n1 0 0 3\n2 1 0 3\n3 2 0 3\n")
    assert main(["bench", "cpmedian", str(f), "--time-limit", "5"]) == 2
    assert f"error: {f}: capacitated p-median: no assignment fits" in capsys.readouterr().err


def test_checker_rejects_wrong_results() -> None:
    d, dem, cap, p = _random(1)
    res = solve_cpmedian(d, dem, cap[0], p, 20.0)
    closed = next(j for j in range(d.shape[0]) if j not in res.open_sites)
    wrong = {
        "objective": replace(res, objective=res.objective - 1),
        "distinct sites": replace(res, open_sites=res.open_sites[:-1]),  # p - 1 sites
        "not an open site": replace(res, assignment=(closed, *res.assignment[1:])),
        "customers assigned": replace(res, assignment=res.assignment[:-1]),  # one left out
        "exceeds the objective": replace(res, bound=res.objective + 5),
    }
    for what, r in wrong.items():
        with pytest.raises(InputError, match=f"capacitated p-median check: .*{what}"):
            check_cpmedian(d, dem, cap[0], p, r)
    with pytest.raises(InputError, match="distinct sites"):  # p + 1 sites
        check_cpmedian(d, dem, cap[0], p, replace(res, open_sites=(*res.open_sites, closed)))
    # everyone to one open site: over capacity (objective made consistent)
    j = res.open_sites[0]
    full = replace(res, assignment=tuple([j] * d.shape[0]), objective=float(d[:, j].sum()))
    with pytest.raises(InputError, match="over its capacity"):
        check_cpmedian(d, dem, cap[0], p, full)


def test_reader_tiny_file(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    inst = read_cpmedian(f)
    assert (inst.name, inst.p, inst.capacity, inst.best_known) == ("tiny", 2, 5, 6)
    assert inst.demand.tolist() == [2, 2, 3, 2]
    assert inst.dist.tolist() == [[0, 3, 4, 5], [3, 0, 5, 4], [4, 5, 0, 3], [5, 4, 3, 0]]


def test_reader_rounds_distances_down_and_takes_crlf(tmp_path: Path) -> None:
    f = tmp_path / "crlf.txt"
    f.write_bytes(b" 7 0\r\n 2 1 10\r\n 1 0 0 1\r\n 2 1 1 1")  # no newline at the end
    inst = read_cpmedian(f)
    assert inst.dist.tolist() == [[0, 1], [1, 0]]  # sqrt(2) -> 1
    assert inst.best_known is None  # 0: unknown


HEAD = "1 9\n4 2 5\n"
POINTS = ["1 0 0 2", "2 3 0 2", "3 0 4 3", "4 3 4 2"]


def _file(*lines: str) -> str:
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "where", "what"), [
    ("", "", "the file is empty"),
    ("1 9\n", "", "the second line 'n p capacity' is missing"),
    ("1\n4 2 5\n", ":1:", "expected 'problem best_value'"),
    ("1 x\n4 2 5\n", ":1: best_value:", "'x' is not a number"),
    ("1 9\n4 2\n", ":2:", "expected 'n p capacity'"),
    ("1 9\n4 2 x\n", ":2: capacity:", "'x' is not a number"),
    ("1 9\n4.5 2 5\n", ":2: n:", "'4.5' is not a whole number"),
    ("1 9\n4 5 5\n" + _file(*POINTS), ":2: p:", "must be in 1..n=4"),
    ("1 9\n4 2 0\n" + _file(*POINTS), ":2: capacity:", "must be positive"),
    (HEAD + _file(*POINTS[:3]), "", "line 2 announces 4 points, the file has 3"),
    (HEAD + _file(*POINTS, "5 1 1 1"), ":7:", "announces 4 points; this is point 5"),
    (HEAD + _file(*POINTS[:2], "3 0 4", POINTS[3]), ":5:", "expected 'id x y demand'"),
    (HEAD + _file(POINTS[0], "2 3 nan 2", *POINTS[2:]), ":4: y:", "not a finite number"),
    (HEAD + _file(POINTS[0], "3 3 0 2", *POINTS[2:]), ":4: id:", "expected 2"),
    (HEAD + _file(POINTS[0], "2 3 0 -1", *POINTS[2:]), ":4: demand:", "must not be negative"),
    (HEAD + _file(POINTS[0], "2 3 0 6", *POINTS[2:]), ":4: demand:",
     "6 exceeds the capacity 5"),
    ("1 9\n4 2 4\n" + _file("1 0 0 4", *POINTS[1:]), ":2:", "exceeds p x capacity = 8"),
])
def test_bad_file_exits_2_naming_file_line_and_field(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     text: str, where: str,
                                                     what: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_text(text)
    good = tmp_path / "good.txt"
    good.write_text(TINY)
    # the good file first: every file is read before any is solved
    assert main(["bench", "cpmedian", str(good), str(f), "--time-limit", "5"]) == 2
    captured = capsys.readouterr()
    assert f"error: {f}{where}" in captured.err and what in captured.err
    assert "Traceback" not in captured.err and "tiny " not in captured.out
    with pytest.raises(InputError, match="bad.txt"):
        read_cpmedian(f)


def test_cli_bench_cpmedian_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    out = tmp_path / "rows.json"
    assert main(["bench", "cpmedian", str(f), "--time-limit", "10", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert {k: row[k] for k in ("instance", "n", "p", "capacity", "objective", "bound",
                                "proven", "best_known", "matches", "gap_pct",
                                "checked")} == {
        "instance": "tiny", "n": 4, "p": 2, "capacity": 5, "objective": 6.0, "bound": 6.0,
        "proven": True, "best_known": 6, "matches": True, "gap_pct": 0.0, "checked": True}
    assert row["seconds"] >= 0 and row["status"] == "optimal"
    printed = capsys.readouterr().out
    assert "proven optimal: 1 of 1" in printed and "Running HiGHS" not in printed


@pytest.mark.skipif(not (SHARED / "pmedcap01.txt").is_file(), reason="shared instances absent")
def test_smallest_shared_instance_reaches_its_best_value() -> None:
    inst = read_cpmedian(SHARED / "pmedcap01.txt")
    res = solve_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, 60.0)
    assert res.proven and res.objective == inst.best_known == 713
    check_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, res)
