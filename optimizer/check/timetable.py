"""Checker rules of the timetable stage: every support session and entitlement re-derived.

Who is entitled, each student's core-subject slots, which teacher is free at a school
when, and the support room come from the scenario and the plan's earlier stages through
the stated rules (models/support.py); the counts are taken from the plan's own rows.
No solver code is called and no column of support.csv is trusted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import PinnedSession, SchoolKind
from lrcplan.models.plan import Plan, Violation
from lrcplan.models.routes import RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.models.support import (
    SchoolWeek,
    Slot,
    group_key,
    kept_pins,
    pins_by_school,
    school_weeks,
    soft_costs,
)
from lrcplan.models.timetable import Session, TimetableResult
from lrcplan.optimizer.check import per_plan


def _v(rule: str, subject: str, message: str) -> Violation:
    return Violation(rule, subject, message)


@dataclass(frozen=True)
class _Week:
    """The school weeks of a plan, and each entitled student's school."""

    by_school: dict[str, SchoolWeek]
    school_of: dict[str, str]  # entitled student -> school

    def core(self, student_id: str) -> frozenset[Slot]:
        """The core-subject slots of a student's class (none for a student not entitled)."""
        w = self.by_school.get(self.school_of.get(student_id, ""))
        return frozenset() if w is None else w.core.get(student_id, frozenset())


@per_plan  # every rule starts from the school weeks
def _weeks(sc: Scenario, plan: Plan) -> _Week:
    """The plan's school weeks, from its enrolment and (when they ran) its routes."""
    # A seat without a class has no known core slots (0 matches no class); the enrolment
    # checker reports the seat itself.
    seats = [(s.student_id, s.school_id, s.grade, s.class_index if s.class_index is not None
              else 0) for s in plan.get(EnrolmentResult).lrc_seats]
    weeks = school_weeks(sc, seats, plan.find(RoutesResult))
    return _Week({w.school_id: w for w in weeks},
                 {sid: w.school_id for w in weeks for sid in w.students})


def _slot(sc: Scenario, day: str, period: int) -> Slot | None:
    """(day index, period) of a time in the school week, None when it is outside."""
    pol = sc.policy
    if day not in pol.school_days or not 1 <= period <= pol.periods_per_day:
        return None
    return pol.school_days.index(day), period


def _name(s: Session) -> str:
    return f"{s.school_id} {s.day} period {s.period} {s.teacher_id}"


def _sessions(plan: Plan) -> tuple[Session, ...]:
    return plan.get(TimetableResult).sessions


def check_support_rows(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: support.csv lists every entitled LRC student once, at the school of the seat,
    with the sessions timetable.csv gives the student, served exactly when they reach the
    entitlement, a reason when unserved and none when served."""
    wk = _weeks(sc, plan)
    got = Counter(sid for s in _sessions(plan) for sid in set(s.student_ids))
    rows = plan.get(TimetableResult).support
    listed = Counter(r.student_id for r in rows)
    for sid, n in sorted(listed.items()):
        if sid not in wk.school_of:
            yield _v("support", sid, "not an LRC student seated in a regular school")
        elif n > 1:
            yield _v("support", sid, f"listed {n} times in support.csv")
    for sid in sorted(set(wk.school_of) - set(listed)):
        yield _v("support", sid, f"entitled at {wk.school_of[sid]} but missing from "
                                 f"support.csv")
    for r in rows:
        school = wk.school_of.get(r.student_id)
        if school is None:
            continue
        if r.school_id != school:
            yield _v("support", r.student_id, f"listed at {r.school_id}, seated at {school}")
        n, need = got[r.student_id], wk.by_school[school].need
        if r.sessions != n:
            yield _v("support", r.student_id, f"{r.sessions} sessions listed, timetable.csv "
                                              f"gives {n}")
        want = "served" if n >= need else "unserved"
        if r.status != want:
            yield _v("support", r.student_id, f"status {r.status!r} with {n} of {need} "
                                              f"sessions, the rules give {want!r}")
        if r.status == "unserved" and not r.reason.strip():
            yield _v("support", r.student_id, "unserved without a reason")
        elif r.status == "served" and r.reason:
            yield _v("support", r.student_id, "a served student carries a reason")


def check_session_place(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a session is held in a regular school with entitled students (or guests), on
    a school day and period, in the school's support room, for students entitled at that
    school or, where Policy.support_shared_room_minutes lets them, at a room-less school
    whose nearest room within that time this is."""
    wk = _weeks(sc, plan)
    for s in _sessions(plan):
        w = wk.by_school.get(s.school_id)
        if w is None:
            school = sc.school_by_id.get(s.school_id)
            why = ("not a school of the scenario" if school is None
                   else f"a {school.kind.value} school" if school.kind is not SchoolKind.REGULAR
                   else "a school without entitled LRC students")
            yield _v("session-place", _name(s), f"{s.school_id} is {why}")
            continue
        if _slot(sc, s.day, s.period) is None:
            yield _v("session-place", _name(s),
                     f"{s.day} period {s.period} is outside the school week "
                     f"({', '.join(sc.policy.school_days)}, periods 1-"
                     f"{sc.policy.periods_per_day})")
        if s.room != w.room:
            yield _v("session-place", _name(s), f"room {s.room!r}, the school's support "
                                                f"room is {w.room!r}")
        for sid in s.student_ids:
            # A guest: a student of a room-less school whose nearest room this is.
            if wk.school_of.get(sid) != s.school_id and sid not in w.guests:
                where = wk.school_of.get(sid)
                yield _v("session-place", _name(s),
                         f"{sid} is not entitled at {s.school_id}"
                         + (f" (seated at {where})" if where else ""))


def check_core_clash(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard (unless Policy.support_core_hard is false): no student has a session during a
    core-subject period of the student's class."""
    if not sc.policy.support_core_hard:
        return  # then a clash is a soft penalty (penalties.csv), not a violation
    wk = _weeks(sc, plan)
    for s in _sessions(plan):
        slot = _slot(sc, s.day, s.period)
        if slot is None:
            continue  # outside the week: check_session_place reports it
        for sid in sorted(set(s.student_ids)):
            if slot in wk.core(sid):
                yield _v("core-clash", sid, f"a session ({_name(s)}) during a core-subject "
                                            f"period of the student's class")


def check_one_a_day(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard (unless Policy.support_one_per_day is false): at most one session a day for a
    student."""
    if not sc.policy.support_one_per_day:
        return
    per_day = Counter((sid, s.day) for s in _sessions(plan) for sid in set(s.student_ids))
    for (sid, day), n in sorted(per_day.items()):
        if n > 1:
            yield _v("one-a-day", sid, f"{n} sessions on {day}")


def check_teacher_available(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a session's teacher is one of the school's support teachers free at that
    period: a resource teacher on the teacher's days and hours, a resource teacher the
    school counts but teachers.csv does not list (<school>-RT<n>), or an itinerant teacher
    at the school for the whole period every week (routes.csv)."""
    wk = _weeks(sc, plan)
    for s in _sessions(plan):
        w = wk.by_school.get(s.school_id)
        slot = _slot(sc, s.day, s.period)
        if w is None or slot is None:
            continue  # check_session_place reports the place
        free = w.teachers.get(s.teacher_id)
        if free is None:
            yield _v("teacher-available", _name(s), f"{s.teacher_id} is not a support "
                                                    f"teacher of {s.school_id}")
        elif slot not in free:
            kind = "visit" if s.teacher_id in w.itinerant else "working hours"
            yield _v("teacher-available", _name(s), f"{s.teacher_id}'s {kind} at "
                                                    f"{s.school_id} do not cover that period")


def check_teacher_clash(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: no teacher gives two sessions at one time, in one school or in two."""
    at: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for s in _sessions(plan):
        at[(s.teacher_id, s.day, s.period)].append(s.school_id)
    for (tid, day, period), schools in sorted(at.items(), key=str):
        if len(schools) > 1:
            yield _v("teacher-clash", tid, f"{len(schools)} sessions on {day} period {period} "
                                           f"(at {', '.join(sorted(schools))})")


def check_teacher_load(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a resource teacher gives at most Policy.resource_teacher_max_periods sessions
    a day (an itinerant teacher is bounded by the visit alone)."""
    wk = _weeks(sc, plan)
    itinerant = {t for w in wk.by_school.values() for t in w.itinerant}
    cap = sc.policy.resource_teacher_max_periods
    per_day = Counter((s.teacher_id, s.day) for s in _sessions(plan)
                      if s.teacher_id not in itinerant)
    for (tid, day), n in sorted(per_day.items()):
        if n > cap:
            yield _v("teacher-load", tid, f"{n} sessions on {day} (at most {cap})")


def check_student_clash(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: no student is in two sessions at one time."""
    at = Counter((sid, s.day, s.period) for s in _sessions(plan) for sid in set(s.student_ids))
    for (sid, day, period), n in sorted(at.items(), key=str):
        if n > 1:
            yield _v("student-clash", sid, f"in {n} sessions on {day} period {period}")


def check_room(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a school's support room holds at most its students and sessions at once (a
    resource room Policy.resource_room_capacity students, a designated space one session)."""
    wk = _weeks(sc, plan)
    students: Counter[tuple[str, str, int]] = Counter()
    sessions: Counter[tuple[str, str, int]] = Counter()
    for s in _sessions(plan):
        if s.school_id in wk.by_school and _slot(sc, s.day, s.period) is not None:
            key = (s.school_id, s.day, s.period)
            students[key] += len(set(s.student_ids))
            sessions[key] += 1
    for key in sorted(sessions, key=str):
        w = wk.by_school[key[0]]
        subject = f"{w.room} {key[1]} period {key[2]}"
        if students[key] > w.room_capacity:
            yield _v("room", subject, f"{students[key]} students at once (seats "
                                      f"{w.room_capacity})")
        if sessions[key] > w.room_sessions:
            yield _v("room", subject, f"{sessions[key]} sessions at once (holds "
                                      f"{w.room_sessions})")


def check_group(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a session holds 1 to Policy.support_group_max distinct students, all of
    compatible needs (one group key)."""
    top = sc.policy.support_group_max
    for s in _sessions(plan):
        distinct = set(s.student_ids)
        if len(distinct) != len(s.student_ids):
            yield _v("group", _name(s), "a student is listed twice")
        if not 1 <= len(distinct) <= top:
            yield _v("group", _name(s), f"{len(distinct)} students (1 to {top})")
        keys = {group_key(sc.student_by_id[sid]) for sid in distinct
                if sid in sc.student_by_id}  # an unknown student: check_session_place
        if len(keys) > 1:
            yield _v("group", _name(s), f"mixes needs: {', '.join(sorted(keys))}")


def _keeps(s: Session, pin: PinnedSession) -> bool:
    """Whether a session is the pinned one (more students may have joined it)."""
    return ((s.school_id, s.day, s.period, s.teacher_id)
            == (pin.school_id, pin.day, pin.period, pin.teacher_id)
            and set(pin.student_ids) <= set(s.student_ids))


def check_pinned(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: every pinned session that still fits the school's week and the pins before
    it (models/support.py kept_pins) is kept, marked pinned; a session marked pinned is
    one of the input's."""
    wk = _weeks(sc, plan)
    # Sessions and pins by (school, day, period, teacher): a district has thousands.
    at: dict[tuple[str, str, int, str], list[Session]] = defaultdict(list)
    for s in _sessions(plan):
        at[(s.school_id, s.day, s.period, s.teacher_id)].append(s)
    pins: dict[tuple[str, str, int, str], list[PinnedSession]] = defaultdict(list)
    for pin in sc.sessions:
        pins[(pin.school_id, pin.day, pin.period, pin.teacher_id)].append(pin)
    by_school = pins_by_school(sc)
    applies = []
    for school_id, w in sorted(wk.by_school.items()):
        applies += kept_pins(sc, w, by_school[school_id])[0]
    for pin in applies:  # the others no longer apply, or clash with earlier pins
        key = (pin.school_id, pin.day, pin.period, pin.teacher_id)
        if not any(s.pinned and _keeps(s, pin) for s in at.get(key, ())):
            yield _v("pinned", f"{pin.school_id} {pin.day} period {pin.period} "
                               f"{pin.teacher_id}",
                     f"the pinned session of {', '.join(pin.student_ids)} is not kept")
    for key, group in at.items():
        for s in group:
            if s.pinned and not any(_keeps(s, pin) for pin in pins.get(key, ())):
                yield _v("pinned", _name(s), "marked pinned, but no input session pins it")


def check_penalties(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: penalties.csv states what each soft constraint costs in each school and whom
    it hits, as the stated weights give it for the timetable's sessions."""
    wk = _weeks(sc, plan)
    sessions: dict[str, list[Session]] = defaultdict(list)
    for s in _sessions(plan):
        sessions[s.school_id].append(s)
    want = {(p.school_id, p.constraint): p for school, w in sorted(wk.by_school.items())
            for p in soft_costs(sc.policy, w, sessions[school])}
    got = Counter((p.school_id, p.constraint) for p in plan.get(TimetableResult).penalties)
    rows = {(p.school_id, p.constraint): p for p in plan.get(TimetableResult).penalties}
    for key in sorted(set(want) | set(got)):
        subject = f"{key[0]} {key[1]}"
        if got[key] > 1:
            yield _v("penalty", subject, f"listed {got[key]} times")
        w_, g = want.get(key), rows.get(key)
        if g is None:
            assert w_ is not None
            yield _v("penalty", subject, f"missing: costs {w_.cost} ({w_.count} times)")
        elif w_ is None:
            yield _v("penalty", subject, "listed, but the sessions never break it")
        elif (g.count, g.cost, set(g.student_ids)) != (w_.count, w_.cost, set(w_.student_ids)):
            yield _v("penalty", subject, f"{g.count} times costing {g.cost} "
                                         f"({', '.join(g.student_ids) or '-'}); the sessions "
                                         f"give {w_.count} costing {w_.cost} "
                                         f"({', '.join(w_.student_ids) or '-'})")


RULES = (check_support_rows, check_session_place, check_core_clash, check_one_a_day,
         check_teacher_available, check_teacher_clash, check_teacher_load,
         check_student_clash, check_room, check_group, check_pinned, check_penalties)
