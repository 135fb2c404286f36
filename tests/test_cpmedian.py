"""Capacitated p-median: the exact solver against brute force, the independent checker,
the Osman-Christofides reader's messages and `lrcplan bench cpmedian`."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lrcplan.cli import main
from lrcplan.models.errors import InputError
from lrcplan.optimizer.cpmedfile import read_cpmedian
from lrcplan.optimizer.cpmedian import check_cpmedian, solve_cpmedian

SHARED = Path(__file__).resolve().parents[2] / "shared" / "instances" / "cpmedian-osman"
TINY = "1 6\n4 2 5\n1 0 0 2\n2 3 0 2\n3 0 4 3\n4 3 4 2\n"


def _random(seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """n = 8 points, p = 2 or 3, capacities tight enough to bind."""
    rng = np.random.default_rng(seed)
    n, p = 8, int(rng.integers(2, 4))
    xy = rng.integers(0, 40, size=(n, 2))
    d = np.floor(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))).astype(np.int64)
    dem = rng.integers(1, 6, size=n)
    cap = int(np.ceil(dem.sum() / p * 1.25))
    return d, dem, cap, p


def _brute(d: np.ndarray, dem: np.ndarray, cap: int, p: int) -> float:
    """Least cost over every open set and every assignment to it within capacity."""
    n = d.shape[0]
    best = np.inf
    for sites in itertools.combinations(range(n), p):
        choice = np.array(list(itertools.product(range(p), repeat=n)))  # (p^n, n)
        loads = np.stack([(dem[None, :] * (choice == k)).sum(axis=1) for k in range(p)])
        ok = (loads <= cap).all(axis=0)
        if not ok.any():
            continue
        cols = np.array(sites)[choice[ok]]
        best = min(best, float(d[np.arange(n)[None, :], cols].sum(axis=1).min()))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_solver_equals_brute_force(seed: int) -> None:
    d, dem, cap, p = _random(seed)
    res = solve_cpmedian(d, dem, cap, p, 20.0)
    best = _brute(d, dem, cap, p)
    assert res.proven and res.objective == best == res.bound
    assert check_cpmedian(d, dem, cap, p, res) == best


def test_solver_is_deterministic() -> None:
    d, dem, cap, p = _random(3)
    a, b = solve_cpmedian(d, dem, cap, p, 20.0), solve_cpmedian(d, dem, cap, p, 20.0)
    assert (a.open_sites, a.assignment, a.objective) == (b.open_sites, b.assignment,
                                                         b.objective)


def test_checker_rejects_wrong_results() -> None:
    d, dem, cap, p = _random(1)
    res = solve_cpmedian(d, dem, cap, p, 20.0)
    closed = next(j for j in range(d.shape[0]) if j not in res.open_sites)
    wrong = [
        replace(res, objective=res.objective - 1),  # objective not the assignment's
        replace(res, open_sites=res.open_sites[:-1]),  # p - 1 sites
        replace(res, assignment=(closed, *res.assignment[1:])),  # a closed site serves
        replace(res, assignment=res.assignment[:-1]),  # a customer left out
        replace(res, bound=res.objective + 5),  # bound above the objective
    ]
    for r in wrong:
        with pytest.raises(InputError, match="capacitated p-median check"):
            check_cpmedian(d, dem, cap, p, r)
    # everyone to one open site: over capacity
    full = replace(res, assignment=tuple([res.open_sites[0]] * d.shape[0]))
    full = replace(full, objective=float(d[:, res.open_sites[0]].sum()))
    with pytest.raises(InputError, match="over its capacity"):
        check_cpmedian(d, dem, cap, p, full)


def test_reader_tiny_file(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    inst = read_cpmedian(f)
    assert (inst.p, inst.capacity, inst.best_known) == (2, 5, 6)
    assert inst.demand.tolist() == [2, 2, 3, 2]
    assert inst.dist.tolist() == [[0, 3, 4, 5], [3, 0, 5, 4], [4, 5, 0, 3], [5, 4, 3, 0]]


@pytest.mark.parametrize(("text", "where", "what"), [
    ("1 9\n", "", "expected 'problem best_value' and 'n p capacity' first"),
    ("1 9\n4 2\n", ":2:", "expected 'n p capacity'"),
    ("1 9\n4 2 x\n", ":2:", "'x' is not a number"),
    ("1 9\n4 5 5\n1 0 0 1\n2 0 0 1\n3 0 0 1\n4 0 0 1\n", ":2:", "p must be in 1..n=4"),
    ("1 9\n4 2 5\n1 0 0 2\n2 3 0 2\n3 0 4 3\n", "", "announces 4 points, the file has 3"),
    ("1 9\n4 2 5\n1 0 0 2\n2 3 0 2\n3 0 4\n4 3 4 2\n", ":5:", "expected 'id x y demand'"),
    ("1 9\n4 2 5\n1 0 0 2\n2 3 nan 2\n3 0 4 3\n4 3 4 2\n", ":4:", "not a finite number"),
    ("1 9\n4 2 5\n1 0 0 2.5\n2 3 0 2\n3 0 4 3\n4 3 4 2\n", ":3:", "demand must be a whole"),
    ("1 9\n4 2 4\n1 0 0 4\n2 3 0 2\n3 0 4 3\n4 3 4 2\n", ":2:", "exceeds p x capacity"),
])
def test_reader_bad_file_names_file_and_line(tmp_path: Path, text: str, where: str,
                                             what: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(InputError) as exc:
        read_cpmedian(f)
    assert f"{f}{where}" in str(exc.value) and what in str(exc.value)


def test_cli_bench_cpmedian_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    out = tmp_path / "rows.json"
    assert main(["bench", "cpmedian", str(f), "--time-limit", "10", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert {k: row[k] for k in ("instance", "p", "objective", "bound", "proven",
                                "best_known", "gap_pct")} == {
        "instance": "tiny", "p": 2, "objective": 6.0, "bound": 6.0, "proven": True,
        "best_known": 6, "gap_pct": 0.0}
    assert row["seconds"] >= 0 and "proven optimal: 1 of 1" in capsys.readouterr().out


def test_cli_bench_cpmedian_bad_file_exits_2(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("1 9\n4 2 x\n")
    assert main(["bench", "cpmedian", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:2:" in err and "Traceback" not in err


@pytest.mark.skipif(not (SHARED / "pmedcap01.txt").is_file(), reason="shared instances absent")
def test_smallest_shared_instance_reaches_its_best_value() -> None:
    inst = read_cpmedian(SHARED / "pmedcap01.txt")
    res = solve_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, 60.0)
    assert res.proven and res.objective == inst.best_known == 713
