"""Why a student did not get the full entitlement: the blocking constraints, by CP-SAT.

For each unserved student, a one-student model: a variable per (teacher, day, period)
of the school -- every one, not only those the rules allow -- with every other session
as planned. Each hard constraint that could forbid a slot is one assumption literal;
the entitlement (at least `need` sessions) is required. CP-SAT's
`sufficient_assumptions_for_infeasibility` gives a set of assumptions that together
block it; dropping each in turn while the rest still block makes the set minimal.
The message names them and how many sessions they leave, e.g. "only 2 periods outside
core lessons, on distinct days, with a teacher available (blocking: ...)". Where the
student's sessions could be met with everyone else's sessions as planned (the school's
solve hit its time limit), it says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ortools.sat.python import cp_model

from lrcplan.models.policy import Policy
from lrcplan.models.support import SchoolWeek, Slot
from lrcplan.models.timetable import Session

# Assumption -> (its name in the message, the words it adds to "only N periods ...").
BLOCKS = {
    "core": ("no core-lesson clash", "outside core lessons"),
    "day": ("one session a day", "on distinct days"),
    "teacher": ("teacher availability", "with a teacher available"),
    "taken": ("sessions of other students (teachers, room, groups)",
              "not taken by other students' sessions"),
    "daily_max": ("resource teachers' daily maximum", "within the teachers' daily maximum"),
}
ORDER = tuple(BLOCKS)


def _model(w: SchoolWeek, pol: Policy, sid: str, others: Sequence[Session],
           active: set[str], need: int | None
           ) -> tuple[cp_model.CpModel, dict[str, cp_model.IntVar],
                      dict[tuple[str, Slot], cp_model.IntVar]]:
    """The one-student model with the assumptions in `active` (need None: maximise)."""
    m = cp_model.CpModel()
    days = pol.school_days
    slots = [(d, p) for d in range(len(days)) for p in range(1, pol.periods_per_day + 1)]
    x = {(t, s): m.new_bool_var(f"{t}|{s}") for t in sorted(w.teachers) for s in slots}
    lit = {a: m.new_bool_var(a) for a in ORDER if a in active}
    by_slot: dict[Slot, list[Session]] = defaultdict(list)
    for s in others:
        by_slot[(days.index(s.day), s.period)].append(s)
    teaching: dict[tuple[str, int], int] = defaultdict(int)
    for s in others:
        teaching[(s.teacher_id, days.index(s.day))] += 1
    for (t, slot), v in x.items():
        if "core" in lit and pol.support_core_hard and slot in w.core[sid]:
            m.add(v == 0).only_enforce_if(lit["core"])
        if "teacher" in lit and slot not in w.teachers[t]:
            m.add(v == 0).only_enforce_if(lit["teacher"])
        if "taken" in lit and not _joinable(w, pol, sid, t, by_slot[slot]):
            m.add(v == 0).only_enforce_if(lit["taken"])
    for slot in slots:  # one place at a time: not an assumption, a fact
        m.add_at_most_one(x[(t, slot)] for t in w.teachers)
    if "day" in lit and pol.support_one_per_day:
        for d in range(len(days)):
            m.add(sum(x[(t, (d, p))] for t in w.teachers for p in range(1, pol.periods_per_day
                                                                          + 1)) <= 1
                  ).only_enforce_if(lit["day"])
    if "daily_max" in lit:
        for t in w.teachers:
            if t in w.itinerant:
                continue
            for d in range(len(days)):
                room = pol.resource_teacher_max_periods - teaching[(t, d)]
                m.add(sum(x[(t, (d, p))] for p in range(1, pol.periods_per_day + 1))
                      <= max(0, room)).only_enforce_if(lit["daily_max"])
    total = sum(x.values())
    if need is None:  # the most sessions with these constraints all enforced
        for v in lit.values():
            m.add(v == 1)
        m.maximize(total)
    else:
        m.add(total >= need)
        m.add_assumptions(list(lit.values()))
    return m, lit, x


def _joinable(w: SchoolWeek, pol: Policy, sid: str, teacher: str,
              sessions: list[Session]) -> bool:
    """Whether the student can take this teacher's slot, given the sessions planned then."""
    own = [s for s in sessions if sid not in s.student_ids]
    students = sum(len(s.student_ids) for s in own)
    if students + 1 > w.room_capacity:
        return False
    mine = [s for s in own if s.teacher_id == teacher]
    if mine:
        s = mine[0]
        return len(s.student_ids) < pol.support_group_max and all(
            w.category[o] == w.category[sid] for o in s.student_ids)
    return len(own) < w.room_sessions


def _blocking(w: SchoolWeek, pol: Policy, sid: str, others: Sequence[Session]) -> list[str]:
    """A minimal set of assumptions that together leave fewer than `need` sessions."""
    m, lit, _ = _model(w, pol, sid, others, set(ORDER), w.need)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 1.0
    if solver.solve(m) != cp_model.INFEASIBLE:
        return []
    names = {v.index: a for a, v in lit.items()}
    core = [names[i] for i in solver.sufficient_assumptions_for_infeasibility()]
    for a in sorted(core, key=ORDER.index):  # deletion: keep only what is needed
        trial = [b for b in core if b != a]
        m2, _, _ = _model(w, pol, sid, others, set(trial), w.need)
        s2 = cp_model.CpSolver()
        s2.parameters.num_workers = 1
        s2.parameters.max_deterministic_time = 1.0
        if s2.solve(m2) == cp_model.INFEASIBLE:
            core = trial
    return sorted(core, key=ORDER.index)


def _most(w: SchoolWeek, pol: Policy, sid: str, others: Sequence[Session],
          active: set[str]) -> int:
    """The most sessions the student can have with these constraints enforced."""
    m, _, _ = _model(w, pol, sid, others, active, None)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 1.0
    solver.solve(m)
    return int(solver.objective_value)


def explain_unserved(w: SchoolWeek, pol: Policy, sessions: Sequence[Session],
                     students: Sequence[str]) -> dict[str, str]:
    """Student -> why fewer than `need` sessions: the blocking constraints, named."""
    out: dict[str, str] = {}
    for sid in students:
        if not w.teachers:  # nothing to assume away: the school has no teacher at all
            out[sid] = (f"student {sid}: no teacher gives support at {w.school_id} (no "
                        "resource teacher, and no itinerant visit covering a whole period "
                        "every week)")
            continue
        others = [s for s in sessions if sid not in s.student_ids]
        core = _blocking(w, pol, sid, others)
        if not core:
            out[sid] = (f"student {sid}: {w.need} sessions fit with every other session "
                        "as planned; the school's solve ended at its time limit")
            continue
        most = _most(w, pol, sid, others, set(core))
        words = ", ".join(BLOCKS[a][1] for a in core)
        names = "; ".join(BLOCKS[a][0] for a in core)
        out[sid] = (f"student {sid}: only {most} period{'s' if most != 1 else ''} {words} "
                    f"(blocking: {names})")
    return out
