"""`timetables.xlsx`: every school's support week as a printable grid, and per-student lists.

Written with openpyxl beside the plan's tables (maps/render.py `write_layers`), only when
the plan has a timetable:

* one sheet per school (title: the school id, made a valid Excel sheet name: at most 31
  characters, none of `[]:*?/\\`, no leading or trailing apostrophe, unique regardless of
  case): a merged title row (school id and name, the support room), a note row, a
  two-level header (merged "period" over number and time, merged "school days" over the
  day names), then one row per period (its start-end time from
  `Policy.period_window`) and one column per school day; each cell holds the sessions
  of that slot as "teacher: students". Thin borders, wrapped text, column widths and
  row heights set; printed A4 landscape, one page wide, the title and header rows
  repeated on every page.
* "students": every LRC student's sessions, one row per session (student, school, day,
  period, time, teacher, room, status); a student without any session has one row with
  the day left empty.
* "unserved": the students whose entitlement is not met (student, school, sessions,
  entitled, reason).

Privacy: students appear by pseudonymous id only; no name or home is ever read here.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from lrcplan.maps.timetable import (
    period_text,
    reason_text,
    room_text,
    school_grid,
    school_ids,
    school_title,
    session_text,
    support_of,
    unserved_by_school,
)
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan
from lrcplan.models.policy import DAYS
from lrcplan.models.scenario import Scenario
from lrcplan.models.timetable import Session, TimetableResult

FILE = "timetables.xlsx"
MAX_TITLE = 31  # Excel's limit on a sheet name
_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
RESERVED = ("history",)  # Excel keeps this sheet name for itself
HEADER_ROWS = 4  # title, note, two header rows
LINE_HEIGHT = 15.0  # points per line of a wrapped cell (11 pt Calibri)
DAY_WIDTH = 26.0  # characters of a day column
HEADER_FILL = "EEF2F5"
TITLE_SIZE = 13


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unused Excel sheet title for name (added to `taken`, kept lower-case)."""
    base = _FORBIDDEN.sub("_", name).strip("'") or "sheet"
    if base.lower() in RESERVED:
        base += "_"
    title = base[:MAX_TITLE].rstrip("'") or "sheet"
    n = 1
    while title.lower() in taken:
        n += 1
        tail = f"~{n}"
        title = base[:MAX_TITLE - len(tail)].rstrip("'") + tail
    taken.add(title.lower())
    return title


def _styles() -> dict[str, object]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="8A96A3")
    return {
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "centre": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "bold": Font(bold=True),
        "title": Font(bold=True, size=TITLE_SIZE),
        "small": Font(italic=True, color="5F6B76"),
        "fill": PatternFill("solid", fgColor=HEADER_FILL),
    }


def _print_setup(ws: object, title_rows: str | None, *, landscape: bool = True) -> None:
    ws.page_setup.orientation = "landscape" if landscape else "portrait"  # type: ignore[attr-defined]
    ws.page_setup.paperSize = ws.PAPERSIZE_A4  # type: ignore[attr-defined]
    ws.page_setup.fitToWidth = 1  # type: ignore[attr-defined]
    ws.page_setup.fitToHeight = 0  # type: ignore[attr-defined]  # as many pages as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # type: ignore[attr-defined]
    ws.print_options.horizontalCentered = True  # type: ignore[attr-defined]
    ws.page_margins.left = ws.page_margins.right = 0.4  # type: ignore[attr-defined]
    if title_rows:
        ws.print_title_rows = title_rows  # type: ignore[attr-defined]


def _lines(sessions: list[Session], lang: str) -> str:
    return "\n".join(session_text(s, lang) for s in sessions)


def _height(text: str, width: float) -> int:
    """Lines a wrapped cell of `width` characters needs for text."""
    return sum(max(1, -(-len(part) // max(1, int(width) - 1))) for part in text.split("\n"))


def _school_sheet(wb: object, title: str, result: TimetableResult, sc: Scenario,
                  school_id: str, lang: str, st: dict[str, object]) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)  # type: ignore[attr-defined]
    days = list(sc.policy.school_days)
    last = 2 + len(days)
    end = get_column_letter(last)
    sup = support_of(result, school_id)
    sessions = result.by_school.get(school_id, ())
    facts = label("tt_school_facts", lang, students=len(sup), sessions=len(sessions),
                  unserved=sum(s.status != "served" for s in sup))
    ws["A1"] = label("tt_sheet_title", lang, school=school_title(sc, school_id),
                     room=room_text(sc, result, school_id, lang))
    ws["A1"].font = st["title"]
    ws["A1"].alignment = st["centre"]
    ws.merge_cells(f"A1:{end}1")
    ws.row_dimensions[1].height = 24
    ws["A2"] = label("tt_sheet_note", lang, facts=facts)
    ws["A2"].font = st["small"]
    ws.merge_cells(f"A2:{end}2")
    # Two header rows: "period" over (number, time), "school days" over the day names.
    ws["A3"] = label("tt_period", lang)
    ws.merge_cells("A3:B3")
    ws["C3"] = label("tt_days", lang)
    ws.merge_cells(f"C3:{end}3")
    ws["A4"] = "#"
    ws["B4"] = label("tt_time", lang)
    for i, d in enumerate(days):
        ws.cell(4, 3 + i, d)
    for r in (3, 4):
        for c in range(1, last + 1):
            cell = ws.cell(r, c)
            cell.font, cell.fill, cell.alignment, cell.border = (
                st["bold"], st["fill"], st["centre"], st["border"])
    grid = school_grid(result, school_id)
    for p in range(1, sc.policy.periods_per_day + 1):
        r = HEADER_ROWS + p
        ws.cell(r, 1, p)
        ws.cell(r, 2, period_text(sc, p))
        lines = 1
        for i, d in enumerate(days):
            text = _lines(grid.get((d, p), []), lang)
            cell = ws.cell(r, 3 + i, text or None)
            lines = max(lines, _height(text, DAY_WIDTH))
        for c in range(1, last + 1):
            cell = ws.cell(r, c)
            cell.border = st["border"]
            cell.alignment = st["centre"] if c <= 2 else st["wrap"]
            if c == 1:
                cell.font = st["bold"]
        ws.row_dimensions[r].height = max(2, lines) * LINE_HEIGHT
    ws.column_dimensions["A"].width = 5
    ws.column_dimensions["B"].width = 13
    for i in range(len(days)):
        ws.column_dimensions[get_column_letter(3 + i)].width = DAY_WIDTH
    ws.freeze_panes = "C5"
    _print_setup(ws, f"1:{HEADER_ROWS}")
    ws.print_area = f"A1:{end}{HEADER_ROWS + sc.policy.periods_per_day}"


def _day_rank(day: str) -> int:
    return DAYS.index(day) if day in DAYS else len(DAYS)


def _table_sheet(wb: object, title: str, head: list[str], rows: list[list[object]],
                 widths: list[float], st: dict[str, object], *, wrap_last: bool = False
                 ) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)  # type: ignore[attr-defined]
    ws.append(head)
    for c in range(1, len(head) + 1):
        cell = ws.cell(1, c)
        cell.font, cell.fill, cell.border = st["bold"], st["fill"], st["border"]
    for row in rows:
        ws.append(row)
    if wrap_last:
        for (cell,) in ws.iter_rows(min_row=2, min_col=len(head), max_col=len(head)):
            cell.alignment = st["wrap"]
    for i, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(i + 1)].width = w
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(head))}{max(1, len(rows) + 1)}"
    _print_setup(ws, "1:1", landscape=wrap_last)


def write_workbook(plan: Plan, sc: Scenario, folder: Path, *, lang: str = "en"
                   ) -> list[Path]:
    """`timetables.xlsx` in folder; [] (and no file) when the plan has no timetable."""
    from openpyxl import Workbook

    result = plan.find(TimetableResult)
    if result is None:
        return []
    st = _styles()
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "lrcplan"
    wb.properties.title = f"{label('stage_timetable', lang)} — {sc.name}"
    wb.properties.created = datetime.fromisoformat(plan.created).replace(tzinfo=None)
    taken: set[str] = set()
    reserved = {"students", "unserved"}  # the list sheets keep their names
    taken |= reserved
    for school_id in school_ids(result):
        _school_sheet(wb, sheet_title(school_id, taken), result, sc, school_id, lang, st)
    served = {s.student_id: s.status for s in result.support}
    rows: list[list[object]] = []
    for s in sorted(result.support, key=lambda s: (s.student_id, s.school_id)):
        mine = sorted(result.sessions_of(s.student_id),
                      key=lambda x: (_day_rank(x.day), x.period, x.teacher_id))
        status = label("tt_served" if served[s.student_id] == "served" else "tt_unserved_word",
                       lang)
        for x in mine:
            rows.append([s.student_id, x.school_id, x.day, x.period, period_text(sc, x.period),
                         x.teacher_id, x.room, status])
        if not mine:
            rows.append([s.student_id, s.school_id, None, None, None, None, None,
                         f"{status} ({label('tt_no_session', lang)})"])
    _table_sheet(wb, "students", [label(k, lang) for k in (
        "student", "school", "day", "tt_period", "tt_time", "teacher", "tt_room",
        "tt_status")], rows, [12, 12, 7, 8, 13, 12, 14, 24], st)
    un = [[s.student_id, s.school_id, s.sessions, sc.policy.min_support_periods_per_week,
           reason_text(s)] for rows_ in unserved_by_school(result).values() for s in rows_]
    _table_sheet(wb, "unserved", [label(k, lang) for k in (
        "student", "school", "sessions", "tt_entitled", "reason")], un,
        [12, 12, 10, 10, 90], st, wrap_last=True)
    path = Path(folder) / FILE
    wb.save(path)
    return [path]
