"""Scenario loading: every validation error kind, formats, round trip, privacy."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, edit_csv

from lrcplan.models.coords import wgs84_to_gcj02
from lrcplan.models.entities import Category, Role, SchoolKind, Tier
from lrcplan.models.errors import InputError, ScenarioError
from lrcplan.models.io import load_scenario, read_table, save_scenario


def problems_of(folder: Path) -> list[str]:
    """The problem lines a scenario folder fails with."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return [str(p) for p in info.value.problems]


def test_tiny_loads_with_expected_content() -> None:
    sc = load_scenario(DATA / "tiny")
    assert sc.name == "tiny" and sc.crs == "EPSG:32651"
    assert [s.id for s in sc.schools] == ["A", "B", "C", "CEN"]
    assert sc.school_by_id["CEN"].kind is SchoolKind.CENTRE
    assert sc.classes_per_grade("A") == {1: 2, 2: 1}
    s1, s2, s3, s4 = sc.students
    assert s1.severity is None and s1.assessment.iq == 62 and s1.assessment.adaptive == "mild"
    assert (s2.current_school, s2.current_class) == ("B", 1)
    assert s4.unable_to_attend and not s3.unable_to_attend
    t1, t2 = sc.teachers
    assert t1.role is Role.ITINERANT and t1.skills == {Category.INTELLECTUAL, Category.HEARING}
    assert t2.days == ("Mon", "Wed", "Fri") and t2.max_minutes_per_day == 420
    assert {t.name for t in sc.towns} == {"West", "East"}


def test_round_trip_is_equal(tiny_dir: Path, tmp_path: Path) -> None:
    sc = load_scenario(DATA / "tiny")
    again = load_scenario(save_scenario(sc, tmp_path / "copy"))
    assert again == sc
    assert not (tmp_path / "copy" / "sessions.csv").exists()
    # With a sessions table: the pinned sessions are written and read back.
    (tiny_dir / "sessions.csv").write_text(
        "school_id,day,period,teacher_id,student_ids,pinned\n"
        "B,Mon,3,B-RT1,S2;S4,true\nA,Tue,4,T1,S1,false\nA,Wed,2,T1,S3;S1,yes\n")
    sc = load_scenario(tiny_dir)
    assert len(sc.sessions) == 2
    again = load_scenario(save_scenario(sc, tmp_path / "with-sessions"))
    assert again == sc and again.sessions == sc.sessions


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        # missing column
        ("students.csv", "id,lon,lat,grade,", "id,lon,lat,", "students.csv:1: grade: required "
         "column is missing"),
        # wrong type
        ("students.csv", "S3,120.26,30.13,2,", "S3,120.26,30.13,two,",
         "students.csv:4: grade: expected a whole number, got 'two'"),
        # duplicate id
        ("schools.csv", "B,East Primary", "A,East Primary",
         "schools.csv:3: id: duplicate id 'A' (first on row 2)"),
        # unknown school reference
        ("students.csv", ",A,,,\nS4", ",Z,,,\nS4",
         "students.csv:4: catchment_school: unknown school 'Z'"),
        ("teachers.csv", "T1,itinerant,CEN", "T1,itinerant,NOPE",
         "teachers.csv:2: base: unknown site 'NOPE'"),
        ("classes.csv", "B,1,1,36", "Q,1,1,36", "classes.csv:5: school_id: unknown school 'Q'"),
        # a current class that does not exist
        ("students.csv", ",B,B,1,", ",B,B,4,",
         "students.csv:3: current_class: school 'B' has no class 4 in grade 1"),
        # out of range, swapped, far outside
        ("schools.csv", "120.22,30.15", "200.5,95.1",
         "schools.csv:2: lon/lat: (200.5, 95.1) is not a WGS84 lon/lat"),
        ("students.csv", "S1,120.221,30.151", "S1,30.151,120.221",
         "students.csv:2: lat: latitude 120.221 is out of range -90..90; lon (30.151) and lat "
         "(120.221) look swapped"),
        ("students.csv", "S1,120.221,30.151", "S1,121.9,30.151",
         "students.csv:2: lon/lat: (121.9, 30.151) is 154 km outside the district"),
        # zero / negative class counts
        ("classes.csv", "A,2,1,41", "A,2,1,0",
         "classes.csv:4: pupils: 0 is outside the plausible range 1..80"),
        ("classes.csv", "A,2,1,41", "A,2,-1,41",
         "classes.csv:4: class_index: -1 is outside the plausible range 1..99"),
        # grade out of range
        ("students.csv", "S3,120.26,30.13,2,", "S3,120.26,30.13,13,",
         "students.csv:4: grade: grade 13 is out of range 1..9"),
        # unknown category and skill
        ("students.csv", "2,autism,", "2,autistic,",
         "students.csv:4: category: unknown value 'autistic' (expected one of: vision, hearing, "
         "speech, physical, intellectual, mental, autism, multiple)"),
        ("teachers.csv", "physical,Mon", "physio,Mon",
         "teachers.csv:3: skills: unknown value 'physio'"),
        # teacher with no working day
        ("teachers.csv", "physical,Mon;Wed;Fri,", "physical,,",
         "teachers.csv:3: days: the teacher has no working day"),
        ("teachers.csv", "physical,Mon;Wed;Fri,", "physical,Mon;Wed;Fry,",
         "teachers.csv:3: days: unknown day 'Fry'"),
        ("teachers.csv", "08:00,16:30,420", "16:30,08:00,420",
         "teachers.csv:3: end: end 08:00 is not after start 16:30"),
        # bad timetable and boolean
        ("classes.csv", "Mon:1/2/3 Tue:1/2 Wed:1/2/3", "Mon:1/2/9 Tue:1/2 Wed:1/2/3",
         "classes.csv:2: core_periods: period '9' on Mon is not in 1..7"),
        ("students.csv", ",true,", ",maybe,",
         "students.csv:5: unable_to_attend: expected true/false, got 'maybe'"),
        ("schools.csv", "West,primary", "Nowhere,primary",
         "schools.csv:2: town: unknown town 'Nowhere' (not in the towns table)"),
    ],
)
def test_each_error_kind_is_reported(tiny_dir: Path, file: str, old: str, new: str,
                                     expected: str) -> None:
    edit_csv(tiny_dir / file, old, new)
    found = problems_of(tiny_dir)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_in_one_run(tiny_dir: Path) -> None:
    with (tiny_dir / "schools.csv").open("a") as fh:
        fh.write("A,West Primary copy,120.22,30.15,West,primary,regular,false,0\n")
    edit_csv(tiny_dir / "students.csv", "S1,120.221,30.151", "S1,30.151,120.221")
    edit_csv(tiny_dir / "students.csv", ",A,,,\nS4", ",ZZ,,,\nS4")
    edit_csv(tiny_dir / "classes.csv", "A,2,1,41", "A,2,1,0")
    found = problems_of(tiny_dir)
    assert len(found) == 4, found
    assert sorted(p.split(":")[0] for p in found) == ["classes.csv", "schools.csv",
                                                       "students.csv", "students.csv"]


def test_reference_to_a_bad_row_is_not_reported_twice(tiny_dir: Path) -> None:
    edit_csv(tiny_dir / "schools.csv", "A,West Primary,120.22", "A,West Primary,east")
    found = problems_of(tiny_dir)
    assert found == ["schools.csv:2: lon: expected a number, got 'east'"]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[policy]\nmax_per_klass = 3\n",
         "scenario.toml: policy.max_per_klass: unknown policy key"),
        ("[policy]\nmax_lrc_per_class = 'two'\n",
         "scenario.toml: policy.max_lrc_per_class: expected an integer, got 'two'"),
        ("[policy]\npreferred_lrc_per_class = 3\n",
         "scenario.toml: policy: preferred_lrc_per_class (3) exceeds max_lrc_per_class (2)"),
        ("colour = 'red'\n", "scenario.toml: colour: unknown key"),
        ("[week]\nperiods = 8\n", "scenario.toml: week.periods: unknown key"),
        ("coordinates = 'wgs72'\n", "scenario.toml: coordinates: unknown coordinate system"),
        ("policy = 3\n", "scenario.toml: policy: expected a table [policy], got 3"),
        ("week = 5\n", "scenario.toml: week: expected a table [week], got 5"),
        ("[policy]\nmax_home_school_minutes = inf\n",
         "scenario.toml: policy: max_home_school_minutes must be a positive finite number"),
    ],
)
def test_scenario_toml_errors(tiny_dir: Path, toml: str, expected: str) -> None:
    path = tiny_dir / "scenario.toml"
    base = path.read_text().replace('coordinates = "wgs84"\n', "")
    path.write_text(toml + base if not toml.startswith("[") else base + toml)
    found = problems_of(tiny_dir)
    assert any(p.startswith(expected) for p in found), found


def test_policy_overrides_apply_and_round_trip(tiny_dir: Path, tmp_path: Path) -> None:
    path = tiny_dir / "scenario.toml"
    path.write_text(path.read_text() + "[policy]\nmax_lrc_per_class = 1\npreferred_lrc_per_class"
                    " = 1\n[week]\ndays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']\n")
    sc = load_scenario(tiny_dir)
    assert sc.policy.max_lrc_per_class == 1 and sc.policy.school_days[-1] == "Sat"
    assert load_scenario(save_scenario(sc, tmp_path / "again")) == sc


def test_missing_table_and_unreadable_folder(tiny_dir: Path) -> None:
    (tiny_dir / "teachers.csv").unlink()
    assert any("table 'teachers' is missing" in p for p in problems_of(tiny_dir))
    with pytest.raises(InputError, match="not a scenario folder"):
        load_scenario(tiny_dir / "nope")


def test_xlsx_table_reads_like_csv(tiny_dir: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    with (tiny_dir / "students.csv").open() as fh:
        for i, row in enumerate(csv.reader(fh)):
            # Excel keeps numbers as numbers: write them so.
            ws.append([float(v) if i and v.replace(".", "").isdigit() else (v or None)
                       for v in row])
    wb.save(tiny_dir / "students.xlsx")
    (tiny_dir / "students.csv").unlink()
    assert load_scenario(tiny_dir) == load_scenario(DATA / "tiny")
    assert read_table(tiny_dir / "students.xlsx").row_numbers == [2, 3, 4, 5]


def test_geojson_points_table_reads_like_csv(tiny_dir: Path) -> None:
    import json

    with (tiny_dir / "schools.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    feats = [{"type": "Feature",
              "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
              "geometry": {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]}}
             for r in rows]
    (tiny_dir / "schools.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}))
    (tiny_dir / "schools.csv").unlink()
    assert load_scenario(tiny_dir) == load_scenario(DATA / "tiny")


def test_gpkg_towns_read_like_geojson(tiny_dir: Path) -> None:
    gpd = pytest.importorskip("geopandas")
    towns = gpd.read_file(tiny_dir / "towns.geojson")
    towns.to_crs("EPSG:32651").to_file(tiny_dir / "towns.gpkg", driver="GPKG")
    (tiny_dir / "towns.geojson").unlink()
    sc = load_scenario(tiny_dir)
    ref = load_scenario(DATA / "tiny")
    # Reprojected there and back: equal to a millimetre, not bit for bit.
    for a, b in zip(sc.towns, ref.towns, strict=True):
        assert a.name == b.name and a.geometry.equals_exact(b.geometry, 1e-8)


def test_gcj02_coordinates_are_converted_to_wgs84(tiny_dir: Path) -> None:
    ref = load_scenario(DATA / "tiny")
    text = (tiny_dir / "schools.csv").read_text()
    for s in ref.schools:
        glon, glat = wgs84_to_gcj02(s.lon, s.lat)
        text = text.replace(f"{s.lon},{s.lat}", f"{float(glon):.7f},{float(glat):.7f}")
    (tiny_dir / "schools.csv").write_text(text)
    toml = tiny_dir / "scenario.toml"
    toml.write_text(toml.read_text().replace('"wgs84"', '"gcj02"'))
    sc = load_scenario(tiny_dir)
    got = np.array([(s.lon, s.lat) for s in sc.schools])
    want = np.array([(s.lon, s.lat) for s in ref.schools])
    assert np.abs(got - want).max() < 1e-6


def test_gb18030_csv_from_chinese_excel(tiny_dir: Path) -> None:
    path = tiny_dir / "schools.csv"
    path.write_bytes(path.read_text().replace("West Primary", "城西小学").encode("gb18030"))
    assert load_scenario(tiny_dir).school_by_id["A"].name == "城西小学"


def test_student_names_are_never_read_or_written(tiny_dir: Path, tmp_path: Path) -> None:
    path = tiny_dir / "students.csv"
    lines = path.read_text().splitlines()
    lines = [lines[0] + ",name"] + [f"{ln},Zhang Wei{i}" for i, ln in enumerate(lines[1:])]
    path.write_text("\n".join(lines) + "\n")
    sc = load_scenario(tiny_dir)
    assert any("name ignored" in n for n in sc.notes)
    out = save_scenario(sc, tmp_path / "out")
    assert not any("Zhang Wei" in p.read_text() for p in out.iterdir())


def test_given_tier_parses(tiny_dir: Path) -> None:
    edit_csv(tiny_dir / "students.csv", ",B,,,\n", ",B,,,home\n")
    assert load_scenario(tiny_dir).students[-1].tier is Tier.HOME


def test_bom_in_scenario_toml(tiny_dir: Path) -> None:
    path = tiny_dir / "scenario.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_scenario(tiny_dir).name == "tiny"


def test_duplicate_header_and_long_rows_are_reported(tiny_dir: Path) -> None:
    edit_csv(tiny_dir / "students.csv", "catchment_school,", "grade,catchment_school,")
    found = problems_of(tiny_dir)
    assert "students.csv:1: grade: column appears twice in the header" in found


def test_extra_cells_are_reported(tiny_dir: Path) -> None:
    edit_csv(tiny_dir / "teachers.csv", "08:00,16:30,480", "08:00,16:30,480,oops")
    assert "teachers.csv:2: 9 cells but the header has 8 columns" in problems_of(tiny_dir)


def test_duplicate_class_names_its_key(tiny_dir: Path) -> None:
    with (tiny_dir / "classes.csv").open("a") as fh:
        fh.write("A,2,1,30,\n")
    found = problems_of(tiny_dir)
    assert any(p.startswith("classes.csv:8: school_id/grade/class_index: duplicate id "
                            "'A-2-1'") for p in found), found


def test_broken_road_file_is_found_by_validate(tiny_dir: Path) -> None:
    (tiny_dir / "roads.osm").write_text("<osm><way/></osm")
    path = tiny_dir / "scenario.toml"
    path.write_text(path.read_text() + 'roads = "roads.osm"\n')
    found = problems_of(tiny_dir)
    assert len(found) == 1 and found[0].startswith("roads.osm:"), found


def test_excel_time_cells(tiny_dir: Path) -> None:
    import datetime as dt

    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    with (tiny_dir / "teachers.csv").open() as fh:
        for i, row in enumerate(csv.reader(fh)):
            if i:
                row[5], row[6] = dt.time(8, 0), dt.time(16, 30)  # typed into Excel
            ws.append(row)
    wb.save(tiny_dir / "teachers.xlsx")
    (tiny_dir / "teachers.csv").unlink()
    assert load_scenario(tiny_dir).teachers == load_scenario(DATA / "tiny").teachers
