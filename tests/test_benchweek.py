"""The weekly routes benchmark (optimizer/benchweek.py): the Solomon transformation, the
baselines on a tiny week counted by the one counting function, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lrcplan.cli import main
from lrcplan.models.entities import Category, Role, Teacher
from lrcplan.models.visits import ITINERANT, Horizon, Stream
from lrcplan.optimizer.benchweek import (
    SKILLS,
    count_week,
    day_ok,
    fixed_days,
    lrcplan_week,
    ortools_week,
    required,
    run_problem,
    solomon_problem,
    vroom_week,
)
from lrcplan.optimizer.dayroute import DayRules
from lrcplan.optimizer.week import WeekProblem

TINY = Path(__file__).parent / "data" / "vrptw" / "tiny.vrp"
WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri")


def test_solomon_transformation() -> None:
    p, info = solomon_problem(TINY)
    # 5 customers: k = 1 + c mod 2 -> 2, 1, 2, 1, 2 visits; the .sol has 3 routes
    assert info == {"customers": 5, "streams": 5, "visits": 8, "teachers": 2,
                    "best_known_vehicles": 3}
    assert [s.per_week for s in p.streams] == [2, 1, 2, 1, 2]
    assert required(p) == 8
    assert [next(iter(s.skills)) for s in p.streams] == [SKILLS[c % 3] for c in range(1, 6)]
    assert [t.skills for t in p.teachers] == [frozenset(SKILLS[:2]), frozenset(SKILLS[1:])]
    assert all(t.role is Role.ITINERANT for t in p.teachers)
    # the depot's horizon [0, 60] is 480 minutes from 08:00: f = 8
    assert p.rules[0].start == 480 and p.rules[0].end == 960
    assert p.travel[0, 1] == pytest.approx(8 * 5.0)  # (0, 0) -> (3, 4)
    assert [s.minutes for s in p.streams] == [8] * 5
    assert p.streams[1].window == (480 + 80, 480 + 240 + 8)  # [10, 30] x 8, + service
    # customer 3 (skill 0) only teacher 1 ({0, 1}); customer 2 (skill 2) only teacher 2
    assert p.able[2] == [0] and p.able[1] == [1]
    plan, _ = lrcplan_week(p, 2.0, 1)
    counted = count_week(p, plan)
    assert counted.served == 8 and counted.violations == 0
    for (j, _), order in plan.items():
        assert day_ok(p, j, order)


def _tiny_week() -> WeekProblem:
    """One base, three schools on a line, two teachers (one skill each), 5 days."""
    xs = [0.0, 10.0, 20.0, 30.0]
    travel = np.abs(np.subtract.outer(xs, xs))
    streams = [Stream(f"S{i}", ITINERANT, f"S{i}", xs[i + 1], 0.0, 60,
                      frozenset({Category.VISION if i < 2 else Category.HEARING}),
                      tuple(range(5)), (480, 990), k, k)
               for i, k in enumerate([2, 1, 2])]
    teachers = [Teacher(f"T{j}", Role.ITINERANT, "B", frozenset({c}), WEEK)
                for j, c in enumerate([Category.VISION, Category.HEARING])]
    rules = [DayRules(480, 990, 480, (690, 810), 40)] * 2
    able = {0: [0], 1: [0], 2: [1]}
    days_of = {(i, j): list(range(5)) for i, js in able.items() for j in js}
    return WeekProblem(Horizon(1, WEEK), streams, teachers, travel, [0, 0], [1, 2, 3],
                       able, days_of, rules, {}, 0.0)


def test_baselines_counted_alike() -> None:
    pytest.importorskip("vroom", reason="pyvroom is not installed (pip install -e '.[dev]')")
    p = _tiny_week()
    rows = run_problem("tiny", p, 1.0, 1)
    assert [r.solver for r in rows] == ["lrcplan", "ortools", "vroom"]
    assert all(r.required == 5 for r in rows)
    for solve in (ortools_week, vroom_week, lrcplan_week):
        routes, _ = solve(p, 1.0, 1)
        c = count_week(p, routes)
        assert 0 < c.served <= 5
        assert c.served + c.violations == sum(len(v) for v in routes.values())
    lrc = rows[0]
    assert lrc.served == 5 and lrc.same_day == lrc.other_teacher == 0
    # S0 twice: 2 x 20 min; S1 and S2 each day they are served, best joined with S0/S2
    assert lrc.travel <= 20 * 2 + 40 + 60 * 2 + 1e-6


def test_counting_repairs() -> None:
    p = _tiny_week()
    # stream 2 twice on Mon (by its teacher), stream 0 by teacher 1 (not able), stream 1
    # by teacher 0 on Mon and Tue (more than its one visit)
    c = count_week(p, {(1, 0): [2, 2, 0], (0, 0): [1], (0, 1): [1]})
    assert (c.not_allowed, c.same_day, c.excess) == (1, 1, 1)
    assert c.served == 2 and c.routes == {(1, 0): [2], (0, 0): [1]}
    assert c.travel == pytest.approx(60 + 40)
    # one stream served by two teachers on different days: the majority teacher keeps it
    p.able[0] = [0, 1]
    p.days_of[(0, 1)] = list(range(5))
    c = count_week(p, {(0, 0): [0], (1, 2): [0]})
    assert c.other_teacher == 1 and c.routes == {(0, 0): [0]}


def test_fixed_days_spread() -> None:
    p = _tiny_week()
    assert fixed_days(p, 0) == [0, 3]  # Mon/Thu for 2 a week
    assert fixed_days(p, 1) == [1]  # one a week, rotated by the stream's index
    assert fixed_days(p, 2) == [0, 2]  # (ceil(0) + 2, ceil(2.5) + 2) mod 5


def test_day_ok_working_time() -> None:
    p = _tiny_week()
    assert day_ok(p, 0, [0, 1])
    # a late window: leaving just in time keeps the working time short
    p.streams[0] = Stream("S0", ITINERANT, "S0", 10.0, 0.0, 60, frozenset({Category.VISION}),
                          tuple(range(5)), (900, 990), 2, 2)
    assert day_ok(p, 0, [0])
    assert day_ok(p, 0, [1, 0])  # 160 minutes of work
    p.rules[0] = DayRules(480, 990, 100, (690, 810), 40)
    assert day_ok(p, 0, [0])  # 10 + 60 + 10 minutes
    assert not day_ok(p, 0, [1, 0])  # S1 must be early: the day spans to 16:20


def test_cli_bench_week(tmp_path: Path) -> None:
    out = tmp_path / "week.json"
    assert main(["bench", "week", "--solomon", str(TINY), "--time-limit", "1",
                 "--json", str(out)]) == 0
    assert '"solver": "vroom"' in out.read_text(encoding="utf-8")
