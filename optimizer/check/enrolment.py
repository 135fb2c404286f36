"""Checker rules of the enrolment stage: every seat, school row and unplaced row re-derived.

Distances come from the scenario's travel model, counts from the plan's own rows; no
solver code is called. Each rule is one function with a "Hard:" docstring.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import numpy as np

from lrcplan.models.enrolment import EnrolmentResult, Seat
from lrcplan.models.entities import SchoolKind, Student, Tier
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import Plan, Violation
from lrcplan.models.scenario import Scenario

TRAVEL_TOLERANCE_MIN = 0.05  # rounding of minutes written to the plan
DISTANCE_TOLERANCE_KM = 0.0005  # kilometres are written to the metre


def _v(rule: str, subject: str, message: str) -> Violation:
    return Violation(rule, subject, message)


def check_seats(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: at most one seat per student, in a school of the right kind and grade."""
    tiers = plan.get(PlacementResult).tier_of()
    counts = Counter(s.student_id for s in plan.get(EnrolmentResult).seats)
    for sid, n in counts.items():
        if n > 1:
            yield _v("one-seat", sid, f"{n} seats")
    unplaced = {u.student_id for u in plan.get(EnrolmentResult).unplaced}
    for sid in unplaced & set(counts):
        yield _v("one-seat", sid, "both seated and listed as unplaced")
    for s in plan.get(EnrolmentResult).seats:
        st = sc.student_by_id.get(s.student_id)
        school = sc.school_by_id.get(s.school_id)
        if st is None or school is None:
            yield _v("seat", s.student_id, f"unknown student or school {s.school_id!r}")
            continue
        if s.tier is not tiers.get(s.student_id):
            yield _v("seat", s.student_id, f"seated as {s.tier.value} but placed as "
                                           f"{getattr(tiers.get(s.student_id), 'value', None)}")
        if s.grade != st.grade:
            yield _v("grade", s.student_id, f"seat in grade {s.grade}, student in {st.grade}")
        want_kind = SchoolKind.REGULAR if s.tier is Tier.LRC else SchoolKind.SPECIAL
        if s.tier is Tier.HOME:
            yield _v("seat", s.student_id, "a home-delivered student has a school seat")
        elif school.kind is not want_kind:
            yield _v("seat", s.student_id, f"{s.tier.value} student in a {school.kind.value} "
                                           f"school {school.id}")
        if s.tier is Tier.LRC:
            keys = [c.index for c in sc.classes_by_school_grade.get((s.school_id, st.grade), ())]
            if s.class_index not in keys:
                yield _v("grade", s.student_id, f"{s.school_id} has no class {s.class_index} "
                                                f"in grade {st.grade}")
    for st in sc.students:  # zero rejection: nobody silently dropped
        tier = tiers.get(st.id)
        if tier in (Tier.LRC, Tier.SPECIAL, None) and st.id not in counts and \
                st.id not in unplaced:
            yield _v("zero-rejection", st.id, "neither seated nor listed as unplaced")


def _lrc_counts(plan: Plan) -> Counter[tuple[str, int, int | None]]:
    return Counter((s.school_id, s.grade, s.class_index)
                   for s in plan.get(EnrolmentResult).seats if s.tier is Tier.LRC)


def check_class_cap(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: at most `max_lrc_per_class` LRC students in a class, incumbents included."""
    cap = sc.policy.max_lrc_per_class
    for (school, grade, idx), n in sorted(_lrc_counts(plan).items(), key=str):
        if n > cap:
            yield _v("class-cap", f"{school}-{grade}-{idx}", f"{n} LRC students (max {cap})")


def _travel_rows(sc: Scenario, students: list[Student], school_ids: list[str]
                 ) -> tuple[np.ndarray, np.ndarray]:
    pts = np.array([[s.lon, s.lat] for s in students], float).reshape(-1, 2)
    dst = np.array([[sc.school_by_id[i].lon, sc.school_by_id[i].lat] for i in school_ids],
                   float).reshape(-1, 2)
    return sc.travel.pairs(pts, dst)


def check_travel(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a newly placed LRC student travels at most the limit; written travel is true."""
    limit = sc.policy.max_home_school_minutes
    seats = [s for s in plan.get(EnrolmentResult).seats if s.school_id in sc.school_by_id
             and s.student_id in sc.student_by_id]
    if not seats:
        return
    dist, dur = _travel_rows(sc, [sc.student_by_id[s.student_id] for s in seats],
                             [s.school_id for s in seats])
    for s, d, km in zip(seats, dur / 60.0, dist / 1000.0, strict=True):
        if abs(s.distance_km - km) > DISTANCE_TOLERANCE_KM + 1e-9:
            yield _v("travel", s.student_id, f"plan says {s.distance_km} km to "
                                             f"{s.school_id}, the travel model {km:.3f}")
        if abs(s.travel_minutes - d) > TRAVEL_TOLERANCE_MIN + 1e-9:
            yield _v("travel", s.student_id, f"plan says {s.travel_minutes} min to "
                                             f"{s.school_id}, the travel model {d:.2f}")
        if s.tier is Tier.LRC and not s.incumbent and d > limit + 1e-6:
            yield _v("travel", s.student_id, f"{d:.1f} min to {s.school_id} exceeds the "
                                             f"{limit:g} min limit")


def _kept_incumbents(sc: Scenario, plan: Plan) -> dict[str, tuple[str, int | None]]:
    """Incumbents who must keep their seats: up to the cap per class, lowest ids first."""
    if plan.get(EnrolmentResult).options.reshuffle:
        return {}
    tiers = plan.get(PlacementResult).tier_of()
    cap = sc.policy.max_lrc_per_class
    by_class: dict[tuple[str, int, int], list[str]] = defaultdict(list)
    out: dict[str, tuple[str, int | None]] = {}
    for st in sc.students:
        school = sc.school_by_id.get(st.current_school or "")
        if school is None:
            continue
        if tiers.get(st.id) is Tier.LRC and school.kind is SchoolKind.REGULAR:
            # Enrolled without a class: that school is the student's home school, checked
            # by check_catchment (kept where it has a seat).
            if st.current_class is not None:
                by_class[(school.id, st.grade, st.current_class)].append(st.id)
        elif tiers.get(st.id) is Tier.SPECIAL and school.kind is SchoolKind.SPECIAL:
            out[st.id] = (school.id, None)
    for (school_id, _, idx), ids in by_class.items():
        for sid in sorted(ids)[:cap]:
            out[sid] = (school_id, idx)
    return out


def check_incumbents(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: enrolled students keep their seats unless the plan was made with reshuffle."""
    seat_of = {s.student_id: s for s in plan.get(EnrolmentResult).seats}
    for sid, (school, idx) in sorted(_kept_incumbents(sc, plan).items()):
        s = seat_of.get(sid)
        if s is None or s.school_id != school or (idx is not None and s.class_index != idx):
            where = "unseated" if s is None else f"{s.school_id} class {s.class_index}"
            yield _v("incumbent", sid, f"was in {school}" + (f" class {idx}" if idx else "")
                     + f", now {where}")


def _classes_below(sc: Scenario, counts: Counter[tuple[str, int, int | None]], school: str,
                   grade: int, level: int) -> list[int]:
    return [c.index for c in sc.classes_by_school_grade.get((school, grade), ())
            if counts[(school, grade, c.index)] < level]


def _nearest_below(sc: Scenario, counts: Counter[tuple[str, int, int | None]], st: Student,
                   level: int, regular: list[str], limit: float) -> tuple[float, str] | None:
    """(minutes, school) of the nearest school within reach with a grade class below level."""
    cands = [i for i in regular if _classes_below(sc, counts, i, st.grade, level)]
    if not cands:
        return None
    _, dur = _travel_rows(sc, [st] * len(cands), cands)
    near = [(d, i) for d, i in zip(dur / 60.0, cands, strict=True) if d <= limit]
    return min(near) if near else None


def _home_schools(sc: Scenario, plan: Plan) -> dict[str, tuple[str, bool]]:
    """Each LRC student's first-choice school and whether it is kept whatever the travel.

    A student enrolled in a regular school without a known class keeps that school (no
    new journey); everyone else has the catchment school, within the travel limit.
    """
    tiers = plan.get(PlacementResult).tier_of()
    out: dict[str, tuple[str, bool]] = {}
    for st in sc.students:
        if tiers.get(st.id) is not Tier.LRC:
            continue
        cur = sc.school_by_id.get(st.current_school or "")
        if (not plan.get(EnrolmentResult).options.reshuffle and cur is not None
                and cur.kind is SchoolKind.REGULAR and st.current_class is None):
            out[st.id] = (cur.id, True)
        elif st.catchment_school in sc.school_by_id:
            out[st.id] = (st.catchment_school, False)  # type: ignore[index]
    return out


def check_catchment(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: placed away from the home school only when it has no seat (within reach)."""
    counts = _lrc_counts(plan)
    cap, limit = sc.policy.max_lrc_per_class, sc.policy.max_home_school_minutes
    home = _home_schools(sc, plan)
    pairs = [(s, sc.student_by_id[s.student_id], *home[s.student_id])
             for s in _known_seats(sc, plan)
             if s.tier is Tier.LRC and not s.incumbent and s.student_id in home]
    pairs = [(s, st, h, kept) for s, st, h, kept in pairs
             if h != s.school_id and _classes_below(sc, counts, h, st.grade, cap)]
    if not pairs:
        return
    _, dur = _travel_rows(sc, [p[1] for p in pairs], [p[2] for p in pairs])
    for (s, st, h, kept), d in zip(pairs, dur / 60.0, strict=True):
        if kept or d <= limit:
            what = "the school the student is enrolled in" if kept else "catchment school"
            yield _v("catchment", st.id, f"seated at {s.school_id} while {what} {h} "
                                         f"({d:.0f} min) has a free grade-{st.grade} seat")


def check_priority(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: a school's own catchment students come before newcomers from elsewhere.

    A student kept from a full home school must not be out-ranked there by a student for
    whom it is not the home school, where the two could simply exchange seats (or the
    newcomer could give the seat up to an unplaced home student).
    """
    limit = sc.policy.max_home_school_minutes
    home = _home_schools(sc, plan)
    seat_of = {s.student_id: s for s in _known_seats(sc, plan)}
    newcomers: dict[tuple[str, int], list[Seat]] = defaultdict(list)
    for s in _known_seats(sc, plan):
        if s.tier is Tier.LRC and not s.incumbent and home.get(s.student_id, ("",))[0] != \
                s.school_id:
            newcomers[(s.school_id, s.grade)].append(s)
    displaced = [sid for sid, (h, _) in home.items() if (h, sc.student_by_id[sid].grade)
                 in newcomers and getattr(seat_of.get(sid), "school_id", None) != h
                 and not getattr(seat_of.get(sid), "incumbent", False)]
    for sid in sorted(displaced):
        st = sc.student_by_id[sid]
        h, kept = home[sid]
        _, to_home = _travel_rows(sc, [st], [h])
        if not kept and to_home[0] / 60.0 > limit:
            continue
        mine = seat_of.get(sid)
        for o in newcomers[(h, st.grade)]:
            if mine is not None:
                other = sc.student_by_id[o.student_id]
                _, back = _travel_rows(sc, [other], [mine.school_id])
                if back[0] / 60.0 > limit:
                    continue  # the newcomer could not take the home student's seat
            yield _v("priority", sid, f"{o.student_id} from elsewhere holds a grade-{st.grade}"
                                      f" seat at {h}, {sid}'s home school; they could swap")
            break


def check_spread(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: an LRC seat beyond the preferred number only if no class within reach is emptier.

    For a student in the home (catchment) school the choice is within that school; elsewhere it
    covers every class of the grade within the travel limit. Incumbents are exempt.
    """
    pref, limit = sc.policy.preferred_lrc_per_class, sc.policy.max_home_school_minutes
    counts = _lrc_counts(plan)
    crowded = {k for k, n in counts.items() if n > pref}
    todo = [s for s in _known_seats(sc, plan) if s.tier is Tier.LRC and not s.incumbent
            and (s.school_id, s.grade, s.class_index) in crowded
            and s.student_id in sc.student_by_id]
    if not todo:
        return
    regular = [x.id for x in sc.schools if x.kind is SchoolKind.REGULAR]
    home = _home_schools(sc, plan)
    for s in todo:
        st = sc.student_by_id[s.student_id]
        if home.get(st.id, ("",))[0] == s.school_id:
            emptier = _classes_below(sc, counts, s.school_id, st.grade, pref)
            if emptier:
                yield _v("spread", st.id, f"class {s.class_index} of {s.school_id} has "
                                          f"{counts[(s.school_id, s.grade, s.class_index)]} "
                                          f"LRC students while class {emptier[0]} has fewer "
                                          f"than {pref}")
            continue
        near = _nearest_below(sc, counts, st, pref, regular, limit)
        if near:
            d, i = near
            yield _v("spread", st.id, f"shares a class at {s.school_id} while {i} "
                                      f"({d:.0f} min) has a grade-{st.grade} class with fewer "
                                      f"than {pref} LRC students")


def check_unplaced(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: an unplaced student really had no seat: every class within reach is full."""
    counts = _lrc_counts(plan)
    cap, limit = sc.policy.max_lrc_per_class, sc.policy.max_home_school_minutes
    tiers = plan.get(PlacementResult).tier_of()
    regular = [x.id for x in sc.schools if x.kind is SchoolKind.REGULAR]
    specials = [x.id for x in sc.schools if x.kind is SchoolKind.SPECIAL]
    for u in plan.get(EnrolmentResult).unplaced:
        st = sc.student_by_id.get(u.student_id)
        if st is None:
            yield _v("unplaced", u.student_id, "not in the scenario")
            continue
        tier = tiers.get(st.id)
        if tier is None:
            continue  # undecided tier: nothing to place by
        if tier is Tier.SPECIAL:
            if specials:
                yield _v("unplaced", st.id, "special-school student unplaced while the "
                                            "district has special schools")
            continue
        if tier is Tier.HOME:
            yield _v("unplaced", st.id, "home-delivered students need no seat")
            continue
        near = _nearest_below(sc, counts, st, cap, regular, limit)
        if near:
            d, i = near
            yield _v("unplaced", st.id, f"{i} ({d:.0f} min) has a free grade-{st.grade} seat")



def _known_seats(sc: Scenario, plan: Plan) -> list[Seat]:
    """Seats of scenario students at scenario schools (check_seats reports the rest)."""
    return [s for s in plan.get(EnrolmentResult).seats
            if s.student_id in sc.student_by_id and s.school_id in sc.school_by_id]


def check_seat_flags(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: the catchment and incumbent flags and a special seat's class are true."""
    kept = _kept_incumbents(sc, plan)
    # Enrolled in a regular school, class unknown: that school, where kept, is incumbent.
    own_school = {sid: h for sid, (h, kept) in _home_schools(sc, plan).items() if kept}
    decided = plan.get(PlacementResult).tier_of()
    for s in _known_seats(sc, plan):
        if s.student_id not in decided:
            continue  # no readable decision: reported by the placement rules, not guessed
        st = sc.student_by_id[s.student_id]
        catchment = s.school_id == st.catchment_school
        if s.catchment != catchment:
            yield _v("seat-flag", s.student_id, f"catchment is {str(s.catchment).lower()}, "
                                                f"but {s.school_id} is "
                                                f"{'' if catchment else 'not '}the catchment "
                                                "school")
        where = kept.get(s.student_id)
        incumbent = (where is not None and where[0] == s.school_id
                     and (where[1] is None or where[1] == s.class_index)) or \
            own_school.get(s.student_id) == s.school_id
        if s.incumbent != incumbent:
            yield _v("seat-flag", s.student_id, f"incumbent is {str(s.incumbent).lower()}, "
                                                "but the student "
                                                f"{'kept' if incumbent else 'did not keep'} a "
                                                "seat held before")
        if s.tier is Tier.SPECIAL and s.class_index is not None and not (
                incumbent and s.class_index == st.current_class):
            yield _v("seat-flag", s.student_id, f"special-school class {s.class_index} is "
                                                "not planned here (only a kept class is "
                                                "written)")


def check_school_rows(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: schools.csv holds each regular school once, every figure re-derived."""
    pol = sc.policy
    result = plan.get(EnrolmentResult)
    per_class: dict[str, Counter[tuple[int, int | None]]] = defaultdict(Counter)
    for s in _known_seats(sc, plan):
        if s.tier is Tier.LRC:
            per_class[s.school_id][(s.grade, s.class_index)] += 1
    staff = Counter(t.base for t in sc.teachers if t.role.value == "resource")
    rows = Counter(x.school_id for x in result.schools)
    regular = {x.id for x in sc.schools if x.kind is SchoolKind.REGULAR}
    for sid in sorted(set(rows) | regular):
        if sid not in regular:
            yield _v("school-row", sid, "not a regular school of the scenario")
        elif rows[sid] != 1:
            yield _v("school-row", sid, f"{rows[sid]} rows in schools.csv (want 1)")
    for x in result.schools:
        school = sc.school_by_id.get(x.school_id)
        if school is None or x.school_id not in regular:
            continue
        cls = per_class.get(x.school_id, Counter())
        n = sum(cls.values())
        want = {"lrc_students": n, "classes_with_lrc": len(cls),
                "classes_with_two": sum(1 for v in cls.values() if v >= 2),
                "room_required": n >= pol.resource_room_threshold,
                "has_room": school.resource_room,
                "resource_teachers_needed": pol.resource_teachers_needed(n),
                "resource_teachers_present": max(school.resource_teachers, staff[school.id])}
        for name, value in want.items():
            got = getattr(x, name)
            if got != value or type(got) is not type(value):
                yield _v("school-row", x.school_id, f"{name} is {got}, the seats and the "
                                                    f"scenario give {value}")


def _schools_within(sc: Scenario, st: Student, limit: float) -> int:
    """Regular schools with a class of the student's grade within `limit` minutes."""
    cands = [x.id for x in sc.schools if x.kind is SchoolKind.REGULAR
             and (x.id, st.grade) in sc.classes_by_school_grade]
    if not cands:
        return 0
    _, dur = _travel_rows(sc, [st] * len(cands), cands)
    return int(np.count_nonzero(dur / 60.0 <= limit))


def unplaced_reason(sc: Scenario, st: Student, tier: Tier | None) -> str:
    """Why a student is unplaced, in the words the plan must use."""
    if tier is None:
        return "tier undecided: see placement.csv"
    if tier is Tier.SPECIAL:
        if not any(x.kind is SchoolKind.SPECIAL for x in sc.schools):
            return "no special school in the district"
        return "no special school reachable by road"
    limit = sc.policy.max_home_school_minutes
    n = _schools_within(sc, st, limit)
    if n == 0:
        return f"no regular school with a grade-{st.grade} class within {limit:g} min"
    return (f"all grade-{st.grade} classes of the {n} school(s) within {limit:g} min are full "
            f"({sc.policy.max_lrc_per_class} LRC students per class)")


def check_unplaced_rows(sc: Scenario, plan: Plan) -> Iterable[Violation]:
    """Hard: an unplaced row has the student's tier, grade and the true reason, once."""
    tiers = plan.get(PlacementResult).tier_of()
    result = plan.get(EnrolmentResult)
    for sid, n in sorted(Counter(u.student_id for u in result.unplaced).items()):
        if n > 1:
            yield _v("unplaced", sid, f"listed {n} times")
    if result.preferred_per_class != sc.policy.preferred_lrc_per_class:
        yield _v("unplaced", "plan.json", f"preferred_per_class is "
                                          f"{result.preferred_per_class}, the policy says "
                                          f"{sc.policy.preferred_lrc_per_class}")
    for u in result.unplaced:
        st = sc.student_by_id.get(u.student_id)
        if st is None:
            continue  # check_unplaced reports it
        tier = tiers.get(st.id)
        if u.tier is not tier:
            yield _v("unplaced", st.id, f"listed as {getattr(u.tier, 'value', 'undecided')}, "
                                        f"placed as {getattr(tier, 'value', 'undecided')}")
        if u.grade != st.grade:
            yield _v("unplaced", st.id, f"grade {u.grade}, the student is in {st.grade}")
        want = unplaced_reason(sc, st, tier)
        if u.tier is tier and u.reason != want:
            yield _v("unplaced", st.id, f"reason {u.reason!r}, the data give {want!r}")


RULES = (check_seats, check_seat_flags, check_class_cap, check_travel, check_incumbents,
         check_catchment, check_priority, check_spread, check_unplaced, check_unplaced_rows,
         check_school_rows)
