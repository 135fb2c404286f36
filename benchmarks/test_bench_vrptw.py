"""VRPTW benchmark: lrcplan's engine, PyVRP directly, VROOM and OR-Tools on the same files.

Every engine gets the same instance (DIMACS units: distances and times x10, truncated),
the same time limit and one thread; every engine's routes are re-checked by
`check_vrptw` and the gap is computed from the recomputed cost, never the engine's own.
Targets: every lrcplan instance feasible, and lrcplan's mean gap within 0.3 percentage
points of PyVRP's (they are the same engine behind a different front end).

Instances: LRCPLAN_VRPTW_SET = subset (default: C101 C201 R101 R201 RC101 RC201), solomon
(all 28 in the shared folder), gh200 (6 instances of 200 clients) or all.
Time limits: 10 s; LRCPLAN_VRPTW_60=1 adds 60 s.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from lrcplan.optimizer.vrplib import best_known_for, gap_pct, read_vrptw
from lrcplan.optimizer.vrptw import VrptwInstance, check_vrptw, route_cost, solve_vrptw

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "instances"
SEED = 1
SUBSET = ["C101", "C201", "R101", "R201", "RC101", "RC201"]
ENGINES = ["lrcplan", "pyvrp", "vroom", "ortools"]
LIMITS = [10.0, *([60.0] if os.environ.get("LRCPLAN_VRPTW_60") == "1" else [])]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (SHARED / "vrptw-solomon").is_dir(),
                       reason=f"benchmark instances not found: {SHARED}/vrptw-solomon "
                              "(see the project's benchmarks/README.md)"),
]


def _files() -> list[Path]:
    """The instance files of the chosen set (empty where the folder is absent)."""
    which = os.environ.get("LRCPLAN_VRPTW_SET", "subset")
    solomon = sorted((SHARED / "vrptw-solomon").glob("*.vrp"))
    gh = sorted((SHARED / "vrptw-gh200").glob("*.vrp"))
    chosen = {"subset": [f for f in solomon if f.stem in SUBSET], "solomon": solomon,
              "gh200": gh, "all": solomon + gh}
    if which not in chosen:
        raise pytest.UsageError(f"LRCPLAN_VRPTW_SET must be one of {sorted(chosen)}")
    return chosen[which]


FILES = _files()
Routes = list[list[int]]


def _pyvrp_direct(path: Path, limit: float) -> Routes:
    """PyVRP's own reader and solver, as its documentation uses them."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    data = pyvrp.read(path, round_func="dimacs")
    res = pyvrp.solve(data, stop=MaxRuntime(limit), seed=SEED, display=False)
    where = [c.location for c in data.clients()]
    return [[int(where[a.idx]) for a in r if a.is_client()] for r in res.best.routes()]


def _vroom(inst: VrptwInstance, limit: float) -> Routes:
    """VROOM at exploration level 5, one thread, the time limit as its timeout."""
    import vroom

    problem = vroom.Input()
    problem.set_durations_matrix("car", inst.duration)
    problem.set_costs_matrix("car", inst.distance)
    fleet = inst.vehicles or inst.clients
    problem.add_vehicle([vroom.Vehicle(k, start=0, end=0, capacity=[int(inst.capacity)],
                                       time_window=vroom.TimeWindow(int(inst.ready[0]),
                                                                    int(inst.due[0])))
                         for k in range(fleet)])
    problem.add_job([vroom.Job(i, location=i, default_service=int(inst.service[i]),
                               delivery=[int(inst.demand[i])],
                               time_windows=[vroom.TimeWindow(int(inst.ready[i]),
                                                              int(inst.due[i]))])
                     for i in range(1, inst.clients + 1)])
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit))
    routes: dict[int, list[int]] = {}
    df = sol.routes
    for vehicle, kind, job in zip(df["vehicle_id"], df["type"], df["id"], strict=True):
        if str(kind) == "job":
            routes.setdefault(int(vehicle), []).append(int(job))
    return list(routes.values())


def _ortools(inst: VrptwInstance, limit: float) -> Routes:
    """Stock OR-Tools routing: cheapest arc, then guided local search; windows, capacity."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = inst.clients + 1
    fleet = inst.vehicles or inst.clients
    manager = pywrapcp.RoutingIndexManager(n, fleet, 0)
    model = pywrapcp.RoutingModel(manager)
    dist, dur = inst.distance.tolist(), inst.duration.tolist()
    service, demand = inst.service.tolist(), inst.demand.tolist()

    def arc(i: int, j: int) -> int:
        return dist[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def travel(i: int, j: int) -> int:  # service at the origin, then the drive
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return service[a] + dur[a][b]

    def load(i: int) -> int:
        return demand[manager.IndexToNode(i)]

    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitCallback(arc))
    horizon = int(inst.due[0])
    model.AddDimension(model.RegisterTransitCallback(travel), horizon, horizon, False, "time")
    time_dim = model.GetDimensionOrDie("time")
    for node in range(1, n):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(int(inst.ready[node]),
                                                              int(inst.due[node]))
    for v in range(fleet):
        for index in (model.Start(v), model.End(v)):
            time_dim.CumulVar(index).SetRange(int(inst.ready[0]), horizon)
    model.AddDimensionWithVehicleCapacity(model.RegisterUnaryTransitCallback(load), 0,
                                          [int(inst.capacity)] * fleet, True, "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(int(limit * 1000))
    solution = model.SolveWithParameters(params)
    if solution is None:
        return []  # no first solution: every client missed, the check says so
    routes = []
    for v in range(fleet):
        index, route = solution.Value(model.NextVar(model.Start(v))), []
        while not model.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(model.NextVar(index))
        routes.append(route)
    return routes


def _lrcplan(inst: VrptwInstance, limit: float) -> Routes:
    return [list(r) for r in solve_vrptw(inst, time_limit_s=limit, seed=SEED).routes]


RESULTS: dict[tuple[float, str, str], tuple[float | None, bool]] = {}  # -> (gap, feasible)


@pytest.mark.parametrize("limit", LIMITS, ids=[f"{int(x)}s" for x in LIMITS])
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
@pytest.mark.parametrize("engine", ENGINES)
def test_vrptw(benchmark, engine: str, path: Path, limit: float) -> None:  # type: ignore[no-untyped-def]
    """One engine on one instance: wall time; gap and feasibility in extra_info."""
    if engine == "vroom":
        pytest.importorskip("vroom", reason="pyvroom is not installed (pip install -e '.[dev]')")
    inst, best = read_vrptw(path), best_known_for(path)
    run = {"lrcplan": lambda: _lrcplan(inst, limit), "pyvrp": lambda: _pyvrp_direct(path, limit),
           "vroom": lambda: _vroom(inst, limit), "ortools": lambda: _ortools(inst, limit)}
    t0 = time.perf_counter()
    routes = benchmark.pedantic(run[engine], rounds=1, iterations=1)
    seconds = time.perf_counter() - t0
    problems = check_vrptw(inst, routes)
    cost = route_cost(inst, routes) / inst.scale
    gap = gap_pct(cost, best.cost if best else None) if routes else None
    RESULTS[(limit, engine, path.stem)] = (gap, not problems)
    benchmark.extra_info.update({"instance": path.stem, "engine": engine, "limit_s": limit,
                                 "cost": cost, "best_known": best.cost if best else None,
                                 "gap_pct": gap, "feasible": not problems,
                                 "vehicles": sum(1 for r in routes if r),
                                 "seconds": seconds, "problems": problems[:3]})
    print(f"\n{engine:<8} {path.stem:<8} {limit:>4.0f} s  cost {cost:9.1f}  "
          f"gap {'-' if gap is None else f'{gap:6.2f} %'}  "
          f"{'feasible' if not problems else 'INFEASIBLE: ' + problems[0]}  {seconds:5.1f} s")
    if engine == "lrcplan":
        assert not problems, f"lrcplan infeasible on {path.stem}: {problems}"


def _mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


@pytest.mark.parametrize("limit", LIMITS, ids=[f"{int(x)}s" for x in LIMITS])
def test_vrptw_summary(limit: float) -> None:
    """The side-by-side table; lrcplan's mean gap within 0.3 points of PyVRP's."""
    names = [f.stem for f in FILES]
    if not all((limit, e, n) in RESULTS for e in ("lrcplan", "pyvrp") for n in names):
        pytest.skip("run the whole module: the summary needs every lrcplan and PyVRP case")
    print(f"\nVRPTW at {limit:.0f} s: mean gap % (infeasible instances)")
    for engine in ENGINES:
        got = [RESULTS.get((limit, engine, n)) for n in names]
        done = [g for g in got if g is not None]
        mean = _mean([g[0] for g in done if g[1]])  # feasible instances only
        print(f"  {engine:<8} {'-' if mean is None else f'{mean:.2f}'} "
              f"({sum(not g[1] for g in done)} of {len(done)} infeasible)")
    lrc = _mean([RESULTS[(limit, "lrcplan", n)][0] for n in names])
    direct = _mean([RESULTS[(limit, "pyvrp", n)][0] for n in names])
    assert all(RESULTS[(limit, "lrcplan", n)][1] for n in names)
    assert lrc is not None and direct is not None
    assert lrc <= direct + 0.3, f"lrcplan {lrc:.2f} % vs PyVRP {direct:.2f} %"
