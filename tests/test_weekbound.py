"""The coverage bound (optimizer/weekbound.py) against brute force, and the week solver
against both: bound >= the best possible coverage >= what the solver serves."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from lrcplan.models.entities import Category, Role, Teacher
from lrcplan.models.visits import ITINERANT, Horizon, Stream
from lrcplan.optimizer.dayroute import DayRules, DayVisit, route_day
from lrcplan.optimizer.week import WeekProblem, solve_week
from lrcplan.optimizer.weekbound import coverage_bound, day_capacity

DAYS = ("Mon", "Tue", "Wed")


def _random_week(seed: int) -> WeekProblem:
    """Two teachers at one base, four places with windows, three days, tight hours."""
    rng = random.Random(seed)
    xs = [0.0] + [rng.uniform(-60, 60) for _ in range(4)]
    ys = [0.0] + [rng.uniform(-60, 60) for _ in range(4)]
    travel = np.hypot(np.subtract.outer(xs, xs), np.subtract.outer(ys, ys))
    skills = [Category.VISION, Category.HEARING]
    streams = []
    for i in range(4):
        lo = 480 + rng.choice([0, 60, 180])
        k = rng.choice([1, 2, 2, 3])
        streams.append(Stream(f"S{i}", ITINERANT, f"S{i}", xs[i + 1], ys[i + 1],
                              rng.choice([60, 90, 120]), frozenset({skills[i % 2]}),
                              tuple(range(3)), (lo, lo + rng.choice([150, 300])), k, k))
    teachers = [Teacher(f"T{j}", Role.ITINERANT, "B", frozenset(skills[: j + 1]), DAYS)
                for j in range(2)]
    rules = [DayRules(480, 480 + 300, 240, (690, 810), 40)] * 2
    able = {i: [j for j, t in enumerate(teachers) if s.skills <= t.skills]
            for i, s in enumerate(streams)}
    days_of = {(i, j): [0, 1, 2] for i, js in able.items() for j in js}
    return WeekProblem(Horizon(1, DAYS), streams, teachers, travel, [0, 0], [1, 2, 3, 4],
                       able, days_of, rules, {}, 0.0)


def _best_coverage(p: WeekProblem) -> int:
    """The most visits any plan serves: every (teacher, day set) per stream, days routed."""
    options = []
    for i, s in enumerate(p.streams):
        mine = [(None, ())]
        for j in p.able[i]:
            for n in range(1, s.total + 1):
                mine += [(j, days) for days in itertools.combinations(p.days_of[(i, j)], n)]
        options.append(mine)
    best = 0
    memo: dict[tuple[int, frozenset[int]], bool] = {}
    for choice in itertools.product(*options):
        served = sum(len(days) for _, days in choice)
        if served <= best:
            continue
        day: dict[tuple[int, int], list[int]] = {}
        for i, (j, days) in enumerate(choice):
            for h in days:
                day.setdefault((j, h), []).append(i)
        if all(_routes(p, j, members, memo) for (j, _), members in day.items()):
            best = served
    return best


def _routes(p: WeekProblem, j: int, members: list[int],
            memo: dict[tuple[int, frozenset[int]], bool]) -> bool:
    key = (j, frozenset(members))
    if key not in memo:
        nodes = [p.base_node[j]] + [p.site_node[i] for i in members]
        visits = [DayVisit(k + 1, p.streams[i].minutes, p.streams[i].window)
                  for k, i in enumerate(members)]
        memo[key] = route_day(visits, p.travel[np.ix_(nodes, nodes)].tolist(),
                              p.rules[j]) is not None
    return memo[key]


@pytest.mark.parametrize("seed", range(12))
def test_bound_holds_and_solver_reaches_it(seed: int) -> None:
    p = _random_week(seed)
    best = _best_coverage(p)
    bound = coverage_bound(p, 5.0, seed=0)
    plan, _, _ = solve_week(p, 10.0, seed=1)
    assert bound.visits >= best >= plan.served()
    assert plan.served() == best  # tiny weeks: the search finds the optimum
    for g in bound.groups:  # each group's claim holds for the plan too
        assert sum(len(plan.assign.get(i, (0, []))[1]) for i in g.streams) <= g.at_most


def test_bound_is_tight_on_a_knapsack() -> None:
    """One teacher, one day of 240 minutes, three 90-minute visits next door: two fit."""
    travel = np.zeros((4, 4))
    streams = [Stream(f"S{i}", ITINERANT, f"S{i}", 0.0, 0.0, 90,
                      frozenset({Category.VISION}), (0,), (480, 990), 1, 1) for i in range(3)]
    t = Teacher("T", Role.ITINERANT, "B", frozenset({Category.VISION}), ("Mon",))
    rules = [DayRules(480, 990, 240, (690, 810), 40)]
    p = WeekProblem(Horizon(1, ("Mon",)), streams, [t], travel, [0], [1, 2, 3],
                    {i: [0] for i in range(3)}, {(i, 0): [0] for i in range(3)}, rules,
                    {}, 0.0)
    bound = coverage_bound(p, 2.0)
    assert bound.visits == 2 and bound.required == 3
    assert [(g.teachers, g.visits, g.at_most) for g in bound.groups] == [((0,), 3, 2)]
    assert solve_week(p, 2.0, 0)[0].served() == 2


def test_day_capacity_counts_lunch_only_inside_the_hours() -> None:
    assert day_capacity(DayRules(480, 990, 470, (690, 810), 40)) == 470
    assert day_capacity(DayRules(480, 990, 600, (690, 810), 40)) == 990 - 480 - 40
    # Lunch window outside the hours: the whole span is work.
    assert day_capacity(DayRules(780, 990, 600, (690, 750), 40)) == 210


def test_week_solver_is_deterministic() -> None:
    p = _random_week(3)
    a, b = solve_week(p, 10.0, seed=7)[0], solve_week(p, 10.0, seed=7)[0]
    assert a.assign == b.assign and a.score(p) == b.score(p)
