"""VRPTW engine: optimum on a tiny instance, the independent checker, the reader, the CLI."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from lrcplan.cli import main
from lrcplan.models.errors import InputError
from lrcplan.optimizer.vrplib import (
    best_known_for,
    instance_class,
    read_solution,
    read_vrptw,
)
from lrcplan.optimizer.vrptw import VrptwInstance, check_vrptw, route_cost, solve_vrptw

DATA = Path(__file__).parent / "data" / "vrptw"
TINY = DATA / "tiny.vrp"
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "instances"


# ------------------------------------------------------------------ brute force
def _ordered_partitions(items: Sequence[int]) -> Iterator[list[tuple[int, ...]]]:
    """Every way to split the items into routes (order inside a route matters)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for others in range(len(rest) + 1):
        for chosen in itertools.combinations(rest, others):
            left = [x for x in rest if x not in chosen]
            for order in itertools.permutations((first, *chosen)):
                for tail in _ordered_partitions(left):
                    yield [order, *tail]


def _fits(inst: VrptwInstance, route: Sequence[int]) -> bool:
    """Capacity and windows of one route, written out plainly (not the checker's code)."""
    if sum(int(inst.demand[c]) for c in route) > inst.capacity:
        return False
    t, at = int(inst.ready[0]), 0
    for c in route:
        t = max(t + int(inst.duration[at][c]), int(inst.ready[c]))
        if t > int(inst.due[c]):
            return False
        t, at = t + int(inst.service[c]), c
    if t + int(inst.duration[at][0]) > int(inst.due[0]):
        return False
    if inst.max_route_duration is None:
        return True
    return any(_duration(inst, route, depart) <= inst.max_route_duration
               for depart in range(int(inst.ready[0]), int(inst.due[0]) + 1))


def _duration(inst: VrptwInstance, route: Sequence[int], depart: int) -> float:
    """Return minus departure leaving at `depart` (infinite if a window is missed)."""
    t, at = depart, 0
    for c in route:
        t = max(t + int(inst.duration[at][c]), int(inst.ready[c]))
        if t > int(inst.due[c]):
            return math.inf
        t, at = t + int(inst.service[c]), c
    return t + int(inst.duration[at][0]) - depart


def brute_force(inst: VrptwInstance) -> int:
    """The optimal cost over every partition and order of the clients."""
    best = math.inf
    for routes in _ordered_partitions(list(range(1, inst.clients + 1))):
        if inst.vehicles is not None and len(routes) > inst.vehicles:
            continue
        if all(_fits(inst, r) for r in routes):
            cost = sum(int(inst.distance[a][b]) for r in routes
                       for a, b in itertools.pairwise((0, *r, 0)))
            best = min(best, cost)
    assert best < math.inf, "the instance has no feasible solution"
    return int(best)


def small_instance(**changes: object) -> VrptwInstance:
    """4 clients on a line and a square, built from arrays (no file)."""
    xy = np.array([[0, 0], [10, 0], [20, 0], [0, 10], [0, 20]])
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    fields: dict[str, object] = dict(
        duration=d, demand=[0, 3, 3, 3, 3], capacity=6, ready=[0, 0, 25, 0, 0],
        due=[100, 100, 40, 100, 30], service=[0, 2, 2, 2, 2], vehicles=3)
    fields.update(changes)
    return VrptwInstance(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the engine
@pytest.mark.parametrize("make", [lambda: read_vrptw(TINY), small_instance],
                         ids=["tiny-file", "arrays"])
def test_solves_to_the_brute_force_optimum(make) -> None:  # type: ignore[no-untyped-def]
    inst = make()
    optimum = brute_force(inst)
    res = solve_vrptw(inst, time_limit_s=0.5, seed=1)
    assert res.feasible and res.status == "feasible" and res.problems == ()
    assert res.cost == optimum == route_cost(inst, res.routes)
    assert res.vehicles == len(res.routes) and res.engine == "pyvrp"
    assert sorted(c for r in res.routes for c in r) == list(range(1, inst.clients + 1))


def test_the_tiny_file_records_its_optimum() -> None:
    inst, best = read_vrptw(TINY), best_known_for(TINY)
    assert best is not None and inst.scale == 10
    assert best.cost * inst.scale == brute_force(inst)
    assert check_vrptw(inst, best.routes) == []
    assert route_cost(inst, best.routes) == round(best.cost * inst.scale)


def test_no_clients_and_bad_time_limit() -> None:
    empty = VrptwInstance(duration=[[0]], demand=[0], capacity=5, ready=[0], due=[9],
                          service=[0])
    res = solve_vrptw(empty, time_limit_s=1, seed=0)
    assert res.routes == () and res.cost == 0 and res.feasible
    with pytest.raises(InputError, match="time limit"):
        solve_vrptw(empty, time_limit_s=0, seed=0)


def test_an_instance_that_cannot_be_served_is_not_feasible() -> None:
    # client 2's window closes before anyone can get there: the engine's best is not OK
    inst = small_instance(due=[100, 100, 5, 100, 30], ready=[0, 0, 0, 0, 0])
    res = solve_vrptw(inst, time_limit_s=0.3, seed=1)
    assert not res.feasible and res.status in ("infeasible", "rejected") and res.problems


@pytest.mark.parametrize(("changes", "message"), [
    ({"duration": np.zeros((3, 2))}, "shape"),
    ({"demand": [1, 3, 3, 3, 3]}, "depot"),
    ({"ready": [0, 0, 45, 0, 0]}, "closes before it opens"),
    ({"demand": [0, -3, 3, 3, 3]}, "negative"),
    ({"service": [0, 2.5, 2, 2, 2]}, "whole numbers"),
    ({"vehicles": 0}, "vehicles"),
    ({"capacity": -1}, "capacity"),
])
def test_bad_arrays_are_input_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        small_instance(**changes)


def test_arrays_are_copied_and_frozen() -> None:
    demand = np.array([0, 3, 3, 3, 3])
    inst = small_instance(demand=demand)
    demand[1] = 99
    assert inst.demand[1] == 3
    with pytest.raises(ValueError, match="read-only"):
        inst.demand[1] = 5


# ------------------------------------------------------------------ the checker
def test_checker_accepts_a_good_solution_and_recomputes_the_cost() -> None:
    inst = small_instance()
    routes = [[1, 2], [3, 4]]
    assert check_vrptw(inst, routes) == []
    cost = route_cost(inst, routes)
    assert cost == 10 + 10 + 20 + 10 + 10 + 20
    assert check_vrptw(inst, routes, cost=cost) == []
    assert any("claimed cost" in p for p in check_vrptw(inst, routes, cost=cost - 1))


@pytest.mark.parametrize(("routes", "expected"), [
    ([[1, 2], [3]], "1 client(s) not visited: 4"),
    ([[1, 2], [3, 4, 1]], "client 1 is visited twice"),
    ([[1, 2], [3, 9]], "9 is not a client"),
    ([[1, 2, 3], [4]], "load 9 exceeds the capacity 6"),
    ([[2, 1], [3, 4]], "client 1 is reached at 37, after its window closes at 30"),
    ([[2, 4], [1, 3]], "client 4 is reached at 55"),
    ([[1], [2], [3], [4]], "4 routes, but only 3 vehicles"),
])
def test_checker_catches_broken_routes(routes: list[list[int]], expected: str) -> None:
    inst = small_instance(due=[100, 30, 40, 100, 30])
    problems = check_vrptw(inst, routes)
    assert any(expected in p for p in problems), problems


def test_checker_waits_for_a_window_to_open() -> None:
    inst = small_instance()
    # client 2 opens at 25: arriving at 22 the vehicle waits, serves at 25 and is on time
    assert check_vrptw(inst, [[1, 2], [3, 4]]) == []
    late = small_instance(due=[44, 100, 40, 100, 30])  # back at 27 + 20 = 47 > 44
    assert any("after the depot closes at 44" in p for p in check_vrptw(late, [[1, 2], [3, 4]]))


def test_checker_route_duration_counts_from_the_latest_useful_departure() -> None:
    # route 1 -> 2: leaving at 0 it waits 3 at client 2 (47 long); leaving later, 44
    ok = small_instance(max_route_duration=44)
    assert check_vrptw(ok, [[1, 2], [3, 4]]) == []
    short = small_instance(max_route_duration=43)
    assert any("lasts 44, more than the maximum 43" in p
               for p in check_vrptw(short, [[1, 2], [3, 4]]))


def test_engine_respects_max_route_duration() -> None:
    inst = small_instance(max_route_duration=42)  # rules out 3 -> 4 and 4 -> 3 (44 each)
    res = solve_vrptw(inst, time_limit_s=0.3, seed=1)
    assert res.feasible and res.cost == brute_force(inst)
    assert res.cost > brute_force(small_instance())


# ------------------------------------------------------------------ the reader
def _write(tmp_path: Path, text: str, name: str = "bad.vrp") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("3 6 0", "3 6 x", 12, "'x' is not a number"),
    ("3 3\n", "3 3 3\n", 19, "expected 2 values"),
    ("4 5\n", "9 5\n", 20, "node id 9 is not in 1..6"),
    ("5 2\n", "4 2\n", 21, "node 4 appears twice"),
    ("3 10 30", "3 31 30", 26, "closes before it opens"),
    ("CAPACITY : 10", "CAPACITY : ten", 6, "CAPACITY must be a whole number"),
    ("EUC_2D", "GEO", 8, "EDGE_WEIGHT_TYPE must be EUC_2D"),
    ("SERVICE_TIME : 1", "SERVICE_TIME : -1", 7, "SERVICE_TIME must not be negative"),
    ("6 6\n", "6 -6\n", 22, "must not be negative"),
    ("NAME : TINY5", "NAME TINY5", 1, "expected 'KEY : value'"),
    ("TIME_WINDOW_SECTION", "TIME_WINDOWS", 23, "DEMAND_SECTION: expected 2 values"),
])
def test_reader_errors_name_file_and_line(tmp_path: Path, old: str, new: str, line: int,
                                          message: str) -> None:
    text = TINY.read_text(encoding="utf-8")
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(InputError) as err:
        read_vrptw(path)
    assert f"{path}:{line}: " in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("DIMENSION : 6\n", "", "the header has no DIMENSION"),
    ("6 0 15\n", "", "TIME_WINDOW_SECTION: no line for node 6"),
])
def test_reader_errors_for_missing_parts_name_the_file(tmp_path: Path, old: str, new: str,
                                                        message: str) -> None:
    path = _write(tmp_path, TINY.read_text(encoding="utf-8").replace(old, new, 1))
    with pytest.raises(InputError, match=message) as err:
        read_vrptw(path)
    assert str(path) in str(err.value)


def test_solution_reader(tmp_path: Path) -> None:
    good = _write(tmp_path, "Route #1: 1 2\nRoute #2: 3\nCost 12.5\n", "a.sol")
    assert read_solution(good).cost == 12.5 and read_solution(good).routes == ((1, 2), (3,))
    for text, line, message in [("Route #1: 1 x\nCost 3\n", 1, "'x' is not a client"),
                                ("Route #1: 1\nCost\n", 2, "expected 'Cost X'"),
                                ("Route #1: 1\nCost abc\n", 2, "'abc' is not a number")]:
        path = _write(tmp_path, text, "b.sol")
        with pytest.raises(InputError, match=message) as err:
            read_solution(path)
        assert f"{path}:{line}: " in str(err.value)
    with pytest.raises(InputError, match="no 'Cost' line"):
        read_solution(_write(tmp_path, "Route #1: 1\n", "c.sol"))


def test_instance_classes() -> None:
    assert [instance_class(n) for n in ("C101", "c205", "R112", "RC101", "RC2_2_1",
                                        "R1_2_1", "TINY5")] == [
        "C1", "C2", "R1", "RC1", "RC2", "R1", ""]


@pytest.mark.skipif(not (SHARED / "vrptw-solomon" / "C101.vrp").is_file(),
                    reason=f"benchmark instances not found: {SHARED}/vrptw-solomon")
def test_solomon_matches_pyvrp_dimacs_and_its_best_known_routes() -> None:
    import pyvrp

    path = SHARED / "vrptw-solomon" / "RC101.vrp"
    inst, best = read_vrptw(path), best_known_for(path)
    data = pyvrp.read(path, round_func="dimacs")
    assert np.array_equal(inst.distance, data.distance_matrix(0))
    assert inst.capacity == data.vehicle_type(0).capacity[0]
    assert inst.due[0] == data.vehicle_type(0).tw_late
    assert [c.tw_early for c in data.clients()] == inst.ready[1:].tolist()
    assert [c.service_duration for c in data.clients()] == inst.service[1:].tolist()
    assert best is not None and check_vrptw(inst, best.routes) == []
    assert route_cost(inst, best.routes) == round(best.cost * 10)


# ------------------------------------------------------------------ the CLI
def test_cli_bench_vrptw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "vrptw", str(TINY), "--time-limit", "1", "--seed", "2",
                 "--json", str(out)]) == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    assert len(records) == 1
    rec = records[0]
    assert rec["instance"] == "TINY5" and rec["feasible"] is True
    assert rec["cost"] == rec["best_known"] and rec["gap_pct"] == 0
    assert {"vehicles", "seconds", "status", "engine"} <= rec.keys()
    printed = capsys.readouterr().out
    assert "TINY5" in printed and "not OK: 0 of 1" in printed and "overall" in printed


def test_cli_bench_vrptw_bad_input_exits_2(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = _write(tmp_path, TINY.read_text(encoding="utf-8").replace("3 6 0", "3 6 x"))
    assert main(["bench", "vrptw", str(bad), "--time-limit", "1"]) == 2
    assert f"{bad}:12:" in capsys.readouterr().err
    assert main(["bench", "vrptw", str(TINY), "--time-limit", "0"]) == 2
    assert main(["bench", "vrptw", str(tmp_path / "missing.vrp")]) == 2


def test_cli_bench_vrptw_infeasible_exits_1(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # client 5 (node 6) closes at 0.5 but is 7.07 away: no route can reach it in time
    bad = _write(tmp_path, TINY.read_text(encoding="utf-8").replace("6 0 15", "6 0 0.5"))
    assert main(["bench", "vrptw", str(bad), "--time-limit", "0.3"]) == 1
    assert "not OK: 1 of 1" in capsys.readouterr().out
