"""p-median side by side: lrcplan's solve_pmedian against spopt's PMedian on CBC.

Both get the same OR-Library instance: the shortest-path matrix lrcplan reads
(`read_pmedian(...).dist`), every vertex a client of weight 1 and a candidate site, and p.
spopt builds its textbook model (`PMedian.from_cost_matrix`: n^2 assignment variables,
n^2 opening rows) and solves it with the CBC that PuLP bundles, one thread, with a time
limit; lrcplan runs `solve_pmedian` with the same limit. spopt's time is building plus
solving (what a user of spopt waits for: `from_cost_matrix`, then the `problem.solve(CBC)`
that `PMedian.solve` runs, without the result tables it builds after; PuLP's per-variable
DeprecationWarnings silenced so pytest's recording of them is not charged to spopt),
lrcplan's the whole `solve_pmedian` call.

spopt "finishes" when CBC reports a proven optimum (`sol_status == LpSolutionOptimal`; on a
time-out pulp still says status Optimal with an integer-feasible solution, so the status
alone is not enough). Where it finishes, its objective must equal the known optimum
(optimal.txt: this validates the comparison), lrcplan's too, proven, and lrcplan must be
at least SPEEDUP times faster. Where it does not, lrcplan must still be optimal and the
ratio is only a lower bound. Figures go to extra_info and one printed line per instance
(run with -s).

Instances: LRCPLAN_SPOPT_SET = small (default: pmed1, pmed3, pmed5), upto13 (pmed1-13,
n <= 300), all (every pmed file in the shared folder) or a comma list of names
(`pmed7,pmed9`). Time limit: LRCPLAN_SPOPT_LIMIT seconds per solver and instance
(default 600).
"""

from __future__ import annotations

import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from lrcplan.optimizer.pmedfile import optimal_for, read_pmedian
from lrcplan.optimizer.pmedian import check_pmedian, objective_of, solve_pmedian

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT.parent / "shared" / "instances" / "pmedian-orlib"
LIMIT = float(os.environ.get("LRCPLAN_SPOPT_LIMIT", "600"))
SPEEDUP = 5.0  # the target: lrcplan at least 5x faster where spopt finishes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FOLDER.is_dir(),
                       reason=f"benchmark instances not found: {FOLDER} "
                              "(see the project's benchmarks/README.md)"),
]

try:  # dev dependencies: without them (or broken) the module is skipped, not an error
    import pulp
    from spopt import locate as spopt_locate
except ImportError as exc:
    pytest.skip(f"spopt + pulp not importable ({exc}; pip install -e '.[dev]')",
                allow_module_level=True)


def _number(path: Path) -> int:
    m = re.search(r"(\d+)$", path.stem)
    return int(m.group(1)) if m else 0


def _files() -> list[Path]:
    """The pmed files of the chosen set, in instance order (empty if the folder is absent)."""
    which = os.environ.get("LRCPLAN_SPOPT_SET", "small")
    files = sorted(FOLDER.glob("pmed*.txt"), key=_number)
    chosen = {"small": [f for f in files if f.stem in ("pmed1", "pmed3", "pmed5")],
              "upto13": [f for f in files if _number(f) <= 13], "all": files}
    if which in chosen:
        return chosen[which]
    names = [w.strip() for w in which.split(",") if w.strip()]
    by_name = {f.stem: f for f in files}
    if not FOLDER.is_dir():
        return []
    missing = [w for w in names if w not in by_name]
    if not names or missing:
        raise pytest.UsageError(f"LRCPLAN_SPOPT_SET must be one of {sorted(chosen)} or a "
                                f"comma list of instances in {FOLDER} (unknown: {missing})")
    return sorted((by_name[w] for w in names), key=_number)


def _spopt(dist: np.ndarray, p: int, limit: float) -> dict[str, object]:
    """spopt's PMedian on single-threaded CBC: times, objective, open sites, finished."""
    n = dist.shape[0]
    # PuLP 3 warns once per LpVariable (n^2 + n of them) that PuLP 4 builds them another
    # way: recorded by pytest, those warnings would be charged to spopt's time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        start = time.perf_counter()
        model = spopt_locate.PMedian.from_cost_matrix(dist.astype(float), np.ones(n),
                                                      p_facilities=p)
        built = time.perf_counter()
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, threads=1)
        model.problem.solve(solver)  # what PMedian.solve does, without its status check
        end = time.perf_counter()
    feasible = model.problem.sol_status in (pulp.LpSolutionOptimal,
                                            pulp.LpSolutionIntegerFeasible)
    sites = [j for j, y in enumerate(model.fac_vars) if (y.value() or 0) > 0.5]
    return {"build_s": built - start, "solve_s": end - built, "total_s": end - start,
            "finished": model.problem.sol_status == pulp.LpSolutionOptimal,
            "status": pulp.LpStatus[model.problem.status],
            "objective": pulp.value(model.problem.objective) if feasible else None,
            "sites": sites if feasible else None}


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_lrcplan_vs_spopt_cbc(path: Path, benchmark) -> None:  # noqa: ANN001
    inst = read_pmedian(path)
    known = optimal_for(path)
    n = inst.dist.shape[0]
    sp = _spopt(inst.dist, inst.p, LIMIT)
    res = benchmark.pedantic(solve_pmedian, args=(inst.dist, inst.p, LIMIT), rounds=1,
                             iterations=1)
    ours = res.seconds
    ratio = sp["total_s"] / ours
    benchmark.extra_info.update({
        "instance": inst.name, "n": n, "p": inst.p, "optimal_known": known,
        "spopt_objective": sp["objective"], "spopt_finished": sp["finished"],
        "spopt_status": sp["status"], "spopt_build_s": round(sp["build_s"], 3),
        "spopt_solve_s": round(sp["solve_s"], 3), "spopt_seconds": round(sp["total_s"], 3),
        "lrcplan_objective": res.objective, "lrcplan_proven": res.proven,
        "lrcplan_seconds": round(ours, 3), "ratio": round(ratio, 1),
        "limit_s": LIMIT})
    print(f"\n{inst.name} n={n} p={inst.p} optimum={known} | spopt+CBC "
          f"{sp['total_s']:.2f} s (build {sp['build_s']:.2f} + solve {sp['solve_s']:.2f}) "
          f"objective={sp['objective']} finished={sp['finished']} | lrcplan {ours:.2f} s "
          f"objective={res.objective} proven={res.proven} | ratio "
          f"{'' if sp['finished'] else '>= '}{ratio:.1f}x")

    assert check_pmedian(inst.dist, inst.p, res) == res.objective
    assert res.proven, f"{inst.name}: lrcplan bound {res.bound} < objective {res.objective}"
    if known is not None:
        assert res.objective == known
    if sp["sites"] is not None:  # spopt's answer, checked from its open sites
        assert len(sp["sites"]) == inst.p
        assert objective_of(inst.dist, sp["sites"]) <= sp["objective"] + 1e-6
        assert sp["objective"] >= res.objective - 1e-6  # nobody beats a proven optimum
    if sp["finished"]:
        assert round(sp["objective"]) == (known if known is not None else res.objective)
        assert ratio >= SPEEDUP, (f"{inst.name}: lrcplan {ours:.2f} s is only {ratio:.1f}x "
                                  f"faster than spopt + CBC {sp['total_s']:.2f} s")
