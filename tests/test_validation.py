"""Values checked for range and meaning: what a district clerk's Excel or WPS export holds."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import DATA, edit_csv

from lrcplan.models.eligibility import EligibilityStandard, default_standard
from lrcplan.models.errors import ScenarioError
from lrcplan.models.io import load_scenario, save_scenario
from lrcplan.models.scenario import Scenario
from lrcplan.models.writers import scenario_toml


def problems_of(folder: Path) -> list[str]:
    """The problem lines a scenario folder fails with."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return [str(p) for p in info.value.problems]


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV (row numbered as in the file, header = 1), adding the column."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if column not in rows[0]:
        rows[0].append(column)
        for r in rows[1:]:
            r.append("")
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


# ---------------------------------------------------------------- ranges and numbers
@pytest.mark.parametrize(
    ("file", "row", "column", "value", "expected"),
    [
        ("schools.csv", 2, "resource_teachers", "1" + "0" * 30,
         "schools.csv:2: resource_teachers: 1000000000000000000000000000000 is outside the "
         "plausible range 0..50"),
        ("classes.csv", 3, "pupils", "1" + "0" * 30, "classes.csv:3: pupils: 1000000000000000"),
        ("students.csv", 2, "iq", "-50", "students.csv:2: iq: -50 is outside the plausible "
                                         "range 20..160 (Wechsler and Binet IQ scales)"),
        ("students.csv", 4, "cars_total", "1e308",
         "students.csv:4: cars_total: 1e308 is outside the plausible range 15..60"),
        ("students.csv", 4, "cars_max_item", "5", "students.csv:4: cars_max_item: 5 is outside"),
        ("students.csv", 3, "hearing_db", "200", "students.csv:3: hearing_db: 200 is outside "
                                                 "the plausible range -10..130"),
        ("students.csv", 2, "acuity", "4.5", "students.csv:2: acuity: 4.5 is outside the "
         "plausible range 0..2 (decimal acuity); 4.5 looks like the 5-point record"),
        ("students.csv", 2, "whodas", "500", "students.csv:2: whodas: 500 is outside the "
                                             "plausible range 0..180"),
        ("students.csv", 5, "physical_grade", "5", "students.csv:5: physical_grade: 5 is "
                                                   "outside the plausible range 1..4"),
        ("students.csv", 2, "ppvt_iq", "300", "students.csv:2: ppvt_iq: 300 is outside"),
        ("students.csv", 2, "pep_age_months", "-3", "students.csv:2: pep_age_months: -3 is "
                                                    "outside the plausible range 0..216"),
        ("students.csv", 2, "intelligibility_pct", "120%",
         "students.csv:2: intelligibility_pct: 120% is outside the plausible range 0..100"),
        ("students.csv", 3, "current_class", "0", "students.csv:3: current_class: 0 is outside"),
        ("teachers.csv", 2, "max_minutes_per_day", "2000",
         "teachers.csv:2: max_minutes_per_day: 2000 is outside the plausible range 1..1440"),
    ],
)
def test_numbers_outside_their_plausible_range(tiny_dir: Path, file: str, row: int,
                                               column: str, value: str, expected: str) -> None:
    set_cell(tiny_dir / file, row, column, value)
    found = problems_of(tiny_dir)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "expected"),
    [
        ("students.csv", 4, "grade", "٣", "students.csv:4: grade: '٣' has non-ASCII digits: "
                                          "type the number with 0-9"),
        ("students.csv", 2, "iq", "٦٢", "students.csv:2: iq: '٦٢' has non-ASCII digits"),
        ("classes.csv", 2, "pupils", "1_000", "classes.csv:2: pupils: expected a whole number, "
                                              "got '1_000'"),
        ("students.csv", 2, "lon", "nan", "students.csv:2: lon: expected a number, got 'nan'"),
        ("students.csv", 2, "iq", "inf", "students.csv:2: iq: expected a number, got 'inf'"),
        ("students.csv", 2, "iq", "1e999", "students.csv:2: iq: expected a finite number"),
        ("students.csv", 4, "grade", "2024-01-03 00:00:00",
         "students.csv:4: grade: '2024-01-03 00:00:00' looks like a date"),
        ("students.csv", 2, "lon", "120,221", "students.csv:2: lon: '120,221': use '.' for "
                                              "decimals"),
        ("students.csv", 3, "id", "1.23E+11", "students.csv:3: id: '1.23E+11' is an id Excel "
                                              "turned into scientific notation"),
        ("classes.csv", 2, "school_id", "4.5E+12", "classes.csv:2: school_id: '4.5E+12' is an "
                                                   "id Excel turned"),
        ("classes.csv", 2, "pupils", "1,234", "classes.csv:2: pupils: 1,234 is outside the "
                                              "plausible range 1..80"),
        ("schools.csv", 2, "resource_teachers", "#VALUE!",
         "schools.csv:2: resource_teachers: the cell shows the Excel error #VALUE!"),
    ],
)
def test_numbers_python_would_accept_are_refused(tiny_dir: Path, file: str, row: int,
                                                 column: str, value: str,
                                                 expected: str) -> None:
    set_cell(tiny_dir / file, row, column, value)
    found = problems_of(tiny_dir)
    assert any(p.startswith(expected) for p in found), found


def test_full_width_digits_and_excel_number_text_are_read(tiny_dir: Path) -> None:
    # A Chinese IME in full-width mode types "４０"; Excel's text export writes "2.0".
    set_cell(tiny_dir / "classes.csv", 2, "pupils", "４０")
    set_cell(tiny_dir / "students.csv", 4, "grade", "2.0")
    set_cell(tiny_dir / "students.csv", 2, "iq", "６２．０")
    set_cell(tiny_dir / "teachers.csv", 2, "start", "8:00:00")
    assert load_scenario(tiny_dir) == load_scenario(DATA / "tiny")


@pytest.mark.parametrize("value", ["TRUE", "是", "√", "有", "✓", "Yes"])
def test_clerk_booleans(tiny_dir: Path, value: str) -> None:
    set_cell(tiny_dir / "schools.csv", 2, "resource_room", value)
    assert load_scenario(tiny_dir).school_by_id["A"].resource_room


def test_enum_spellings_and_chinese_lists(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "teachers.csv", 3, "role", "Home Delivery")
    set_cell(tiny_dir / "teachers.csv", 2, "skills", "intellectual、hearing")
    set_cell(tiny_dir / "teachers.csv", 3, "days", "周一、周三、周五")
    assert load_scenario(tiny_dir).teachers == load_scenario(DATA / "tiny").teachers


# ---------------------------------------------------------------- meaning
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon:5-1", "classes.csv:2: core_periods: range '5-1' on Mon runs backwards"),
        ("Mon:1 Sat:1", "classes.csv:2: core_periods: Sat is not a school day (the week is "
                        "Mon, Tue, Wed, Thu, Fri)"),
        ("Mon:²", "classes.csv:2: core_periods: period '²' on Mon is not in 1..7"),
    ],
)
def test_core_periods(tiny_dir: Path, value: str, expected: str) -> None:
    set_cell(tiny_dir / "classes.csv", 2, "core_periods", value)
    found = problems_of(tiny_dir)
    assert any(p.startswith(expected) for p in found), found


def test_full_width_core_periods_are_read(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "classes.csv", 2, "core_periods",
             "Mon：1／2／3 Tue：1／2 Wed：1／2／3 Thu：1／2 Fri：1／2")
    assert load_scenario(tiny_dir) == load_scenario(DATA / "tiny")


def test_teacher_day_outside_the_week(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "teachers.csv", 3, "days", "Mon;Sat")
    assert ("teachers.csv:3: days: Sat is not a school day (the week is Mon, Tue, Wed, Thu, "
            "Fri)") in problems_of(tiny_dir)


def test_grade_nine_class_in_a_primary_school(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "classes.csv", 5, "grade", "9")
    assert problems_of(tiny_dir) == [
        "classes.csv:5: grade: grade 9 in primary school 'B', which teaches grades 1-6",
        "students.csv:3: current_class: school 'B' has no class 1 in grade 1"]


def test_same_id_for_a_student_a_teacher_and_a_school(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "students.csv", 2, "id", "A")
    set_cell(tiny_dir / "teachers.csv", 2, "id", "A")
    assert problems_of(tiny_dir) == [
        "students.csv:2: id: id 'A' is also used in schools.csv row 2: ids must be unique "
        "across schools, students and teachers",
        "teachers.csv:2: id: id 'A' is also used in schools.csv row 2: ids must be unique "
        "across schools, students and teachers"]


# ---------------------------------------------------------------- whole tables
@pytest.mark.parametrize("table", ["schools", "classes", "students", "teachers"])
def test_header_only_table_is_one_problem(tiny_dir: Path, table: str) -> None:
    path = tiny_dir / f"{table}.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    assert problems_of(tiny_dir) == [f"{table}.csv: {table}.csv has no rows (only a header)"]


def test_unreadable_table_comes_first_without_follow_on_noise(tiny_dir: Path) -> None:
    (tiny_dir / "schools.csv").unlink()
    (tiny_dir / "schools.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    found = problems_of(tiny_dir)
    assert found == ["schools.xlsx: the schools table cannot be read: not an Excel .xlsx "
                     "workbook (an old .xls or another file renamed?): save it as .xlsx or "
                     "CSV"], found


def test_missing_required_table_has_no_follow_on_noise(tiny_dir: Path) -> None:
    (tiny_dir / "classes.csv").unlink()
    assert problems_of(tiny_dir) == ["classes.csv: table 'classes' is missing (expected "
                                     "classes.csv, .xlsx, .geojson or .gpkg)"]


def test_header_of_unknown_columns_says_so_once(tiny_dir: Path) -> None:
    path = tiny_dir / "teachers.csv"
    path.write_text("工号,角色\nT1,itinerant\n")
    assert problems_of(tiny_dir) == [
        "teachers.csv:1: none of the required columns (id, role, base, skills, days) is in "
        "the header; found: 工号, 角色"]


def test_huge_cell_names_file_row_and_column(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "schools.csv", 3, "name", "x" * 10_000_000)
    found = problems_of(tiny_dir)
    assert found == ["schools.csv:3: name: the cell is 10,000,000 characters long (at most "
                     "10,000): a paste gone wrong?"], found


def test_headers_with_spaces_capitals_and_a_bom(tiny_dir: Path) -> None:
    path = tiny_dir / "schools.csv"
    lines = path.read_text().splitlines()
    lines[0] = "\ufeff" + ",".join(f" {h.upper()}\u3000" for h in lines[0].split(","))
    path.write_text("\n".join(lines) + "\n")
    assert load_scenario(tiny_dir) == load_scenario(DATA / "tiny")


# ---------------------------------------------------------------- delimiters, encodings
@pytest.mark.parametrize(("delimiter", "shown"), [(";", "';'"), ("\t", "tab")])
def test_semicolon_or_tab_separated_is_read_with_a_note(tiny_dir: Path, delimiter: str,
                                                        shown: str) -> None:
    path = tiny_dir / "students.csv"
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    path.write_text(buf.getvalue())
    sc = load_scenario(tiny_dir)
    assert sc == load_scenario(DATA / "tiny")
    assert (f"students.csv: the columns are separated by {shown}, not commas; read as such"
            in sc.notes)


def _chinese(tiny_dir: Path, encoding: str, traditional: bool = False) -> bytes:
    path = tiny_dir / "schools.csv"
    text = path.read_text()
    if traditional:
        text = text.replace("West Primary", "城西國民小學").replace("East Special School",
                                                                "東區特殊教育學校")
    else:
        text = text.replace("West Primary", "城西小学").replace("East Special School",
                                                             "东区特殊教育学校")
    data = text.encode(encoding)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(
    ("encoding", "traditional", "label", "name"),
    [
        ("gb18030", False, "GB18030", "城西小学"),
        ("big5", True, "Big5", "城西國民小學"),
        ("utf-16-le", False, "UTF-16 LE", "城西小学"),  # no BOM: Excel's "Unicode text"
        ("utf-16", False, "UTF-16 LE", "城西小学"),  # with a BOM
    ],
)
def test_encoding_is_detected_and_named(tiny_dir: Path, encoding: str, traditional: bool,
                                        label: str, name: str) -> None:
    _chinese(tiny_dir, encoding, traditional)
    sc = load_scenario(tiny_dir)
    assert sc.school_by_id["A"].name == name
    assert f"schools.csv: read as {label} (not UTF-8)" in sc.notes


def test_utf8_with_bom_gets_no_note(tiny_dir: Path) -> None:
    _chinese(tiny_dir, "utf-8-sig")
    assert load_scenario(tiny_dir).notes == ()


def test_scenario_toml_names_the_encoding(tiny_dir: Path) -> None:
    # Two characters alone could pass for either; the file's word decides.
    path = tiny_dir / "schools.csv"
    path.write_bytes(path.read_text().replace("West Primary", "國小").encode("big5"))
    toml = tiny_dir / "scenario.toml"
    toml.write_text(toml.read_text() + 'encoding = "big5"\n')
    assert load_scenario(tiny_dir).school_by_id["A"].name == "國小"


def test_named_encoding_that_does_not_fit_names_the_row(tiny_dir: Path) -> None:
    path = tiny_dir / "schools.csv"  # GB18030's four-byte "ß" has no Big5 reading
    path.write_bytes(path.read_text().replace("West Primary", "Straße").encode("gb18030"))
    toml = tiny_dir / "scenario.toml"
    toml.write_text(toml.read_text() + 'encoding = "big5"\n')
    found = problems_of(tiny_dir)
    assert found[0] == ("schools.csv: the schools table cannot be read: row 2 cannot be read "
                        "as Big5 (the encoding named in scenario.toml): save the file as 'CSV "
                        "UTF-8'"), found
    assert len(found) == 1, found


def test_unknown_encoding_in_scenario_toml(tiny_dir: Path) -> None:
    toml = tiny_dir / "scenario.toml"
    toml.write_text(toml.read_text() + 'encoding = "klingon"\n')
    assert problems_of(tiny_dir)[0].startswith("scenario.toml: encoding: unknown encoding "
                                               "'klingon'")


# ---------------------------------------------------------------- Excel
def _xlsx(tiny_dir: Path, table: str) -> tuple[object, object]:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    with (tiny_dir / f"{table}.csv").open() as fh:
        for row in csv.reader(fh):
            ws.append([v or None for v in row])
    (tiny_dir / f"{table}.csv").unlink()
    return wb, ws


def test_xlsx_formula_without_saved_value_names_the_cell(tiny_dir: Path) -> None:
    wb, ws = _xlsx(tiny_dir, "classes")
    ws["D3"] = "=D2-2"  # openpyxl saves formulas without values, as a script would
    wb.save(tiny_dir / "classes.xlsx")
    found = problems_of(tiny_dir)
    assert found[0] == ("classes.xlsx:3: pupils: cell D3: formula =D2-2 without a saved "
                        "value: open and save the file in Excel/WPS"), found


def test_xlsx_title_row_above_the_header_is_skipped(tiny_dir: Path) -> None:
    wb, ws = _xlsx(tiny_dir, "schools")
    ws.insert_rows(1)
    ws["A1"] = "2027年春季 学校名单"
    ws.merge_cells("A1:I1")
    wb.save(tiny_dir / "schools.xlsx")
    sc = load_scenario(tiny_dir)
    assert sc == load_scenario(DATA / "tiny")
    assert "schools.xlsx: row(s) 1-1 above the header skipped (a title row)" in sc.notes
    assert sc.locate("schools", 0) == ("schools.xlsx", 3)


def test_xlsx_date_in_a_grade_cell(tiny_dir: Path) -> None:
    import datetime as dt

    wb, ws = _xlsx(tiny_dir, "students")
    ws["D2"] = dt.datetime(2024, 1, 3)
    wb.save(tiny_dir / "students.xlsx")
    assert any(p.startswith("students.xlsx:2: grade: '2024-01-03 00:00:00' looks like a date")
               for p in problems_of(tiny_dir))


# ---------------------------------------------------------------- GeoJSON
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f["geometry"]["coordinates"][0].__setitem__(1, [float("nan"), 30.1]),
         "towns.geojson:2: geometry: feature 2 ('East'): a coordinate is missing, NaN or "
         "infinite"),
        (lambda f: f.__setitem__("geometry", None),
         "towns.geojson:2: geometry: feature 2 ('East') has no geometry"),
    ],
)
def test_towns_geojson_bad_feature_is_named(tiny_dir: Path, edit: object,
                                            expected: str) -> None:
    path = tiny_dir / "towns.geojson"
    data = json.loads(path.read_text())
    assert data["features"][1]["properties"]["name"] == "East"
    edit(data["features"][1])  # type: ignore[operator]
    path.write_text(json.dumps(data))
    assert problems_of(tiny_dir) == [expected]


# ---------------------------------------------------------------- TOML writing
def test_eligibility_name_with_quotes_round_trips(tmp_path: Path) -> None:
    from dataclasses import replace

    std = replace(default_standard(), name="Xi'an 2024 \"draft\" \\ 西安")
    path = tmp_path / "e.toml"
    path.write_text(std.to_toml(), encoding="utf-8")
    assert EligibilityStandard.from_toml(path) == std


def test_scenario_toml_with_quotes_round_trips(tmp_path: Path) -> None:
    from dataclasses import replace

    sc = load_scenario(DATA / "tiny")
    std = replace(sc.standard, name="Xi'an 2024")
    odd = Scenario(**{**{f: getattr(sc, f) for f in ("crs", "policy", "schools", "classes",
                                                      "students", "teachers", "towns")},
                      "name": "Xi'an \"2024\" \\ 西安", "standard": std})
    assert tomllib.loads(scenario_toml(odd))["name"] == odd.name
    again = load_scenario(save_scenario(odd, tmp_path / "copy"))
    assert again == odd and again.standard.name == "Xi'an 2024"


# ---------------------------------------------------------------- the CLI
def _validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lrcplan", "validate", str(folder)],
                          capture_output=True, text=True, timeout=120)


def test_cli_validate_exits_2_on_absurd_values(tiny_dir: Path) -> None:
    set_cell(tiny_dir / "schools.csv", 2, "resource_teachers", "1" + "0" * 30)
    edit_csv(tiny_dir / "classes.csv", "A,1,1,40,Mon:1/2/3", "A,1,1,40,Mon:5-1")
    r = _validate(tiny_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "schools.csv:2: resource_teachers: 1000000000000000000000000000000 is outside" \
        in r.stderr
    assert "classes.csv:2: core_periods: range '5-1' on Mon runs backwards" in r.stderr


def test_cli_validate_exits_2_on_an_empty_table(tiny_dir: Path) -> None:
    (tiny_dir / "schools.csv").write_text("id,name,lon,lat,town,level,kind\n")
    r = _validate(tiny_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "1 problem in the scenario:\n  schools.csv: schools.csv has no rows" in r.stderr


def test_cli_validate_says_which_encoding(tiny_dir: Path) -> None:
    _chinese(tiny_dir, "gb18030")
    r = _validate(tiny_dir)
    assert r.returncode == 0, r.stderr
    assert "note: schools.csv: read as GB18030 (not UTF-8)" in r.stderr
