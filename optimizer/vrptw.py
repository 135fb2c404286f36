"""VRPTW engine: capacitated vehicle routing with time windows, engine-neutral.

`VrptwInstance` holds integer arrays (index 0 is the depot, 1..n the clients);
`solve_vrptw` solves it and `check_vrptw` re-verifies any set of routes from the arrays
alone (each client once, capacity, time windows with waiting, route durations, the
fleet): a result is feasible only if that independent check passes, whatever the engine
says. The weekly routes stage will route teachers' days through this module; the
benchmark files (Solomon, Gehring-Homberger) are read by `optimizer/vrplib.py`.

Why PyVRP (0.14, iterated local search over a granular neighbourhood): on the Solomon
instances at 10 s per instance it is the strongest free engine measured here -- mean gap
0.13-0.21 % to the best known, every instance feasible -- ahead of VROOM (exploration
level 5) and stock OR-Tools routing (cheapest arc + guided local search); see the VRPTW
section of benchmarks/README.md for the side-by-side figures. Measured again for lrcplan
(2026-11-25, 10 s, seed 1): mean gap 0.18 % on six Solomon instances (one per class;
VROOM 1.66 %, OR-Tools 1.62 % where it found a solution, none for R101 and RC101) and
0.19 % on the six 200-client Gehring-Homberger instances, all feasible.

PyVRP takes integer matrices, so times and distances are integers: the VRPLIB reader
scales by 10 and truncates (the DIMACS convention), and costs divided by
`VrptwInstance.scale` are in the instance's own units.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lrcplan.models.errors import InputError

Routes = tuple[tuple[int, ...], ...]


def _int_array(name: str, values: object, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only int64 copy of `values` of the given shape (InputError otherwise)."""
    arr = np.asarray(values)
    if arr.shape != shape:
        raise InputError(f"VRPTW instance: {name} has shape {arr.shape}, expected {shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and not (
            np.all(np.isfinite(arr)) and np.all(arr == np.trunc(arr))):
        raise InputError(f"VRPTW instance: {name} must hold whole numbers")
    out = arr.astype(np.int64, copy=True)
    if np.any(out < 0):
        raise InputError(f"VRPTW instance: {name} must not be negative")
    out.setflags(write=False)  # frozen means frozen: no one edits the arrays in place
    return out


@dataclass(frozen=True, eq=False)
class VrptwInstance:
    """A VRPTW: one depot (index 0), clients 1..n, integer times, distances and loads."""

    duration: np.ndarray  # (n+1, n+1) travel times
    demand: np.ndarray  # (n+1,), demand[0] == 0
    capacity: int
    ready: np.ndarray  # (n+1,) earliest service start; ready[0]: earliest departure
    due: np.ndarray  # (n+1,) latest service start; due[0]: latest return to the depot
    service: np.ndarray  # (n+1,) service times, service[0] == 0
    vehicles: int | None = None  # the fleet size; None: as many as needed
    distance: np.ndarray | None = None  # (n+1, n+1) the cost; None: the duration
    max_route_duration: int | None = None  # return minus departure, per route
    name: str = ""
    scale: int = 1  # integer units per unit of the source (10 under DIMACS rounding)
    coords: np.ndarray | None = field(default=None, repr=False)  # (n+1, 2), display only

    def __post_init__(self) -> None:
        m = np.asarray(self.duration).shape[0] if np.ndim(self.duration) == 2 else -1
        if m < 1:
            raise InputError("VRPTW instance: the duration matrix must be square, depot first")
        sq, vec = (m, m), (m,)
        set_ = object.__setattr__  # frozen: validated copies replace the inputs once
        set_(self, "duration", _int_array("duration", self.duration, sq))
        set_(self, "distance", self.duration if self.distance is None
             else _int_array("distance", self.distance, sq))
        for name in ("demand", "ready", "due", "service"):
            set_(self, name, _int_array(name, getattr(self, name), vec))
        if self.coords is not None:
            coords = np.array(self.coords, dtype=float)
            if coords.shape != (m, 2):
                raise InputError(f"VRPTW instance: coords has shape {coords.shape}, "
                                 f"expected {(m, 2)}")
            coords.setflags(write=False)
            set_(self, "coords", coords)
        if int(self.capacity) != self.capacity or self.capacity < 0:
            raise InputError(f"VRPTW instance: capacity must be a whole number >= 0, "
                             f"got {self.capacity}")
        if self.vehicles is not None and (int(self.vehicles) != self.vehicles
                                          or self.vehicles < 1):
            raise InputError(f"VRPTW instance: vehicles must be a whole number >= 1, "
                             f"got {self.vehicles}")
        if self.scale < 1:
            raise InputError(f"VRPTW instance: scale must be >= 1, got {self.scale}")
        if self.demand[0] != 0 or self.service[0] != 0:
            raise InputError("VRPTW instance: the depot (index 0) has no demand or service")
        bad = np.flatnonzero(self.ready > self.due)
        if bad.size:
            raise InputError(f"VRPTW instance: location {int(bad[0])} has a time window "
                             f"that closes before it opens")

    @property
    def clients(self) -> int:
        """The number of clients (locations other than the depot)."""
        return len(self.demand) - 1


@dataclass(frozen=True)
class VrptwResult:
    """Routes (client indices, depot left out) and what the independent check found."""

    routes: Routes
    cost: int  # total distance, recomputed from the instance, integer units
    vehicles: int  # non-empty routes
    feasible: bool  # check_vrptw found nothing wrong
    seconds: float
    engine: str
    status: str  # "feasible", "infeasible" (engine's best is not) or "rejected" (by check)
    problems: tuple[str, ...] = ()  # check_vrptw's findings, empty when feasible


def route_cost(instance: VrptwInstance, routes: Iterable[Sequence[int]]) -> int:
    """Total distance of the routes, each from the depot and back (integer units)."""
    d = instance.distance
    assert d is not None  # set by __post_init__
    total = 0
    for route in routes:
        if len(route):
            path = [0, *route, 0]
            total += int(d[path[:-1], path[1:]].sum())
    return total


def _schedule(instance: VrptwInstance, route: Sequence[int], depart: int
              ) -> tuple[int, int | None]:
    """Return time to the depot leaving at `depart`, and the first late client (or None)."""
    t, prev = depart, 0
    for c in route:
        t = max(t + int(instance.duration[prev, c]), int(instance.ready[c]))  # wait if early
        if t > instance.due[c]:
            return t, c
        t += int(instance.service[c])
        prev = c
    return t + int(instance.duration[prev, 0]), None


def _latest_departure(instance: VrptwInstance, route: Sequence[int]) -> int:
    """The latest departure that still meets every window (if any departure does).

    Leaving later never lengthens a route (waiting only shrinks), so this departure gives
    the route's shortest duration."""
    latest, nxt = int(instance.due[0]), 0
    for c in reversed(route):
        latest = min(int(instance.due[c]),
                     latest - int(instance.service[c]) - int(instance.duration[c, nxt]))
        nxt = c
    return max(int(instance.ready[0]), latest - int(instance.duration[0, nxt]))


def check_vrptw(instance: VrptwInstance, routes: Iterable[Sequence[int]],
                cost: int | None = None) -> list[str]:
    """Every broken rule of the routes, re-derived from the instance alone (empty: OK).

    `cost`, if given, is the cost an engine claims; it must equal the recomputed one."""
    routes = [list(r) for r in routes]
    problems: list[str] = []
    n = instance.clients
    seen: dict[int, int] = {}
    for k, route in enumerate(routes, 1):
        for c in route:
            if not isinstance(c, int | np.integer) or not 1 <= c <= n:
                problems.append(f"route {k}: {c!r} is not a client (1..{n})")
            elif c in seen:
                problems.append(f"client {c} is visited twice (routes {seen[c]} and {k})")
            else:
                seen[c] = k
    missed = sorted(set(range(1, n + 1)) - seen.keys())
    if missed:
        shown = ", ".join(map(str, missed[:10])) + (" ..." if len(missed) > 10 else "")
        problems.append(f"{len(missed)} client(s) not visited: {shown}")
    if problems:
        return problems  # schedules of routes with unknown clients mean nothing
    used = [r for r in routes if r]
    if instance.vehicles is not None and len(used) > instance.vehicles:
        problems.append(f"{len(used)} routes, but only {instance.vehicles} vehicles")
    for k, route in enumerate(routes, 1):
        if not route:
            continue
        load = int(instance.demand[route].sum())
        if load > instance.capacity:
            problems.append(f"route {k}: load {load} exceeds the capacity {instance.capacity}")
        depart = int(instance.ready[0])
        back, late = _schedule(instance, route, depart)
        if late is not None:
            problems.append(f"route {k}: client {late} is reached at {back}, after its "
                            f"window closes at {int(instance.due[late])}")
            continue
        if back > instance.due[0]:
            problems.append(f"route {k}: returns at {back}, after the depot closes at "
                            f"{int(instance.due[0])}")
            continue
        if instance.max_route_duration is not None:
            depart = _latest_departure(instance, route)
            back, _ = _schedule(instance, route, depart)
            if back - depart > instance.max_route_duration:
                problems.append(f"route {k}: lasts {back - depart}, more than the maximum "
                                f"{instance.max_route_duration}")
    if cost is not None and cost != (actual := route_cost(instance, routes)):
        problems.append(f"claimed cost {cost} differs from the routes' cost {actual}")
    return problems


def _pyvrp_data(instance: VrptwInstance):  # type: ignore[no-untyped-def]
    """The instance as PyVRP ProblemData (one depot, one vehicle type)."""
    import pyvrp

    m = instance.clients + 1
    xy = instance.coords if instance.coords is not None else np.zeros((m, 2))
    locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in xy]
    clients = [pyvrp.Client(location=i, delivery=[int(instance.demand[i])],
                            service_duration=int(instance.service[i]),
                            tw_early=int(instance.ready[i]), tw_late=int(instance.due[i]))
               for i in range(1, m)]
    depots = [pyvrp.Depot(location=0)]
    fleet = instance.vehicles if instance.vehicles is not None else instance.clients
    shift = {} if instance.max_route_duration is None else {
        "shift_duration": int(instance.max_route_duration)}
    vehicle = pyvrp.VehicleType(num_available=fleet, capacity=[int(instance.capacity)],
                                tw_early=int(instance.ready[0]),
                                tw_late=int(instance.due[0]), **shift)
    return pyvrp.ProblemData(locations=locations, clients=clients, depots=depots,
                             vehicle_types=[vehicle],
                             distance_matrices=[np.asarray(instance.distance)],
                             duration_matrices=[np.asarray(instance.duration)])


def solve_vrptw(instance: VrptwInstance, *, time_limit_s: float, seed: int) -> VrptwResult:
    """Solve with PyVRP for `time_limit_s` seconds; the result is checked independently."""
    if not time_limit_s > 0:
        raise InputError(f"the time limit must be positive, got {time_limit_s}")
    t0 = time.perf_counter()
    if instance.clients == 0:
        return VrptwResult((), 0, 0, True, 0.0, "pyvrp", "feasible")
    import pyvrp
    from pyvrp.exceptions import PenaltyBoundWarning
    from pyvrp.stop import MaxRuntime

    data = _pyvrp_data(instance)
    with warnings.catch_warnings():
        # PyVRP warns when it struggles to find a feasible solution; check_vrptw says
        # exactly what is wrong instead
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        res = pyvrp.solve(data, stop=MaxRuntime(time_limit_s), seed=seed,
                          collect_stats=False, display=False)
    sol = res.best
    # A route lists depot and client activities; a client's `idx` counts PyVRP's clients
    # from 0, and its location is our index (locations are ours, depot first).
    where = [c.location for c in data.clients()]
    routes: Routes = tuple(tuple(int(where[a.idx]) for a in r if a.is_client())
                           for r in sol.routes())
    routes = tuple(r for r in routes if r)
    seconds = time.perf_counter() - t0
    problems = tuple(check_vrptw(instance, routes, cost=int(sol.distance())))
    # "rejected": the engine called it feasible and our check disagrees
    status = ("feasible" if not problems else
              "infeasible" if not sol.is_feasible() else "rejected")
    return VrptwResult(routes, route_cost(instance, routes), len(routes), not problems,
                       seconds, "pyvrp", status, problems)
