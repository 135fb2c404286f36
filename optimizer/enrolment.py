"""Enrolment: LRC students to classes of their grade, special-school students to a school.

The LRC part is one min-cost flow, source -> student -> (school, grade) -> sink:

* every student either takes a seat or the "unplaced" arc, whose cost outweighs any
  rearrangement of everyone else: the most students possible are seated (zero rejection);
* a seat outside the catchment school costs more than any seat, travel included, inside it:
  catchment first;
* seats of a class are priced convexly: the first `preferred` LRC seats are free, each
  further one costs more than the longest allowed journey, so a class gets a second LRC
  student only when no class of that grade within the student's reach has none left;
* then travel time in seconds.

Each student gets arcs to the `candidates` nearest (school, grade) groups within the
travel limit plus the catchment school. Arcs left out are priced with the optimal flow's
residual potentials; students whose left-out arcs could improve the plan get more arcs
and the flow is solved again, so the result is optimal over every pair within reach.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from lrcplan.models.enrolment import (
    EnrolmentOptions,
    EnrolmentResult,
    EnrolmentStats,
    SchoolLoad,
    Seat,
    Unplaced,
)
from lrcplan.models.entities import SchoolKind, Student, Tier
from lrcplan.models.placement import PlacementResult
from lrcplan.models.plan import StageSummary, Status
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.flow import (
    FlowNetwork,
    FlowSolution,
    potentials,
    solve_networkx,
    solve_ortools,
)


@dataclass(frozen=True)
class Weights:
    """Integer costs that make the objective lexicographic (see the module docstring)."""

    limit_s: float  # the travel limit, seconds: no new seat further than this
    travel_max_s: int  # every travel cost is at most this (limit rounded up)
    extra_seat: int  # each LRC seat beyond the preferred number in a class
    outside_catchment: int
    unplaced: int

    @classmethod
    def for_policy(cls, max_minutes: float, max_per_class: int, preferred: int,
                   n_students: int) -> Weights:
        """Weights for a policy and a number of students to place.

        Each weight outweighs everything below it for any one student and for any two
        students exchanging seats (hence the factors 2); `unplaced` outweighs every
        rearrangement of all the others.
        """
        t = math.ceil(max_minutes * 60)
        extra = 2 * t + 1
        worst_seat = (max_per_class - preferred) * extra
        catch = 2 * (worst_seat + t) + 1
        unplaced = (n_students + 1) * (catch + worst_seat + t + 1)
        return cls(max_minutes * 60.0, t, extra, catch, unplaced)


@dataclass
class _Groups:
    """(school, grade) groups of regular classes and their occupancy by incumbents."""

    keys: list[tuple[str, int]]
    index: dict[tuple[str, int], int]
    occupancy: list[list[int]]  # per group, LRC students per class (ordered by class index)
    class_index: list[list[int]]


def _groups(sc: Scenario) -> _Groups:
    regular = {s.id for s in sc.schools if s.kind is SchoolKind.REGULAR}
    keys = sorted(k for k in sc.classes_by_school_grade if k[0] in regular)
    return _Groups(keys, {k: i for i, k in enumerate(keys)},
                   [[0] * len(sc.classes_by_school_grade[k]) for k in keys],
                   [[c.index for c in sc.classes_by_school_grade[k]] for k in keys])


def solve_enrolment(sc: Scenario, placement: PlacementResult,
                    options: EnrolmentOptions | None = None) -> EnrolmentResult:
    """Seat every LRC and special-school student; optimal, with reasons for the unplaced."""
    opt = options or EnrolmentOptions()
    t0 = time.perf_counter()
    pol = sc.policy
    tiers = placement.tier_of()
    groups = _groups(sc)
    seats: list[Seat] = []
    unplaced: list[Unplaced] = []
    notes: list[str] = []

    # Incumbents keep their seats, at most the class cap (lowest ids first) where the
    # data holds more: the rest are placed afresh like everyone else.
    free: list[Student] = []
    held: dict[tuple[str, int, int], list[Student]] = defaultdict(list)
    fixed_school: dict[str, str] = {}
    for st in sc.students:
        tier = tiers[st.id]
        if tier is None:
            unplaced.append(Unplaced(st.id, None, st.grade, "tier undecided: see placement.csv"))
            continue
        if tier is not Tier.LRC:
            continue
        cur = sc.school_by_id.get(st.current_school or "")
        if opt.reshuffle or cur is None or cur.kind is not SchoolKind.REGULAR:
            free.append(st)
        elif st.current_class is not None:
            held[(cur.id, st.grade, st.current_class)].append(st)
        else:
            # Enrolled in a school, class not known: that school comes first, like a
            # catchment school; if it has no seat the student is placed like anyone else.
            fixed_school[st.id] = cur.id
            free.append(st)
    kept: list[tuple[Student, str, int]] = []
    for key, sts in sorted(held.items()):
        sts.sort(key=lambda s: s.id)
        g = groups.index[(key[0], key[1])]
        pos = groups.class_index[g].index(key[2])
        for st in sts[: pol.max_lrc_per_class]:
            groups.occupancy[g][pos] += 1
            kept.append((st, key[0], key[2]))
        for st in sts[pol.max_lrc_per_class:]:
            notes.append(f"{st.id}: class {key[0]}-{key[1]}-{key[2]} already had "
                         f"{pol.max_lrc_per_class} LRC students; placed afresh")
            free.append(st)
    free.sort(key=lambda s: s.id)
    seats += _kept_seats(sc, kept, Tier.LRC)

    weights = Weights.for_policy(pol.max_home_school_minutes, pol.max_lrc_per_class,
                                 pol.preferred_lrc_per_class, len(free))
    sol, model, proof = _solve_lrc(sc, free, groups, fixed_school, weights, opt)
    seats += model.seats(sol, groups, free, fixed_school)
    for i in np.flatnonzero(~model.placed(sol)):
        st = free[int(i)]
        unplaced.append(Unplaced(st.id, Tier.LRC, st.grade, model.reason(int(i), sc, st)))

    seats += _special_seats(sc, tiers, opt, unplaced)
    seats.sort(key=lambda s: s.student_id)
    unplaced.sort(key=lambda u: u.student_id)
    loads = school_loads(sc, seats)

    stats = EnrolmentStats(
        flow_arcs=int(len(model.net.tail)), pricing_rounds=int(proof["rounds"]),
        solver_seconds=float(proof["solver_seconds"]), weight_extra_seat=weights.extra_seat,
        weight_outside_catchment=weights.outside_catchment, weight_unplaced=weights.unplaced,
        notes=tuple(notes))
    status = Status.OPTIMAL if proof["certified"] else (
        Status.FEASIBLE if sol.optimal else Status.INFEASIBLE)
    summary = StageSummary("enrolment", status, time.perf_counter() - t0,
                           objective=float(sol.cost),
                           bound=float(sol.cost) if proof["certified"] else None,
                           engine=sol.engine, proof=str(proof["text"]))
    return EnrolmentResult(summary, tuple(seats), tuple(unplaced), loads,
                           pol.preferred_lrc_per_class, opt, stats)


def _kept_seats(sc: Scenario, kept: list[tuple[Student, str, int | None]], tier: Tier
                ) -> list[Seat]:
    """Seats of incumbents who keep them, with their travel (one vectorised call)."""
    if not kept:
        return []
    homes = np.array([[st.lon, st.lat] for st, _, _ in kept])
    schools = np.array([[sc.school_by_id[i].lon, sc.school_by_id[i].lat] for _, i, _ in kept])
    dist, dur = sc.travel.pairs(homes, schools)
    return [Seat(st.id, tier, school_id, st.grade, idx, round(float(t) / 60.0, 2),
                 round(float(d) / 1000.0, 3), st.catchment_school == school_id, True)
            for (st, school_id, idx), d, t in zip(kept, dist, dur, strict=True)]


@dataclass
class _LrcModel:
    """The flow network of the LRC students and how to read a solution back."""

    net: FlowNetwork
    n_students: int
    cand_student: np.ndarray  # per candidate arc: student position
    cand_group: np.ndarray  # per candidate arc: group index
    cand_dist: np.ndarray
    cand_dur: np.ndarray
    cand_catch: np.ndarray
    reach_groups: np.ndarray  # per student: groups of their grade within reach (count)
    first_cand_arc: int
    reach_minutes: float

    def placed(self, sol: FlowSolution) -> np.ndarray:
        """Per student, whether the flow seats them."""
        unplaced_arcs = sol.flow[self.n_students: 2 * self.n_students]
        return unplaced_arcs == 0

    def seats(self, sol: FlowSolution, groups: _Groups, students: list[Student],
              kept_school: dict[str, str]) -> list[Seat]:
        """Seats from the flow, spreading each group's students over its emptiest classes."""
        a0 = self.first_cand_arc
        used = np.flatnonzero(sol.flow[a0: a0 + len(self.cand_student)] > 0)
        by_group: dict[int, list[int]] = defaultdict(list)
        for arc in used:
            by_group[int(self.cand_group[arc])].append(int(arc))
        out: list[Seat] = []
        for g, arcs in sorted(by_group.items()):
            occ = groups.occupancy[g]
            for arc in sorted(arcs, key=lambda a: students[self.cand_student[a]].id):
                pos = min(range(len(occ)), key=lambda p: (occ[p], p))
                occ[pos] += 1
                st = students[self.cand_student[arc]]
                school = groups.keys[g][0]
                out.append(Seat(st.id, Tier.LRC, school, st.grade, groups.class_index[g][pos],
                                round(float(self.cand_dur[arc]) / 60.0, 2),
                                round(float(self.cand_dist[arc]) / 1000.0, 3),
                                st.catchment_school == school,
                                kept_school.get(st.id) == school))
        return out

    def reason(self, i: int, sc: Scenario, st: Student) -> str:
        """Why student i could not be seated."""
        mins = f"{self.reach_minutes:g} min"
        if int(self.reach_groups[i]) == 0:
            return f"no regular school with a grade-{st.grade} class within {mins}"
        # reach_groups stops counting at the candidates asked for; the reason counts all.
        ids = [x.id for x in sc.schools if x.kind is SchoolKind.REGULAR
               and (x.id, st.grade) in sc.classes_by_school_grade]
        dest = np.array([[sc.school_by_id[x].lon, sc.school_by_id[x].lat] for x in ids])
        _, dur = sc.travel.pairs(np.repeat([[st.lon, st.lat]], len(ids), axis=0), dest)
        n = int(np.count_nonzero(dur <= self.reach_minutes * 60.0))
        return (f"all grade-{st.grade} classes of the {n} school(s) within {mins} are full "
                f"({sc.policy.max_lrc_per_class} LRC students per class)")


def _solve_lrc(sc: Scenario, students: list[Student], groups: _Groups,
               fixed_school: dict[str, str], w: Weights, opt: EnrolmentOptions
               ) -> tuple[FlowSolution, _LrcModel, dict[str, object]]:
    """Build, solve and certify the LRC flow, adding arcs until pricing finds none."""
    k = opt.candidates
    cand = _candidates(sc, students, groups, fixed_school, w, k)
    extra_k = np.full(len(students), k)
    rounds = 0
    solver_s = 0.0
    t0 = time.perf_counter()
    while True:
        rounds += 1
        model = _network(sc, students, groups, w, cand)
        sol = solve_ortools(model.net) if opt.engine == "ortools" else solve_networkx(model.net)
        solver_s += sol.seconds
        proof: dict[str, object] = {"certified": False, "rounds": rounds,
                                    "solver_seconds": round(solver_s, 3)}
        if not sol.optimal:
            return sol, model, proof | {"text": f"solver failed: {sol.engine}"}
        pi = potentials(model.net, sol.flow)
        if pi is None:
            return sol, model, proof | {"text": "residual graph has a negative cycle"}
        need = _pricing(pi, cand, students, groups, w)
        if not need.size:
            return sol, model, proof | {"certified": True,
                                        "text": "proven: residual potentials price every "
                                                "student-school pair within reach at >= 0"}
        if time.perf_counter() - t0 > opt.time_limit_s:
            return sol, model, proof | {"text": f"time limit of {opt.time_limit_s:g} s reached "
                                                f"after {rounds} pricing round(s); "
                                                f"{need.size} students still priced below 0"}
        if rounds >= opt.max_rounds:
            return sol, model, proof | {"text": f"{need.size} students still priced below 0 "
                                                f"after {rounds} rounds"}
        extra_k[need] *= 4
        cand = _candidates(sc, students, groups, fixed_school, w, k, per_student=extra_k)


@dataclass
class _Cand:
    student: np.ndarray
    group: np.ndarray
    dist: np.ndarray
    dur: np.ndarray
    catch: np.ndarray
    complete: np.ndarray  # per student: every group within reach is a candidate
    kth_dur: np.ndarray  # per student: largest candidate duration (when not complete)
    reach: np.ndarray  # per student: number of groups within reach (at least those found)


def _candidates(sc: Scenario, students: list[Student], groups: _Groups,
                fixed_school: dict[str, str], w: Weights, k: int,
                per_student: np.ndarray | None = None) -> _Cand:
    """Candidate (student, group) pairs: the k nearest groups of the grade, plus catchment."""
    n = len(students)
    pts = np.array([[s.lon, s.lat] for s in students], float).reshape(n, 2)
    ks = per_student if per_student is not None else np.full(n, k)
    parts: list[tuple[np.ndarray, ...]] = []
    complete = np.ones(n, bool)
    kth = np.zeros(n)
    reach = np.zeros(n, np.int64)
    by_grade: dict[int, list[int]] = defaultdict(list)
    for i, st in enumerate(students):
        by_grade[st.grade].append(i)
    for grade, idx_list in sorted(by_grade.items()):
        gidx = [gi for gi, key in enumerate(groups.keys) if key[1] == grade]
        if not gidx:
            continue
        idx = np.array(idx_list)
        dest = np.array([[sc.school_by_id[groups.keys[g][0]].lon,
                          sc.school_by_id[groups.keys[g][0]].lat] for g in gidx])
        for kk in np.unique(ks[idx]):
            sub = idx[ks[idx] == kk]
            kq = int(min(kk, len(gidx)))
            near = sc.travel.nearest(pts[sub], dest, k=kq, max_duration_s=w.limit_s)
            counts = np.bincount(near.origin, minlength=len(sub))
            reach[sub] = counts
            full = counts == kq
            complete[sub[full & (kq < len(gidx))]] = False
            last = np.zeros(len(sub))
            np.maximum.at(last, near.origin, near.duration_s)
            kth[sub] = last
            gsel = np.array(gidx)[near.dest]
            parts.append((sub[near.origin], gsel, near.distance_m, near.duration_s))
    # The home school always gets an arc: the school a student is enrolled in (within
    # reach or not: keeping a seat is not a new journey), else the catchment school
    # within reach.
    extra_s, extra_g = [], []
    for i, st in enumerate(students):
        target = fixed_school.get(st.id) or st.catchment_school
        g = groups.index.get((target, st.grade)) if target else None
        if g is not None:
            extra_s.append(i)
            extra_g.append(g)
    if extra_s:
        es, eg = np.array(extra_s), np.array(extra_g)
        dest = np.array([[sc.school_by_id[groups.keys[g][0]].lon,
                          sc.school_by_id[groups.keys[g][0]].lat] for g in eg])
        dist, dur = sc.travel.pairs(pts[es], dest)
        fixed = np.array([students[i].id in fixed_school for i in es], bool)
        keep = fixed | (dur <= w.limit_s)
        parts.append((es[keep], eg[keep], dist[keep], dur[keep]))
    if parts:
        s = np.concatenate([p[0] for p in parts]).astype(np.int64)
        g = np.concatenate([p[1] for p in parts]).astype(np.int64)
        d = np.concatenate([p[2] for p in parts])
        t = np.concatenate([p[3] for p in parts])
    else:
        s = g = np.zeros(0, np.int64)
        d = t = np.zeros(0)
    # One arc per pair (catchment may also be among the nearest), deterministic order.
    order = np.lexsort((g, s))
    s, g, d, t = s[order], g[order], d[order], t[order]
    first = np.ones(len(s), bool)
    first[1:] = (s[1:] != s[:-1]) | (g[1:] != g[:-1])
    s, g, d, t = s[first], g[first], d[first], t[first]
    home_group = np.full(n, -1, np.int64)
    for i, gi in zip(extra_s, extra_g, strict=True):
        home_group[i] = gi
    catch = g == home_group[s]
    return _Cand(s, g, d, t, catch, complete, kth, reach)


def _network(sc: Scenario, students: list[Student], groups: _Groups, w: Weights,
             c: _Cand) -> _LrcModel:
    """The flow network: source 0, sink 1, students 2.., then groups."""
    pol = sc.policy
    n, ng = len(students), len(groups.keys)
    g0 = 2 + n
    stud = np.arange(2, 2 + n)
    tails = [np.zeros(n, np.int64), stud]
    heads = [stud, np.ones(n, np.int64)]
    caps = [np.ones(n, np.int64), np.ones(n, np.int64)]
    costs = [np.zeros(n, np.int64), np.full(n, w.unplaced, np.int64)]
    travel_cost = np.minimum(np.rint(c.dur), w.travel_max_s).astype(np.int64)
    tails.append(2 + c.student)
    heads.append(g0 + c.group)
    caps.append(np.ones(len(c.student), np.int64))
    costs.append(travel_cost + np.where(c.catch, 0, w.outside_catchment))
    lt, lh, lc, lw = [], [], [], []
    for gi in range(ng):
        occ = groups.occupancy[gi]
        for j in range(1, pol.max_lrc_per_class + 1):
            free = sum(1 for o in occ if o < j)
            if free:
                lt.append(g0 + gi)
                lh.append(1)
                lc.append(free)
                lw.append(max(0, j - pol.preferred_lrc_per_class) * w.extra_seat)
    tails.append(np.array(lt, np.int64))
    heads.append(np.array(lh, np.int64))
    caps.append(np.array(lc, np.int64))
    costs.append(np.array(lw, np.int64))
    supply = np.zeros(g0 + ng, np.int64)
    supply[0], supply[1] = n, -n
    net = FlowNetwork(g0 + ng, np.concatenate(tails), np.concatenate(heads),
                      np.concatenate(caps), np.concatenate(costs), supply)
    return _LrcModel(net, n, c.student, c.group, c.dist, c.dur, c.catch, c.reach, 2 * n,
                     pol.max_home_school_minutes)


def _pricing(pi: np.ndarray, c: _Cand, students: list[Student], groups: _Groups,
             w: Weights) -> np.ndarray:
    """Students whose left-out arcs might have negative reduced cost.

    A left-out arc goes to a group other than the home school, further than the student's
    last candidate, so it costs at least kth_dur + outside_catchment; its reduced cost is
    at least that plus pi[student] minus the largest group potential of the grade.
    """
    n = len(students)
    g0 = 2 + n
    gmax: dict[int, int] = {}
    for gi, key in enumerate(groups.keys):
        gmax[key[1]] = max(gmax.get(key[1], -(2**62)), int(pi[g0 + gi]))
    grade = np.array([s.grade for s in students], np.int64)
    top = np.array([gmax.get(int(g), -(2**62)) for g in grade], np.int64)
    lower = np.floor(c.kth_dur).astype(np.int64) + w.outside_catchment + pi[2: 2 + n] - top
    return np.flatnonzero(~c.complete & (lower < 0))


def _special_seats(sc: Scenario, tiers: dict[str, Tier | None], opt: EnrolmentOptions,
                   unplaced: list[Unplaced]) -> list[Seat]:
    """Special-school students: kept where enrolled, else the nearest special school.

    Special schools serve the whole district (many board), so no travel limit applies;
    one teaching the student's grade is preferred.
    """
    specials = [s for s in sc.schools if s.kind is SchoolKind.SPECIAL]
    out: list[Seat] = []
    todo = [st for st in sc.students if tiers[st.id] is Tier.SPECIAL]
    if not todo:
        return out
    if not specials:
        unplaced.extend(Unplaced(st.id, Tier.SPECIAL, st.grade,
                                 "no special school in the district") for st in todo)
        return out
    kept: list[tuple[Student, str, int | None]] = []
    new: list[Student] = []
    for st in todo:
        cur = sc.school_by_id.get(st.current_school or "")
        if not opt.reshuffle and cur is not None and cur.kind is SchoolKind.SPECIAL:
            kept.append((st, cur.id, st.current_class))
        else:
            new.append(st)
    out += _kept_seats(sc, kept, Tier.SPECIAL)
    if not new:
        return out
    pts = np.array([[st.lon, st.lat] for st in new])
    dest = np.array([[s.lon, s.lat] for s in specials])
    m = sc.travel.matrix(pts, dest)
    teaches = {g: np.array([(s.id, g) in sc.classes_by_school_grade for s in specials])
               for g in sc.policy.grades}
    for i, st in enumerate(new):
        t = teaches[st.grade]
        dur = np.where(t, m.duration_s[i], np.inf) if t.any() else m.duration_s[i]
        j = int(np.argmin(dur))
        if not math.isfinite(float(m.duration_s[i, j])):
            unplaced.append(Unplaced(st.id, Tier.SPECIAL, st.grade,
                                     "no special school reachable by road"))
            continue
        out.append(Seat(st.id, Tier.SPECIAL, specials[j].id, st.grade, None,
                        round(float(m.duration_s[i, j]) / 60, 2),
                        round(float(m.distance_m[i, j]) / 1000, 3), False, False))
    return out


def school_loads(sc: Scenario, seats: list[Seat] | tuple[Seat, ...]) -> tuple[SchoolLoad, ...]:
    """Per regular school: LRC count, classes with LRC, room needed, resource teachers."""
    pol = sc.policy
    by_school: dict[str, Counter[tuple[int, int | None]]] = defaultdict(Counter)
    for s in seats:
        if s.tier is Tier.LRC:
            by_school[s.school_id][(s.grade, s.class_index)] += 1
    staff = Counter(t.base for t in sc.teachers if t.role.value == "resource")
    out = []
    for school in sc.schools:
        if school.kind is not SchoolKind.REGULAR:
            continue
        cls = by_school.get(school.id, Counter())
        n = sum(cls.values())
        out.append(SchoolLoad(
            school.id, n, len(cls), sum(1 for v in cls.values() if v >= 2),
            n >= pol.resource_room_threshold, school.resource_room,
            pol.resource_teachers_needed(n),
            max(school.resource_teachers, staff[school.id])))
    return tuple(out)
