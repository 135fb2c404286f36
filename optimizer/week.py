"""The weekly problem, engine-neutral: streams of visits, teachers, a travel matrix.

`solve_week` plans it in steps (see optimizer/routes.py for why): CP-SAT patterns of
(teacher, days) per stream on estimated day loads (skipped on models too large for it),
each teacher-day routed exactly (optimizer/dayroute.py), first-fit for the streams left
out, then a local search: a stream's days or teacher moved, ejections, day swaps between
two streams of a teacher; from its local optimum, rounds of ruin and recreate (a stream
and its nearest neighbours taken out and put back). The search ends on a work budget
(`WORK_PER_SECOND` times the time limit), so a seed gives the same plan on any machine.
The routes stage builds a `WeekProblem` from a scenario; the weekly benchmark builds one
from other instances.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from ortools.sat.python import cp_model

from lrcplan.models.entities import Teacher
from lrcplan.models.visits import Horizon, Stream
from lrcplan.optimizer import dayroute
from lrcplan.optimizer.dayroute import DayRoute, DayRules, DayVisit, route_day

BIG = 1_000_000  # a served visit outweighs any travel (minutes) a plan can have
MAX_PASSES = 50  # the search stops earlier, when a whole pass improves nothing
# A visit's share of its day's travel, as a multiple of the way in from the base:
# measured on xiaoshan (seed 1): 1.0 over-fills days that routing must shed (684 visits
# kept of 809 planned), 1.6 keeps 700 and the search ends at 793, 2.0 starves CP-SAT.
REACH_FACTOR = 1.6
# Above this many (stream, teacher, day) variables CP-SAT found no pattern plan within 15
# deterministic units (xiaoshan x3: about 50,000); below it (xiaoshan: 16,754; with its
# teachers doubled about 33,500) it helps.
PATTERN_VARIABLES_MAX = 40_000
RUIN_ROUNDS_PER_STREAM = 20  # ruin-and-recreate rounds after the local optimum
PATTERN_SHARE = 0.25  # of the time limit, for CP-SAT's patterns (deterministic units)
# Work the search may do per second of its time limit (`_Router.work`: the labels the day
# router extends, dayroute.EXTENDED, and per move tried MOVE_WORK plus one per 16
# teacher-days, for copying and scoring the plan). Measured on the 2-core development
# machine, per second of search: 570,000 on C201-week (long days), 660,000 on R101-week,
# 670,000 on xiaoshan, 770,000 on R201-week, 890,000 on C101-week. Below all of them, the
# work, not the clock, ends the search, so the plan does not depend on the machine's speed
# or load (the deadline stays as a safety net, and the result says when it acted).
WORK_PER_SECOND = 450_000
MOVE_WORK = 5


@dataclass
class WeekProblem:
    """Streams, teachers, travel and who may serve what, in solver indices."""

    hz: Horizon
    streams: list[Stream]
    teachers: list[Teacher]
    travel: np.ndarray  # minutes between places: teacher bases first, then stream sites
    base_node: list[int]  # per teacher
    site_node: list[int]  # per stream
    able: dict[int, list[int]]  # stream -> teachers who may serve it
    days_of: dict[tuple[int, int], list[int]]  # (stream, teacher) -> possible days
    rules: list[DayRules]  # per teacher
    why: dict[int, str]  # stream -> why nobody can serve it
    balance: float  # weight of the longest teacher-day against travel minutes
    # Soft continuity: relief stream -> its main stream. A relief stream holds the visits
    # of its main stream's place that another teacher makes (never on the main stream's
    # days, their count together within the main stream's), each costing `change` minutes.
    relief: dict[int, int] = field(default_factory=dict)
    change: float = 0.0

    def split_ok(self, i: int) -> bool:
        """Whether stream i's visits may be shared among teachers (soft continuity)."""
        return i in self.relief.values()

    def linked(self, i: int) -> int | None:
        """The stream sharing stream i's visits (its relief, or its main), if any."""
        if i in self.relief:
            return self.relief[i]
        return self._main_of.get(i)

    @cached_property
    def _main_of(self) -> dict[int, int]:
        return {m: r for r, m in self.relief.items()}


def _day_matrix(p: WeekProblem, j: int, streams: list[int]) -> list[list[float]]:
    nodes = [p.base_node[j]] + [p.site_node[i] for i in streams]
    return p.travel[np.ix_(nodes, nodes)].tolist()


# ------------------------------------------------------------------ 1. patterns
def _patterns(p: WeekProblem, budget_s: float, seed: int, deadline: float
              ) -> tuple[dict[int, tuple[int, list[int]]], float]:
    """Stream -> (teacher, days) from CP-SAT on estimated day loads (empty if none), and
    the deterministic time CP-SAT spent."""
    if sum(len(d) for d in p.days_of.values()) > PATTERN_VARIABLES_MAX:
        return {}, 0.0  # measured: no solution in time; first-fit and the search do better
    m = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    load: dict[tuple[int, int], list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    cost = []
    for i, s in enumerate(p.streams):
        if i in p.relief:
            continue  # relief visits are the search's to place, where a main has no room
        ys = []
        for j in p.able[i]:
            y = m.new_bool_var(f"y{i}_{j}")
            ys.append(y)
            reach = int(round(REACH_FACTOR * p.travel[p.base_node[j], p.site_node[i]]))
            for h in p.days_of[(i, j)]:
                v = m.new_bool_var(f"x{i}_{j}_{h}")
                m.add_implication(v, y)
                x[(i, j, h)] = v
                load[(j, h)].append((v, s.minutes + reach))
                cost.append(BIG * v - reach * v)
        if len(ys) > 1:
            m.add_at_most_one(ys)
        for h in range(p.hz.size):
            same_day = [x[(i, j, h)] for j in p.able[i] if (i, j, h) in x]
            if len(same_day) > 1:
                m.add_at_most_one(same_day)
        if s.per_week:
            for w in range(1, p.hz.weeks + 1):
                m.add(sum(x[(i, j, h)] for j in p.able[i] for h in p.hz.in_week(w)
                          if (i, j, h) in x) <= s.per_week)
        else:
            m.add(sum(v for (a, _, _), v in x.items() if a == i) <= s.total)
    for (j, _), terms in load.items():
        r = p.rules[j]
        # The day's time less lunch; the legs counted above are each visit's way in from
        # the base, an estimate the exact routing of the day then corrects.
        cap = min(r.max_minutes, r.end - r.start) - r.lunch_minutes
        m.add(sum(v * w for v, w in terms) <= cap)
    m.maximize(sum(cost))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # with a deterministic limit: the same plan every run
    # Deterministic units grow with the model (measured: the demo's 600 pattern variables
    # gain nothing past 0.5; xiaoshan's 16,754 find no solution in 1, 764 visits with 3
    # and 771 with 5 after the search).
    solver.parameters.max_deterministic_time = min(budget_s, max(0.5, len(x) / 3000))
    # A slow machine: stop at the deadline anyway (the plan then depends on its speed).
    solver.parameters.max_time_in_seconds = max(0.1, deadline - time.perf_counter())
    solver.parameters.random_seed = seed
    status = solver.solve(m)
    out: dict[int, tuple[int, list[int]]] = {}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return out, solver.deterministic_time
    for (i, j, h), v in x.items():
        if solver.value(v):
            out.setdefault(i, (j, []))[1].append(h)
    return out, solver.deterministic_time


# ------------------------------------------------------------------ 2. routes
@dataclass
class WeekPlan:
    """The current assignment: stream -> (teacher, days), and the routed teacher-days."""

    assign: dict[int, tuple[int, list[int]]]
    routes: dict[tuple[int, int], DayRoute]  # (teacher, day) -> route
    members: dict[tuple[int, int], list[int]]  # (teacher, day) -> streams, route order

    def served(self) -> int:
        """Visits served."""
        return sum(len(d) for _, d in self.assign.values())

    def score(self, p: WeekProblem) -> tuple[int, float]:
        """(-visits, travel + balance x longest day + teacher changes): smaller is
        better."""
        travel = sum(r.travel for r in self.routes.values())
        longest = max((r.back - r.depart for r in self.routes.values()), default=0)
        changes = p.change * sum(len(self.assign[i][1]) for i in p.relief if i in self.assign)
        return -self.served(), round(travel + p.balance * longest + changes, 6)


class _Router:
    """Routes teacher-days, remembering each (teacher, set of streams) already routed."""

    def __init__(self, p: WeekProblem) -> None:
        self.p = p
        self.memo: dict[tuple[int, frozenset[int]], DayRoute | None] = {}
        self.work = 0  # days routed (not remembered) by their visits squared, and copies

    def day(self, j: int, streams: list[int]) -> DayRoute | None:
        """The least-travel route of these streams' visits for teacher j, or None."""
        key = (j, frozenset(streams))
        if key not in self.memo:
            order = sorted(streams)
            visits = [DayVisit(k + 1, self.p.streams[i].minutes, self.p.streams[i].window)
                      for k, i in enumerate(order)]
            before = dayroute.EXTENDED[0]
            r = route_day(visits, _day_matrix(self.p, j, order), self.p.rules[j])
            self.work += dayroute.EXTENDED[0] - before
            # Event.visit indexes `order`: map it back to stream numbers.
            self.memo[key] = None if r is None else _relabel(r, order)
        return self.memo[key]


class Budget:
    """When the search stops: its work budget, counted in days routed, so that the plan
    is the same on any machine; the wall-time deadline is only a safety net (a machine
    much slower than the one the work rate was measured on), and says when it acted."""

    def __init__(self, router: _Router, seconds: float, deadline: float) -> None:
        self.router = router
        self.work = WORK_PER_SECOND * seconds
        self.deadline = deadline
        self.wall = False  # True once the deadline, not the work, stopped the search

    def out(self) -> bool:
        """True once the work is done or the deadline has passed."""
        if self.router.work >= self.work:
            return True
        if time.perf_counter() > self.deadline:
            self.wall = True
        return self.wall


def _relabel(r: DayRoute, order: list[int]) -> DayRoute:
    return replace(r, events=tuple(replace(e, visit=order[e.visit]) if e.visit >= 0 else e
                                   for e in r.events))


def _route_all(p: WeekProblem, router: _Router, assign: dict[int, tuple[int, list[int]]]
               ) -> WeekPlan:
    """Route every teacher-day; a day that does not fit sheds visits until it does."""
    days: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (j, hs) in assign.items():
        for h in hs:
            days[(j, h)].append(i)
    assign = {i: (j, list(hs)) for i, (j, hs) in assign.items()}
    routes: dict[tuple[int, int], DayRoute] = {}
    for key in sorted(days):
        j, h = key
        members = sorted(days[key])
        route = router.day(j, members)
        while route is None and members:
            # Shed the visit whose absence leaves the shortest day (deterministic ties).
            trials = [(router.day(j, [m for m in members if m != i]), i) for i in members]
            fits = [(r.back - r.depart, i) for r, i in trials if r is not None]
            drop = min(fits)[1] if fits else max(members, key=lambda i: (
                p.streams[i].minutes, i))
            members.remove(drop)
            assign[drop][1].remove(h)
            route = router.day(j, members)
        if members and route is not None:
            routes[key] = route
            days[key] = members
    assign = {i: v for i, v in assign.items() if v[1]}
    return WeekPlan(assign, routes, {k: v for k, v in days.items() if k in routes})


# ------------------------------------------------------------------ 3. improvement
def _candidates(p: WeekProblem, i: int, plan: WeekPlan) -> list[tuple[int, list[int]]]:
    """Alternative (teacher, days) for stream i: one day moved, or another teacher."""
    s = p.streams[i]
    out = []
    cur = plan.assign.get(i)
    for j in p.able[i]:
        free = p.days_of[(i, j)]
        want = s.total if not s.per_week else s.per_week * p.hz.weeks
        if cur is None or cur[0] != j:
            out.append((j, _spread(p, s, free, want)))
            if cur is None:  # a stream left out: a single visit is a start
                out += [(j, [h]) for h in free]
        else:
            for old in cur[1]:
                for new in free:
                    if new not in cur[1]:
                        days = sorted([d for d in cur[1] if d != old] + [new])
                        if _pattern_ok(p, s, days):
                            out.append((j, days))
            if len(cur[1]) < want:
                for new in free:
                    if new not in cur[1] and _pattern_ok(p, s, sorted([*cur[1], new])):
                        out.append((j, sorted([*cur[1], new])))
    return out


def _pattern_ok(p: WeekProblem, s: Stream, days: list[int]) -> bool:
    if len(set(days)) != len(days):
        return False
    if s.per_week:
        return all(sum(1 for h in days if h in p.hz.in_week(w)) <= s.per_week
                   for w in range(1, p.hz.weeks + 1))
    return len(days) <= s.total


def _spread(p: WeekProblem, s: Stream, free: list[int], want: int) -> list[int]:
    """`want` days spread over the free ones, respecting the per-week count."""
    chosen: list[int] = []
    step = max(1, len(free) // max(1, want))
    for h in free[::step] + free:
        if len(chosen) < want and h not in chosen and _pattern_ok(p, s, sorted([*chosen, h])):
            chosen.append(h)
    return sorted(chosen)


def _try(p: WeekProblem, router: _Router, plan: WeekPlan, i: int, j: int, days: list[int]
         ) -> WeekPlan | None:
    """The plan with stream i moved to (j, days), if every touched day routes."""
    return _try_moves(router, plan, [(i, j, days)])


def _try_moves(router: _Router, plan: WeekPlan, moves: list[tuple[int, int, list[int]]]
               ) -> WeekPlan | None:
    """The plan with each stream moved to its (teacher, days), if every touched day routes."""
    # Shallow copies: a touched day gets a new list, the plan's lists are never changed.
    members = dict(plan.members)
    routes = dict(plan.routes)
    router.work += MOVE_WORK + len(members) // 16  # copying and scoring the plan
    touched = set()
    for i, _, _ in moves:
        if i in plan.assign:
            oj, ohs = plan.assign[i]
            for h in ohs:
                members[(oj, h)] = [m for m in members[(oj, h)] if m != i]
                touched.add((oj, h))
    for i, j, days in moves:
        for h in days:
            members[(j, h)] = [*members.get((j, h), []), i]
            touched.add((j, h))
    for key in sorted(touched):
        if not members[key]:
            routes.pop(key, None)
            del members[key]
            continue
        r = router.day(key[0], members[key])
        if r is None:
            return None
        routes[key] = r
    assign = dict(plan.assign)
    for i, j, days in moves:
        assign[i] = (j, list(days))
    if router.p.relief and not all(_shared_ok(router.p, assign, i) for i, _, _ in moves):
        return None
    return WeekPlan(assign, routes, members)


def _shared_ok(p: WeekProblem, assign: dict[int, tuple[int, list[int]]], i: int) -> bool:
    """A stream and its relief: other teachers, other days, their visits within the
    main stream's count (per week, or over the horizon)."""
    k = p.linked(i)
    if k is None or not assign.get(i, (0, []))[1] or not assign.get(k, (0, []))[1]:
        return True
    (ji, di), (jk, dk) = assign[i], assign[k]
    if ji == jk or set(di) & set(dk):
        return False
    return _pattern_ok(p, p.streams[i], sorted(di + dk))


def _swaps(p: WeekProblem, router: _Router, plan: WeekPlan, i: int, budget: Budget
           ) -> WeekPlan | None:
    """The best exchange of one of stream i's days with another stream's day of the same
    teacher (both move; each day re-routed exactly), if it makes the plan better."""
    if i not in plan.assign:
        return None
    j, days = plan.assign[i]
    best, score = None, plan.score(p)
    for h in days:
        for h2 in p.days_of[(i, j)]:
            if h2 in days or budget.out():
                continue
            mine = sorted([d for d in days if d != h] + [h2])
            if not _pattern_ok(p, p.streams[i], mine):
                continue
            for m in plan.members.get((j, h2), []):
                mdays = plan.assign[m][1]
                if h in mdays or h not in p.days_of[(m, j)]:
                    continue
                theirs = sorted([d for d in mdays if d != h2] + [h])
                if not _pattern_ok(p, p.streams[m], theirs):
                    continue
                new = _try_moves(router, plan, [(i, j, mine), (m, j, theirs)])
                if new is not None and new.score(p) < score:
                    best, score = new, new.score(p)
    return best


def _wanted(p: WeekProblem, i: int) -> int:
    s = p.streams[i]
    return s.per_week * p.hz.weeks if s.per_week else s.total


def _eject(p: WeekProblem, router: _Router, plan: WeekPlan, i: int) -> WeekPlan | None:
    """One more visit of stream i on a day made free by moving another stream's visit
    of that teacher-day to another of its days (an ejection chain of length one)."""
    if i not in plan.assign or len(plan.assign[i][1]) >= _wanted(p, i):
        return None
    j, days = plan.assign[i]
    for h in p.days_of[(i, j)]:
        if h in days or not _pattern_ok(p, p.streams[i], sorted([*days, h])):
            continue
        for m in sorted(plan.members.get((j, h), [])):
            mj, mdays = plan.assign[m]
            for alt in p.days_of[(m, mj)]:
                moved = sorted([d for d in mdays if d != h] + [alt])
                if alt in mdays or not _pattern_ok(p, p.streams[m], moved):
                    continue
                step = _try(p, router, plan, m, mj, moved)
                if step is not None:
                    done = _try(p, router, step, i, j, sorted([*days, h]))
                    if done is not None:
                        return done
    return None


def _improve(p: WeekProblem, router: _Router, plan: WeekPlan, seed: int, budget: Budget
             ) -> tuple[WeekPlan, bool]:
    """Local search until no move improves the plan: moves and ejections (they add
    visits) to a local optimum, then day swaps (they mostly save travel, and may free
    room), and again while swaps change something. True if the budget ran out."""
    rng = random.Random(seed)
    order = [i for i in range(len(p.streams)) if p.able[i]]
    for _ in range(MAX_PASSES):
        plan, cut, _ = _passes(p, router, plan, rng, order, budget, swaps=False)
        if cut:
            return plan, True
        plan, cut, swapped = _passes(p, router, plan, rng, order, budget, swaps=True)
        if cut or not swapped:
            return plan, cut
    return plan, False


def _passes(p: WeekProblem, router: _Router, plan: WeekPlan, rng: random.Random,
            order: list[int], budget: Budget, *, swaps: bool
            ) -> tuple[WeekPlan, bool, bool]:
    """Passes of one kind of move until one improves nothing: (plan, cut, improved)."""
    any_better = False
    for _ in range(MAX_PASSES):
        improved = False
        rng.shuffle(order)
        for i in order:
            if budget.out():
                return plan, True, any_better
            if swaps:
                new = _swaps(p, router, plan, i, budget)
                if new is not None:
                    plan, improved = new, True
                continue
            new = _better_for(p, router, plan, i)
            if new is not None:
                plan, improved = new, True
        any_better |= improved
        if not improved:
            break
    return plan, False, any_better


def _better_for(p: WeekProblem, router: _Router, plan: WeekPlan, i: int) -> WeekPlan | None:
    """The best plan from moving stream i (its days or teacher), or one more of its visits
    by an ejection; None if nothing improves."""
    best, score = None, plan.score(p)
    for j, days in _candidates(p, i, plan):
        new = _try(p, router, best or plan, i, j, days)
        if new is not None and new.score(p) < score:
            best, score = new, new.score(p)
    new = _eject(p, router, best or plan, i)
    if new is not None and new.score(p) < score:
        best = new
    return best


# ------------------------------------------------------------------ 4. ruin and recreate
def _without(router: _Router, plan: WeekPlan, streams: list[int]) -> WeekPlan | None:
    """The plan with these streams' visits taken out (their days re-routed), or None: a
    day may not route with fewer visits (its lunch was taken on the road after one)."""
    moved = _try_moves(router, plan, [(i, plan.assign[i][0], []) for i in streams])
    if moved is None:
        return None
    return replace(moved, assign={i: v for i, v in moved.assign.items() if v[1]})


def _neighbours(p: WeekProblem) -> list[list[int]]:
    """Per stream, the others by distance from its place (ties by index)."""
    d = p.travel[np.ix_(p.site_node, p.site_node)]
    return [sorted(range(len(p.streams)), key=lambda k, i=i: (d[i, k], k))
            for i in range(len(p.streams))]


def _ruin_recreate(p: WeekProblem, router: _Router, plan: WeekPlan, rng: random.Random,
                   budget: Budget, rounds: int) -> tuple[WeekPlan, bool]:
    """Rounds of ruin and recreate: a stream (an unserved one every other round) and the
    served streams nearest it are taken out and put back scarcest first, then each is
    moved to its best place; a result no worse is kept (plateaus let it drift), the best
    seen is returned. True if the budget ran out."""
    order = [i for i in range(len(p.streams)) if p.able[i]]
    if not order:
        return plan, False
    near = _neighbours(p)
    best = plan
    for r in range(rounds):
        if budget.out():
            return best, True
        short = [i for i in order if len(plan.assign.get(i, (0, []))[1]) < _wanted(p, i)]
        centre = rng.choice(short) if short and r % 2 == 0 else rng.choice(order)
        size = rng.randint(2, 8)
        out = [i for i in near[centre] if i in plan.assign][:size]
        trial = _without(router, plan, out)
        if trial is None:
            continue
        touched = {centre, *out}
        trial = _construct(p, router, trial, budget, only=touched)
        for i in sorted(touched):
            new = _better_for(p, router, trial, i)
            if new is not None:
                trial = new
        if trial.score(p) <= plan.score(p):
            plan = trial
            if plan.score(p) < best.score(p):
                best = plan
    return best, False


def _construct(p: WeekProblem, router: _Router, plan: WeekPlan, budget: Budget,
               only: set[int] | None = None) -> WeekPlan:
    """First-fit for the streams the patterns left out (or those of `only`): the scarcest
    first, each to the nearest skilled teacher whose days take it (all its visits, else
    as many as fit)."""
    todo = sorted((i for i in range(len(p.streams)) if p.able[i] and i not in plan.assign
                   and (only is None or i in only)),
                  key=lambda i: (i in p.relief, len(p.able[i]), -p.streams[i].minutes, i))
    for i in todo:
        if budget.out():
            break
        s = p.streams[i]
        near = sorted(p.able[i], key=lambda j: (p.travel[p.base_node[j], p.site_node[i]], j))
        for j in near:
            days = _spread(p, s, p.days_of[(i, j)], _wanted(p, i))
            new = None
            while days and new is None:
                new = _try(p, router, plan, i, j, days)
                days = days[:-1]  # fewer visits rather than none
            if new is not None:
                plan = new
                break
    return plan


def solve_week(p: WeekProblem, time_limit_s: float, seed: int,
               deadline: float | None = None) -> tuple[WeekPlan, int, bool]:
    """The plan, the visits CP-SAT's patterns planned, and whether the wall deadline
    (not the work budget) ended the search. The budgets follow from the time limit
    alone; the deadline (perf_counter; default: the limit from now) is the safety net."""
    end = time.perf_counter() + time_limit_s if deadline is None else deadline
    assign, spent = _patterns(p, PATTERN_SHARE * time_limit_s, seed, end)
    router = _Router(p)
    # CP-SAT's deterministic units took up to twice their number in seconds here: the
    # search gets what is left after the units it spent (deterministic, unlike the
    # seconds), less a tenth for building and writing.
    budget = Budget(router, max(0.0, 0.9 * time_limit_s - 2 * spent), end)
    plan = _route_all(p, router, assign)
    plan = _construct(p, router, plan, budget)
    plan, _ = _improve(p, router, plan, seed, budget)
    if not budget.out():
        rounds = RUIN_ROUNDS_PER_STREAM * len(p.streams)
        plan, _ = _ruin_recreate(p, router, plan, random.Random(seed), budget, rounds)
    return plan, sum(len(d) for _, d in assign.values()), budget.wall
