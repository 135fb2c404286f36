"""The seeded district generator: determinism, validity, plausibility, round trip."""

from __future__ import annotations

import time
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely

from lrcplan.models.eligibility import default_standard
from lrcplan.models.entities import (
    Assessment,
    Category,
    Role,
    SchoolKind,
    SchoolLevel,
    Severity,
    Tier,
)
from lrcplan.models.errors import InputError
from lrcplan.models.io import load_scenario, save_scenario
from lrcplan.models.scenario import Scenario
from lrcplan.scenarios.generator import PRESETS, generate

# Documented counts at seed 1, scale 1: (min, max) inclusive.
EXPECTED = {
    "demo": {"towns": (4, 4), "regular": (18, 18), "special": (1, 1), "centre": (1, 1),
             "rooms": (4, 4), "students": (100, 100), "teachers": (7, 9)},
    "xiaoshan": {"towns": (25, 25), "regular": (245, 255), "special": (2, 2),
                 "centre": (1, 1), "rooms": (72, 72), "students": (1250, 1400),
                 "teachers": (100, 125)},
    "huairou": {"towns": (16, 16), "regular": (95, 105), "special": (1, 1), "centre": (7, 7),
                "rooms": (18, 18), "students": (550, 650), "teachers": (30, 42)},
    "binhai": {"towns": (21, 21), "regular": (195, 205), "special": (2, 2), "centre": (1, 1),
               "rooms": (40, 40), "students": (1050, 1150), "teachers": (60, 80)},
}
GRADES_OF = {SchoolLevel.PRIMARY: range(1, 7), SchoolLevel.JUNIOR: range(7, 10),
             SchoolLevel.NINE_YEAR: range(1, 10)}


@cache
def scenario(preset: str, seed: int = 1, scale: float = 1.0) -> Scenario:
    """Generated once per test session: the generator is deterministic."""
    return generate(preset, seed=seed, scale=scale)


def projected(sc: Scenario) -> list[shapely.Geometry]:
    """Town polygons in the scenario's CRS (metres)."""
    def to_m(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(sc.project(xy[:, 0], xy[:, 1]))

    return [shapely.transform(t.geometry, to_m) for t in sc.towns]


def test_unknown_preset_and_bad_scale_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown preset 'nowhere'.*binhai, demo, huairou"):
        generate("nowhere")
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="scale must be a positive number"):
            generate("demo", scale=bad)
    with pytest.raises(InputError, match="seed"):
        generate("demo", seed=-1)


def test_same_seed_gives_the_same_scenario_and_files(tmp_path: Path) -> None:
    a, b = generate("demo", seed=7), generate("demo", seed=7)
    assert a == b
    save_scenario(a, tmp_path / "a")
    save_scenario(b, tmp_path / "b")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["classes.csv", "scenario.toml", "schools.csv", "students.csv",
                     "teachers.csv", "towns.geojson"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = generate("demo", seed=8)
    assert other != a
    assert [s.lon for s in other.schools] != [s.lon for s in a.schools]


@pytest.mark.parametrize(("preset", "scale"), [(p, 1.0) for p in PRESETS] + [("xiaoshan", 0.2)])
def test_round_trip_through_files(tmp_path: Path, preset: str, scale: float) -> None:
    sc = scenario(preset, 1, scale)
    assert load_scenario(save_scenario(sc, tmp_path / preset)) == sc


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_counts_at_seed_1(preset: str) -> None:
    sc = scenario(preset)
    kinds = Counter(s.kind for s in sc.schools)
    got = {"towns": len(sc.towns), "regular": kinds[SchoolKind.REGULAR],
           "special": kinds[SchoolKind.SPECIAL], "centre": kinds[SchoolKind.CENTRE],
           "rooms": sum(s.resource_room for s in sc.schools), "students": len(sc.students),
           "teachers": len(sc.teachers)}
    for key, (lo, hi) in EXPECTED[preset].items():
        assert lo <= got[key] <= hi, (key, got[key])
    assert sc.name == f"{preset} (seed 1, scale 1)"
    assert sc.crs == {"huairou": "EPSG:32650", "binhai": "EPSG:32650"}.get(preset, "EPSG:32651")


def test_scale_multiplies_counts() -> None:
    sc = scenario("xiaoshan", 1, 0.2)
    assert len(sc.towns) == 5 and len(sc.students) == 266
    assert sum(s.kind is SchoolKind.REGULAR for s in sc.schools) == 50
    assert sum(s.resource_room for s in sc.schools) == 14
    assert sum(s.kind is SchoolKind.SPECIAL for s in sc.schools) == 1  # at least one
    tiny = generate("demo", seed=1, scale=0.01)
    assert len(tiny.students) == 1 and len(tiny.towns) == 1


@pytest.mark.parametrize(("preset", "scale"), [(p, 1.0) for p in PRESETS] + [("xiaoshan", 0.2)])
def test_towns_tile_the_district(preset: str, scale: float) -> None:
    sc = scenario(preset, 1, scale)
    polys = projected(sc)
    assert all(t.geometry.is_valid and t.geometry.geom_type in ("Polygon", "MultiPolygon")
               for t in sc.towns)
    union = shapely.union_all(polys)
    target = PRESETS[preset].area_km2 * scale * 1e6
    assert abs(union.area - target) < 0.1 * target
    tree = shapely.STRtree(polys)
    for i, j in zip(*tree.query(polys, predicate="intersects"), strict=True):
        if i < j:
            assert polys[i].intersection(polys[j]).area < 1.0  # m2: shared borders only
    names = [t.name for t in sc.towns]
    assert len(set(names)) == len(names)
    assert all(n.endswith((" Town", " Street")) for n in names)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_schools_lie_in_their_town_and_teach_their_levels(preset: str) -> None:
    sc = scenario(preset)
    town = {t.name: t.geometry for t in sc.towns}
    for s in sc.schools:
        assert shapely.contains_xy(town[s.town], s.lon, s.lat), s
        grades = set(sc.classes_per_grade(s.id))
        if s.kind is SchoolKind.REGULAR:
            assert grades == set(GRADES_OF[s.level])
            assert all(2 <= n <= 8 for n in sc.classes_per_grade(s.id).values())
            assert s.resource_teachers == (1 if s.resource_room else 0) or s.resource_teachers == 2
        elif s.kind is SchoolKind.SPECIAL:
            assert s.level is SchoolLevel.SPECIAL and grades == set(range(1, 10))
        else:
            assert s.level is SchoolLevel.NONE and not grades
    kinds = {s.id: s.kind for s in sc.schools}
    for c in sc.classes:
        assert c.core_mask and c.core_mask < 1 << 35  # Mon-Fri, 7 periods
        assert (30 <= c.pupils <= 45) if kinds[c.school_id] is SchoolKind.REGULAR else (
            8 <= c.pupils <= 12)
    per_day = [bin(c.core_mask >> 7 * d & 0x7F).count("1") for c in sc.classes for d in range(5)]
    assert 3.5 < np.mean(per_day) < 4.5
    levels = Counter(s.level for s in sc.schools if s.kind is SchoolKind.REGULAR)
    n = sum(levels.values())
    assert 0.5 < levels[SchoolLevel.PRIMARY] / n < 0.7


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_students_catchment_and_incumbents(preset: str) -> None:
    sc = scenario(preset)
    schools = sc.school_by_id
    seats: Counter[tuple[str, int, int]] = Counter()
    for st in sc.students:
        catch = schools[st.catchment_school]
        assert catch.kind is SchoolKind.REGULAR and st.grade in GRADES_OF[catch.level]
        if st.current_school is None:
            continue
        assert (st.current_school, st.grade) in sc.classes_by_school_grade
        if schools[st.current_school].kind is SchoolKind.REGULAR:
            assert st.current_school == st.catchment_school
            assert st.severity in (Severity.MILD, None)
            seats[(st.current_school, st.grade, st.current_class)] += 1
        else:
            assert schools[st.current_school].kind is SchoolKind.SPECIAL
            assert not st.unable_to_attend
    assert seats and max(seats.values()) <= 2
    mild = sum(s.severity is Severity.MILD or s.tier is Tier.LRC for s in sc.students)
    assert 0.25 < sum(seats.values()) / mild < 0.55
    grades = Counter(s.grade for s in sc.students)
    assert sum(grades[g] for g in range(1, 7)) / 6 > sum(grades[g] for g in range(7, 10)) / 3


def test_catchment_is_the_nearest_school_teaching_the_grade() -> None:
    sc = scenario("xiaoshan")
    regular = [s for s in sc.schools if s.kind is SchoolKind.REGULAR]
    sx, sy = sc.project(np.array([s.lon for s in regular]), np.array([s.lat for s in regular]))
    for st in sc.students[:200]:
        x, y = sc.project(np.array([st.lon]), np.array([st.lat]))
        d = np.hypot(sx - x[0], sy - y[0])
        ok = np.array([st.grade in GRADES_OF[s.level] for s in regular])
        assert regular[int(np.argmin(np.where(ok, d, np.inf)))].id == st.catchment_school


def test_demo_students_are_near_a_school_of_their_grade() -> None:
    sc = scenario("demo")
    by_id = sc.school_by_id
    for st in sc.students:
        s = by_id[st.catchment_school]
        x, y = sc.project(np.array([st.lon, s.lon]), np.array([st.lat, s.lat]))
        minutes = np.hypot(x[1] - x[0], y[1] - y[0]) / 1000 * 1.3 / 30 * 60
        assert minutes <= 30


def _lrc_by_scores(cat: Category, a: Assessment, grade: int) -> bool:
    """Whether the scores of one category meet the reference standard (written apart)."""
    std = default_standard()
    if cat is Category.VISION:
        return std.vision.acuity_min <= a.acuity < std.vision.acuity_below
    if cat is Category.HEARING:
        return (std.hearing.db_min <= a.hearing_db <= std.hearing.db_max
                or a.aided_result in std.hearing.aided_ok)
    if cat is Category.SPEECH:
        lo, hi = std.speech.intelligibility_min, std.speech.intelligibility_max
        return lo <= a.intelligibility_pct <= hi
    if cat is Category.PHYSICAL:
        return a.physical_grade in std.physical.grades_ok
    if cat is Category.INTELLECTUAL:
        i = std.intellectual
        q = (i.dq_min <= a.dq <= i.dq_max) if a.dq is not None else i.iq_min <= a.iq <= i.iq_max
        return q and a.adaptive in i.adaptive_ok
    if cat is Category.MENTAL:
        m = std.mental
        return m.whodas_min <= a.whodas <= m.whodas_max and a.adaptive in m.adaptive_ok
    au = std.autism
    met = [a.ppvt_iq > au.ppvt_iq_above,
           a.cars_total <= au.cars_total_max and a.cars_max_item < au.cars_item_below,
           a.pep_age_months >= au.pep_age_min_months]
    return bool(a.autism_prescreen) and sum(met) >= au.indicators_needed


def test_assessments_severity_tiers_and_mix() -> None:
    sc = scenario("xiaoshan")
    assessed = [s for s in sc.students if not s.assessment.is_empty()]
    assert 0.25 < len(assessed) / len(sc.students) < 0.35
    scores_only = [s for s in assessed if s.severity is None]
    assert scores_only and not any(s.unable_to_attend for s in scores_only)
    for st in sc.students:
        if st.category is Category.MULTIPLE:
            assert len(st.categories) == 2 and Category.MULTIPLE not in st.categories
            assert list(st.categories) == sorted(st.categories, key=lambda c: c.value)
        else:
            assert st.categories == ()
        if st.unable_to_attend:
            assert st.severity is Severity.SEVERE
        if not st.assessment.is_empty():
            lrc = [_lrc_by_scores(c, st.assessment, st.grade)
                   for c in (st.categories or (st.category,))]
            if st.severity is Severity.MILD:
                assert all(lrc), st
            elif st.severity is not None:
                assert not any(lrc), st
        if st.tier is Tier.HOME:
            assert st.unable_to_attend
        elif st.tier is Tier.LRC:
            assert st.severity in (Severity.MILD, None) and not st.unable_to_attend
    cats = Counter(s.category for s in sc.students)
    assert cats.most_common(1)[0][0] is Category.INTELLECTUAL
    severity = Counter(s.severity for s in sc.students if s.severity is not None)
    assert severity[Severity.MILD] > 4 * severity[Severity.MODERATE]
    unable = sum(s.unable_to_attend for s in sc.students)
    assert 0.03 < unable / len(sc.students) < 0.07
    assert 0.02 < sum(s.tier is not None for s in sc.students) / len(sc.students) < 0.08


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_teachers_cover_every_category_and_are_based_right(preset: str) -> None:
    sc = scenario(preset)
    kinds = {s.id: s.kind for s in sc.schools}
    roles = Counter(t.role for t in sc.teachers)
    itinerant = [t for t in sc.teachers if t.role is Role.ITINERANT]
    assert set().union(*(t.skills for t in itinerant)) == set(Category)
    assert roles[Role.ITINERANT] >= 2 and roles[Role.HOME_DELIVERY] >= 1
    assert roles[Role.RESOURCE] == sum(s.resource_room for s in sc.schools)
    home_cats = {s.category for s in sc.students if s.unable_to_attend}
    home_skills = set().union(*(t.skills for t in sc.teachers if t.role is Role.HOME_DELIVERY))
    assert home_cats <= home_skills
    for t in sc.teachers:
        assert t.skills and t.days in (("Mon", "Tue", "Wed", "Thu", "Fri"), ("Mon", "Wed", "Fri"))
        assert 420 <= t.max_minutes_per_day <= 480 and (t.start, t.end) == ("08:00", "16:30")
        if t.role is Role.RESOURCE:
            assert kinds[t.base] is SchoolKind.REGULAR and sc.school_by_id[t.base].resource_room
        else:
            assert kinds[t.base] in (SchoolKind.SPECIAL, SchoolKind.CENTRE)


def test_coordinates_are_rounded_to_six_decimals() -> None:
    sc = scenario("binhai")
    for row in (*sc.schools, *sc.students[:300]):
        assert round(row.lon, 6) == row.lon and round(row.lat, 6) == row.lat
    coords = shapely.get_coordinates(np.array([t.geometry for t in sc.towns]))
    assert np.array_equal(np.round(coords, 6), coords)


def test_huairou_is_sparse_in_the_north() -> None:
    sc = scenario("huairou")
    lats = np.array([s.lat for s in sc.schools if s.kind is SchoolKind.REGULAR])
    mid = np.mean([t.geometry.centroid.y for t in sc.towns])
    assert (lats < mid).sum() > 2 * (lats >= mid).sum()


@pytest.mark.slow
def test_scale_100_is_fast() -> None:
    t0 = time.perf_counter()
    sc = generate("xiaoshan", seed=1, scale=100)
    assert time.perf_counter() - t0 < 60
    assert len(sc.students) == 133_000 and len(sc.towns) == 2500
