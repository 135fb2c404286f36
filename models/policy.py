"""The district's rules (`Policy`): every default from DESIGN.md section 1, with its source."""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lrcplan.models.errors import Problem, ScenarioError

DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Grades each school level teaches (first, last). Compulsory Education Law art. 2 and the
#: national "6+3" school system: primary school grades 1-6, junior secondary 7-9, a
#: nine-year school (九年一贯制) 1-9. Special schools and centres ("special", "none") take
#: any grade of Policy.grades. (A district on the "5+4" system, e.g. Shanghai, would need
#: primary 1-5 and junior 6-9: not modelled yet.)
LEVEL_GRADES: dict[str, tuple[int, int]] = {"primary": (1, 6), "junior": (7, 9),
                                            "nine_year": (1, 9)}


def parse_hhmm(text: str) -> int:
    """Minutes after midnight of an "HH:MM" time; ValueError if malformed."""
    hh, sep, mm = text.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"expected a time HH:MM, got {text!r}")
    h, m = int(hh), int(mm)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
        raise ValueError(f"expected a time HH:MM, got {text!r}")
    return h * 60 + m


# Upper limits that keep a mistyped value from breaking the solvers' integer arithmetic.
_UPPER = {"max_home_school_minutes": 24 * 60.0, "speed_kmh": 300.0, "detour_factor": 10.0,
          "district_margin_km": 1000.0, "privacy_grid_m": 100_000.0}


@dataclass(frozen=True)
class Policy:
    """District rules; each default carries its source, each is overridable in scenario.toml."""

    # "每班安排随班就读学生1—2人为宜" (Tianjin Binhai, Zhejiang Xiaoshan LRC regulations).
    max_lrc_per_class: int = 2
    # Same source: one per class is preferred; a second only where no class nearby has none.
    preferred_lrc_per_class: int = 1
    # Funding rule: a school receiving 5 or more LRC students builds a resource room.
    resource_room_threshold: int = 5
    # "每周享有不少于3课时的个别辅导和训练".
    min_support_periods_per_week: int = 3
    # Xiaoshan practice: 1 resource teacher per school with LRC students ...
    resource_teachers_base: int = 1
    # ... and one more where the school has more than 8.
    resource_teachers_extra_above: int = 8
    # Xiaoshan staffing ratios, report only: special schools 1:3, regular schools 1:4.
    staff_ratio_special: float = 3.0
    staff_ratio_regular: float = 4.0
    # Assumption (no number in the sources): itinerant visits weekly, but schools with
    # fewer than this many LRC students every second week.
    itinerant_weekly_min_lrc: int = 3
    # Shandong and Henan rules on home-delivered education: 2 visits a week of 3 periods
    # (>= 216 periods a school year), by the same teacher; Ningxia asks 1 visit of 2.
    home_visits_per_week: int = 2
    home_periods_per_visit: int = 3
    # Assumption (no number in the sources): an itinerant visit lasts a base time plus
    # some minutes per LRC student of the school (observing, advising teachers, seeing
    # each student), capped at half a school day.
    itinerant_visit_base_minutes: int = 45
    itinerant_visit_minutes_per_lrc: int = 10
    itinerant_visit_max_minutes: int = 180
    # Assumption: the midday break of Chinese schools (about 11:30-13:30); a teacher on
    # the road takes this many minutes of it, wherever the route is.
    lunch_start: str = "11:30"
    lunch_end: str = "13:30"
    lunch_minutes: int = 40
    # Route objective after covering every visit it can: minutes of travel, plus this
    # weight times the longest teacher-day (balance).
    route_balance_weight: float = 0.1
    # Home visits by the same teacher all week (hard); false makes it soft: a student's
    # visits may be split among teachers, each visit by another teacher than the
    # student's own costing this many minutes of travel in the route objective
    # (assumption: continuity is worth about an hour of a teacher's driving a week).
    home_same_teacher: bool = True
    home_teacher_change_minutes: float = 60.0
    # Support sessions (个别辅导和训练) of min_support_periods_per_week: at most one a day
    # for a student (spread over the week); false allows several on a day.
    support_one_per_day: bool = True
    # Never during the student's core-subject periods (hard); false makes it soft for
    # schools that cannot do otherwise, each clash costing this penalty.
    support_core_hard: bool = True
    support_core_clash_penalty: int = 100
    # Assumption: small-group training, only for students of one category, at most this
    # many in a session.
    support_group_max: int = 3
    # Assumption: a resource room seats this many students at once; a school without one
    # uses a designated space for one session (one group) at a time.
    resource_room_capacity: int = 6
    # Assumption: a resource teacher gives at most this many support periods a day.
    resource_teacher_max_periods: int = 5
    # A school without a resource room may send its LRC students to the room of the
    # nearest school with one within this many minutes (0: never), for the sessions its
    # own teachers cannot give; each session there costs its travel there and back in
    # the timetable's soft objective (assumption: a minute of a student's travel, a point).
    support_shared_room_minutes: float = 0.0
    # Siting. Assumption from provincial subsidy practice (e.g. Zhejiang, Jiangsu and
    # Guangdong fund a new resource room at about 100,000 yuan, "每个资源教室补助10万元")
    # for building, plus the basic equipment list of the Ministry of Education's
    # "普通学校特殊教育资源教室建设指南" (2016) priced at about 50,000 yuan.
    resource_room_build_yuan: float = 100_000.0
    resource_room_equipment_yuan: float = 50_000.0
    # A student counts as served by a room at another school within this many minutes of
    # theirs (school to school); 0: only their own school's room serves them.
    siting_share_minutes: float = 0.0
    # Maximal-covering mode: a student is covered within this many minutes of a room
    # (assumption: a quarter of an hour to a shared resource room between lessons).
    siting_cover_minutes: float = 15.0
    # Budget mode: enrolling a student elsewhere than the enrolment plan costs as much as
    # this many minutes of daily travel (assumption: a change of school is worth
    # half an hour to a family), so students move only when a room or the rule needs it.
    siting_move_minutes: float = 30.0
    # "个别化教育计划原则上每学期制订一次".
    iep_per_semester: int = 1
    # Assumption: the school day, Mon-Fri, 7 periods of 40 min, 08:00-16:30.
    school_days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri")
    periods_per_day: int = 7
    period_minutes: int = 40
    # Assumption: a 10-minute break between periods (课间十分钟).
    period_break_minutes: int = 10
    day_start: str = "08:00"
    day_end: str = "16:30"
    # Compulsory education: primary grades 1-6, junior secondary 7-9.
    min_grade: int = 1
    max_grade: int = 9
    # Assumption for the great-circle travel model: road detour over the straight line,
    # and an average door-to-door speed by car or school bus in a Chinese county.
    detour_factor: float = 1.3
    speed_kmh: float = 30.0
    # Assumption: enrolment by proximity; no LRC student is placed further than this.
    max_home_school_minutes: float = 45.0
    # Validation: a point further than this outside the district (towns, else schools) is
    # taken for a typing error.
    district_margin_km: float = 15.0
    # Privacy ("其姓名和档案材料应严格保密"): homes appear in outputs only as grid cells of
    # this size, never as points.
    privacy_grid_m: float = 1000.0

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> list[str]:
        out: list[str] = []
        for name in (
            "max_lrc_per_class",
            "preferred_lrc_per_class",
            "resource_room_threshold",
            "min_support_periods_per_week",
            "periods_per_day",
            "period_minutes",
            "home_visits_per_week",
            "home_periods_per_visit",
            "support_group_max",
            "resource_room_capacity",
            "resource_teacher_max_periods",
            "itinerant_visit_base_minutes",
            "itinerant_visit_max_minutes",
            "lunch_minutes",
            "iep_per_semester",
        ):
            if getattr(self, name) < 1:
                out.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "staff_ratio_special",
            "staff_ratio_regular",
            "detour_factor",
            "speed_kmh",
            "max_home_school_minutes",
            "district_margin_km",
            "privacy_grid_m",
        ):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                out.append(f"{name} must be a positive finite number, got {value}")
        for name, top in _UPPER.items():
            value = getattr(self, name)
            if math.isfinite(value) and value > top:
                out.append(f"{name} must be at most {top:g}, got {value:g}")
        if self.resource_teachers_base < 0 or self.itinerant_weekly_min_lrc < 0:
            out.append("resource_teachers_base and itinerant_weekly_min_lrc must be >= 0")
        if self.preferred_lrc_per_class > self.max_lrc_per_class:
            out.append(
                f"preferred_lrc_per_class ({self.preferred_lrc_per_class}) exceeds "
                f"max_lrc_per_class ({self.max_lrc_per_class})"
            )
        if self.detour_factor < 1:
            out.append(f"detour_factor must be at least 1, got {self.detour_factor}")
        if not 0 <= self.min_grade <= self.max_grade <= 12:
            out.append(f"grades must satisfy 0 <= min_grade <= max_grade <= 12, "
                       f"got {self.min_grade}..{self.max_grade}")
        bad_days = [d for d in self.school_days if d not in DAYS]
        if bad_days or not self.school_days or len(set(self.school_days)) != len(self.school_days):
            out.append(f"school_days must be distinct names from {', '.join(DAYS)}, "
                       f"got {list(self.school_days)}")
        try:
            start, end = parse_hhmm(self.day_start), parse_hhmm(self.day_end)
        except ValueError as exc:
            out.append(str(exc))
        else:
            if end <= start:
                out.append(f"day_end {self.day_end} must be after day_start {self.day_start}")
            elif self.periods_per_day * self.period_minutes > end - start:
                out.append(
                    f"{self.periods_per_day} periods of {self.period_minutes} min do not fit "
                    f"between {self.day_start} and {self.day_end}"
                )
        out += self._route_problems()
        return out

    def _route_problems(self) -> list[str]:
        out: list[str] = []
        if self.itinerant_visit_minutes_per_lrc < 0:
            out.append("itinerant_visit_minutes_per_lrc must be >= 0, got "
                       f"{self.itinerant_visit_minutes_per_lrc}")
        if self.itinerant_visit_max_minutes < self.itinerant_visit_base_minutes:
            out.append(f"itinerant_visit_max_minutes ({self.itinerant_visit_max_minutes}) is "
                       f"below itinerant_visit_base_minutes "
                       f"({self.itinerant_visit_base_minutes})")
        for name in ("resource_room_build_yuan", "resource_room_equipment_yuan",
                     "siting_share_minutes", "siting_cover_minutes", "siting_move_minutes"):
            value = getattr(self, name)
            top = 1e9 if name.endswith("yuan") else 240.0
            if not (0 <= value <= top and math.isfinite(value)):
                out.append(f"{name} must be in 0..{top:g}, got {value}")
        if self.resource_room_build_yuan + self.resource_room_equipment_yuan <= 0:
            out.append("a resource room must cost something: resource_room_build_yuan + "
                       "resource_room_equipment_yuan is 0")
        if not (0 <= self.support_shared_room_minutes <= 240
                and math.isfinite(self.support_shared_room_minutes)):
            out.append(f"support_shared_room_minutes must be in 0..240, got "
                       f"{self.support_shared_room_minutes}")
        if not 0 <= self.period_break_minutes <= 60:
            out.append(f"period_break_minutes must be in 0..60, got {self.period_break_minutes}")
        if not 0 <= self.support_core_clash_penalty <= 10_000:
            out.append(f"support_core_clash_penalty must be in 0..10000, got "
                       f"{self.support_core_clash_penalty}")
        if not (0 <= self.home_teacher_change_minutes <= 10_000
                and math.isfinite(self.home_teacher_change_minutes)):
            out.append(f"home_teacher_change_minutes must be in 0..10000, got "
                       f"{self.home_teacher_change_minutes}")
        if not (0 <= self.route_balance_weight < 1000 and math.isfinite(self.route_balance_weight)):
            out.append(f"route_balance_weight must be in 0..1000, got "
                       f"{self.route_balance_weight}")
        try:
            lo, hi = parse_hhmm(self.lunch_start), parse_hhmm(self.lunch_end)
        except ValueError as exc:
            return [*out, str(exc)]
        if hi - lo < self.lunch_minutes:
            out.append(f"a {self.lunch_minutes}-minute lunch does not fit between "
                       f"{self.lunch_start} and {self.lunch_end}")
        return out

    def itinerant_visit_minutes(self, lrc_students: int) -> int:
        """How long an itinerant visit to a school with this many LRC students lasts."""
        return min(self.itinerant_visit_max_minutes, self.itinerant_visit_base_minutes
                   + self.itinerant_visit_minutes_per_lrc * lrc_students)

    def itinerant_visits_every_weeks(self, lrc_students: int) -> int:
        """1 (weekly) or 2 (every second week) for a school with this many LRC students."""
        return 1 if lrc_students >= self.itinerant_weekly_min_lrc else 2

    def period_window(self, period: int) -> tuple[int, int]:
        """(start, end) minutes after midnight of a period (1-based): from the day's start,
        a `period_break_minutes` break after each, as many as end by the midday break
        (lunch_start), the others from its end (lunch_end); where they do not fit so, the
        periods spread evenly over the school day."""
        lo, hi = parse_hhmm(self.day_start), parse_hhmm(self.day_end)
        noon, back = parse_hhmm(self.lunch_start), parse_hhmm(self.lunch_end)
        step = self.period_minutes + self.period_break_minutes
        morning = max(0, (noon - lo + self.period_break_minutes) // step)
        afternoon = self.periods_per_day - morning
        if lo < noon <= back < hi and back + afternoon * step - self.period_break_minutes <= hi:
            start = lo + (period - 1) * step if period <= morning else \
                back + (period - 1 - morning) * step
        else:
            start = lo + (period - 1) * (hi - lo) // self.periods_per_day
        return start, start + self.period_minutes

    @property
    def grades(self) -> range:
        """The grades this district plans for."""
        return range(self.min_grade, self.max_grade + 1)

    def resource_teachers_needed(self, lrc_students: int) -> int:
        """Resource teachers a school with this many LRC students should have."""
        if lrc_students <= 0:
            return 0
        extra = 1 if lrc_students > self.resource_teachers_extra_above else 0
        return self.resource_teachers_base + extra

    def to_overrides(self) -> dict[str, Any]:
        """The fields that differ from the defaults, as TOML-ready values."""
        default = Policy()
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], *, file: str = "scenario.toml") -> Policy:
        """A Policy from a [policy] table; unknown keys and bad values are all reported."""
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        problems: list[Problem] = []
        kwargs: dict[str, Any] = {}
        for key, value in table.items():
            column = f"policy.{key}"
            if key not in known:
                problems.append(Problem(file, None, column, "unknown policy key"))
                continue
            try:
                kwargs[key] = _coerce(value, hints[key])
            except (TypeError, ValueError) as exc:
                problems.append(Problem(file, None, column, str(exc)))
        if problems:
            raise ScenarioError(problems)
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise ScenarioError([Problem(file, None, "policy", str(exc))]) from None


def _coerce(value: Any, hint: Any) -> Any:
    """Check a TOML value against a field's type; ints are accepted where floats are."""
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r}")
        return value
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"expected a list of strings, got {value!r}")
        return tuple(value)
    raise TypeError(f"unsupported policy type {hint}")  # pragma: no cover

