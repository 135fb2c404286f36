"""The optional sessions table: support sessions already in a school's timetable.

tests/data/tiny has regular schools A (no resource teacher) and B (counts one, lists
none: B-RT1), special school C, centre CEN; itinerant T1, home-delivery T2; S1-S4.
"""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, ROOT, edit_csv

from lrcplan.models.entities import PinnedSession
from lrcplan.models.errors import ScenarioError
from lrcplan.models.fingerprint import scenario_fingerprint
from lrcplan.models.io import load_scenario, save_scenario
from lrcplan.models.scenario import default_locator

HEADER = "school_id,day,period,teacher_id,student_ids,pinned"
VALID = [
    "B,Mon,3,B-RT1,S2,true",
    "A,Tue,4,T1,S1;S3,yes",
    "B,Wed,5,B-RT1,S2;S4,false",  # the old timetable: checked, not kept
    "B,Thu,1,T1,S4,1",
]


def write_sessions(folder: Path, rows: list[str], header: str = HEADER) -> Path:
    path = folder / "sessions.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(folder)
    return [str(p) for p in info.value.problems]


def test_valid_table_keeps_the_pinned_rows_only(tiny_dir: Path) -> None:
    write_sessions(tiny_dir, VALID)
    sc = load_scenario(tiny_dir)
    assert sc.sessions == (
        PinnedSession("B", "Mon", 3, "B-RT1", ("S2",)),
        PinnedSession("A", "Tue", 4, "T1", ("S1", "S3")),
        PinnedSession("B", "Thu", 1, "T1", ("S4",)),
    )
    # Located among the pinned rows: the third session is on row 5 (row 4 is unpinned).
    assert [sc.locate("sessions", i) for i in range(3)] == [
        ("sessions.csv", 2), ("sessions.csv", 3), ("sessions.csv", 5)]


def test_without_the_table_there_are_no_sessions() -> None:
    assert load_scenario(DATA / "tiny").sessions == ()


def test_day_and_booleans_in_other_spellings(tiny_dir: Path) -> None:
    write_sessions(tiny_dir, ["B,monday,3,B-RT1,S2、S4,是", "A,周二,4,T1,S1,否"])
    assert load_scenario(tiny_dir).sessions == (
        PinnedSession("B", "Mon", 3, "B-RT1", ("S2", "S4")),)


def test_a_resource_teacher_listed_at_the_school(tiny_dir: Path) -> None:
    with (tiny_dir / "teachers.csv").open("a") as fh:
        fh.write("R1,resource,B,hearing,Mon;Tue;Wed;Thu;Fri,08:00,16:30,480\n")
    edit_csv(tiny_dir / "schools.csv", "regular,true,1", "regular,true,2")
    write_sessions(tiny_dir, ["B,Mon,3,R1,S2,true", "B,Mon,3,B-RT2,S4,true"])
    assert [p.teacher_id for p in load_scenario(tiny_dir).sessions] == ["R1", "B-RT2"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["Z,Mon,3,T1,S2,true"], "sessions.csv:2: school_id: unknown school 'Z'"),
        (["C,Mon,3,T1,S2,true"],
         "sessions.csv:2: school_id: 'C' is a special school, not a regular school"),
        (["CEN,Mon,3,T1,S2,true"],
         "sessions.csv:2: school_id: 'CEN' is a resource centre, not a regular school"),
        (["B,Sat,3,B-RT1,S2,true"],
         "sessions.csv:2: day: Sat is not a school day (the week is Mon, Tue, Wed, Thu, Fri)"),
        (["B,Someday,3,B-RT1,S2,true"], "sessions.csv:2: day: unknown day 'Someday'"),
        (["B,Mon;Tue,3,B-RT1,S2,true"], "sessions.csv:2: day: expected one day"),
        (["B,Mon,8,B-RT1,S2,true"],
         "sessions.csv:2: period: period 8 is not in 1..7 (the periods of a school day)"),
        (["B,Mon,0,B-RT1,S2,true"], "sessions.csv:2: period: period 0 is not in 1..7"),
        (["B,Mon,third,B-RT1,S2,true"],
         "sessions.csv:2: period: expected a whole number, got 'third'"),
        (["B,Mon,3,NOBODY,S2,true"], "sessions.csv:2: teacher_id: unknown teacher 'NOBODY'"),
        (["B,Mon,3,T2,S2,true"],
         "sessions.csv:2: teacher_id: 'T2' is a home_delivery teacher"),
        (["A,Mon,3,A-RT1,S2,true"],
         "sessions.csv:2: teacher_id: no resource teacher 'A-RT1': schools.csv counts none "
         "at 'A'"),
        (["B,Mon,3,B-RT2,S2,true"],
         "sessions.csv:2: teacher_id: no resource teacher 'B-RT2': schools.csv counts 1 at "
         "'B', teachers.csv lists 0, so the unlisted are B-RT1"),
        (["B,Mon,3,A-RT1,S2,true"], "sessions.csv:2: teacher_id: unknown teacher 'A-RT1'"),
        (["B,Mon,3,B-RT1,,true"], "sessions.csv:2: student_ids: value is missing"),
        (["B,Mon,3,B-RT1,;,true"], "sessions.csv:2: student_ids: no student listed"),
        (["B,Mon,3,B-RT1,S2;S2,true"],
         "sessions.csv:2: student_ids: S2 listed twice in one session"),
        (["B,Mon,3,B-RT1,S2;S9,true"], "sessions.csv:2: student_ids: unknown student 'S9'"),
        (["B,Mon,3,B-RT1,S2,maybe"],
         "sessions.csv:2: pinned: expected true/false, got 'maybe'"),
        (["B,Mon,3,B-RT1,S2,"], "sessions.csv:2: pinned: value is missing"),
        (["B,Mon,3,B-RT1,S2,true", "B,Mon,3,B-RT1,S4,false"],
         "sessions.csv:3: school_id/day/period/teacher_id: B-RT1 already has a session at B "
         "on Mon period 3 (row 2)"),
        (["B,Mon,3,B-RT1,S2,true", "A,Mon,3,T1,S1;S2,true"],
         "sessions.csv:3: student_ids: student 'S2' is already pinned on Mon period 3 (row 2)"),
        # pinned = false rows are validated all the same
        (["B,Mon,3,B-RT1,S9,false"], "sessions.csv:2: student_ids: unknown student 'S9'"),
    ],
)
def test_each_problem_names_file_row_and_column(tiny_dir: Path, rows: list[str],
                                                expected: str) -> None:
    write_sessions(tiny_dir, rows)
    found = problems_of(tiny_dir)
    assert any(p.startswith(expected) for p in found), found


def test_a_student_in_an_unpinned_row_twice_a_slot_is_not_a_conflict(tiny_dir: Path) -> None:
    # The old timetable is replanned freely: only pins must fit together.
    write_sessions(tiny_dir, ["B,Mon,3,B-RT1,S2,true", "A,Mon,3,T1,S1;S2,false"])
    assert len(load_scenario(tiny_dir).sessions) == 1


def test_missing_column_and_every_problem_at_once(tiny_dir: Path) -> None:
    write_sessions(tiny_dir, ["B,Mon,3,B-RT1,S2"],
                   header="school_id,day,period,teacher_id,student_ids")
    assert "sessions.csv:1: pinned: required column is missing" in problems_of(tiny_dir)
    write_sessions(tiny_dir, ["Z,Mon,3,T1,S2,true", "B,Sat,3,B-RT1,S2,true",
                              "B,Mon,3,B-RT1,S9,false"])
    edit_csv(tiny_dir / "classes.csv", "A,2,1,41", "A,2,1,0")
    found = problems_of(tiny_dir)
    assert len(found) == 4, found
    assert [p.split(":")[0] + ":" + p.split(":")[1] for p in found] == [
        "classes.csv:4", "sessions.csv:3", "sessions.csv:2", "sessions.csv:4"]


def test_references_to_bad_rows_are_not_reported_twice(tiny_dir: Path) -> None:
    edit_csv(tiny_dir / "schools.csv", "B,East Primary,120.28", "B,East Primary,east")
    edit_csv(tiny_dir / "students.csv", "S3,120.26,30.13,2,", "S3,120.26,30.13,two,")
    write_sessions(tiny_dir, ["B,Mon,3,B-RT1,S2,true", "A,Mon,3,T1,S3,true"])
    found = problems_of(tiny_dir)
    assert all(not p.startswith("sessions.csv") for p in found), found


def test_sessions_xlsx_reads_like_csv(tiny_dir: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    ref = load_scenario(write_sessions(tiny_dir, VALID).parent).sessions
    (tiny_dir / "sessions.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    for row in VALID:  # Excel keeps numbers and booleans typed
        school, day, period, teacher, students, pinned = row.split(",")
        ws.append([school, day, int(period), teacher, students,
                   pinned in ("true", "yes", "1")])
    wb.save(tiny_dir / "sessions.xlsx")
    assert load_scenario(tiny_dir).sessions == ref
    write_sessions(tiny_dir, VALID)
    assert any("two files for table 'sessions'" in p for p in problems_of(tiny_dir))


def test_round_trip_writes_the_pinned_sessions(tiny_dir: Path, tmp_path: Path) -> None:
    write_sessions(tiny_dir, [*VALID, "A,Fri,7,T1,S3;S1,true"])
    sc = load_scenario(tiny_dir)
    out = save_scenario(sc, tmp_path / "copy")
    with (out / "sessions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER.split(",")
    assert len(rows) == 1 + len(sc.sessions) and all(r[-1] == "true" for r in rows[1:])
    again = load_scenario(out)
    assert again == sc and again.sessions == sc.sessions
    assert again.sessions[-1].student_ids == ("S3", "S1")  # order kept
    assert scenario_fingerprint(again) == scenario_fingerprint(sc)
    assert scenario_fingerprint(sc) != scenario_fingerprint(load_scenario(DATA / "tiny"))
    save_scenario(load_scenario(DATA / "tiny"), tmp_path / "none")
    assert not (tmp_path / "none" / "sessions.csv").exists()


def test_a_scenario_built_in_code_checks_its_sessions() -> None:
    sc = dataclasses.replace(load_scenario(DATA / "tiny"), locate=default_locator)
    ok = PinnedSession("B", "Mon", 3, "B-RT1", ("S2",))
    assert dataclasses.replace(sc, sessions=(ok,)).sessions == (ok,)
    with pytest.raises(ScenarioError) as info:
        dataclasses.replace(sc, sessions=(ok, PinnedSession("A", "Mon", 3, "T2", ("S2",))))
    assert [str(p) for p in info.value.problems] == [
        "sessions.csv:3: teacher_id: 'T2' is a home_delivery teacher: a session is given by "
        "a resource or an itinerant teacher",
        "sessions.csv:3: student_ids: student 'S2' is already pinned on Mon period 3 (row 2)"]


def test_validate_cli_names_the_problem_and_exits_2(tiny_dir: Path) -> None:
    write_sessions(tiny_dir, ["B,Mon,3,B-RT1,S2,true", "B,Mon,9,B-RT1,S4,false"])
    r = subprocess.run([sys.executable, "-m", "lrcplan", "validate", str(tiny_dir)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "1 problem in the scenario" in r.stderr
    assert "sessions.csv:3: period: period 9 is not in 1..7" in r.stderr
    write_sessions(tiny_dir, ["B,Mon,3,B-RT1,S2,true", "B,Mon,4,B-RT1,S4,false"])
    r = subprocess.run([sys.executable, "-m", "lrcplan", "validate", str(tiny_dir)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and "1 pinned sessions" in r.stdout, r.stderr
