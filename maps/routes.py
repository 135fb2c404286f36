"""Map layers and report sections of the routes stage (registered on import).

Layers (map.html, map.png/svg, plan.gpkg and `<layer>.geojson` through the registry):

* `routes`: one line per teacher-day through its stops in route order, coloured per
  teacher. Each leg follows the fastest road path where the travel model draws paths
  (`RoadTravel.paths`, with `sc.roads`), else it is straight (great circle). The travel
  minutes in the popup and the data are the model's, from the exact places.
* `route_stops`: one point per visited school and per privacy-grid cell holding visited
  homes, with the number of visits and the teachers.

Privacy: a home stop is drawn at the centre of its privacy-grid cell
(`Policy.privacy_grid_m`), never at the home; the map never names a home-taught student
(a cell with an id would locate the student). A road leg to or from a home is routed from
the cell centre, never from the home, and drops its road vertices inside that cell, so the
line enters the cell straight to its centre (see `_leg_lines`). The report lists home
visits by the student's pseudonymous id, without any place.

Report sections (`@section("routes")`): the week chart (a Gantt as inline SVG) before
the map; after it one table per teacher-day, the totals of each teacher's week and the
unserved visits with their reasons.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from shapely.geometry import LineString, Point

from lrcplan.maps.layers import (
    Layer,
    LegendEntry,
    _frame,
    _popup,
    cell_centre,
    home_cells,
    layer,
)
from lrcplan.maps.report import _e, _svg, _table, section
from lrcplan.maps.static import quiet_glyphs
from lrcplan.models.labels import grid_text, label
from lrcplan.models.plan import Plan
from lrcplan.models.policy import DAYS, parse_hhmm
from lrcplan.models.routes import RoutesResult, Stop, hhmm
from lrcplan.models.scenario import Scenario

KIND_COLORS = {"itinerant": "#1f78b4", "home": "#e66101", "lunch": "#9e9e9e",
               "travel": "#d62728", "base": "#333333"}
STOP_COLORS = {"itinerant": "#263238", "home": "#c2185b"}  # map points of visited places
TEACHER_COLORS = ("#3949ab", "#00897b", "#6d4c41", "#ffa000", "#8e24aa", "#0097a7",
                  "#455a64", "#9e9d24", "#f06292", "#5d4037")
MAX_TEACHER_LEGEND = 12  # more teachers: one legend line for all routes


# ------------------------------------------------------------------ places
@dataclass(frozen=True)
class Place:
    """Where a stop is, as shown: a school, or a home-taught student's privacy cell."""

    site_id: str
    home: bool  # a home-taught student's home: only its cell is ever shown
    point: Point  # the school, or the centre of the home's privacy-grid cell
    name: str  # the school's name, or the student's pseudonymous id
    town: str  # the school's town ('' for a home)
    cell: tuple[int, int] | None = None  # the privacy-grid cell of a home

    def location(self, sc: Scenario) -> str:
        """Where, in words: "name, town" of a school; a home's privacy cell only."""
        if self.home:
            return cell_text(sc, self.point)
        return f"{self.name}, {self.town}" if self.town else self.name


def cell_text(sc: Scenario, centre: Point, lang: str = "en") -> str:
    """A privacy cell in words from its centre: "grid cell E120.123 N30.456 (1 km)"."""
    ew = f"{'E' if centre.x >= 0 else 'W'}{abs(centre.x):.3f}"
    ns = f"{'N' if centre.y >= 0 else 'S'}{abs(centre.y):.3f}"
    return label("grid_cell", lang, where=f"{ew} {ns}",
                 grid=grid_text(sc.policy.privacy_grid_m, lang))


def places(sc: Scenario, site_ids: set[str] | list[str]) -> dict[str, Place]:
    """The shown place of each known site id (schools and home-taught students)."""
    out: dict[str, Place] = {}
    homes = sorted(s for s in set(site_ids)
                   if s not in sc.school_by_id and s in sc.student_by_id)
    for sid in set(site_ids):
        school = sc.school_by_id.get(sid)
        if school is not None:
            out[sid] = Place(sid, False, Point(school.lon, school.lat), school.name,
                             school.town)
    if homes:
        ix, iy = home_cells(sc, homes)
        for sid, a, b in zip(homes, ix, iy, strict=True):
            cell = (int(a), int(b))
            out[sid] = Place(sid, True, cell_centre(sc, *cell), sid, "", cell)
    return out


def teacher_colors(teachers: list[str]) -> dict[str, str]:
    """A colour per teacher, in sorted-id order; beyond ten teachers the colours repeat.

    No green or red: those are the travel-time scale of the enrolment flows.
    """
    ids = sorted(set(teachers))
    return {t: TEACHER_COLORS[i % len(TEACHER_COLORS)] for i, t in enumerate(ids)}


def day_name(result: RoutesResult, week: int, day: str, lang: str = "en") -> str:
    """"Mon", or "W2 Mon" where the horizon has two weeks."""
    return label("week_day", lang, week=week, day=day) if result.weeks > 1 else day


def day_order(day: str) -> int:
    """A school day's place in the week (unknown names last)."""
    return DAYS.index(day) if day in DAYS else len(DAYS)


def sorted_days(result: RoutesResult) -> list[tuple[str, int, str]]:
    """The teacher-days (teacher, week, day) in teacher, then calendar order."""
    return sorted(result.days, key=lambda k: (k[0], k[1], day_order(k[2])))


# ------------------------------------------------------------------ layers
@layer("routes")
def routes_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """One line per teacher-day through its stops, by road where there is a network."""
    result = plan.find(RoutesResult)
    if result is None:
        return None
    where = places(sc, {s.site_id for s in result.stops})
    colors = teacher_colors([t for t, _, _ in result.days])
    minutes = result.day_minutes()
    shown = {key: _shown_places(stops, where) for key, stops in result.days.items()}
    legs = _leg_lines(sc, [(a, b) for ps in shown.values()
                           for a, b in zip(ps, ps[1:], strict=False)])
    rows, geoms = [], []
    for key in sorted_days(result):
        teacher, week, day = key
        stops = result.days[key]
        ps = shown[key]
        if len(ps) < 2:
            continue
        parts = [legs[(a, b)] for a, b in zip(ps, ps[1:], strict=False)]
        coords = np.vstack([parts[0]] + [part[1:] for part in parts[1:]])
        visits = [s for s in stops if s.visit_id]
        travel = round(sum(s.travel_minutes for s in stops), 1)
        seq = " > ".join(_stop_word(s, where, lang) for s in stops)
        rows.append({
            "teacher_id": teacher, "week": week, "day": day, "stops": len(stops),
            "visits": len(visits), "travel_minutes": travel,
            "working_minutes": minutes.get(key, 0), "sequence": seq,
            "color": colors[teacher], "weight": 2.6,
            "popup": _popup(f"{label('teacher', lang)} {teacher}", [
                (label("day", lang), day_name(result, week, day, lang)),
                (label("stops", lang), seq),
                (label("visits", lang), len(visits)),
                (label("travel_minutes", lang), travel),
                (label("working_time", lang), _duration(minutes.get(key, 0), lang))])})
        geoms.append(LineString(coords))
    if len(colors) <= MAX_TEACHER_LEGEND:
        legend = tuple(LegendEntry("routes", c, "line", f"{label('routes', lang)}: {t}")
                       for t, c in colors.items())
    else:
        legend = (LegendEntry("routes", "#555555", "line"),)
    return Layer("routes", "routes", _frame(rows, geoms), legend)


def _shown_places(stops: tuple[Stop, ...], where: dict[str, Place]) -> list[Place]:
    """The places a teacher-day's line passes through, without repeating a place."""
    out: list[Place] = []
    for s in stops:
        p = where.get(s.site_id)
        if p is not None and (not out or out[-1].point != p.point):
            out.append(p)
    return out


def _leg_lines(sc: Scenario, legs: list[tuple[Place, Place]]
               ) -> dict[tuple[Place, Place], np.ndarray]:
    """Each distinct leg's lon/lat line: the road path where the model has paths, else straight.

    Privacy rule: a leg is routed between the shown places (a home's cell centre, never
    the home), so no vertex depends on more than the cell; and the interior vertices of a
    leg that lie in the privacy cell of a home at either end are dropped, so inside that
    cell the line is only the straight run to the centre, as the stop marker shows it.
    """
    todo = list(dict.fromkeys(legs))
    ends = np.array([[(a.point.x, a.point.y), (b.point.x, b.point.y)] for a, b in todo],
                    float).reshape(-1, 2, 2)
    paths = getattr(sc.travel, "paths", None)
    lines = list(ends) if paths is None or not todo else paths(ends[:, 0], ends[:, 1])
    g = sc.policy.privacy_grid_m
    out: dict[tuple[Place, Place], np.ndarray] = {}
    for (a, b), line, end in zip(todo, lines, ends, strict=True):
        inner = np.asarray(line, float)[1:-1]
        if len(inner) and (a.home or b.home):
            x, y = sc.project(inner[:, 0], inner[:, 1])
            cell = np.column_stack([np.floor(x / g), np.floor(y / g)]).astype(np.int64)
            mine = np.zeros(len(inner), bool)
            for p in (a, b):
                if p.home:
                    mine |= (cell == p.cell).all(axis=1)
            inner = inner[~mine]
        out[(a, b)] = np.vstack([end[:1], inner, end[1:]])
    return out


def _stop_word(s: Stop, where: dict[str, Place], lang: str) -> str:
    """A stop in a map popup: a school's id, a home as "home" (never which student)."""
    if s.kind == "lunch":
        return label("lunch", lang)
    p = where.get(s.site_id)
    if p is not None and p.home:
        return label("home_stop", lang)
    return s.site_id


@layer("route_stops")
def route_stops_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Visited schools and privacy cells of visited homes, with visits and teachers."""
    result = plan.find(RoutesResult)
    if result is None:
        return None
    visited = [s for s in result.stops if s.kind in ("itinerant", "home")]
    where = places(sc, {s.site_id for s in visited})
    groups: dict[tuple[str, object], list[Stop]] = defaultdict(list)
    for s in visited:
        p = where.get(s.site_id)
        if p is not None:
            groups[("home", p.cell) if p.home else ("school", s.site_id)].append(s)
    rows, geoms = [], []
    for key in sorted(groups, key=str):
        stops = groups[key]
        teachers = sorted({s.teacher_id for s in stops})
        p = where[stops[0].site_id]
        home = key[0] == "home"
        title = cell_text(sc, p.point, lang) if home else p.name
        color = STOP_COLORS["home" if home else "itinerant"]
        info: list[tuple[str, object]] = [
            (label("visits", lang), len(stops)),
            (label("visit_minutes", lang), sum(s.end - s.start for s in stops)),
            (label("teachers", lang), ", ".join(teachers))]
        if home:
            info.insert(0, (label("home_stops", lang), len({s.site_id for s in stops})))
        else:
            info.insert(0, (label("town", lang), p.town))
        rows.append({"kind": "home" if home else "itinerant",
                     "site_id": "" if home else p.site_id,
                     "name": title, "visits": len(stops),
                     "visit_minutes": sum(s.end - s.start for s in stops),
                     "teachers": ",".join(teachers),
                     "color": "#ffffff", "fill_color": color,
                     # A small dot: the school's own marker stays visible around it.
                     "radius": 5.0 if home else 3.0, "weight": 1.0,
                     "fill_opacity": 0.95, "popup": _popup(title, info)})
        geoms.append(p.point)
    legend = (LegendEntry("route_stop_school", STOP_COLORS["itinerant"]),
              LegendEntry("route_stop_home", STOP_COLORS["home"], "circle",
                          label("route_stop_home", lang,
                                grid=grid_text(sc.policy.privacy_grid_m, lang))))
    return Layer("route_stops", "routes", _frame(rows, geoms), legend)


# ------------------------------------------------------------------ report
def _duration(minutes: int, lang: str) -> str:
    return label("hours_minutes", lang, h=minutes // 60, m=minutes % 60)


def _place_html(s: Stop, where: dict[str, Place], lang: str) -> str:
    """A stop's place in the report: a school's name and id, a home by student id only."""
    p = where.get(s.site_id)
    if p is None:
        return _e(s.site_id)
    if p.home:
        return f"{_e(label('student', lang))} {_e(s.site_id)}"
    return f"{_e(p.name)} <span class=\"small\">({_e(s.site_id)})</span>"


def _kind_word(kind: str, lang: str) -> str:
    return label(f"stop_{kind}", lang)


def gantt_chart(result: RoutesResult, sc: Scenario, lang: str) -> str:
    """The week as a Gantt chart (inline SVG): rows teachers, columns days, bars of time."""
    teachers = sorted({t for t, _, _ in result.days})
    days = [(w, d) for w in range(1, result.weeks + 1) for d in sc.policy.school_days]
    col = {k: i for i, k in enumerate(days)}
    lo = min([parse_hhmm(sc.policy.day_start)] + [s.start for s in result.stops])
    hi = max([parse_hhmm(sc.policy.day_end)] + [s.end for s in result.stops])
    lo, hi = lo // 60 * 60, -(-hi // 60) * 60
    span, gap = hi - lo, max(20, (hi - lo) // 12)
    fig = Figure(figsize=(10.5, 1.2 + 0.42 * max(1, len(teachers))), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(labelsize=8, length=0)
    row = {t: i for i, t in enumerate(teachers)}
    bars: dict[str, list[tuple[float, float, float]]] = defaultdict(list)  # kind: x, w, y
    for (teacher, week, day), stops in result.days.items():
        if (week, day) not in col:
            continue
        x0 = col[(week, day)] * (span + gap) - lo
        y = row[teacher]
        bars["day"].append((x0 + stops[0].end, stops[-1].arrival - stops[0].end, y))
        for s in stops:
            if s.travel_minutes > 0:
                bars["travel"].append((x0 + s.arrival - s.travel_minutes, s.travel_minutes,
                                       y))
            if s.kind in ("itinerant", "home", "lunch"):
                bars[s.kind].append((x0 + s.start, s.end - s.start, y))
    styles = {"day": ("#eef2f5", 0.62), "travel": (KIND_COLORS["travel"], 0.22),
              "lunch": (KIND_COLORS["lunch"], 0.5), "itinerant": (KIND_COLORS["itinerant"],
                                                                   0.5),
              "home": (KIND_COLORS["home"], 0.5)}
    for kind, (color, height) in styles.items():
        if bars[kind]:
            xs, ws, ys = zip(*bars[kind], strict=True)
            edge = kind in ("itinerant", "home", "lunch")  # back-to-back visits stay apart
            ax.barh(ys, ws, left=xs, height=height, color=color, edgecolor="white",
                    linewidth=0.6 if edge else 0, zorder=3 if kind == "travel" else 2)
    for i in range(1, len(days)):
        ax.axvline(i * (span + gap) - gap / 2, color="#d7dde3", linewidth=0.8, zorder=1)
    ax.set_xlim(-gap / 2, len(days) * (span + gap) - gap / 2)
    ax.set_ylim(len(teachers) - 0.5, -0.5)
    ax.set_yticks(range(len(teachers)), teachers)
    ax.set_xticks([i * (span + gap) + span / 2 for i in range(len(days))],
                  [day_name(result, w, d, lang) for w, d in days])
    ax.xaxis.tick_top()
    ax.set_xlabel(label("gantt_hours", lang, start=hhmm(lo), end=hhmm(hi)), fontsize=8,
                  color="#5f6b76")
    handles = [Patch(color=KIND_COLORS[k], label=_kind_word(k, lang))
               for k in ("itinerant", "home", "lunch", "travel")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(pad=0.4, rect=(0, 0.12 if len(teachers) < 4 else 0.06, 1, 1))
    return _svg(fig, "gantt")


@section("routes", after_map=False)
def _week_chart(plan: Plan, sc: Scenario, layers: list[Layer], lang: str
                ) -> tuple[str, str]:
    result = plan.get(RoutesResult)
    if not result.stops:
        return _e(label("route_week", lang)), f'<p class="none">{_e(label("none", lang))}</p>'
    with rc_context({"svg.fonttype": "none", "font.family": ["sans-serif"]}), quiet_glyphs():
        svg = gantt_chart(result, sc, lang)
    return _e(label("route_week", lang)), f'<div class="chart gantt">{svg}</div>'


@section("routes")
def _day_tables(plan: Plan, sc: Scenario, layers: list[Layer], lang: str
                ) -> tuple[str, str]:
    result = plan.get(RoutesResult)
    title = (f"{_e(label('route_days', lang))} "
             f'<span class="count">({len(result.days)})</span>')
    if not result.days:
        return title, f'<p class="none">{_e(label("none", lang))}</p>'
    where = places(sc, {s.site_id for s in result.stops})
    minutes = result.day_minutes()
    head = [(_e(label(k, lang)), num) for k, num in (
        ("seq", True), ("place", False), ("kind", False), ("arrival", True),
        ("start", True), ("end", True), ("travel_minutes", True))]
    cells = []
    for key in sorted_days(result):
        teacher, week, day = key
        rows = [[str(s.seq), _place_html(s, where, lang), _e(_kind_word(s.kind, lang)),
                 hhmm(s.arrival), hhmm(s.start), hhmm(s.end), f"{s.travel_minutes:.1f}"]
                for s in result.days[key]]
        travel = sum(s.travel_minutes for s in result.days[key])
        cells.append(f"<div><h3>{_e(teacher)} · {_e(day_name(result, week, day, lang))} · "
                     f"{_e(_duration(minutes.get(key, 0), lang))}, "
                     f"{_e(label('travel_minutes', lang))} {travel:.1f}</h3>"
                     f"{_table(head, rows)}</div>")
    return title, f'<div class="grid days">{"".join(cells)}</div>'


@section("routes")
def _totals(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    result = plan.get(RoutesResult)
    title = _e(label("route_totals", lang))
    if not result.days:
        return title, f'<p class="none">{_e(label("none", lang))}</p>'
    rows = []
    for (teacher, week), t in sorted(teacher_week_totals(result).items()):
        rows.append([_e(teacher), str(week), str(t["days"]), str(t["visits"]),
                     f"{t['visit_minutes']:,}", f"{t['travel_minutes']:.1f}",
                     f"{t['working_minutes']:,}"])
    head = [(_e(label(k, lang)), num) for k, num in (
        ("teacher", False), ("week", True), ("days", True), ("visits", True),
        ("visit_minutes", True), ("travel_minutes", True), ("working_minutes", True))]
    return title, _table(head, rows)


def teacher_week_totals(result: RoutesResult) -> dict[tuple[str, int], dict[str, float]]:
    """Per (teacher, week): days, visits, visit, travel and working minutes."""
    minutes = result.day_minutes()
    out: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    for key, stops in result.days.items():
        t = out[(key[0], key[1])]
        t["days"] += 1
        t["visits"] += sum(1 for s in stops if s.visit_id)
        t["visit_minutes"] += sum(s.end - s.start for s in stops if s.visit_id)
        t["travel_minutes"] += sum(s.travel_minutes for s in stops)
        t["working_minutes"] += minutes.get(key, 0)
    return {k: dict(v) for k, v in out.items()}


@section("routes")
def _unserved(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    result = plan.get(RoutesResult)
    un = sorted((v for v in result.visits if v.status == "unserved"), key=lambda v: v.visit_id)
    title = (f"{_e(label('unserved_visits', lang))} "
             f'<span class="count">({len(un)})</span>')
    if not un:
        return title, f'<p class="none">{_e(label("none", lang))}</p>'
    rows = []
    for v in un:
        school = sc.school_by_id.get(v.site_id)
        place = (f"{_e(school.name)} <span class=\"small\">({_e(v.site_id)})</span>"
                 if school is not None and v.kind == "itinerant"
                 else f"{_e(label('student', lang))} {_e(v.site_id)}")
        rows.append([_e(v.visit_id), _e(_kind_word(v.kind, lang)), place, str(v.minutes),
                     _e(v.reason)])
    head = [(_e(label(k, lang)), num) for k, num in (
        ("visit", False), ("kind", False), ("place", False), ("minutes", True),
        ("reason", False))]
    return title, _table(head, rows)

