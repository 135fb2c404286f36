"""What a week of support sessions must give and may use, school by school (the rules,
stated): both the timetable solver and the checker start from it.

* Entitled: every LRC student seated in a regular school gets
  `Policy.min_support_periods_per_week` sessions (individual support and training).
* A student's own periods: every (day, period) of the school week but the core-subject
  periods of the student's class (hard unless `Policy.support_core_hard` is false).
* Teachers, by (day, period): the school's resource teachers -- those of teachers.csv
  based at the school, on their days and within their hours (the whole period inside),
  and, where schools.csv counts more resource teachers than teachers.csv lists, the
  others as `<school>-RT<n>`, every school period -- and the itinerant teachers whose
  route (routes.csv) has them at the school for the whole period on that day in every
  week of the horizon.
* Room: the resource room `<school>-RR` seating `Policy.resource_room_capacity` students
  at once, or, without one, a designated space `<school>-SP` for one session at a time.
* A session holds one student, or up to `Policy.support_group_max` students of one
  category (compatible needs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from lrcplan.models.entities import DAYS, PinnedSession, Role, SchoolKind, Student
from lrcplan.models.policy import Policy, parse_hhmm
from lrcplan.models.routes import RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.models.timetable import SOFT, Penalty, Session
from lrcplan.models.visits import ITINERANT, categories_of

Slot = tuple[int, int]  # (day index in Policy.school_days, period 1-based)


@dataclass(frozen=True)
class SchoolWeek:
    """One school's support week: who is entitled, who teaches when, where."""

    school_id: str
    students: tuple[str, ...]  # entitled LRC students, by id
    need: int  # sessions each student is entitled to
    category: dict[str, str]  # student -> the category grouping compatible needs
    core: dict[str, frozenset[Slot]]  # student -> the core-subject slots of its class
    teachers: dict[str, frozenset[Slot]]  # teacher -> slots available at this school
    itinerant: frozenset[str]  # the teachers above who are itinerant (in a visit)
    room: str
    room_capacity: int  # students at once
    room_sessions: int  # sessions at once (a designated space: 1)
    # Students of room-less schools this room hosts -> minutes from their school, one way
    # (Policy.support_shared_room_minutes); their core and category are in the maps above.
    guests: dict[str, int] = field(default_factory=dict)


def room_of(sc: Scenario, school_id: str) -> tuple[str, int, int]:
    """(room id, students at once, sessions at once) of a school's support space."""
    school = sc.school_by_id[school_id]
    pol = sc.policy
    if school.resource_room:
        return f"{school_id}-RR", pol.resource_room_capacity, pol.resource_room_capacity
    return f"{school_id}-SP", pol.support_group_max, 1


def group_key(st: Student) -> str:
    """Students with the same key have compatible needs (one category, or one set)."""
    return "/".join(sorted(c.value for c in categories_of(st)))


def _slots_within(sc: Scenario, day_names: Iterable[str], lo: int, hi: int) -> set[Slot]:
    pol = sc.policy
    out: set[Slot] = set()
    for d, day in enumerate(pol.school_days):
        if day in day_names:
            for p in range(1, pol.periods_per_day + 1):
                a, b = pol.period_window(p)
                if lo <= a and b <= hi:
                    out.add((d, p))
    return out


def _itinerant_slots(sc: Scenario, routes: RoutesResult | None) -> dict[tuple[str, str],
                                                                          set[Slot]]:
    """(school, teacher) -> slots the itinerant teacher spends at the school every week."""
    if routes is None:
        return {}
    # (school, teacher, day) -> week -> the slots of that week's visits there
    weekly: dict[tuple[str, str, str], dict[int, set[Slot]]] = defaultdict(
        lambda: defaultdict(set))
    for stops in routes.days.values():
        for s in stops:
            if s.kind == ITINERANT and s.site_id in sc.school_by_id:
                weekly[(s.site_id, s.teacher_id, s.day)][s.week] |= _slots_within(
                    sc, (s.day,), s.start, s.end)
    out: dict[tuple[str, str], set[Slot]] = defaultdict(set)
    for (school, tid, _), weeks in weekly.items():
        if len(weeks) >= routes.weeks:  # there every week, not every second one
            out[(school, tid)] |= set.intersection(*weeks.values())
    return out


def school_weeks(sc: Scenario, seats: Iterable[tuple[str, str, int, int | None]],
                 routes: RoutesResult | None) -> list[SchoolWeek]:
    """Every regular school's support week, from the LRC seats (student, school, grade,
    class index) and the routes (None: no itinerant teacher gives sessions)."""
    pol = sc.policy
    ppd = pol.periods_per_day
    by_school: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for sid, school, grade, index in seats:
        if school in sc.school_by_id and sid in sc.student_by_id:
            by_school[school].append((sid, grade, index))
    masks = {c.key: c.core_mask for c in sc.classes}
    visiting = _itinerant_slots(sc, routes)
    out = []
    for school_id in sorted(by_school):
        school = sc.school_by_id[school_id]
        if school.kind is not SchoolKind.REGULAR:
            continue
        rows = sorted(by_school[school_id])
        core = {}
        for sid, grade, index in rows:
            mask = masks.get((school_id, grade, index), 0)
            # Mask bits count days from Monday (entities.parse_periods); slots count the
            # school week's days.
            core[sid] = frozenset((pol.school_days.index(DAYS[b // ppd]), b % ppd + 1)
                                  for b in range(len(DAYS) * ppd)
                                  if mask >> b & 1 and DAYS[b // ppd] in pol.school_days)
        teachers, itinerant = _teachers(sc, school_id, visiting)
        room, cap, at_once = room_of(sc, school_id)
        out.append(SchoolWeek(
            school_id, tuple(sid for sid, _, _ in rows), pol.min_support_periods_per_week,
            {sid: group_key(sc.student_by_id[sid]) for sid, _, _ in rows}, core,
            teachers, itinerant, room, cap, at_once))
    return _with_guests(sc, out, lambda school_id: _teachers(sc, school_id, visiting))


def _teachers(sc: Scenario, school_id: str, visiting: dict[tuple[str, str], set[Slot]]
              ) -> tuple[dict[str, frozenset[Slot]], frozenset[str]]:
    """A school's teachers by their slots, and which of them are itinerant."""
    pol = sc.policy
    school = sc.school_by_id[school_id]
    teachers: dict[str, frozenset[Slot]] = {}
    listed = sorted((t for t in sc.teachers if t.role is Role.RESOURCE
                     and t.base == school_id), key=lambda t: t.id)
    for t in listed:
        teachers[t.id] = frozenset(_slots_within(sc, t.days, parse_hhmm(t.start),
                                                 parse_hhmm(t.end)))
    every = frozenset((d, p) for d in range(len(pol.school_days))
                      for p in range(1, pol.periods_per_day + 1))
    for n in range(len(listed) + 1, school.resource_teachers + 1):
        teachers[f"{school_id}-RT{n}"] = every
    itinerant = set()
    for (sch, tid), slots in sorted(visiting.items()):
        if sch == school_id and slots:
            teachers[tid] = frozenset(slots | teachers.get(tid, frozenset()))
            itinerant.add(tid)
    return teachers, frozenset(itinerant)


def hosts(sc: Scenario, schools: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Room-less school -> (the nearest regular school with a resource room within
    Policy.support_shared_room_minutes, whole minutes there rounded up)."""
    limit = sc.policy.support_shared_room_minutes
    rooms = sorted(s.id for s in sc.schools if s.resource_room
                   and s.kind is SchoolKind.REGULAR)
    need = sorted(s for s in schools if not sc.school_by_id[s].resource_room)
    if limit <= 0 or not rooms or not need:
        return {}
    a = np.array([(sc.school_by_id[s].lon, sc.school_by_id[s].lat) for s in need])
    b = np.array([(sc.school_by_id[s].lon, sc.school_by_id[s].lat) for s in rooms])
    minutes = sc.travel.matrix(a, b).duration_s / 60.0
    out = {}
    for i, school in enumerate(need):
        k = min(range(len(rooms)), key=lambda k: (minutes[i, k], rooms[k]))
        if minutes[i, k] <= limit:
            out[school] = (rooms[k], math.ceil(minutes[i, k] - 1e-9))
    return out


def _with_guests(sc: Scenario, weeks: list[SchoolWeek],
                 teachers: Callable[[str], tuple[dict[str, frozenset[Slot]],
                                                 frozenset[str]]]) -> list[SchoolWeek]:
    """The weeks with each host room's guests (a host without LRC students of its own
    gets a week for them)."""
    by = {w.school_id: w for w in weeks}
    guests: dict[str, list[tuple[SchoolWeek, int]]] = defaultdict(list)
    for school, (host, minutes) in sorted(hosts(sc, by).items()):
        if by[school].students:
            guests[host].append((by[school], minutes))
    for host, homes in sorted(guests.items()):
        w = by.get(host)
        if w is None:
            ts, itinerant = teachers(host)
            room, cap, at_once = room_of(sc, host)
            w = SchoolWeek(host, (), sc.policy.min_support_periods_per_week, {}, {}, ts,
                           itinerant, room, cap, at_once)
        core, category, visit = dict(w.core), dict(w.category), dict(w.guests)
        for home, minutes in homes:
            core.update(home.core)
            category.update(home.category)
            visit.update({s: minutes for s in home.students})
        by[host] = replace(w, core=core, category=category, guests=visit)
    return [by[k] for k in sorted(by)]


def pin_problem(sc: Scenario, w: SchoolWeek, pin: PinnedSession) -> str:
    """Why a pinned session no longer applies to the plan ('' when it does): the planner
    keeps every pin that still fits the school's week and its hard rules."""
    pol = sc.policy
    if pin.day not in pol.school_days or not 1 <= pin.period <= pol.periods_per_day:
        return f"{pin.day} period {pin.period} is outside the school week"
    slot = (pol.school_days.index(pin.day), pin.period)
    outside = [s for s in pin.student_ids if s not in w.category]
    if outside:
        return f"{', '.join(outside)} not an LRC student of {w.school_id} in this plan"
    if slot not in w.teachers.get(pin.teacher_id, frozenset()):
        return f"{pin.teacher_id} is not available at {w.school_id} then"
    if pol.support_core_hard:
        busy = [s for s in pin.student_ids if slot in w.core[s]]
        if busy:
            return f"{', '.join(busy)} has a core-subject lesson then"
    if len(pin.student_ids) > pol.support_group_max or \
            len({w.category[s] for s in pin.student_ids}) > 1:
        return "the group is too large or mixes needs"
    return ""


def pins_by_school(sc: Scenario) -> dict[str, list[PinnedSession]]:
    """The scenario's pinned sessions by school, in input order (as `kept_pins` takes them)."""
    out: dict[str, list[PinnedSession]] = defaultdict(list)
    for pin in sc.sessions:
        out[pin.school_id].append(pin)
    return out


def kept_pins(sc: Scenario, w: SchoolWeek, pins: Iterable[PinnedSession]
              ) -> tuple[list[PinnedSession], list[tuple[PinnedSession, str]]]:
    """The school's pins the plan keeps, and the others with why: in input order, a pin
    is kept when it applies (`pin_problem`) and fits with the pins kept before it (a
    student or teacher once a slot, one a day, the teachers' daily maximum, the room)."""
    kept: list[PinnedSession] = []
    dropped: list[tuple[PinnedSession, str]] = []
    for pin in pins:
        why = pin_problem(sc, w, pin) or _clash(sc, w, pin, kept)
        if why:
            dropped.append((pin, why))
        else:
            kept.append(pin)
    return kept, dropped


def _clash(sc: Scenario, w: SchoolWeek, pin: PinnedSession, kept: list[PinnedSession]
           ) -> str:
    pol = sc.policy
    same = [k for k in kept if (k.day, k.period) == (pin.day, pin.period)]
    if any(k.teacher_id == pin.teacher_id for k in same):
        return f"{pin.teacher_id} is pinned to another session then"
    both = {s for k in same for s in k.student_ids} & set(pin.student_ids)
    if both:
        return f"{', '.join(sorted(both))} pinned to another session then"
    if pol.support_one_per_day:
        twice = {s for k in kept if k.day == pin.day for s in k.student_ids} & \
            set(pin.student_ids)
        if twice:
            return f"{', '.join(sorted(twice))} already has a pinned session that day"
    if pin.teacher_id not in w.itinerant and sum(
            k.teacher_id == pin.teacher_id and k.day == pin.day for k in kept
    ) >= pol.resource_teacher_max_periods:
        return f"{pin.teacher_id} already gives its daily maximum in pinned sessions"
    if len(same) + 1 > w.room_sessions or \
            sum(len(k.student_ids) for k in same) + len(pin.student_ids) > w.room_capacity:
        return f"{w.room} is full with pinned sessions then"
    return ""


# Soft constraints' weights (assumptions, in points; a core clash, when soft, costs
# Policy.support_core_clash_penalty): what the timetable solver minimises and
# penalties.csv reports.
EDGE_PERIOD = 2  # a student's session in the first or last period of the day
CONSECUTIVE = 1  # a student's sessions on two consecutive school days
TEACHER_GAP = 1  # an idle stretch between two sessions of a teacher's day


def soft_costs(pol: Policy, w: SchoolWeek, sessions: Iterable[Session]) -> list[Penalty]:
    """What each soft constraint costs in a school's sessions, and whom it hits."""
    days, last = pol.school_days, pol.periods_per_day
    hits: dict[str, list[tuple[int, str]]] = defaultdict(list)
    on: dict[str, set[int]] = defaultdict(set)
    busy: dict[tuple[str, int], set[int]] = defaultdict(set)
    for s in sessions:
        if s.day not in days:
            continue
        d = days.index(s.day)
        busy[(s.teacher_id, d)].add(s.period)
        for sid in s.student_ids:
            on[sid].add(d)
            if s.period in (1, last):
                hits["edge_period"].append((EDGE_PERIOD, sid))
            if not pol.support_core_hard and (d, s.period) in w.core.get(sid, ()):
                hits["core_clash"].append((pol.support_core_clash_penalty, sid))
        for sid in s.student_ids:
            if sid in w.guests:  # a guest's way to this room and back
                hits["room_travel"].append((2 * w.guests[sid], sid))
    for sid, ds in sorted(on.items()):
        hits["consecutive_days"] += [(CONSECUTIVE, sid) for d in ds if d + 1 in ds]
    for _, ps in sorted(busy.items()):
        order = sorted(ps)
        hits["teacher_gap"] += [(TEACHER_GAP, "") for a, b in zip(order, order[1:],
                                                                   strict=False) if b > a + 1]
    return [Penalty(w.school_id, name, len(hits[name]), sum(c for c, _ in hits[name]),
                    tuple(sorted({s for _, s in hits[name] if s})))
            for name in SOFT if hits[name]]
