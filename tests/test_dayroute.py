"""The exact teacher-day router against brute force on small random days, and its rules."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from lrcplan.optimizer.dayroute import DayRoute, DayRules, DayVisit, _insertion, route_day

RULES = DayRules(start=8 * 60, end=16 * 60 + 30, max_minutes=420, lunch=(690, 810),
                 lunch_minutes=40)


def brute(visits: list[DayVisit], travel: list[list[float]], rules: DayRules
          ) -> float | None:
    """Least travel over every order and every lunch position, timed the plain way."""
    best = None
    m = len(visits)
    for order in itertools.permutations(range(m)):
        for lunch_at in [None, *range(1, m + 1)]:  # lunch after the k-th visit
            t = timed(order, lunch_at, visits, travel, rules)
            if t is not None and (best is None or t < best - 1e-9):
                best = t
    return best


def timed(order: tuple[int, ...], lunch_at: int | None, visits: list[DayVisit],
          travel: list[list[float]], rules: DayRules) -> float | None:
    legs = [[math.ceil(c - 1e-9) for c in row] for row in travel]
    first = visits[order[0]]
    start0 = max(rules.start + legs[0][first.node], first.window[0])
    depart = start0 - legs[0][first.node]
    clock, place, road, took = depart, 0, 0.0, False
    for k, i in enumerate(order):
        v = visits[i]
        begin = max(clock + legs[place][v.node], v.window[0])
        road += travel[place][v.node]
        clock, place = begin + v.minutes, v.node
        if clock > v.window[1] or clock > rules.end:
            return None
        if lunch_at == k + 1:
            b = max(clock, rules.lunch[0])
            if b + rules.lunch_minutes > rules.lunch[1]:
                return None
            clock, took = b + rules.lunch_minutes, True
    back = clock + legs[place][0]
    road += travel[place][0]
    if back > rules.end or back - depart > rules.max_minutes:
        return None
    lo, hi = rules.lunch
    free = max(0, min(depart, hi) - lo) + max(0, hi - max(back, lo))
    if not took and free < rules.lunch_minutes:
        return None
    return road


def random_day(rng: random.Random, m: int) -> tuple[list[DayVisit], list[list[float]]]:
    pts = [(rng.uniform(0, 20), rng.uniform(0, 20)) for _ in range(m + 1)]
    travel = [[math.dist(a, b) * 1.7 for b in pts] for a in pts]
    visits = []
    for i in range(m):
        lo = rng.choice([480, 480, 540, 780])
        hi = rng.choice([lo + 180, 990, 720 if lo < 600 else 990])
        visits.append(DayVisit(i + 1, rng.choice([45, 60, 90, 120]), (lo, max(hi, lo + 150))))
    return visits, travel


@pytest.mark.parametrize("seed", range(40))
def test_least_travel_equals_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    visits, travel = random_day(rng, rng.randint(1, 5))
    want = brute(visits, travel, RULES)
    got = route_day(visits, travel, RULES)
    if want is None:
        assert got is None
    else:
        assert got is not None and got.exact
        assert got.travel == pytest.approx(want)
        assert_valid(got, visits, travel, RULES)


def assert_valid(r: DayRoute, visits: list[DayVisit], travel: list[list[float]],
                 rules: DayRules) -> None:
    """Every visit once, inside its window, legs long enough, hours and lunch kept."""
    done = [e.visit for e in r.events if e.visit >= 0]
    assert sorted(done) == list(range(len(visits)))
    clock, place = r.depart, 0
    for e in r.events:
        if e.visit < 0:
            assert rules.lunch[0] <= e.start and e.end <= rules.lunch[1]
            assert e.end - e.start == rules.lunch_minutes and e.start >= clock
        else:
            v = visits[e.visit]
            assert e.arrival >= clock + travel[place][v.node] - 1e-9
            assert v.window[0] <= e.start and e.end <= v.window[1]
            assert e.end - e.start == v.minutes and e.start >= e.arrival
            place = v.node
        clock = e.end
    assert r.back >= clock + travel[place][0] - 1e-9
    assert rules.start <= r.depart and r.back <= rules.end
    assert r.back - r.depart <= rules.max_minutes


def test_a_day_that_cannot_fit_is_none() -> None:
    travel = [[0, 10], [10, 0]]
    assert route_day([DayVisit(1, 500, (480, 990))], travel, RULES) is None  # > 420 min
    assert route_day([DayVisit(1, 60, (480, 500))], travel, RULES) is None  # window


def test_lunch_off_duty_or_on_the_road() -> None:
    travel = [[0, 5], [5, 0]]
    morning = route_day([DayVisit(1, 60, (480, 660))], travel, RULES)
    assert morning is not None and all(e.visit >= 0 for e in morning.events)  # home by 11:30
    long_day = route_day([DayVisit(1, 60, (480, 600)), DayVisit(1, 60, (780, 990))],
                         travel, RULES)
    assert long_day is not None
    assert [e.visit for e in long_day.events].count(-1) == 1


def test_insertion_fallback_is_valid_but_not_proven() -> None:
    rng = random.Random(7)
    visits, travel = random_day(rng, 4)
    r = _insertion(visits, travel, RULES)
    exact = route_day(visits, travel, RULES)
    assert (r is None) == (exact is None) or r is None
    if r is not None and exact is not None:
        assert not r.exact and r.travel >= exact.travel - 1e-9
        assert_valid(r, visits, travel, RULES)
