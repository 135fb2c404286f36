"""The visits a week of itinerant and home-delivered education requires (the rules, stated).

These are requirements, read off the scenario and the earlier stages by the Policy, like
`Policy.resource_teachers_needed`: both the routes solver and the checker start from them.

* Itinerant guidance (巡回指导): every regular school with LRC students is visited weekly,
  or every second week below `itinerant_weekly_min_lrc` students (then the horizon is two
  weeks). A visit lasts `Policy.itinerant_visit_minutes(n)`, inside school hours, by an
  itinerant teacher whose skills cover the categories of the school's LRC students. Where
  no one teacher covers them all, the visit is split into parts, each covering some of
  the categories, by a deterministic greedy cover (the teacher covering most of the rest;
  ties: fewer skills, then id); a category no itinerant teacher has is an unservable part.
* Home-delivered education (送教上门): each home-taught student gets
  `home_visits_per_week` visits a week of `home_periods_per_visit` periods, on different
  days, inside the family's days and window, by one home-delivery teacher whose skills
  cover the student's categories.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lrcplan.models.entities import Category, Role, SchoolKind, Student, Teacher, Tier
from lrcplan.models.policy import Policy, parse_hhmm
from lrcplan.models.scenario import Scenario

ITINERANT, HOME = "itinerant", "home"


@dataclass(frozen=True)
class Stream:
    """Visits to one place that belong together: one teacher, different days."""

    key: str  # "I:SCH0003:1" (school, part) or "H:STU000045:1"
    kind: str  # ITINERANT or HOME
    site_id: str  # the school, or the home-taught student
    lon: float
    lat: float
    minutes: int  # each visit's duration
    skills: frozenset[Category]  # the teacher must have all of these
    days: tuple[int, ...]  # horizon days (indices) a visit may take place on
    window: tuple[int, int]  # minutes after midnight: a visit starts and ends inside
    per_week: int  # visits each week (0: `total` visits anywhere in the horizon)
    total: int  # visits over the horizon
    blocked: str = ""  # why no teacher can ever serve it ('' if someone may)

    def visit_ids(self) -> list[str]:
        """The ids of the stream's required visits, 1-based."""
        return [f"{self.key}:{n}" for n in range(1, self.total + 1)]

    def week_of(self, n: int) -> int | None:
        """The week (1-based) visit n must fall in, or None for any week."""
        return (n - 1) // self.per_week + 1 if self.per_week else None


@dataclass(frozen=True)
class Horizon:
    """The planning horizon: `weeks` weeks of the policy's school days."""

    weeks: int
    days: tuple[str, ...]  # the school days of one week

    @property
    def size(self) -> int:
        """Number of days in the horizon."""
        return self.weeks * len(self.days)

    def label(self, h: int) -> tuple[int, str]:
        """(week, day name) of horizon day h."""
        return h // len(self.days) + 1, self.days[h % len(self.days)]

    def index(self, week: int, day: str) -> int:
        """Horizon index of (week, day); ValueError if outside the horizon."""
        if not 1 <= week <= self.weeks or day not in self.days:
            raise ValueError(f"week {week} {day} is outside the {self.weeks}-week horizon")
        return (week - 1) * len(self.days) + self.days.index(day)

    def in_week(self, week: int) -> range:
        """Horizon indices of a week."""
        n = len(self.days)
        return range((week - 1) * n, week * n)


def categories_of(st: Student) -> frozenset[Category]:
    """The single categories of a student (the components of a multiple disability)."""
    return frozenset(st.categories) if st.category is Category.MULTIPLE else \
        frozenset({st.category})


def cover_parts(needed: frozenset[Category], teachers: Sequence[Teacher]
                ) -> list[frozenset[Category]]:
    """The categories each part of a split visit covers (greedy; see module docstring)."""
    left, parts = set(needed), []
    while left:
        best = min(teachers, key=lambda t: (-len(left & t.skills), len(t.skills), t.id),
                   default=None)
        if best is None or not left & best.skills:
            parts.append(frozenset(left))  # nobody has these: an unservable part
            break
        parts.append(frozenset(left & best.skills))
        left -= best.skills
    return parts


def horizon(policy: Policy, lrc_per_school: dict[str, int]) -> Horizon:
    """One week, or two where any school is visited every second week."""
    weeks = max((policy.itinerant_visits_every_weeks(n) for n in lrc_per_school.values()
                 if n > 0), default=1)
    return Horizon(weeks, tuple(policy.school_days))


def _missing(need: frozenset[Category], teachers: Sequence[Teacher]) -> frozenset[Category]:
    have: set[Category] = set()
    for t in teachers:
        have |= t.skills
    return need - have


def required_streams(sc: Scenario, tiers: dict[str, Tier | None],
                     seats: Iterable[tuple[str, str]]) -> tuple[Horizon, list[Stream]]:
    """Every stream of required visits, from the tiers and the LRC seats (student, school)."""
    pol = sc.policy
    school_students: dict[str, list[Student]] = defaultdict(list)
    for sid, school in seats:
        if sid in sc.student_by_id and school in sc.school_by_id:
            school_students[school].append(sc.student_by_id[sid])
    counts = {k: len(v) for k, v in school_students.items()}
    hz = horizon(pol, counts)
    day_lo, day_hi = parse_hhmm(pol.day_start), parse_hhmm(pol.day_end)
    itinerant = sorted((t for t in sc.teachers if t.role is Role.ITINERANT), key=lambda t: t.id)
    home_teachers = [t for t in sc.teachers if t.role is Role.HOME_DELIVERY]
    out: list[Stream] = []
    for school_id in sorted(school_students):
        school = sc.school_by_id[school_id]
        if school.kind is not SchoolKind.REGULAR:
            continue
        sts = school_students[school_id]
        need: frozenset[Category] = frozenset().union(*(categories_of(s) for s in sts))
        every = pol.itinerant_visits_every_weeks(len(sts))
        per_week, total = (1, hz.weeks) if every == 1 else (0, max(1, hz.weeks // every))
        for p, part in enumerate(cover_parts(need, itinerant), start=1):
            missing = _missing(part, itinerant)
            blocked = (f"no itinerant teacher has the skill "
                       f"{'/'.join(sorted(c.value for c in missing))}" if missing else "")
            out.append(Stream(f"I:{school_id}:{p}", ITINERANT, school_id, school.lon,
                              school.lat, pol.itinerant_visit_minutes(len(sts)), part,
                              tuple(range(hz.size)), (day_lo, day_hi), per_week, total,
                              blocked))
    home_minutes = pol.home_periods_per_visit * pol.period_minutes
    for st in sorted((s for s in sc.students if tiers.get(s.id) is Tier.HOME),
                     key=lambda s: s.id):
        need = categories_of(st)
        allowed = [h for h in range(hz.size)
                   if not st.family_days or hz.label(h)[1] in st.family_days]
        window = ((parse_hhmm(st.family_start), parse_hhmm(st.family_end))
                  if st.family_start and st.family_end else (day_lo, day_hi))
        missing = _missing(need, home_teachers)
        blocked = ""
        if missing:
            blocked = ("no home-delivery teacher has the skill "
                       f"{'/'.join(sorted(c.value for c in missing))}")
        elif not any(need <= t.skills for t in home_teachers):
            blocked = ("no home-delivery teacher has all of the skills "
                       f"{'/'.join(sorted(c.value for c in need))}")
        elif window[1] - window[0] < home_minutes:
            blocked = (f"the family's window {st.family_start}-{st.family_end} is shorter "
                       f"than a {home_minutes}-minute visit")
        out.append(Stream(f"H:{st.id}:1", HOME, st.id, st.lon, st.lat, home_minutes, need,
                          tuple(allowed), window, pol.home_visits_per_week,
                          pol.home_visits_per_week * hz.weeks, blocked))
    return hz, out
