"""p-median benchmark: OR-Library pmed instances solved to proven optimality.

Every instance in the shared folder must reproduce its known optimum (optimal.txt), with
the bound equal to the objective (`proven`), and the independent checker must recompute
the same objective from the open sites. Seconds go to extra_info.

Instances: LRCPLAN_PMED_SET = small (default: pmed1-pmed9, n <= 200), upto20 (pmed1-20,
the issue's 60 s group) or all (every pmed file in the shared folder).
Time limit: LRCPLAN_PMED_LIMIT seconds per instance (default 60; the issue allows 600 s
for pmed21-40).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lrcplan.optimizer.pmedfile import optimal_for, read_pmedian
from lrcplan.optimizer.pmedian import check_pmedian, solve_pmedian

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT.parent / "shared" / "instances" / "pmedian-orlib"
LIMIT = float(os.environ.get("LRCPLAN_PMED_LIMIT", "60"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FOLDER.is_dir(),
                       reason=f"benchmark instances not found: {FOLDER} "
                              "(see the project's benchmarks/README.md)"),
]


def _number(path: Path) -> int:
    m = re.search(r"(\d+)$", path.stem)
    return int(m.group(1)) if m else 0


def _files() -> list[Path]:
    """The pmed files of the chosen set, in instance order (empty if the folder is absent)."""
    which = os.environ.get("LRCPLAN_PMED_SET", "small")
    files = sorted(FOLDER.glob("pmed*.txt"), key=_number)
    chosen = {"small": [f for f in files if _number(f) <= 9],
              "upto20": [f for f in files if _number(f) <= 20], "all": files}
    if which not in chosen:
        raise pytest.UsageError(f"LRCPLAN_PMED_SET must be one of {sorted(chosen)}")
    return chosen[which]


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_pmedian_reaches_known_optimum_proven(path: Path, benchmark) -> None:  # noqa: ANN001
    inst = read_pmedian(path)
    known = optimal_for(path)
    res = benchmark.pedantic(solve_pmedian, args=(inst.dist, inst.p, LIMIT), rounds=1,
                             iterations=1)
    benchmark.extra_info.update({"instance": inst.name, "n": inst.dist.shape[0], "p": inst.p,
                                 "objective": res.objective, "bound": res.bound,
                                 "optimal_known": known, "proven": res.proven,
                                 "seconds": round(res.seconds, 3)})
    assert check_pmedian(inst.dist, inst.p, res) == res.objective
    assert res.proven, f"{inst.name}: bound {res.bound} < objective {res.objective}"
    if known is not None:
        assert res.objective == known
