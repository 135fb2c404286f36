"""Resource-room rules, stated once: the siting solver and the checker both read them.

Which sites count as a room (a regular school's resource room; special schools and
resource centres serve their town and may be shared), what a room costs, how many LRC
students a school may hold with and without one, which schools share a room within reach,
and which towns are covered. Nothing here optimises.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lrcplan.models.entities import SchoolKind
from lrcplan.models.policy import Policy
from lrcplan.models.scenario import Scenario


def room_cost_yuan(pol: Policy) -> int:
    """Building and equipping one new resource room, in yuan."""
    return int(pol.resource_room_build_yuan + pol.resource_room_equipment_yuan)


def rooms_for_budget(pol: Policy, budget_yuan: float) -> int:
    """How many new rooms a budget in yuan pays for (every room costs the same)."""
    return int(math.floor(budget_yuan / room_cost_yuan(pol) + 1e-9))


def existing_rooms(sc: Scenario) -> frozenset[str]:
    """Regular schools that already have a resource room."""
    return frozenset(s.id for s in sc.schools
                     if s.kind == SchoolKind.REGULAR and s.resource_room)


def centres(sc: Scenario) -> frozenset[str]:
    """Special schools and resource centres: they cover their town and may be shared."""
    return frozenset(s.id for s in sc.schools if s.kind != SchoolKind.REGULAR)


def room_candidates(sc: Scenario) -> tuple[str, ...]:
    """Regular schools with LRC classes and no room: where a new room may be built."""
    with_classes = {c.school_id for c in sc.classes}
    return tuple(s.id for s in sc.schools if s.kind == SchoolKind.REGULAR
                 and not s.resource_room and s.id in with_classes)


def lrc_capacity(sc: Scenario) -> dict[tuple[str, int], int]:
    """LRC seats per (school, grade): classes times the per-class cap."""
    out: dict[tuple[str, int], int] = defaultdict(int)
    for c in sc.classes:
        if sc.school_by_id[c.school_id].kind == SchoolKind.REGULAR:
            out[(c.school_id, c.grade)] += sc.policy.max_lrc_per_class
    return dict(out)


def reach_minutes(pol: Policy, mode: str, cover_minutes: float = -1.0) -> float:
    """How far a student's school may be from the room that serves it, by siting mode.

    required and budget: the sharing reach (0: only the school's own room); coverage: the
    covering radius (`cover_minutes`, else the policy's); p-median: any distance (every
    student uses the nearest room).
    """
    cover = cover_minutes if cover_minutes >= 0 else pol.siting_cover_minutes
    return {"coverage": cover, "p-median": math.inf}.get(mode, pol.siting_share_minutes)


@dataclass(frozen=True)
class Reach:
    """For each school, the room sites within reach, nearest first (school-to-school)."""

    minutes: float
    near: Mapping[str, tuple[str, ...]]  # school -> sites within reach, nearest first

    def shares(self, school: str, rooms: frozenset[str]) -> str | None:
        """The room site a school's students use: its own, else the nearest in reach."""
        if school in rooms:
            return school
        return next((r for r in self.near.get(school, ()) if r in rooms), None)


def reach(sc: Scenario, schools: Iterable[str], sites: Iterable[str], minutes: float) -> Reach:
    """For each school, the sites within `minutes` (nearest first, then by id); 0: none."""
    schools, sites = sorted(set(schools)), sorted(set(sites))
    if minutes <= 0 or not schools or not sites:
        return Reach(minutes, {})
    sb = sc.school_by_id
    a = np.array([[sb[s].lon, sb[s].lat] for s in schools])
    b = np.array([[sb[s].lon, sb[s].lat] for s in sites])
    w = sc.travel.within(a, b, max_duration_s=minutes * 60.0 if math.isfinite(minutes)
                         else math.inf)
    near: dict[str, list[str]] = defaultdict(list)
    for o, d in zip(w.origin.tolist(), w.dest.tolist(), strict=True):
        if sites[d] != schools[o]:
            near[schools[o]].append(sites[d])  # sorted by duration, then site
    return Reach(minutes, {k: tuple(v) for k, v in near.items()})


def towns_covered(sc: Scenario, rooms: frozenset[str]) -> dict[str, bool]:
    """Every town: whether it has a room or a centre (three-level coverage)."""
    towns = sorted({s.town for s in sc.schools} | {t.name for t in sc.towns})
    have = {sc.school_by_id[r].town for r in rooms if r in sc.school_by_id}
    return {t: t in have for t in towns}


def mover_classes(sc: Scenario, seats: Iterable[tuple[str, str, int, int | None]],
                  school_of: Mapping[str, str]) -> dict[str, int]:
    """Each moved student's class at the new school: the class of the grade with the fewest
    LRC students once every mover has left (lowest index on ties), movers in id order.

    `seats` are the enrolment plan's LRC seats as (student, school, grade, class index).
    One LRC student per class is preferred (Policy.preferred_lrc_per_class), so a mover
    takes an empty class before any gets a second.
    """
    grade = {sid: g for sid, _, g, _ in seats}
    occupancy: Counter[tuple[str, int, int]] = Counter(
        (school, g, k) for sid, school, g, k in seats if sid not in school_of and k is not None)
    out = {}
    for sid, to in sorted(school_of.items()):
        g = grade[sid]
        classes = [c.index for c in sc.classes_by_school_grade.get((to, g), ())]
        if not classes:
            continue
        k = min(classes, key=lambda i: (occupancy[(to, g, i)], i))
        occupancy[(to, g, k)] += 1
        out[sid] = k
    return out
