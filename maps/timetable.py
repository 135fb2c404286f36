"""Report sections and text of the timetable stage (registered on import).

Report sections (`@section("timetable")`, after the map):

* Soft constraints that cost the most: per school, each soft constraint broken, how
  often, its cost and the students it hits (a score explanation in the manner of
  Timefold's or UniTime's); schools by total cost, the `TOP_SCHOOLS` costliest.
* Unserved students: the LRC students whose weekly entitlement is not met, with the
  blocking constraints the solver found, grouped by school.
* Timetables of a few schools: a days x periods grid, each cell the teacher and the
  students of its sessions. At most `GRID_SCHOOLS` schools: among those with a session,
  the ones with the most unserved students first, then the largest (a school without any
  session would be an empty grid: its students are in the unserved list). Every school's
  grid is in `timetables.xlsx` (maps/workbook.py).
* Solve time per school: median, max and total of the per-school CP-SAT solves.

`school_week_text` is the grid as plain text (`lrcplan timetable PATH --school ID`).

Privacy: students appear by pseudonymous id only; nothing here reads a home.
"""

from __future__ import annotations

import statistics
import textwrap
from collections import Counter, defaultdict

from lrcplan.maps.layers import Layer
from lrcplan.maps.report import _e, _table, section
from lrcplan.models.errors import InputError
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan
from lrcplan.models.routes import hhmm
from lrcplan.models.scenario import Scenario
from lrcplan.models.support import room_of
from lrcplan.models.timetable import Penalty, Session, Support, TimetableResult

TOP_SCHOOLS = 20  # schools in the soft-constraint table
GRID_SCHOOLS = 5  # school grids drawn in the report
MAX_UNSERVED_LISTED = 500  # the full list is in support.csv and timetables.xlsx
MAX_HIT_LISTED = 12  # student ids shown per penalty row (all are in penalties.csv)
TEXT_CELL_WIDTH = 30  # characters of a day column in the text grid before wrapping
MIN_TEXT_CELL = 8  # characters of an empty day column in the text grid

Slot = tuple[str, int]  # (day name, period)


# ------------------------------------------------------------------ shared helpers
def school_ids(result: TimetableResult) -> list[str]:
    """The schools of the timetable (every school with an entitled student), sorted."""
    return sorted({s.school_id for s in result.support} | set(result.by_school))


def school_grid(result: TimetableResult, school_id: str) -> dict[Slot, list[Session]]:
    """A school's sessions by (day, period), each slot's sessions in teacher order."""
    out: dict[Slot, list[Session]] = defaultdict(list)
    for s in result.by_school.get(school_id, ()):
        out[(s.day, s.period)].append(s)
    return {k: sorted(v, key=lambda s: (s.teacher_id, s.student_ids)) for k, v in out.items()}


def session_text(s: Session, lang: str = "en") -> str:
    """One session in a grid cell: "RES001: STU000010, STU000023" (pinned marked)."""
    pin = f" ({label('tt_pinned', lang)})" if s.pinned else ""
    return f"{s.teacher_id}: {', '.join(s.student_ids)}{pin}"


def period_text(sc: Scenario, period: int) -> str:
    """A period's time: "08:00-08:40" (Policy.period_window)."""
    a, b = sc.policy.period_window(period)
    return f"{hhmm(a)}-{hhmm(b)}"


def support_of(result: TimetableResult, school_id: str) -> list[Support]:
    """A school's entitled students, by id."""
    return sorted((s for s in result.support if s.school_id == school_id),
                  key=lambda s: s.student_id)


def unserved_by_school(result: TimetableResult) -> dict[str, list[Support]]:
    """The unserved students of each school (schools in id order, students by id)."""
    out: dict[str, list[Support]] = defaultdict(list)
    for s in sorted(result.support, key=lambda s: (s.school_id, s.student_id)):
        if s.status != "served":
            out[s.school_id].append(s)
    return dict(out)


def reason_text(s: Support) -> str:
    """Why a student is unserved, without the "student <id>: " the reason starts with
    (the student is named beside it)."""
    prefix = f"student {s.student_id}: "
    return s.reason[len(prefix):] if s.reason.startswith(prefix) else s.reason


def school_title(sc: Scenario, school_id: str) -> str:
    """"SCH0004 Fenghong Primary School" (the id alone for a school not in the scenario)."""
    school = sc.school_by_id.get(school_id)
    return f"{school_id} {school.name}" if school is not None else school_id


def room_text(sc: Scenario, result: TimetableResult, school_id: str, lang: str = "en") -> str:
    """The school's support room: "resource room SCH0004-RR" or "designated space ..."."""
    rooms = sorted({s.room for s in result.by_school.get(school_id, ())})
    if not rooms and school_id in sc.school_by_id:
        rooms = [room_of(sc, school_id)[0]]
    if not rooms:
        return ""
    kind = "tt_room_rr" if rooms[0].endswith("-RR") else "tt_room_sp"
    return f"{label(kind, lang)} {', '.join(rooms)}"


def grid_schools(result: TimetableResult, limit: int = GRID_SCHOOLS) -> list[str]:
    """The schools whose grid the report draws: among schools with a session, the most
    unserved students first, then the most entitled students, then by id."""
    students = Counter(s.school_id for s in result.support)
    unserved = Counter(s.school_id for s in result.support if s.status != "served")
    with_sessions = [k for k in school_ids(result) if result.by_school.get(k)]
    return sorted(with_sessions, key=lambda k: (-unserved[k], -students[k], k))[:limit]


def costliest(result: TimetableResult, limit: int = TOP_SCHOOLS
              ) -> list[tuple[str, int, list[Penalty]]]:
    """(school, total cost, its penalties by cost) of the costliest schools."""
    by: dict[str, list[Penalty]] = defaultdict(list)
    for p in result.penalties:
        if p.count or p.cost:
            by[p.school_id].append(p)
    ranked = sorted(((k, sum(p.cost for p in ps), sorted(ps, key=lambda p: (
        -p.cost, -p.count, p.constraint))) for k, ps in by.items()),
        key=lambda x: (-x[1], x[0]))
    return ranked[:limit] if limit else ranked


def solve_times(result: TimetableResult) -> dict[str, float | str | int]:
    """Per-school solve time: schools, median, max (and its school), total seconds."""
    times = [t for _, t in result.school_seconds]
    if not times:
        return {"schools": 0}
    slow = max(result.school_seconds, key=lambda kv: (kv[1], kv[0]))
    return {"schools": len(times), "median": statistics.median(times), "max": slow[1],
            "max_school": slow[0], "total": sum(times)}


def _need(sc: Scenario) -> int:
    return sc.policy.min_support_periods_per_week


# ------------------------------------------------------------------ report
def _none(lang: str) -> str:
    return f'<p class="none">{_e(label("none", lang))}</p>'


def _count(n: int) -> str:
    return f' <span class="count">({n:,})</span>'


def _ids_html(ids: tuple[str, ...], lang: str) -> str:
    shown = ", ".join(ids[:MAX_HIT_LISTED])
    more = len(ids) - MAX_HIT_LISTED
    return _e(shown) + (f' <span class="small">{_e(label("tt_more", lang, n=more))}</span>'
                        if more > 0 else "")


def _school_html(sc: Scenario, school_id: str) -> str:
    school = sc.school_by_id.get(school_id)
    if school is None:
        return _e(school_id)
    return f'{_e(school.name)} <span class="small">({_e(school_id)})</span>'


@section("timetable")
def _penalties(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    result = plan.get(TimetableResult)
    ranked = costliest(result, 0)
    title = _e(label("tt_penalties", lang)) + _count(len(ranked))
    if not ranked:
        return title, _none(lang)
    rows = []
    for school_id, total, ps in ranked[:TOP_SCHOOLS]:
        for i, p in enumerate(ps):
            school = (f"{_school_html(sc, school_id)}<br><span class=\"small\">"
                      f"{_e(label('tt_total_cost', lang))} {total:,}</span>" if i == 0 else "")
            rows.append([school, _e(label(f"soft_{p.constraint}", lang)), f"{p.count:,}",
                         f"{p.cost:,}", _ids_html(p.student_ids, lang) or "-"])
    head = [(_e(label(k, lang)), num) for k, num in (
        ("school", False), ("tt_constraint", False), ("tt_count", True), ("tt_cost", True),
        ("students", False))]
    note = ""
    if len(ranked) > TOP_SCHOOLS:
        more = label("tt_more_schools", lang, n=len(ranked) - TOP_SCHOOLS)
        note = f'<p class="small">{_e(more)}</p>'
    return title, f'<div class="tt-pen">{_table(head, rows)}</div>{note}'


@section("timetable")
def _unserved(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    result = plan.get(TimetableResult)
    groups = unserved_by_school(result)
    n = sum(len(v) for v in groups.values())
    title = _e(label("tt_unserved", lang)) + _count(n)
    if not n:
        return title, _none(lang)
    head = [(_e(label(k, lang)), num) for k, num in (
        ("student", False), ("tt_sessions", True), ("reason", False))]
    parts, shown = [], 0
    for school_id, rows in groups.items():
        if shown >= MAX_UNSERVED_LISTED:
            break
        rows = rows[:MAX_UNSERVED_LISTED - shown]
        shown += len(rows)
        cells = [[_e(s.student_id), f"{s.sessions} / {_need(sc)}", _e(reason_text(s))]
                 for s in rows]
        parts.append(f"<h3>{_school_html(sc, school_id)} · {len(groups[school_id])}</h3>"
                     f"{_table(head, cells)}")
    if shown < n:
        parts.append(f'<p class="small">{_e(label("tt_more_unserved", lang, n=n - shown))}</p>')
    return title, f'<div class="tt-unserved">{"".join(parts)}</div>'


def grid_html(result: TimetableResult, sc: Scenario, school_id: str, lang: str) -> str:
    """A school's week as an HTML table: periods down, days across."""
    grid = school_grid(result, school_id)
    days = sc.policy.school_days
    th = (f'<th class="per">{_e(label("tt_period", lang))}</th>'
          + "".join(f"<th>{_e(d)}</th>" for d in days))
    body = []
    for p in range(1, sc.policy.periods_per_day + 1):
        cells = []
        for d in days:
            items = "".join(
                f'<div class="{"sess pin" if s.pinned else "sess"}"><b>{_e(s.teacher_id)}'
                f"</b> {_e(', '.join(s.student_ids))}"
                + (f' <span class="small">({_e(label("tt_pinned", lang))})</span>'
                   if s.pinned else "") + "</div>" for s in grid.get((d, p), ()))
            cells.append(f"<td>{items}</td>")
        body.append(f'<tr><th class="per">{p}<br><span class="small">'
                    f"{_e(period_text(sc, p))}</span></th>{''.join(cells)}</tr>")
    return (f'<table class="tt-grid"><thead><tr>{th}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


@section("timetable")
def _grids(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    result = plan.get(TimetableResult)
    chosen = grid_schools(result)
    title = _e(label("tt_grids", lang)) + _count(len(chosen))
    if not chosen:
        return title, _none(lang)
    parts = [f'<p class="small">{_e(label("tt_grids_note", lang, n=len(school_ids(result))))}'
             "</p>"]
    for school_id in chosen:
        sup = support_of(result, school_id)
        un = sum(s.status != "served" for s in sup)
        facts = label("tt_school_facts", lang, students=len(sup),
                      sessions=len(result.by_school.get(school_id, ())), unserved=un)
        parts.append(f"<div class=\"tt-school\"><h3>{_school_html(sc, school_id)} · "
                     f"{_e(room_text(sc, result, school_id, lang))} · {_e(facts)}</h3>"
                     f"{grid_html(result, sc, school_id, lang)}</div>")
    return title, "".join(parts)


@section("timetable")
def _solve_times(plan: Plan, sc: Scenario, layers: list[Layer], lang: str
                 ) -> tuple[str, str]:
    result = plan.get(TimetableResult)
    t = solve_times(result)
    title = _e(label("tt_solve_times", lang))
    if not t["schools"]:
        return title, _none(lang)
    head = [(_e(label(k, lang)), True) for k in (
        "tt_schools", "tt_median_s", "tt_max_s", "tt_total_s")]
    rows = [[f"{t['schools']:,}", f"{t['median']:.3f}",
             f"{t['max']:.3f} <span class=\"small\">({_e(t['max_school'])})</span>",
             f"{t['total']:.3f}"]]
    return title, _table(head, rows)


# ------------------------------------------------------------------ text (lrcplan timetable)
def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def school_week_text(plan: Plan, sc: Scenario, school_id: str) -> str:
    """A school's support week as text: the grid (days across, periods down; each cell
    the teacher and students of its sessions), then its unserved students and why.

    InputError if the plan has no timetable or the school has no entitled student in it.
    """
    result = plan.find(TimetableResult)
    if result is None:
        raise InputError("this plan has no timetable stage (plan it again with the "
                         "timetable stage)")
    known = school_ids(result)
    if school_id not in known:
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20
                                         else "")
        what = ("is not a school of this scenario" if school_id not in sc.school_by_id
                else "has no LRC student entitled to support in this plan")
        raise InputError(f"school {school_id!r} {what}; schools with a timetable: "
                         f"{shown or 'none'}")
    grid = school_grid(result, school_id)
    days = list(sc.policy.school_days)
    cells: dict[Slot, list[str]] = {}
    for (d, p), sessions in grid.items():
        cells[(d, p)] = [ln for s in sessions for ln in _wrap(session_text(s), TEXT_CELL_WIDTH)]
    width = {d: max([len(d), MIN_TEXT_CELL] + [len(ln) for (dd, _), lines in cells.items()
                                               if dd == d for ln in lines]) for d in days}
    times = {p: period_text(sc, p) for p in range(1, sc.policy.periods_per_day + 1)}
    lead = max(len("period"), *(len(f"{p} {t}") for p, t in times.items()))
    sup = support_of(result, school_id)
    un = [s for s in sup if s.status != "served"]
    sessions = result.by_school.get(school_id, ())
    room = room_text(sc, result, school_id)
    lines = [f"{school_title(sc, school_id)}: {len(sup)} LRC student(s), {len(sessions)} "
             f"session(s) a week, {len(un)} unserved" + (f"; {room}" if room else ""),
             ""]
    rule = "-" * lead + "".join("-+-" + "-" * width[d] for d in days)
    lines.append((f"{'period':<{lead}}" + "".join(f" | {d:<{width[d]}}" for d in days)
                  ).rstrip())
    lines.append(rule)
    for p, t in times.items():
        rows = max([1] + [len(cells.get((d, p), ())) for d in days])
        for i in range(rows):
            head = f"{p} {t}" if i == 0 else ""
            texts = [cells.get((d, p), [])[i] if i < len(cells.get((d, p), [])) else ""
                     for d in days]
            row = f"{head:<{lead}}" + "".join(f" | {x:<{width[d]}}"
                                              for d, x in zip(days, texts, strict=True))
            lines.append(row.rstrip())
        lines.append(rule)
    lines += ["", f"unserved students ({len(un)}):" if un else "unserved students: none"]
    for s in un:
        lines.append(f"  {s.student_id}  {s.sessions} of {_need(sc)} session(s): "
                     f"{reason_text(s) or '-'}")
    return "\n".join(lines)
