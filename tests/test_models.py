"""Policy defaults and checks, timetable masks, the summary table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrcplan.models.entities import format_periods, parse_periods
from lrcplan.models.errors import ScenarioError
from lrcplan.models.policy import Policy, parse_hhmm
from lrcplan.models.summary import format_table


def test_policy_defaults_are_the_documented_rules() -> None:
    p = Policy()
    assert (p.max_lrc_per_class, p.preferred_lrc_per_class) == (2, 1)
    assert p.resource_room_threshold == 5
    assert p.min_support_periods_per_week == 3
    assert (p.home_visits_per_week, p.home_periods_per_visit) == (2, 3)
    assert p.school_days == ("Mon", "Tue", "Wed", "Thu", "Fri")
    assert (p.periods_per_day, p.period_minutes, p.day_start, p.day_end) == (7, 40, "08:00",
                                                                             "16:30")
    assert list(p.grades) == list(range(1, 10))


@pytest.mark.parametrize(("n", "teachers"), [(0, 0), (1, 1), (5, 1), (8, 1), (9, 2), (30, 2)])
def test_resource_teachers_one_plus_one_over_eight(n: int, teachers: int) -> None:
    assert Policy().resource_teachers_needed(n) == teachers


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_lrc_per_class": 0}, "max_lrc_per_class must be at least 1, got 0"),
        ({"preferred_lrc_per_class": 3}, "preferred_lrc_per_class (3) exceeds"),
        ({"speed_kmh": -3.0}, "speed_kmh must be a positive finite number, got -3.0"),
        ({"max_home_school_minutes": float("inf")},
         "max_home_school_minutes must be a positive finite number, got inf"),
        ({"max_home_school_minutes": 1e12}, "max_home_school_minutes must be at most 1440"),
        ({"detour_factor": 0.5}, "detour_factor must be at least 1"),
        ({"school_days": ("Mon", "Funday")}, "school_days must be distinct names"),
        ({"day_end": "07:00"}, "day_end 07:00 must be after day_start 08:00"),
        ({"periods_per_day": 14}, "14 periods of 40 min do not fit"),
        ({"max_grade": 13}, "grades must satisfy"),
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Policy(**kwargs)  # type: ignore[arg-type]


def test_policy_from_mapping_reports_all_problems_at_once() -> None:
    with pytest.raises(ScenarioError) as info:
        Policy.from_mapping({"nope": 1, "speed_kmh": "fast", "max_lrc_per_class": True})
    assert [p.column for p in info.value.problems] == [
        "policy.nope", "policy.speed_kmh", "policy.max_lrc_per_class"]


def test_policy_overrides_round_trip() -> None:
    p = Policy(max_lrc_per_class=3, school_days=("Mon", "Tue"), speed_kmh=25.0)
    assert Policy.from_mapping(p.to_overrides()) == p
    assert Policy().to_overrides() == {}


@pytest.mark.parametrize("text", ["24:01", "12:5", "noon", "12-00", "7:60"])
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected a time HH:MM"):
        parse_hhmm(text)


def test_parse_periods_bits() -> None:
    assert parse_periods("Mon:1") == 1
    assert parse_periods("Tue:1") == 1 << 7
    assert parse_periods("Mon:1,7 Fri:2") == 1 | 1 << 6 | 1 << (4 * 7 + 1)
    assert parse_periods("Mon:1/7 Fri:2") == parse_periods("Mon:1,7 Fri:2")
    assert parse_periods("Tue:2-4") == parse_periods("Tue:2/3/4")
    with pytest.raises(ValueError, match="expected Day:periods"):
        parse_periods("Monday 1")


@given(st.sets(st.tuples(st.integers(0, 6), st.integers(1, 7))))
def test_periods_round_trip(slots: set[tuple[int, int]]) -> None:
    mask = sum(1 << (d * 7 + p - 1) for d, p in slots)
    assert parse_periods(format_periods(mask)) == mask if slots else format_periods(mask) == ""


def test_format_table_aligns() -> None:
    text = format_table(["name", "n"], [["a", 1], ["bbb", 1000]])
    assert text.splitlines() == ["name      n", "----  -----", "a         1", "bbb   1,000"]
