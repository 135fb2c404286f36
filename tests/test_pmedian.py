"""p-median: the OR-Library reader, the exact solver against brute force, the bench command."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from lrcplan.cli import main
from lrcplan.models.errors import InputError
from lrcplan.optimizer.pmedfile import optimal_for, read_optimal, read_pmedian
from lrcplan.optimizer.pmedian import (
    PMedianResult,
    check_pmedian,
    heuristic_pmedian,
    lp_bound,
    objective_of,
    radius_model,
    solve_pmedian,
)

TINY = "4 4 2\n1 2 5\n2 3 1\n3 4 2\n1 2 3\n"  # 1-2 listed twice: the later cost (3) holds


def _brute(d: np.ndarray, p: int) -> float:
    """The optimum by trying every open set."""
    return min(objective_of(d, s) for s in itertools.combinations(range(d.shape[1]), p))


def _random(seed: int) -> tuple[np.ndarray, int]:
    """A small instance: integer distances from random points (ties likely), random p."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 13))
    xy = rng.integers(0, 12, size=(n, 2))
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)  # Manhattan: many equal values
    return d.astype(np.int64), int(rng.integers(1, n + 1))


def test_reader_tiny_file(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY)
    inst = read_pmedian(f)
    assert inst.p == 2 and inst.name == "tiny"
    assert inst.dist.tolist() == [[0, 3, 4, 6], [3, 0, 1, 3], [4, 1, 0, 2], [6, 3, 2, 0]]


@pytest.mark.parametrize(("text", "where", "what"), [
    ("4 3 2\n1 2 5\n2 x 1\n3 4 2\n", ":3:", "'x' is not a whole number"),
    ("4 2 2\n1 2 5\n2 9 1\n", ":3:", "vertex 9 is not in 1..4"),
    ("4 3 5\n1 2 5\n2 3 1\n3 4 2\n", ":1:", "p must be in 1..n=4"),
    ("4 3 2\n1 2 5\n2 3 1\n", "", "announces 3 edges, the file has 2"),
    ("4 2 2\n1 2 5\n3 4 1\n", "", "not connected"),
    ("4 3 2\n1 2 5\n2 3\n3 4 2\n", ":3:", "expected 'i j cost'"),
])
def test_reader_bad_file_names_file_and_line(tmp_path: Path, text: str, where: str,
                                             what: str) -> None:
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(InputError) as exc:
        read_pmedian(f)
    assert f"{f}{where}" in str(exc.value) and what in str(exc.value)


def test_optimal_table(tmp_path: Path) -> None:
    (tmp_path / "optimal.txt").write_text("instance optimal\ntiny 3\npmed1 5819\n")
    (tmp_path / "tiny.txt").write_text(TINY)
    assert read_optimal(tmp_path / "optimal.txt") == {"tiny": 3, "pmed1": 5819}
    assert optimal_for(tmp_path / "tiny.txt") == 3
    assert optimal_for(tmp_path / "other.txt") is None


@pytest.mark.parametrize("seed", range(15))
def test_solver_equals_brute_force(seed: int) -> None:
    d, p = _random(seed)
    res = solve_pmedian(d, p, time_limit_s=20.0)
    best = _brute(d, p)
    assert res.proven and res.status == "optimal"
    assert res.objective == best == res.bound
    assert check_pmedian(d, p, res) == best
    assert len(res.open_sites) == p
    assert objective_of(d, heuristic_pmedian(d, p)) >= best  # never below the optimum
    assert lp_bound(d, p) <= best + 1e-6  # the radius LP is a relaxation


def test_solver_is_deterministic() -> None:
    d, p = _random(3)
    a, b = solve_pmedian(d, p, 20.0), solve_pmedian(d, p, 20.0)
    assert (a.open_sites, a.assignment, a.objective) == (b.open_sites, b.assignment,
                                                         b.objective)


def test_rectangular_and_fractional_distances() -> None:
    rng = np.random.default_rng(7)
    d = rng.random((9, 6)) * 10  # 9 clients, 6 candidate sites, real distances
    res = solve_pmedian(d, 2, 20.0)
    assert res.proven and abs(res.objective - _brute(d, 2)) < 1e-9


def test_radius_model_lp_value_is_the_distance_for_a_fixed_open_set() -> None:
    """With y fixed to an open set, the least z make the objective its true cost."""
    d, p = _random(5)
    model = radius_model(d, p)
    sites = list(range(p))
    # z_ik = 1 exactly while no open site lies within D_ik, as the docstring derives
    total = model.constant
    col = d.shape[1]
    for i in range(d.shape[0]):
        levels = np.unique(d[i])
        near = d[i, sites].min()
        for k in range(len(levels) - 1):
            total += model.cost[col + k] * (levels[k] < near)
        col += len(levels) - 1
    assert total == objective_of(d, sites)


def test_checker_rejects_a_wrong_result() -> None:
    d, p = _random(2)
    res = solve_pmedian(d, p, 20.0)
    lie = PMedianResult(res.open_sites, res.assignment, res.objective - 1, res.bound - 1,
                        True, "optimal", 0.0, "liar")
    with pytest.raises(InputError, match="objective"):
        check_pmedian(d, p, lie)


def test_cli_bench_pmedian_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tiny.txt").write_text(TINY)
    (tmp_path / "optimal.txt").write_text("instance optimal\ntiny 3\n")
    out = tmp_path / "out.json"
    assert main(["bench", "pmedian", str(tmp_path / "tiny.txt"), "--time-limit", "10",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tiny" in printed and "Running HiGHS" not in printed
    (rec,) = json.loads(out.read_text())
    assert rec["instance"] == "tiny" and rec["p"] == 2
    assert rec["objective"] == 3 and rec["bound"] == 3 and rec["proven"] is True
    assert rec["optimal_known"] == 3 and rec["matches"] is True
    assert rec["seconds"] >= 0


def test_cli_bench_pmedian_bad_file_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("4 3 2\n1 2 5\n2 x 1\n3 4 2\n")
    assert main(["bench", "pmedian", str(bad)]) == 2
    assert f"{bad}:3:" in capsys.readouterr().err


@pytest.mark.parametrize("levels", [10_000, 0])  # whole root LP, row generation
@pytest.mark.parametrize("reduce", [True, False])
@pytest.mark.parametrize("seed", [0, 4, 9])
def test_exact_stage_improves_a_poor_incumbent(monkeypatch: pytest.MonkeyPatch, seed: int,
                                               reduce: bool, levels: int) -> None:
    """With the heuristic crippled, the reduced-cost-fixed MIP must still reach brute force."""
    from lrcplan.optimizer import pmedian

    monkeypatch.setattr(pmedian, "FULL_LP_LEVELS", levels)
    d, p = _random(seed)
    monkeypatch.setattr(pmedian, "_interchange", lambda d, sites, deadline: sorted(sites))
    monkeypatch.setattr(pmedian, "_greedy", lambda d, p: list(range(d.shape[1] - p,
                                                                      d.shape[1])))
    res = pmedian.solve_pmedian(d, p, 20.0, reduce=reduce)
    assert res.proven and res.objective == _brute(d, p)
    check_pmedian(d, p, res)


@pytest.mark.parametrize("levels", [10_000, 0])
@pytest.mark.parametrize("seed", range(4))
def test_medium_instances_against_brute_force(monkeypatch: pytest.MonkeyPatch, seed: int,
                                              levels: int) -> None:
    """n = 30, p = 3: enough levels for the LP to be fractional and fixing to bite."""
    from lrcplan.optimizer import pmedian

    monkeypatch.setattr(pmedian, "FULL_LP_LEVELS", levels)
    rng = np.random.default_rng(100 + seed)
    xy = rng.integers(0, 60, size=(30, 2))
    d = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    res = solve_pmedian(d, 3, 30.0)
    assert res.proven and res.objective == _brute(d, 3)


@pytest.mark.parametrize("seed", range(10))
def test_root_lp_by_row_generation_equals_the_whole_lp(monkeypatch: pytest.MonkeyPatch,
                                                       seed: int) -> None:
    """Growing levels from the heuristic's distances ends at the whole radius LP's value,
    and the fixing it feeds keeps the optimum (forced on small instances)."""
    from lrcplan.optimizer import pmedian

    monkeypatch.setattr(pmedian, "FULL_LP_LEVELS", 0)
    d, p = _random(seed)
    sites = heuristic_pmedian(d, p)
    root = pmedian._root_lp(d, p, sites, deadline=float("inf"))
    assert root is not None
    assert root[3] == pytest.approx(lp_bound(d, p), abs=1e-6)
    res = solve_pmedian(d, p, 20.0)
    assert res.proven and res.objective == _brute(d, p)
