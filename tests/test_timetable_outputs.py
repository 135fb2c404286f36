"""Timetable outputs: report sections, timetables.xlsx and `lrcplan timetable`."""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from lrcplan.cli import main
from lrcplan.maps.render import save_plan
from lrcplan.models.io import load_scenario
from lrcplan.models.plan import Plan
from lrcplan.models.routes import RoutesOptions
from lrcplan.models.scenario import Scenario
from lrcplan.models.timetable import (
    Session,
    Support,
    TimetableResult,
)

DEMO = ROOT / "scenarios" / "demo"
CREATED = "2026-11-23T09:00:00"
NAME = "Student Name"


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def stages() -> tuple[object, ...]:
    """The registered stages (the timetable runs after routes)."""
    from lrcplan.optimizer.stages import STAGES

    assert [s.name for s in STAGES][-2:] == ["routes", "timetable"]
    return STAGES


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo whose students.csv has a name column (never to be written)."""
    src = tmp_path_factory.mktemp("named") / "demo"
    shutil.copytree(DEMO, src)
    lines = (src / "students.csv").read_text().splitlines()
    lines = [lines[0] + ",name"] + [f"{ln},{NAME} {i}" for i, ln in enumerate(lines[1:])]
    (src / "students.csv").write_text("\n".join(lines) + "\n")
    return src


@pytest.fixture(scope="module")
def demo(stages: tuple[object, ...], named: Path) -> tuple[Scenario, Plan]:
    """The demo (with names) and its plan with every stage, the timetable included."""
    from lrcplan.optimizer.pipeline import run_plan

    sc = load_scenario(named)
    plan = run_plan(sc, {"routes": RoutesOptions(time_limit_s=2)}, stages=stages,
                    created=CREATED)
    result = plan.get(TimetableResult)
    assert result.sessions and any(s.status != "served" for s in result.support)
    return sc, plan


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, demo: tuple[Scenario, Plan]) -> Path:
    """The plan folder: tables, layers, itineraries, timetables.xlsx, maps and report."""
    sc, plan = demo
    return save_plan(plan, sc, tmp_path_factory.mktemp("timetable") / "plan")


@pytest.fixture(scope="module")
def workbook(written: Path) -> object:
    import openpyxl

    return openpyxl.load_workbook(written / "timetables.xlsx")


def _largest(result: TimetableResult) -> str:
    """The school with the most sessions."""
    return max(result.by_school, key=lambda k: (len(result.by_school[k]), k))


# ------------------------------------------------------------------ workbook
def test_workbook_has_a_grid_sheet_per_school(workbook: object, demo: tuple[Scenario, Plan]
                                              ) -> None:
    from lrcplan.maps.timetable import school_ids

    sc, plan = demo
    result = plan.get(TimetableResult)
    schools = school_ids(result)
    assert set(result.by_school) <= set(schools)
    assert workbook.sheetnames == [*schools, "students", "unserved"]
    days = sc.policy.school_days
    for school in schools:
        ws = workbook[school]
        texts = [ws.cell(4 + p, 3 + d).value or "" for p in range(1, sc.policy.periods_per_day
                                                                  + 1)
                 for d in range(len(days))]
        lines = [ln for t in texts for ln in t.split("\n") if ln]
        assert len(lines) == len(result.by_school.get(school, ()))
        assert school in ws["A1"].value and sc.school_by_id[school].name in ws["A1"].value


def test_workbook_cell_of_a_session_holds_teacher_and_students(
        workbook: object, demo: tuple[Scenario, Plan]) -> None:
    from lrcplan.maps.workbook import HEADER_ROWS

    sc, plan = demo
    result = plan.get(TimetableResult)
    school = _largest(result)
    ws = workbook[school]
    days = list(sc.policy.school_days)
    assert [ws.cell(4, 3 + i).value for i in range(len(days))] == days
    for p in range(1, sc.policy.periods_per_day + 1):
        a, b = sc.policy.period_window(p)
        assert ws.cell(HEADER_ROWS + p, 1).value == p
        assert ws.cell(HEADER_ROWS + p, 2).value == f"{a // 60:02d}:{a % 60:02d}-" \
                                                    f"{b // 60:02d}:{b % 60:02d}"
    for s in result.by_school[school]:
        cell = ws.cell(HEADER_ROWS + s.period, 3 + days.index(s.day))
        line = f"{s.teacher_id}: {', '.join(s.student_ids)}"
        assert line in cell.value.split("\n"), (s, cell.value)
        assert cell.alignment.wrap_text and cell.border.left.style == "thin"


def test_workbook_layout_and_print_setup(workbook: object, demo: tuple[Scenario, Plan]
                                         ) -> None:
    from openpyxl.utils import get_column_letter

    sc, plan = demo
    end = get_column_letter(2 + len(sc.policy.school_days))
    ws = workbook[_largest(plan.get(TimetableResult))]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {f"A1:{end}1", f"A2:{end}2", "A3:B3", f"C3:{end}3"} <= merged
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) == 9  # A4
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows.replace("$", "") == "1:4"
    assert ws.freeze_panes == "C5"
    assert ws.column_dimensions["C"].width >= 20 and ws.column_dimensions["B"].width >= 11
    assert ws["A3"].font.b and ws["C4"].border.bottom.style == "thin"


def test_students_sheet_lists_every_session(workbook: object, demo: tuple[Scenario, Plan]
                                            ) -> None:
    _, plan = demo
    result = plan.get(TimetableResult)
    rows = list(workbook["students"].iter_rows(values_only=True))
    assert rows[0] == ("student", "school", "day", "period", "time", "teacher", "room",
                       "status")
    listed = [(r[0], r[1], r[2], r[3], r[5]) for r in rows[1:] if r[2] is not None]
    want = [(sid, s.school_id, s.day, s.period, s.teacher_id)
            for s in result.sessions for sid in s.student_ids]
    assert sorted(listed) == sorted(want)
    assert {r[0] for r in rows[1:]} == {s.student_id for s in result.support}
    none = {r[0] for r in rows[1:] if r[2] is None}
    assert none == {s.student_id for s in result.support if s.sessions == 0}


def test_unserved_sheet_lists_every_unserved_student(workbook: object,
                                                     demo: tuple[Scenario, Plan]) -> None:
    sc, plan = demo
    result = plan.get(TimetableResult)
    rows = list(workbook["unserved"].iter_rows(values_only=True))
    assert rows[0] == ("student", "school", "sessions", "entitled", "reason")
    un = {s.student_id: s for s in result.support if s.status != "served"}
    assert sorted(r[0] for r in rows[1:]) == sorted(un)
    for r in rows[1:]:
        s = un[r[0]]
        assert (r[1], r[2], r[3]) == (s.school_id, s.sessions,
                                      sc.policy.min_support_periods_per_week)
        assert r[4] and r[4] in s.reason


def test_sheet_titles_are_valid_excel_names() -> None:
    from lrcplan.maps.workbook import sheet_title

    taken: set[str] = {"students", "unserved"}
    got = [sheet_title(x, taken) for x in (
        "A/B:C*D?[E]\\F", "X" * 40, "X" * 40, "x" * 40, "'quoted'", "history", "Students",
        "")]
    assert got[0] == "A_B_C_D__E__F"
    assert len(got[1]) == 31 and len(got[2]) <= 31 and len(got[3]) <= 31
    assert got[4] == "quoted" and got[5] != "history" and got[6].lower() != "students"
    assert len({g.lower() for g in got}) == len(got)
    for g in got:
        assert g and len(g) <= 31 and not set(g) & set("[]:*?/\\")
        assert not g.startswith("'") and not g.endswith("'")


def test_workbook_of_odd_school_ids_and_pinned_sessions(tmp_path: Path,
                                                        demo: tuple[Scenario, Plan]) -> None:
    """A school id Excel cannot take as a sheet name, and a pinned session."""
    import openpyxl

    from lrcplan.maps.workbook import write_workbook

    sc, plan = demo
    real = plan.get(TimetableResult)
    odd = "SCH/2024:North*Campus-with-a-very-long-name"
    result = dataclasses.replace(
        real, sessions=(Session(odd, "Tue", 2, f"{odd}-SP", "T9", ("S1", "S2"), True),),
        support=(Support("S1", odd, 1, "unserved", "only 1 period"),
                 Support("S2", odd, 1, "unserved", "only 1 period")), penalties=())
    paths = write_workbook(plan.replacing(result), sc, tmp_path)
    wb = openpyxl.load_workbook(paths[0])
    assert len(wb.sheetnames) == 3
    ws = wb[wb.sheetnames[0]]
    assert len(ws.title) <= 31 and "/" not in ws.title and odd in ws["A1"].value
    assert ws.cell(4 + 2, 3 + 1).value == "T9: S1, S2 (pinned)"


def test_no_timetable_no_workbook_and_no_sections(tmp_path: Path,
                                                  demo: tuple[Scenario, Plan]) -> None:
    from lrcplan.maps.report import render_report
    from lrcplan.maps.workbook import write_workbook

    sc, plan = demo
    without = dataclasses.replace(plan, results=tuple(
        r for r in plan.results if r.stage != "timetable"))
    assert write_workbook(without, sc, tmp_path) == []
    assert not (tmp_path / "timetables.xlsx").exists()
    page = render_report(without, sc, [])
    assert "Soft constraints that cost the most" not in page
    assert 'class="tt-grid"' not in page and "Solve time per school" not in page


# ------------------------------------------------------------------ report
def test_report_has_the_timetable_sections(written: Path, demo: tuple[Scenario, Plan]
                                           ) -> None:
    from lrcplan.maps.timetable import GRID_SCHOOLS, grid_schools

    sc, plan = demo
    result = plan.get(TimetableResult)
    page = (written / "report.html").read_text(encoding="utf-8")
    titles = ("Soft constraints that cost the most", "Students whose weekly support is not "
              "met", "Support timetables of selected schools", "Solve time per school")
    at = [page.index(f"<h2>{t}") for t in titles]
    assert at == sorted(at)
    assert page.index("Unserved visits") < at[0]  # after the routes stage's sections
    for s in result.support:
        if s.status != "served":
            assert f"<td>{s.student_id}</td>" in page
    for p in result.penalties:
        assert f"<td>{p.cost:,}</td>" in page or f'<td class="num">{p.cost:,}</td>' in page
        assert all(sid in page for sid in p.student_ids[:12])
    chosen = grid_schools(result)
    assert 0 < len(chosen) <= GRID_SCHOOLS
    assert page.count('<table class="tt-grid">') == len(chosen)
    first = result.by_school[chosen[0]][0]
    assert f"<b>{first.teacher_id}</b> {', '.join(first.student_ids)}" in page
    assert "median (s)" in page


def test_report_sections_in_chinese(demo: tuple[Scenario, Plan]) -> None:
    from lrcplan.maps.report import render_report

    sc, plan = demo
    page = render_report(plan, sc, [], lang="zh")
    for title in ("扣分最多的软约束", "未满足每周个别辅导课时的学生", "部分学校个别辅导课表",
                  "各校求解时间"):
        assert f"<h2>{title}" in page, title


# ------------------------------------------------------------------ lrcplan timetable
def test_timetable_command_prints_a_school_grid(written: Path, demo: tuple[Scenario, Plan],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    sc, plan = demo
    result = plan.get(TimetableResult)
    un = [s for s in result.support if s.status != "served"]
    school = max(result.by_school, key=lambda k: (sum(s.school_id == k for s in un),
                                                  len(result.by_school[k]), k))
    assert main(["timetable", str(written), "--school", school]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(f"{school} {sc.school_by_id[school].name}: ")
    header = next(ln for ln in lines if ln.startswith("period"))
    assert [c.strip() for c in header.split("|")[1:]] == list(sc.policy.school_days)
    flat = " ".join(out.split())  # a group's cell may wrap over lines
    for s in result.by_school[school]:
        assert f"{s.teacher_id}:" in out and all(sid in flat for sid in s.student_ids)
    for p in range(1, sc.policy.periods_per_day + 1):
        a, _ = sc.policy.period_window(p)
        assert any(ln.startswith(f"{p} {a // 60:02d}:{a % 60:02d}-") for ln in lines)
    mine = [s for s in un if s.school_id == school]
    assert (f"unserved students ({len(mine)}):" if mine else "unserved students: none") in out
    for s in mine:
        assert any(ln.startswith(f"  {s.student_id}  {s.sessions} of ") for ln in lines)


def test_timetable_command_errors_exit_2(written: Path, demo: tuple[Scenario, Plan],
                                         tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    sc, plan = demo
    assert main(["timetable", str(written), "--school", "NOBODY"]) == 2
    err = capsys.readouterr().err
    assert "NOBODY" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    special = next(s.id for s in sc.schools if s.id not in plan.get(TimetableResult).by_school
                   and all(x.school_id != s.id for x in plan.get(TimetableResult).support))
    assert main(["timetable", str(written), "--school", special]) == 2
    assert special in capsys.readouterr().err
    without = dataclasses.replace(plan, results=tuple(
        r for r in plan.results if r.stage != "timetable"))
    folder = save_plan(without, sc, tmp_path / "no-timetable", maps=False)
    assert main(["timetable", str(folder), "--school", "SCH0004"]) == 2
    err = capsys.readouterr().err
    assert "no timetable" in err and len(err.strip().splitlines()) == 1


def test_timetable_command_plans_a_scenario_folder(
        stages: tuple[object, ...], demo: tuple[Scenario, Plan], named: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, plan = demo
    school = _largest(plan.get(TimetableResult))
    assert main(["timetable", str(named), "--school", school, "--time-limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{school} ") and "\nperiod" in out and NAME not in out
    assert main(["timetable", str(named), "--school", school, "--time-limit", "0"]) == 2
    assert "--time-limit" in capsys.readouterr().err


# ------------------------------------------------------------------ privacy
def _text_of(path: Path) -> str:
    if path.suffix == ".xlsx":  # every XML part: cells, shared strings, sheet names
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
    return path.read_text(encoding="utf-8")


def test_no_name_or_home_in_any_output(written: Path, demo: tuple[Scenario, Plan],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    sc, plan = demo
    schools = {(s.lon, s.lat) for s in sc.schools}
    homes = [(repr(s.lon), repr(s.lat)) for s in sc.students if (s.lon, s.lat) not in schools]
    for school in plan.get(TimetableResult).by_school:
        assert main(["timetable", str(written), "--school", school]) == 0
    texts = {"lrcplan timetable": capsys.readouterr().out}
    for path in sorted(written.rglob("*")):
        if path.is_file() and path.suffix not in (".png", ".gpkg"):
            texts[path.name] = _text_of(path)
    assert "timetables.xlsx" in texts and "report.html" in texts
    for name, text in texts.items():
        assert NAME not in text, name
        for lon, lat in homes:
            assert not (lon in text and lat in text), f"{name} holds home {lon}, {lat}"
