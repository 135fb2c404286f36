"""The weekly routes benchmark: lrcplan's week solver against two stock engines.

Every solver gets the same `WeekProblem` (optimizer/week.py) and the same time limit;
every solver's routes are counted by one function, `count_week`, never by the solver.

Instances
---------
* Generated districts (`DISTRICTS`): xiaoshan and huairou at scale 1 and a dense
  xiaoshan at scale 3, seed 1; placement and enrolment run with their defaults, then
  lrcplan's routes stage (`solve_routes`, the time limit of the benchmark) and the two
  baselines on the problem the stage builds (`routes._problem` on `required_streams`).
* A periodic, skills-constrained Solomon variant (`solomon_problem`), for a VRPLIB
  VRPTW file read by optimizer/vrplib.py:

  - every customer (client c = 1..n, the file's node c + 1) is a stream of
    k = 1 + (c mod 2) visits a week on different days, all by the same teacher;
  - the customer needs one skill, number c mod 3 (the categories vision, hearing,
    intellectual); teacher t = 0.. has the two skills t mod 3 and (t + 1) mod 3;
  - teachers = ceil(2 V / 5), V the number of routes of the best-known solution (the
    `.sol` beside the file; its VEHICLES header, else the number of customers, when there
    is none): a week holds 1.5 n visits, 0.3 n a day, against the n a day that V
    vehicles serve, so 0.4 V teachers leave a third of slack for skills and sameness;
  - every teacher starts and ends at the depot and works the 5 days Mon-Fri;
  - the depot's horizon [ready, due] becomes one working day of `DAY_MINUTES` (480)
    minutes from 08:00: every Solomon time t is f t minutes with f = 480 / (due - ready),
    after 08:00; a visit's service is max(1, round(f s)) minutes; it may start in
    [08:00 + floor(f a), 08:00 + ceil(f b)] for the customer's window [a, b] (so the
    stream's window, start to end, is that plus the service), the same every day;
  - travel is the Euclidean distance times f, in minutes (fractional; legs are timed
    rounded up to the minute, as the day router does); the demand and the capacity are
    dropped; no lunch (a lunch of 0 minutes); the balance weight is 0 (travel only).

Solvers
-------
* lrcplan: `solve_routes` (districts) or `solve_week` (Solomon), seed as given.
* OR-Tools: one stock routing model of the whole horizon. A vehicle is a (teacher, day)
  on which the teacher works and some stream may be served, with the teacher's base as
  depot. Every required visit is a node (visit n of a stream visited `per_week` times a
  week may go on the days of its week only). Time dimension: transit = the service at
  the origin + the leg rounded up to the minute; visit starts inside the window less the
  service; start and end inside the teacher's hours; the span (working time) bounded by
  the teacher's maximum. Skills and days by `SetAllowedVehiclesForIndex` (the stream's
  able teachers' vehicles on its allowed days). A disjunction per node with a penalty
  larger than any day's travel (unserved visits are allowed). Arc cost: travel in
  hundredths of a minute. PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH, the same time limit,
  one thread. "Different days" and "same teacher all week" are not in the model.
* VROOM (pyvroom, exploration level 5, one thread, the time limit as timeout): each
  stream's visit days are fixed first by a simple rule -- visit k (0-based) of m visits
  over the stream's n allowed days of a week (the days any able teacher may serve it)
  goes to allowed day (ceil(k n / m) + i) mod n, i the stream's index (Mon/Thu for 2 a
  week of 5 days, rotated so the streams spread over the week). Vehicles are
  (teacher, day) with their base as start and end and the time window [start,
  min(end, start + maximum working minutes)] (VROOM has no working-time limit); a job
  needs skill "stream i" and skill "day h", a vehicle (teacher j, day h) has "day h" and
  "stream i" for every stream j may serve. "Same teacher" is not in the model.
* Lunch is ignored by both baselines (it favours them: lrcplan keeps lunch in districts).

Counting (`count_week`, the same for all three)
-----------------------------------------------
Given routes {(teacher, day): [stream, ...]}:

1. a visit by a teacher not able to serve the stream, or on a day not allowed, is
   dropped (`not_allowed`);
2. the stream's teacher is the one serving most of its visits (ties: the lower index);
   its other visits are dropped as `other_teacher`, the teacher's second and later
   visits of a day (route order) as `same_day`, and visits beyond `per_week` a week (or
   `total` in the horizon; the earlier days are kept) as `excess` -- each dropped visit
   is counted once, under the first of these reasons that applies (a stream served by
   two teachers on one day counts under `other_teacher`);
3. each repaired route is re-timed without lunch (legs rounded up to the minute, the
   least working time by a backward pass); while it breaks a window, the hours or the
   working-time limit its last visit is dropped (`late`);
4. served = the visits kept; travel = the sum of the repaired routes' legs (minutes,
   base to visits to base, from the problem's matrix).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np

from lrcplan.models.entities import Category, Role, Teacher
from lrcplan.models.visits import ITINERANT, Horizon, Stream
from lrcplan.optimizer.dayroute import DayRules, DayVisit, route_day
from lrcplan.optimizer.week import WeekProblem, solve_week

DISTRICTS: tuple[tuple[str, str, float], ...] = (
    ("xiaoshan", "xiaoshan", 1.0), ("huairou", "huairou", 1.0),
    ("xiaoshan-x3", "xiaoshan", 3.0))
DISTRICT_SEED = 1
SOLVERS = ("lrcplan", "ortools", "vroom")
DAY_START = 8 * 60
DAY_MINUTES = 480
WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri")
SKILLS = (Category.VISION, Category.HEARING, Category.INTELLECTUAL)
TRAVEL_TARGET = 0.95  # lrcplan's travel at most 95 % of the better baseline's
PENALTY = 10**9  # an unserved visit, in hundredths of a minute of travel
Routes = dict[tuple[int, int], list[int]]  # (teacher, day) -> streams in route order


# ------------------------------------------------------------------ counting
@dataclass
class Counted:
    """A solver's routes after the common repair (see the module docstring)."""

    served: int
    travel: float
    not_allowed: int = 0
    same_day: int = 0
    other_teacher: int = 0
    excess: int = 0
    late: int = 0
    routes: Routes = field(default_factory=dict)

    @property
    def violations(self) -> int:
        """Visits the repair had to drop or found out of place."""
        return self.not_allowed + self.same_day + self.other_teacher + self.excess + \
            self.late


def _legs(p: WeekProblem, j: int, order: Sequence[int]) -> list[int]:
    nodes = [p.base_node[j]] + [p.site_node[i] for i in order] + [p.base_node[j]]
    return [math.ceil(float(p.travel[a, b]) - 1e-9) for a, b in pairwise(nodes)]


def day_ok(p: WeekProblem, j: int, order: Sequence[int]) -> bool:
    """Whether teacher j can serve these streams in this order in one day (no lunch)."""
    if not order:
        return True
    r, legs = p.rules[j], _legs(p, j, order)
    clock, begins = r.start, []
    for k, i in enumerate(order):
        s = p.streams[i]
        begin = max(clock + legs[k], s.window[0])
        if begin + s.minutes > min(s.window[1], r.end):
            return False
        begins.append(begin)
        clock = begin + s.minutes
    back = clock + legs[-1]
    if back > r.end:
        return False
    latest = back - legs[-1]  # the latest the last visit may end without a later return
    for k in range(len(order) - 1, -1, -1):
        s = p.streams[order[k]]
        latest_begin = min(s.window[1], latest) - s.minutes
        latest = latest_begin - legs[k]
    return back - latest <= r.max_minutes  # `latest`: the latest departure from the base


def route_travel(p: WeekProblem, j: int, order: Sequence[int]) -> float:
    """Minutes on the road of a teacher-day, base to base (0 for an empty day)."""
    if not order:
        return 0.0
    nodes = [p.base_node[j]] + [p.site_node[i] for i in order] + [p.base_node[j]]
    return float(sum(p.travel[a, b] for a, b in pairwise(nodes)))


def _cap(p: WeekProblem, s: Stream, h: int, kept: list[int]) -> bool:
    if s.per_week:
        week = p.hz.label(h)[0]
        return sum(1 for d in kept if p.hz.label(d)[0] == week) < s.per_week
    return len(kept) < s.total


def count_week(p: WeekProblem, routes: Routes) -> Counted:
    """Served visits and travel of any solver's routes, repaired the same way."""
    out = Counted(0, 0.0)
    seen: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # stream -> (j, h, pos)
    for (j, h), order in sorted(routes.items()):
        for pos, i in enumerate(order):
            if j not in p.able.get(i, []) or h not in p.days_of.get((i, j), []):
                out.not_allowed += 1
                continue
            seen[i].append((j, h, pos))
    keep: set[tuple[int, int, int]] = set()
    for i, got in seen.items():
        s = p.streams[i]
        per_teacher: dict[int, int] = defaultdict(int)
        for j, _, _ in got:
            per_teacher[j] += 1
        teacher = min(per_teacher, key=lambda j: (-per_teacher[j], j))
        days: list[int] = []
        for j, h, _ in sorted(got, key=lambda v: (v[1], v[2])):
            if j != teacher:
                out.other_teacher += 1
                continue
            if h in days:
                out.same_day += 1
                continue
            if not _cap(p, s, h, days):
                out.excess += 1
                continue
            days.append(h)
            keep.add((i, j, h))
    # a stream visited twice in one route keeps its first visit there
    for (j, h), order in sorted(routes.items()):
        kept, done = [], set()
        for i in order:
            if (i, j, h) in keep and i not in done:
                kept.append(i)
                done.add(i)
        while kept and not day_ok(p, j, kept):
            kept.pop()
            out.late += 1
        if kept:
            out.routes[(j, h)] = kept
            out.served += len(kept)
            out.travel += route_travel(p, j, kept)
    out.travel = round(out.travel, 1)
    return out


def required(p: WeekProblem) -> int:
    """Visits the problem requires (served or not)."""
    return sum(s.total for s in p.streams)


# ------------------------------------------------------------------ lrcplan
def lrcplan_week(p: WeekProblem, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    """lrcplan's week solver on a WeekProblem: routes and a status word."""
    plan, _, cut = solve_week(p, time_limit_s, seed)
    routes = {k: [e.visit for e in r.events if e.visit >= 0] for k, r in plan.routes.items()}
    return routes, "feasible (time limit)" if cut else "feasible (local optimum)"


def routes_of_result(p: WeekProblem, result: object) -> Routes:
    """Routes of a RoutesResult (routes.csv stops) in the problem's indices."""
    stream_of = {s.key: i for i, s in enumerate(p.streams)}
    teacher_of = {t.id: j for j, t in enumerate(p.teachers)}
    out: Routes = {}
    for (tid, week, day), stops in result.days.items():  # type: ignore[attr-defined]
        order = [stream_of[s.visit_id.rsplit(":", 1)[0]] for s in stops if s.visit_id]
        if order:
            out[(teacher_of[tid], p.hz.index(week, day))] = order
    return out


# ------------------------------------------------------------------ baselines
def _vehicles(p: WeekProblem) -> list[tuple[int, int]]:
    """(teacher, day) pairs on which some stream may be served."""
    return sorted({(j, h) for (i, j), days in p.days_of.items() for h in days})


def _visit_days(p: WeekProblem, i: int, n: int) -> list[int]:
    """The days visit n (1-based) of stream i may take, by any able teacher."""
    s = p.streams[i]
    days = sorted({h for j in p.able[i] for h in p.days_of[(i, j)]})
    week = s.week_of(n)
    return [h for h in days if week is None or p.hz.label(h)[0] == week]


def _allow(model, allowed: list[int], index: int) -> None:  # type: ignore[no-untyped-def]
    """`SetAllowedVehiclesForIndex`; where the SWIG binding rejects Python lists (OR-Tools
    9.15: 'absl::Span< int const >'), the same domain on the node's vehicle variable."""
    try:
        model.SetAllowedVehiclesForIndex(allowed, index)
    except TypeError:
        model.VehicleVar(index).SetValues([-1, *allowed])  # -1: not performed


def ortools_week(p: WeekProblem, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    """Stock OR-Tools routing of the whole horizon (see the module docstring)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    vehicles = _vehicles(p)
    visits = [(i, n) for i, s in enumerate(p.streams) if p.able[i]
              for n in range(1, s.total + 1)]
    if not vehicles or not visits:
        return {}, "nothing to route"
    bases = sorted({p.base_node[j] for j, _ in vehicles})
    where = bases + [p.site_node[i] for i, _ in visits]  # manager node -> travel node
    nb = len(bases)
    t = p.travel[np.ix_(where, where)]
    cost = np.rint(t * 100).astype(np.int64)
    service = np.array([0] * nb + [p.streams[i].minutes for i, _ in visits], np.int64)
    legs = np.ceil(t - 1e-9).astype(np.int64) + service[:, None]
    np.fill_diagonal(legs, 0)
    starts = [bases.index(p.base_node[j]) for j, _ in vehicles]
    manager = pywrapcp.RoutingIndexManager(len(where), len(vehicles), starts, starts)
    model = pywrapcp.RoutingModel(manager)
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(cost.tolist()))
    day_end = max(r.end for r in p.rules)
    model.AddDimension(model.RegisterTransitMatrix(legs.tolist()), day_end, day_end, False,
                       "time")
    tdim = model.GetDimensionOrDie("time")
    for v, (j, _) in enumerate(vehicles):
        r = p.rules[j]
        for index in (model.Start(v), model.End(v)):
            tdim.CumulVar(index).SetRange(r.start, r.end)
        tdim.SetSpanUpperBoundForVehicle(r.max_minutes, v)
    vehicle_of = {jh: v for v, jh in enumerate(vehicles)}
    for k, (i, n) in enumerate(visits):
        s = p.streams[i]
        index = manager.NodeToIndex(nb + k)
        tdim.CumulVar(index).SetRange(s.window[0], max(s.window[0], s.window[1] - s.minutes))
        allowed = [vehicle_of[(j, h)] for j in p.able[i] for h in _visit_days(p, i, n)
                   if h in p.days_of[(i, j)]]
        _allow(model, allowed, index)
        model.AddDisjunction([index], PENALTY)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    del seed  # the routing solver has no seed (its time limit is wall time)
    built = time.perf_counter() - t0
    solution = model.SolveWithParameters(params)
    name = routing_enums_pb2.RoutingSearchStatus.Value.Name(model.status())
    status = f"model built in {built:.1f} s, {name.removeprefix('ROUTING_').lower()}"
    if solution is None:
        return {}, f"no solution in the time limit ({status})"
    routes: Routes = {}
    for v, jh in enumerate(vehicles):
        index, order = solution.Value(model.NextVar(model.Start(v))), []
        while not model.IsEnd(index):
            order.append(visits[manager.IndexToNode(index) - nb][0])
            index = solution.Value(model.NextVar(index))
        if order:
            routes[jh] = order
    return routes, f"solution ({status})"


def fixed_days(p: WeekProblem, i: int) -> list[int]:
    """The days VROOM gets for stream i: its visits spread evenly (module docstring)."""
    s = p.streams[i]
    allowed = sorted({h for j in p.able[i] for h in p.days_of[(i, j)]})
    groups = ([[h for h in allowed if p.hz.label(h)[0] == w] for w in range(1, p.hz.weeks + 1)]
              if s.per_week else [allowed])
    want = s.per_week if s.per_week else s.total
    out = []
    for days in groups:
        n, m = len(days), min(want, len(days))
        out += sorted(days[(math.ceil(k * n / m) + i) % n] for k in range(m)) if m else []
    return out


def vroom_week(p: WeekProblem, time_limit_s: float, seed: int) -> tuple[Routes, str]:
    """VROOM on fixed visit days, one solve over every (teacher, day) (module docstring)."""
    try:
        import vroom
    except ImportError:  # a dev extra: pip install -e '.[dev]'
        return {}, "pyvroom is not installed"

    del seed  # VROOM takes no seed
    vehicles = _vehicles(p)
    jobs = [(i, h) for i in range(len(p.streams)) if p.able[i] for h in fixed_days(p, i)]
    if not vehicles or not jobs:
        return {}, "nothing to route"
    n_streams = len(p.streams)
    serves: dict[int, set[int]] = defaultdict(set)
    for i, js in p.able.items():
        for j in js:
            serves[j].add(i)
    problem = vroom.Input()
    problem.set_durations_matrix("car", np.ceil(p.travel - 1e-9).astype(np.int64))
    problem.set_costs_matrix("car", np.rint(p.travel * 100).astype(np.int64))
    for v, (j, h) in enumerate(vehicles):
        r = p.rules[j]
        problem.add_vehicle(vroom.Vehicle(
            v, start=p.base_node[j], end=p.base_node[j],
            skills={n_streams + h} | serves[j],
            time_window=vroom.TimeWindow(r.start, min(r.end, r.start + r.max_minutes))))
    for k, (i, h) in enumerate(jobs):
        s = p.streams[i]
        problem.add_job(vroom.Job(
            k, location=p.site_node[i], default_service=s.minutes, skills={i, n_streams + h},
            time_windows=[vroom.TimeWindow(s.window[0],
                                           max(s.window[0], s.window[1] - s.minutes))]))
    sol = problem.solve(exploration_level=5, nb_threads=1,
                        timeout=timedelta(seconds=max(0.001, time_limit_s)))
    routes: Routes = {}
    df = sol.routes
    for vehicle, kind, job in zip(df["vehicle_id"], df["type"], df["id"], strict=True):
        if str(kind) == "job":
            routes.setdefault(vehicles[int(vehicle)], []).append(jobs[int(job)][0])
    return routes, "solution"


# ------------------------------------------------------------------ instances
def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def solomon_problem(path: str | Path) -> tuple[WeekProblem, dict[str, int]]:
    """The periodic, skills-constrained week of a VRPLIB VRPTW file (module docstring)."""
    from lrcplan.optimizer.vrplib import best_known_for, read_vrptw

    inst = read_vrptw(path)
    best = best_known_for(path)
    n = inst.clients
    v_best = len(best.routes) if best and best.routes else (inst.vehicles or n)
    n_teachers = max(1, math.ceil(2 * v_best / 5))
    sc = inst.scale
    ready0, due0 = inst.ready[0] / sc, inst.due[0] / sc
    f = DAY_MINUTES / max(1e-9, due0 - ready0)
    coords = (np.asarray(inst.coords, float) if inst.coords is not None
              else np.zeros((n + 1, 2)))
    diff = coords[:, None, :] - coords[None, :, :]
    travel = np.sqrt((diff ** 2).sum(axis=2)) * f
    streams = []
    for c in range(1, n + 1):
        k = 1 + c % 2
        minutes = max(1, round(f * inst.service[c] / sc))
        lo = DAY_START + math.floor(f * (inst.ready[c] / sc - ready0))
        hi = DAY_START + math.ceil(f * (inst.due[c] / sc - ready0)) + minutes
        streams.append(Stream(f"C{c:03d}", ITINERANT, f"C{c:03d}", float(coords[c, 0]),
                              float(coords[c, 1]), minutes, frozenset({SKILLS[c % 3]}),
                              tuple(range(len(WEEK))), (lo, hi), k, k))
    day_end = DAY_START + DAY_MINUTES
    teachers = [Teacher(f"T{t + 1:02d}", Role.ITINERANT, "DEPOT",
                        frozenset({SKILLS[t % 3], SKILLS[(t + 1) % 3]}), WEEK,
                        _hhmm(DAY_START), _hhmm(day_end), DAY_MINUTES)
                for t in range(n_teachers)]
    rules = [DayRules(DAY_START, day_end, DAY_MINUTES, (DAY_START, DAY_START), 0)
             for _ in teachers]
    hz = Horizon(1, WEEK)
    able: dict[int, list[int]] = {}
    days_of: dict[tuple[int, int], list[int]] = {}
    why: dict[int, str] = {}
    for i, s in enumerate(streams):
        able[i] = []
        for j, t in enumerate(teachers):
            if s.skills <= t.skills and route_day([DayVisit(1, s.minutes, s.window)],
                                                  travel[np.ix_([0, i + 1], [0, i + 1])]
                                                  .tolist(), rules[j]):
                able[i].append(j)
                days_of[(i, j)] = list(range(len(WEEK)))
        if not able[i]:
            why[i] = "the window cannot be reached within the day of any skilled teacher"
    p = WeekProblem(hz, streams, teachers, travel, [0] * n_teachers,
                    list(range(1, n + 1)), able, days_of, rules, why, 0.0)
    return p, {"customers": n, "streams": n, "visits": sum(s.total for s in streams),
               "teachers": n_teachers, "best_known_vehicles": v_best}


def district_problem(preset: str, scale: float, seed: int = DISTRICT_SEED):  # type: ignore[no-untyped-def]
    """(scenario, placement, enrolment, WeekProblem) of a generated district."""
    from lrcplan.models.enrolment import EnrolmentOptions
    from lrcplan.models.placement import PlacementOptions
    from lrcplan.models.visits import required_streams
    from lrcplan.optimizer.enrolment import solve_enrolment
    from lrcplan.optimizer.placement import solve_placement
    from lrcplan.optimizer.routes import _problem
    from lrcplan.scenarios.generator import generate

    sc = generate(preset, seed=seed, scale=scale)
    placement = solve_placement(sc, PlacementOptions())
    enrolment = solve_enrolment(sc, placement, EnrolmentOptions())
    seats = [(s.student_id, s.school_id) for s in enrolment.lrc_seats]
    hz, streams = required_streams(sc, placement.tier_of(), seats)
    return sc, placement, enrolment, _problem(sc, hz, streams)


# ------------------------------------------------------------------ runs
@dataclass
class WeekRow:
    """One solver on one instance, as counted by `count_week`."""

    instance: str
    solver: str
    required: int
    served: int
    travel: float
    seconds: float
    status: str
    not_allowed: int = 0
    same_day: int = 0
    other_teacher: int = 0
    excess: int = 0
    late: int = 0

    @property
    def coverage(self) -> float:
        """Percent of the required visits served."""
        return 100.0 * self.served / self.required if self.required else 100.0

    def record(self) -> dict[str, object]:
        """A JSON-ready record."""
        return {**asdict(self), "coverage_pct": round(self.coverage, 2)}


Solver = Callable[[WeekProblem, float, int], tuple[Routes, str]]
BASELINES: dict[str, Solver] = {"ortools": ortools_week, "vroom": vroom_week}


def _row(instance: str, solver: str, p: WeekProblem, routes: Routes, seconds: float,
         status: str) -> WeekRow:
    c = count_week(p, routes)
    return WeekRow(instance, solver, required(p), c.served, c.travel, round(seconds, 2),
                   status, c.not_allowed, c.same_day, c.other_teacher, c.excess, c.late)


def run_problem(instance: str, p: WeekProblem, time_limit_s: float, seed: int,
                lrcplan: Callable[[], tuple[Routes, str]] | None = None,
                on_row: Callable[[WeekRow], None] | None = None) -> list[WeekRow]:
    """lrcplan (its week solver, or the given call) and both baselines on one problem."""
    rows = []
    calls: list[tuple[str, Callable[[], tuple[Routes, str]]]] = [
        ("lrcplan", lrcplan or (lambda: lrcplan_week(p, time_limit_s, seed)))]
    calls += [(name, lambda f=f: f(p, time_limit_s, seed)) for name, f in BASELINES.items()]
    for name, call in calls:
        t0 = time.perf_counter()
        routes, status = call()
        rows.append(_row(instance, name, p, routes, time.perf_counter() - t0, status))
        if on_row is not None:
            on_row(rows[-1])
    return rows


def run_district(label: str, preset: str, scale: float, time_limit_s: float, seed: int,
                 on_row: Callable[[WeekRow], None] | None = None) -> list[WeekRow]:
    """A generated district: lrcplan's routes stage, then the baselines."""
    from lrcplan.models.routes import RoutesOptions
    from lrcplan.optimizer.routes import solve_routes

    sc, placement, enrolment, p = district_problem(preset, scale)

    def stage() -> tuple[Routes, str]:
        res = solve_routes(sc, placement, enrolment, RoutesOptions(time_limit_s, seed))
        return routes_of_result(p, res), res.summary.status.value

    return run_problem(label, p, time_limit_s, seed, stage, on_row)


def run_solomon(path: str | Path, time_limit_s: float, seed: int,
                on_row: Callable[[WeekRow], None] | None = None) -> list[WeekRow]:
    """The Solomon variant of one file (named by its stem)."""
    p, _ = solomon_problem(path)
    return run_problem(f"{Path(path).stem}-week", p, time_limit_s, seed, None, on_row)


# ------------------------------------------------------------------ reports
HEADER = (f"{'instance':<14} {'solver':<8} {'served/required':>15} {'coverage':>9} "
          f"{'travel min':>11} {'min/visit':>9} {'seconds':>8}  status / repairs")


def line(r: WeekRow) -> str:
    """One table row."""
    per = r.travel / r.served if r.served else 0.0
    fixes = [f"{k.replace('_', ' ')} {getattr(r, k)}" for k in
             ("not_allowed", "same_day", "other_teacher", "excess", "late") if getattr(r, k)]
    return (f"{r.instance:<14} {r.solver:<8} {f'{r.served}/{r.required}':>15} "
            f"{r.coverage:8.1f}% {r.travel:11.1f} {per:9.2f} {r.seconds:8.1f}  "
            f"{r.status}{'; ' + ', '.join(fixes) if fixes else ''}")


def _better_baseline(rows: list[WeekRow]) -> WeekRow | None:
    base = [r for r in rows if r.solver != "lrcplan"]
    return min(base, key=lambda r: (-r.served, r.travel)) if base else None


def verdicts(rows: list[WeekRow]) -> list[str]:
    """The issue's two targets, per instance and overall."""
    by: dict[str, list[WeekRow]] = defaultdict(list)
    for r in rows:
        by[r.instance].append(r)
    full, travel_met, out = 0, 0, []
    for name, rs in by.items():
        lrc = next((r for r in rs if r.solver == "lrcplan"), None)
        best = _better_baseline(rs)
        if lrc is None or best is None:
            continue
        full += lrc.served == lrc.required
        if lrc.served < best.served:
            verdict = (f"NOT MET: {best.solver} serves more ({best.served} vs {lrc.served}, "
                       f"without lunch)")
        elif best.travel <= 0:
            verdict = "not comparable: the better baseline has no travel"
        else:
            ratio = lrc.travel / best.travel
            per = (lrc.travel / lrc.served) / (best.travel / best.served)
            ok = ratio <= TRAVEL_TARGET
            travel_met += ok
            verdict = (f"{'met' if ok else 'NOT MET'}: travel {100 * (ratio - 1):+.1f} % "
                       f"vs {best.solver} serving {lrc.served - best.served} visits more "
                       f"(per served visit {100 * (per - 1):+.1f} %)")
        out.append(f"{name}: coverage {lrc.coverage:.1f} % "
                   f"({'100 %' if lrc.served == lrc.required else 'below 100 %'}); "
                   f"travel target (<= {100 * TRAVEL_TARGET:.0f} % of the better baseline, "
                   f"at least as many visits served) {verdict}")
    n = len(out)
    out.append(f"VERDICT coverage 100 %: {full} of {n} instances")
    out.append(f"VERDICT travel >= 5 % below the better baseline: {travel_met} of {n} instances")
    return out


def bench_week(time_limit_s: float, seed: int, solomon: Sequence[str | Path] = (),
               districts: bool = True, on_row: Callable[[WeekRow], None] | None = None
               ) -> list[WeekRow]:
    """Every district (if asked) and every Solomon file, each with the three solvers."""
    rows: list[WeekRow] = []
    if districts:
        for label, preset, scale in DISTRICTS:
            rows += run_district(label, preset, scale, time_limit_s, seed, on_row)
    for path in solomon:
        rows += run_solomon(path, time_limit_s, seed, on_row)
    return rows


def cli_week(time_limit_s: float, seed: int, solomon: Sequence[Path], districts: bool,
             json_path: Path | None) -> int:
    """`lrcplan bench week`: the table, the verdicts; 1 if lrcplan's plan needed a repair."""
    import json

    print(HEADER, flush=True)
    rows = bench_week(time_limit_s, seed, solomon, districts or not solomon,
                      on_row=lambda r: print(line(r), flush=True))
    print()
    print("\n".join(verdicts(rows)))
    if json_path is not None:
        json_path.write_text(json.dumps([r.record() for r in rows], indent=1) + "\n",
                             encoding="utf-8")
    bad = [r for r in rows if r.solver == "lrcplan" and (r.not_allowed or r.same_day or
                                                        r.other_teacher or r.excess or r.late)]
    return 1 if bad else 0
