"""One teacher-day, routed exactly: the order of visits and the lunch break that needs the
least travel, within every visit's window, the teacher's hours and working-time limit.

A teacher-day holds a handful of visits (each lasts 45 minutes or more), so a labelling
dynamic programme over (visits done, last place, lunch taken) with Pareto labels
(travel, clock, departure) is exact and fast; above `EXACT_MAX` visits a cheapest-insertion
order is used instead, and the result says it is not proven.

Lunch rule: inside the lunch window the teacher has `lunch_minutes` free, either off duty
(before leaving or after coming back) or as a lunch stop, taken where the teacher is.
Times are whole minutes; each leg takes its travel time rounded up to the minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EXACT_MAX = 10
# Labels extended by every call so far: a measure of routing work that does not depend on
# the machine (the weekly search budgets its work with it).
EXTENDED = [0]


@dataclass(frozen=True)
class DayVisit:
    """A visit to route: its place (row of the travel matrix), duration and window."""

    node: int  # index into the travel matrix (0 is the teacher's base)
    minutes: int
    window: tuple[int, int]  # the visit starts and ends inside


@dataclass(frozen=True)
class DayRules:
    """The teacher's day: hours, working-time limit and lunch."""

    start: int
    end: int
    max_minutes: int
    lunch: tuple[int, int]  # window
    lunch_minutes: int


@dataclass(frozen=True)
class Event:
    """A visit (index into the visits) or the lunch break (-1), with its times."""

    visit: int
    arrival: int
    start: int
    end: int
    travel: float  # minutes from the previous place


@dataclass(frozen=True)
class DayRoute:
    """A routed teacher-day."""

    events: tuple[Event, ...]
    depart: int
    back: int
    back_travel: float
    travel: float  # total minutes on the road
    exact: bool  # proven least travel for these visits


def _off_duty_lunch(rules: DayRules, depart: int, back: int) -> int:
    lo, hi = rules.lunch
    return max(0, min(depart, hi) - lo) + max(0, hi - max(back, lo))


def route_day(visits: Sequence[DayVisit], travel: Sequence[Sequence[float]],
              rules: DayRules) -> DayRoute | None:
    """The least-travel feasible route of these visits, or None when none exists."""
    if not visits:
        return DayRoute((), rules.start, rules.start, 0.0, 0.0, True)
    if len(visits) > EXACT_MAX:
        return _insertion(visits, travel, rules)
    return _exact(visits, travel, rules)


def _legs(visits: Sequence[DayVisit], travel: Sequence[Sequence[float]]
          ) -> tuple[list[list[float]], list[list[int]]]:
    nodes = [0] + [v.node for v in visits]
    cost = [[float(travel[a][b]) for b in nodes] for a in nodes]
    return cost, [[math.ceil(c - 1e-9) for c in row] for row in cost]


Label = tuple[float, int, int, tuple[Event, ...]]  # travel, clock, departure, events


def _exact(visits: Sequence[DayVisit], travel: Sequence[Sequence[float]], rules: DayRules
           ) -> DayRoute | None:
    m = len(visits)
    cost, legs = _legs(visits, travel)
    full = (1 << m) - 1
    # Labels by (mask, place, lunch taken); place 0 is the base, i + 1 visit i.
    labels: dict[tuple[int, int, bool], list[Label]] = {(0, 0, False): [
        (0.0, rules.start, rules.start, ())]}
    best: DayRoute | None = None
    for mask in range(full + 1):  # masks only grow, so increasing order is topological
        for lunch in (False, True):
            for place in range(m + 1):
                for lab in labels.get((mask, place, lunch), ()):
                    best = _better(best, _finish(lab, mask == full, place, lunch, cost,
                                                 legs, rules))
                    for nxt in _extend(lab, mask, place, lunch, visits, cost, legs, rules):
                        key, new = nxt
                        _add(labels.setdefault(key, []), new)
    return best


def _visit(lab: Label, place: int, i: int, v: DayVisit, cost: list[list[float]],
           legs: list[list[int]], rules: DayRules) -> Label | None:
    """The label after going from `place` to visit i, or None if that breaks a rule."""
    EXTENDED[0] += 1
    road, clock, depart, events = lab
    arrive = clock + legs[place][i + 1]
    begin = max(arrive, v.window[0])
    finish = begin + v.minutes
    if finish > v.window[1] or finish > rules.end:
        return None
    dep = depart if events else begin - legs[0][i + 1]  # leave just in time
    if finish - dep > rules.max_minutes:
        return None
    ev = Event(i, arrive if events else dep + legs[0][i + 1], begin, finish,
               cost[place][i + 1])
    return road + cost[place][i + 1], finish, dep, (*events, ev)


def _lunch(lab: Label, rules: DayRules) -> Label | None:
    """The label after a lunch stop where the teacher is (only once on the road)."""
    EXTENDED[0] += 1
    road, clock, depart, events = lab
    if not events:
        return None
    begin = max(clock, rules.lunch[0])
    finish = begin + rules.lunch_minutes
    if finish > rules.lunch[1]:
        return None
    return road, finish, depart, (*events, Event(-1, clock, begin, finish, 0.0))


def _extend(lab: Label, mask: int, place: int, lunch: bool, visits: Sequence[DayVisit],
            cost: list[list[float]], legs: list[list[int]], rules: DayRules
            ) -> list[tuple[tuple[int, int, bool], Label]]:
    out = []
    for i, v in enumerate(visits):
        if not mask >> i & 1:
            new = _visit(lab, place, i, v, cost, legs, rules)
            if new is not None:
                out.append(((mask | 1 << i, i + 1, lunch), new))
    if not lunch:
        new = _lunch(lab, rules)
        if new is not None:
            out.append(((mask, place, True), new))
    return out


def _finish(lab: Label, complete: bool, place: int, lunch: bool, cost: list[list[float]],
            legs: list[list[int]], rules: DayRules) -> DayRoute | None:
    road, clock, depart, events = lab
    if not complete or not events:
        return None
    back = clock + legs[place][0]
    if back > rules.end or back - depart > rules.max_minutes:
        return None
    if not lunch and _off_duty_lunch(rules, depart, back) < rules.lunch_minutes:
        return None
    return DayRoute(events, depart, back, cost[place][0], road + cost[place][0], True)


def _better(a: DayRoute | None, b: DayRoute | None) -> DayRoute | None:
    if b is None:
        return a
    if a is None or (round(b.travel, 6), b.back - b.depart) < (round(a.travel, 6),
                                                                a.back - a.depart):
        return b
    return a


def _add(bucket: list[Label], new: Label) -> None:
    """Keep Pareto labels: less travel, earlier clock, later departure are better."""
    for old in bucket:
        if old[0] <= new[0] + 1e-9 and old[1] <= new[1] and old[2] >= new[2]:
            return
    bucket[:] = [o for o in bucket
                 if not (new[0] <= o[0] + 1e-9 and new[1] <= o[1] and new[2] >= o[2])]
    bucket.append(new)


def _insertion(visits: Sequence[DayVisit], travel: Sequence[Sequence[float]],
               rules: DayRules) -> DayRoute | None:
    """Cheapest insertion by travel, each order re-timed exactly (not proven least)."""
    order: list[int] = []
    for i in sorted(range(len(visits)), key=lambda i: visits[i].window[0]):
        best: tuple[float, list[int]] | None = None
        for pos in range(len(order) + 1):
            trial = order[:pos] + [i] + order[pos:]
            r = _timed(trial, visits, travel, rules)
            if r is not None and (best is None or r.travel < best[0]):
                best = (r.travel, trial)
        if best is None:
            return None
        order = best[1]
    r = _timed(order, visits, travel, rules)
    return None if r is None else DayRoute(r.events, r.depart, r.back, r.back_travel,
                                           r.travel, False)


def _timed(order: list[int], visits: Sequence[DayVisit], travel: Sequence[Sequence[float]],
           rules: DayRules) -> DayRoute | None:
    """A fixed order routed exactly, the lunch placed where it fits best."""
    sub = [visits[i] for i in order]
    cost, legs = _legs(sub, travel)
    # (place, lunch taken, label); before each visit and at the end, lunch may come first.
    labels: list[tuple[int, bool, Label]] = [(0, False, (0.0, rules.start, rules.start, ()))]
    for k, v in enumerate(sub):
        nxt: list[tuple[int, bool, Label]] = []
        for place, lunch, lab in _with_lunch(labels, rules):
            new = _visit(lab, place, k, v, cost, legs, rules)
            if new is not None:
                nxt.append((k + 1, lunch, new))
        labels = nxt
    best: DayRoute | None = None
    for place, lunch, lab in _with_lunch(labels, rules):
        best = _better(best, _finish(lab, True, place, lunch, cost, legs, rules))
    if best is None:
        return None
    events = tuple(Event(order[e.visit] if e.visit >= 0 else -1, e.arrival, e.start, e.end,
                         e.travel) for e in best.events)
    return DayRoute(events, best.depart, best.back, best.back_travel, best.travel, False)


def _with_lunch(labels: list[tuple[int, bool, Label]], rules: DayRules
                ) -> list[tuple[int, bool, Label]]:
    out = list(labels)
    for place, lunch, lab in labels:
        if not lunch:
            new = _lunch(lab, rules)
            if new is not None:
                out.append((place, True, new))
    return out
