"""The weekly support timetable: CP-SAT per school, each unserved student explained.

Schools are independent once the routes are known: a resource teacher works at one
school, an itinerant teacher's periods at a school lie inside that day's visit, and a
visit at one school never overlaps one at another (models/support.py). So each school
gets its own small CP-SAT model -- a variable per (student, teacher, day, period) the
rules allow -- solved on one worker with a deterministic time limit (the same plan on
every run), its share of the stage's limit in proportion to its students.

Constraints, one function each, hard unless marked soft:
  teacher availability (only available slots get variables), one place at a time, one
  session a day, group size and compatible needs, room capacity, resource teachers'
  daily maximum, core-subject clash (hard, or soft by Policy), entitlement (soft: the
  objective counts students served first), pinned sessions (hard: fixed).
Objective: most students with their full entitlement, then most sessions, then the
least soft cost: core clashes (when soft), sessions in a student's first or last period,
sessions on consecutive days, teachers' idle gaps (weights below, each an assumption).

An unserved student is explained by the assumptions CP-SAT finds blocking a one-student
model (`explain.py`): the student's own slots, with every other session as planned.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import PinnedSession
from lrcplan.models.plan import StageSummary, Status
from lrcplan.models.policy import Policy
from lrcplan.models.routes import RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.models.support import (
    CONSECUTIVE,
    EDGE_PERIOD,
    TEACHER_GAP,
    SchoolWeek,
    Slot,
    kept_pins,
    pins_by_school,
    school_weeks,
    soft_costs,
)
from lrcplan.models.timetable import Penalty, Session, Support, TimetableOptions, TimetableResult
from lrcplan.optimizer.timetable_explain import explain_unserved

# Objective weights: a student served outweighs every session and soft cost of a school;
# a session outweighs every soft cost. Soft weights: models/support.py.
SERVED = 10**9  # more than SESSION times every session a school can have
SESSION = 10**6  # more than every soft cost a school can have
MIN_SCHOOL_BUDGET_S = 0.2  # deterministic units for the smallest school


@dataclass
class SchoolModel:
    """The CP-SAT model of one school's week, with its variables by meaning."""

    w: SchoolWeek
    pol: Policy
    m: cp_model.CpModel
    x: dict[tuple[str, str, Slot], cp_model.IntVar]  # (student, teacher, slot)
    busy: dict[tuple[str, Slot], cp_model.IntVar]  # (teacher, slot): giving a session
    served: dict[str, cp_model.IntVar]
    count: dict[str, cp_model.LinearExpr]
    soft: dict[str, list[tuple[cp_model.IntVar, int, str]]]  # name -> (literal, weight, student)
    # The students planned here (the school's own, then guests still short) with the
    # sessions each still needs, and the days a guest already has a session at home.
    need: dict[str, int] = field(default_factory=dict)
    away: dict[str, frozenset[int]] = field(default_factory=dict)

    @property
    def students(self) -> list[str]:
        """The students this model plans, in order."""
        return list(self.need)


def _slots(pol: Policy) -> list[Slot]:
    return [(d, p) for d in range(len(pol.school_days)) for p in range(1, pol.periods_per_day + 1)]


# ------------------------------------------------------------------ constraints
def hard_teacher_availability(sm: SchoolModel) -> None:
    """Hard: a teacher gives sessions only in the slots the rules make available
    (variables exist for those only), and a student only outside core periods when the
    core clash is hard."""
    w, pol = sm.w, sm.pol
    for s in sm.students:
        for t, free in sorted(w.teachers.items()):
            for slot in sorted(free):
                if pol.support_core_hard and slot in w.core[s]:
                    continue
                if pol.support_one_per_day and slot[0] in sm.away.get(s, ()):
                    continue  # a guest's day with a session at its own school
                sm.x[(s, t, slot)] = sm.m.new_bool_var(f"x|{s}|{t}|{slot}")


def hard_one_place(sm: SchoolModel) -> None:
    """Hard: a student is in at most one session at a time."""
    by: dict[tuple[str, Slot], list[cp_model.IntVar]] = defaultdict(list)
    for (s, _, slot), v in sm.x.items():
        by[(s, slot)].append(v)
    for vs in by.values():
        if len(vs) > 1:
            sm.m.add_at_most_one(vs)


def hard_one_a_day(sm: SchoolModel) -> None:
    """Hard (Policy.support_one_per_day): at most one session a day for a student."""
    if not sm.pol.support_one_per_day:
        return
    by: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    for (s, _, (d, _)), v in sm.x.items():
        by[(s, d)].append(v)
    for vs in by.values():
        if len(vs) > 1:
            sm.m.add_at_most_one(vs)


def hard_groups(sm: SchoolModel) -> None:
    """Hard: a session holds at most `support_group_max` students, all of one need
    (category); `busy` marks a teacher giving a session."""
    by: dict[tuple[str, Slot], list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
    for (s, t, slot), v in sm.x.items():
        by[(t, slot)].append((s, v))
    for key, members in by.items():
        busy = sm.m.new_bool_var(f"busy|{key}")
        sm.busy[key] = busy
        sm.m.add(sum(v for _, v in members) <= sm.pol.support_group_max * busy)
        kinds = sorted({sm.w.category[s] for s, _ in members})
        if len(kinds) > 1:
            kind = {k: sm.m.new_bool_var(f"kind|{key}|{k}") for k in kinds}
            sm.m.add_at_most_one(kind.values())
            for s, v in members:
                sm.m.add_implication(v, kind[sm.w.category[s]])


def hard_room(sm: SchoolModel) -> None:
    """Hard: the room holds at most its students and its sessions at once."""
    students: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
    sessions: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
    for (_, _, slot), v in sm.x.items():
        students[slot].append(v)
    for (_, slot), b in sm.busy.items():
        sessions[slot].append(b)
    for slot, vs in students.items():
        if len(vs) > sm.w.room_capacity:
            sm.m.add(sum(vs) <= sm.w.room_capacity)
        if len(sessions[slot]) > sm.w.room_sessions:
            sm.m.add(sum(sessions[slot]) <= sm.w.room_sessions)


def hard_teacher_day(sm: SchoolModel) -> None:
    """Hard: a resource teacher gives at most `resource_teacher_max_periods` sessions a
    day (an itinerant teacher is bounded by the visit)."""
    by: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    for (t, (d, _)), b in sm.busy.items():
        if t not in sm.w.itinerant:
            by[(t, d)].append(b)
    for bs in by.values():
        if len(bs) > sm.pol.resource_teacher_max_periods:
            sm.m.add(sum(bs) <= sm.pol.resource_teacher_max_periods)


def soft_entitlement(sm: SchoolModel) -> None:
    """Soft (first in the objective): each student's sessions, up to the entitlement;
    `served` when it is met."""
    by: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for (s, _, _), v in sm.x.items():
        by[s].append(v)
    for s, need in sm.need.items():
        n = sum(by[s]) if by[s] else 0
        sm.count[s] = n  # type: ignore[assignment]
        ok = sm.m.new_bool_var(f"served|{s}")
        sm.served[s] = ok
        if by[s]:
            sm.m.add(n <= need)
            sm.m.add(n >= need * ok)
        else:
            sm.m.add(ok == 0)


def soft_core_clash(sm: SchoolModel) -> None:
    """Soft (when Policy.support_core_hard is false): a session in a core period."""
    if sm.pol.support_core_hard:
        return
    for (s, _, slot), v in sm.x.items():
        if slot in sm.w.core[s]:
            sm.soft["core_clash"].append((v, sm.pol.support_core_clash_penalty, s))


def soft_edge_period(sm: SchoolModel) -> None:
    """Soft: a session in the first or last period of the day."""
    last = sm.pol.periods_per_day
    for (s, _, (_, p)), v in sm.x.items():
        if p in (1, last):
            sm.soft["edge_period"].append((v, EDGE_PERIOD, s))


def soft_consecutive_days(sm: SchoolModel) -> None:
    """Soft: a student's sessions on two consecutive school days (spread the week)."""
    day: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    for (s, _, (d, _)), v in sm.x.items():
        day[(s, d)].append(v)
    has: dict[tuple[str, int], cp_model.IntVar] = {}
    for key, vs in day.items():
        has[key] = sm.m.new_bool_var(f"day|{key}")
        sm.m.add_max_equality(has[key], vs)
    for (s, d), a in sorted(has.items()):
        b = has.get((s, d + 1))
        if b is not None:
            both = sm.m.new_bool_var(f"both|{s}|{d}")
            sm.m.add(both >= a + b - 1)
            sm.soft["consecutive_days"].append((both, CONSECUTIVE, s))


def soft_teacher_gap(sm: SchoolModel) -> None:
    """Soft: each idle stretch between two sessions in a teacher's day."""
    last = sm.pol.periods_per_day
    for t in sorted({t for t, _ in sm.busy}):
        for d in range(len(sm.pol.school_days)):
            row = [sm.busy.get((t, (d, p))) for p in range(1, last + 1)]
            if sum(b is not None for b in row) < 2:
                continue
            for p in range(1, last - 1):
                # Busy, then idle from p, then busy again later: one gap begins at p.
                before, here = row[p - 1], row[p]
                later = [b for b in row[p + 1:] if b is not None]
                if before is None or not later:
                    continue
                gap = sm.m.new_bool_var(f"gap|{t}|{d}|{p}")
                again = sm.m.new_bool_var(f"again|{t}|{d}|{p}")
                sm.m.add_max_equality(again, later)
                idle = 1 - here if here is not None else 1
                sm.m.add(gap >= before + idle + again - 2)
                sm.soft["teacher_gap"].append((gap, TEACHER_GAP, ""))


def soft_room_travel(sm: SchoolModel) -> None:
    """Soft: a guest's session at this school's room costs the way there and back."""
    for (s, _, _), v in sm.x.items():
        if s in sm.w.guests:
            sm.soft["room_travel"].append((v, 2 * sm.w.guests[s], s))


HARD = (hard_teacher_availability, hard_one_place, hard_one_a_day, hard_groups, hard_room,
        hard_teacher_day)
SOFT = (soft_entitlement, soft_core_clash, soft_edge_period, soft_consecutive_days,
        soft_teacher_gap, soft_room_travel)


def build(w: SchoolWeek, pol: Policy, pins: list[PinnedSession],
          guests: dict[str, tuple[int, frozenset[int]]] | None = None) -> SchoolModel:
    """One school's model: every constraint function, the pins fixed, the objective.
    `guests`: student -> (sessions still needed, days already taken at home)."""
    guests = guests or {}
    need = {s: w.need for s in w.students} | {s: n for s, (n, _) in sorted(guests.items())}
    sm = SchoolModel(w, pol, cp_model.CpModel(), {}, {}, {}, {}, defaultdict(list), need,
                     {s: days for s, (_, days) in guests.items()})
    for rule in (*HARD, *SOFT):
        rule(sm)
    for pin in pins:
        slot = (pol.school_days.index(pin.day), pin.period)
        for s in pin.student_ids:
            sm.m.add(sm.x[(s, pin.teacher_id, slot)] == 1)
    sm.m.maximize(SERVED * sum(sm.served.values()) + SESSION * sum(sm.count.values())
                  - sum(w_ * v for terms in sm.soft.values() for v, w_, _ in terms))
    return sm


# ------------------------------------------------------------------ the stage
def _support_rows(weeks: list[SchoolWeek], pol: Policy, sessions: list[Session],
                  count: dict[str, int], explain: bool) -> list[Support]:
    """Each entitled student's row, its school's unserved ones explained (at their own
    school: a host room's sessions, if any, are counted and named)."""
    out = []
    elsewhere = {sid: s.school_id for s in sessions for sid in s.student_ids}
    at: dict[str, list[Session]] = defaultdict(list)
    for s in sessions:
        at[s.school_id].append(s)
    for w in weeks:
        own = at[w.school_id]
        short = [sid for sid in w.students if count[sid] < w.need]
        reasons = explain_unserved(w, pol, own, short) if explain else {}
        for sid in w.students:
            ok = count[sid] >= w.need
            why = "" if ok else reasons.get(sid, f"only {count[sid]} of {w.need} sessions")
            if not ok and elsewhere.get(sid, w.school_id) != w.school_id:
                why += f"; {count[sid]} sessions in all, with those in {elsewhere[sid]}'s room"
            out.append(Support(sid, w.school_id, count[sid], "served" if ok else "unserved",
                               why))
    return out


@dataclass(frozen=True)
class SchoolSolve:
    """One school's solution."""

    sessions: list[Session]
    status: int
    objective: float
    bound: float
    seconds: float
    penalties: list[Penalty]
    served_proven: bool  # no plan serves more of the school's students


def _solver(budget_s: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # with a deterministic limit: the same plan
    solver.parameters.max_deterministic_time = budget_s
    solver.parameters.max_time_in_seconds = 10 * budget_s + 5  # a slow machine
    return solver


def _lexicographic(sm: SchoolModel, budget_s: float, with_soft: bool = True
                   ) -> tuple[int, cp_model.CpSolver, bool]:
    """Students served and sessions first, then the soft costs with those fixed: two
    solves, half the budget each. Measured on xiaoshan: one weighted objective left the
    schools of 8-12 students and one teacher unproven after 5 units, the first solve alone
    proves them in 0.05. Returns the status (the second solve's, or FEASIBLE when the
    first was not proven), its solver, and whether the count served is proven the most."""
    served = sum(sm.served.values())
    sessions = sum(sm.count.values())
    soft = sum(w_ * v for terms in sm.soft.values() for v, w_, _ in terms)
    sm.m.maximize(SERVED * served + SESSION * sessions)
    first = _solver(budget_s / 2)
    status = first.solve(sm.m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, first, False
    if not with_soft:
        return cp_model.FEASIBLE, first, status == cp_model.OPTIMAL
    got_served, got_sessions = first.value(served), first.value(sessions)
    sm.m.add(served >= got_served)
    sm.m.add(sessions >= got_sessions)
    for v in sm.x.values():
        sm.m.add_hint(v, first.value(v))
    sm.m.minimize(soft)
    second = _solver(budget_s / 2)
    again = second.solve(sm.m)
    if again not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, first, status == cp_model.OPTIMAL  # (the hint is feasible)
    if status == cp_model.FEASIBLE:
        again = cp_model.FEASIBLE  # the count served is not proven the most
    return again, second, status == cp_model.OPTIMAL


def solve_school(w: SchoolWeek, pol: Policy, pins: list[PinnedSession], budget_s: float,
                 guests: dict[str, tuple[int, frozenset[int]]] | None = None,
                 soft: bool = True) -> SchoolSolve:
    """CP-SAT on one school's week, the pins (consistent: models/support.kept_pins) kept;
    `soft` False skips minimising the soft costs (the stage's time limit has passed)."""
    t0 = time.perf_counter()
    if not w.teachers:  # no teacher, no session: nothing to solve, and provably so
        return SchoolSolve([], cp_model.OPTIMAL, 0.0, 0.0, time.perf_counter() - t0, [], True)
    sm = build(w, pol, pins, guests)
    status, solver, proven = _lexicographic(sm, budget_s, soft)
    pinned = {(s, p.teacher_id, (pol.school_days.index(p.day), p.period))
              for p in pins for s in p.student_ids}
    groups: dict[tuple[str, Slot], list[str]] = defaultdict(list)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for (s, t, slot), v in sm.x.items():
            if solver.value(v):
                groups[(t, slot)].append(s)
    sessions = [Session(w.school_id, pol.school_days[d], p, w.room, t, tuple(sorted(ss)),
                        any((s, t, (d, p)) in pinned for s in ss))
                for (t, (d, p)), ss in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    # Counted from the sessions by the stated rule (the model's indicator literals are
    # only bounded from below; at the optimum they agree: tests/test_timetable.py).
    penalties = soft_costs(pol, w, sessions)
    done = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return SchoolSolve(sessions, status, solver.objective_value if done else 0.0,
                       solver.best_objective_bound if done else 0.0,
                       time.perf_counter() - t0, penalties, proven)


def solve_timetable(sc: Scenario, enrolment: EnrolmentResult, routes: RoutesResult | None,
                    options: TimetableOptions | None = None) -> TimetableResult:
    """Every school's support week: sessions, entitlements met or explained, soft costs."""
    opt = options or TimetableOptions()
    pol = sc.policy
    t0 = time.perf_counter()
    seats = [(s.student_id, s.school_id, s.grade, s.class_index or 0)
             for s in enrolment.lrc_seats]
    weeks = school_weeks(sc, seats, routes)
    total = max(1, sum(len(w.students) + len(w.guests) for w in weeks))
    sessions: list[Session] = []
    penalties: list[Penalty] = []
    seconds: list[tuple[str, float]] = []
    optimal, proven, skipped, dropped = 0, 0, 0, []
    count: dict[str, int] = defaultdict(int)
    days: dict[str, set[int]] = defaultdict(set)
    pins = pins_by_school(sc)
    # Host rooms last: their guests come with the sessions their own school could give.
    for w in sorted(weeks, key=lambda w: (bool(w.guests), w.school_id)):
        kept, gone = kept_pins(sc, w, pins[w.school_id])
        dropped += gone
        short = {g: (w.need - count[g], frozenset(days[g])) for g in sorted(w.guests)
                 if count[g] < w.need}
        size = len(w.students) + len(short)
        budget = max(MIN_SCHOOL_BUDGET_S, 0.8 * opt.time_limit_s * size / total)
        late = time.perf_counter() > t0 + opt.time_limit_s
        skipped += late and bool(w.teachers)
        got = solve_school(w, pol, kept, budget, short, soft=not late)
        optimal += got.status == cp_model.OPTIMAL
        proven += got.served_proven
        sessions += got.sessions
        penalties += got.penalties
        # Milliseconds, as plan.json keeps them: a written plan reads back the same figures.
        seconds.append((w.school_id, round(got.seconds, 3)))
        for s in got.sessions:
            for sid in s.student_ids:
                count[sid] += 1
                days[sid].add(pol.school_days.index(s.day))
    support = _support_rows(weeks, pol, sessions, count, opt.explain)
    served = sum(s.status == "served" for s in support)
    cost = sum(p.cost for p in penalties)
    status = Status.OPTIMAL if optimal == len(weeks) else Status.FEASIBLE
    times = [t for _, t in seconds]
    proof = (f"{served} of {len(support)} students given {pol.min_support_periods_per_week}+ "
             f"sessions; the students served proven the most possible in {proven} of "
             f"{len(weeks)} schools, the soft cost too in {optimal} (each unserved "
             f"student's blocking constraints found by CP-SAT assumptions)"
             + (f"; per school median {statistics.median(times):.2f} s, max {max(times):.2f} s"
                if times else "")
             + (f"; the time limit passed: soft costs not minimised in {skipped} schools "
                f"(the plan then depends on the machine's speed)" if skipped else "")
             + (f"; {len(dropped)} pinned session(s) no longer apply: "
                + "; ".join(f"{p.school_id} {p.day} {p.period}: {why}" for p, why in dropped[:5])
                if dropped else ""))
    # Every school optimal: the most students served, then sessions, are proven, and the
    # soft cost is the least possible with them: the bound is the cost itself.
    summary = StageSummary("timetable", status, time.perf_counter() - t0, objective=cost,
                           bound=cost if status is Status.OPTIMAL else None,
                           engine="CP-SAT per school", proof=proof)
    return TimetableResult(summary, tuple(sessions), tuple(support), tuple(penalties),
                           tuple(seconds), opt)
