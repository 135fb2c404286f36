"""Capacitated p-median benchmark: every Osman-Christofides instance in the shared folder
must reach its best value, proven (bound = objective), each in under 60 s, with the
independent checker recomputing the objective from the open sites and assignment.

Time limit per instance: LRCPLAN_CPMED_LIMIT seconds (default 60). Another folder of
files in the same format (e.g. the even-numbered instances): LRCPLAN_CPMED_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrcplan.optimizer.cpmedfile import read_cpmedian
from lrcplan.optimizer.cpmedian import check_cpmedian, solve_cpmedian

ROOT = Path(__file__).resolve().parent.parent
FOLDER = Path(os.environ.get("LRCPLAN_CPMED_DIR",
                           ROOT.parent / "shared" / "instances" / "cpmedian-osman"))
LIMIT = float(os.environ.get("LRCPLAN_CPMED_LIMIT", "60"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FOLDER.is_dir(),
                       reason=f"benchmark instances not found: {FOLDER} "
                              "(see the project's benchmarks/README.md)"),
]


@pytest.mark.parametrize("path", sorted(FOLDER.glob("pmedcap*.txt")), ids=lambda p: p.stem)
def test_cpmedian_reaches_best_value_proven(path: Path, benchmark) -> None:  # noqa: ANN001
    inst = read_cpmedian(path)
    res = benchmark.pedantic(solve_cpmedian, args=(inst.dist, inst.demand, inst.capacity,
                                                   inst.p, LIMIT), rounds=1, iterations=1)
    benchmark.extra_info.update({"instance": inst.name, "n": inst.dist.shape[0], "p": inst.p,
                                 "objective": res.objective, "bound": res.bound,
                                 "best_known": inst.best_known, "proven": res.proven,
                                 "seconds": round(res.seconds, 2)})
    print(f"\n{inst.name}: n {inst.dist.shape[0]}, p {inst.p}, objective {res.objective:.0f}, "
          f"best {inst.best_known}, bound {res.bound:.1f}, proven {res.proven}, "
          f"{res.seconds:.2f} s")
    assert check_cpmedian(inst.dist, inst.demand, inst.capacity, inst.p, res) == res.objective
    assert res.proven, f"{inst.name}: bound {res.bound} < objective {res.objective}"
    if inst.best_known is not None:  # a file with best value 0 gives none
        assert res.objective == inst.best_known
    assert res.seconds < 60.0
