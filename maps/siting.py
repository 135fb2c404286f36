"""Map layers and report section of the siting stage (registered on import).

Layers: `siting_uncovered_towns` (towns with no room or centre, hatched red),
`siting_reach` (the area within the mode's reach of each room, drawn as a circle of the
straight-line radius the travel model allows in that time: a planner's approximation,
the plan's numbers use the travel model itself), `siting_rooms` (existing rooms and
centres, required and new rooms, marker size by the students each serves).

Report (`@section("siting")`): the budget-versus-coverage curve (each point solved;
before the map), then the rooms built with their cost, the towns left uncovered and the
enrolment changes the budget model made.
"""

from __future__ import annotations

import math

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from shapely.geometry import Point

from lrcplan.maps.layers import Layer, LegendEntry, _frame, _popup, layer
from lrcplan.maps.report import _e, _svg, _table, section
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan
from lrcplan.models.rooms import reach_minutes
from lrcplan.models.scenario import Scenario
from lrcplan.models.siting import SitingResult

ROOM_COLORS = {"existing": "#33a02c", "centre": "#ff7f00", "required": "#e31a1c",
               "new": "#6a3d9a"}
UNCOVERED_COLOR = "#e31a1c"
REACH_COLOR = "#1f78b4"
MAX_REACH_KM = 50.0  # p-median has no reach: no circles


@layer("siting_uncovered_towns", below="schools")
def uncovered_towns_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Towns left without a room or centre after the plan."""
    r = plan.find(SitingResult)
    if r is None or not sc.towns:
        return None
    open_towns = {t.town for t in r.towns if not t.covered}
    shapes = [t for t in sc.towns if t.name in open_towns]
    rows = [{"name": t.name, "color": UNCOVERED_COLOR, "fill_color": UNCOVERED_COLOR,
             "weight": 2.0, "fill_opacity": 0.25,
             "popup": _popup(t.name, [(label("siting_uncovered", lang), "")])} for t in shapes]
    # Shown when the map opens for a siting question; in a full plan (required mode) it
    # is one switch away, and leaves the static map's panel to the routes.
    return Layer("siting_uncovered_towns", "siting",
                 _frame(rows, [t.geometry for t in shapes]),
                 (LegendEntry("siting_uncovered_towns", UNCOVERED_COLOR, "box"),),
                 show=r.options.mode != "required")


@layer("siting_reach", below="schools")
def reach_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """The straight-line extent of each room's reach (where the mode has one)."""
    r = plan.find(SitingResult)
    if r is None:
        return None
    minutes = reach_minutes(sc.policy, r.options.mode, r.options.cover_minutes)
    km = minutes / 60.0 * sc.policy.speed_kmh / sc.policy.detour_factor
    if not 0 < km <= MAX_REACH_KM or not math.isfinite(km):
        return None
    rows, geoms = [], []
    for room in r.rooms:
        s = sc.school_by_id.get(room.school_id)
        if s is None:
            continue
        x, y = sc.project([s.lon], [s.lat])
        circle = Point(float(x[0]), float(y[0])).buffer(km * 1000.0, 32)
        rows.append({"school_id": s.id, "color": REACH_COLOR, "fill_color": REACH_COLOR,
                     "weight": 0.8, "fill_opacity": 0.08, "popup": _popup(
                         s.name, [(label("siting_reach", lang), f"{minutes:g} min")])})
        geoms.append(circle)
    if not geoms:
        return None
    frame = _frame(rows, geoms).set_crs(sc.projector.target_crs, allow_override=True
                                        ).to_crs("EPSG:4326")
    return Layer("siting_reach", "siting", frame,
                 (LegendEntry("siting_reach", REACH_COLOR, "ring"),), show=False)


@layer("siting_rooms")
def rooms_layer(sc: Scenario, plan: Plan, lang: str) -> Layer | None:
    """Every room site by status, sized by the LRC students it serves (not in the required
    mode, where the schools layer already rings the rooms there and needed)."""
    r = plan.find(SitingResult)
    if r is None or not r.rooms or r.options.mode == "required":
        return None
    rows, geoms = [], []
    for room in r.rooms:
        s = sc.school_by_id.get(room.school_id)
        if s is None:
            continue
        rows.append({"school_id": s.id, "status": room.status,
                     "students_served": room.students_served, "cost_yuan": room.cost_yuan,
                     "color": "#ffffff", "fill_color": ROOM_COLORS[room.status],
                     "radius": 4.0 + min(8.0, math.sqrt(room.students_served)),
                     "weight": 1.0, "fill_opacity": 0.9,
                     "popup": _popup(s.name, [
                         (label("status", lang), label(f"room_{room.status}", lang)),
                         (label("lrc_students", lang), room.lrc_students),
                         (label("siting_served", lang), room.students_served),
                         (label("cost_yuan", lang), f"{room.cost_yuan:,}")])})
        geoms.append(Point(s.lon, s.lat))
    legend = tuple(LegendEntry(f"room_{k}", c) for k, c in ROOM_COLORS.items()
                   if any(x.status == k for x in r.rooms))
    return Layer("siting_rooms", "siting", _frame(rows, geoms), legend)


def curve_chart(result: SitingResult, lang: str) -> str:
    """Coverage (or travel) against new rooms 0..K, each point solved, as inline SVG.

    Budget and coverage: students served out of every LRC student (dashed), each point
    labelled with the towns it covers; p-median: student-minutes to the nearest room.
    """
    from matplotlib.ticker import MaxNLocator

    pts = [p for p in result.curve if p.feasible]
    k = max((p.rooms for p in result.curve), default=0)
    fig = Figure(figsize=(6.4, 2.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([p.rooms for p in pts], [p.value for p in pts], marker="o", color="#1f78b4")
    counts = result.options.mode in ("budget", "coverage")
    for p in pts:
        tag = (f"{p.towns_covered}" if counts else "") + ("" if p.proven else " ?")
        if tag:
            ax.annotate(tag, (p.rooms, p.value), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=7, color="#555555")
    total = sum(t.lrc_students for t in result.towns)
    if counts and total:
        ax.axhline(total, color="#999999", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, total * 1.12)
    bad = [p.rooms for p in result.curve if not p.feasible]
    if bad:
        ax.axvspan(min(bad) - 0.5, max(bad) + 0.5, color="#e31a1c", alpha=0.08)
    ax.set_xlim(-0.5, k + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label("siting_new_rooms", lang), fontsize=8)
    ax.set_ylabel(label(f"siting_curve_{result.options.mode}", lang), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _svg(fig, "siting")


@section("siting", after_map=False)
def _curve(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    r = plan.get(SitingResult)
    if not r.curve:
        return label("siting_curve", lang), f"<p>{_e(label('none', lang))}</p>"
    rows = [[str(p.rooms), _e(label("yes" if p.feasible else "no", lang)),
             str(p.towns_covered), f"{p.value:,.1f}" if p.feasible else "-",
             _e(label("yes" if p.proven else "no", lang))] for p in r.curve]
    table = _table([(_e(label("siting_new_rooms", lang)), True),
                    (_e(label("status_feasible", lang)), False),
                    (_e(label("towns_covered", lang)), True),
                    (_e(label(f"siting_curve_{r.options.mode}", lang)), True),
                    (_e(label("siting_proven", lang)), False)], rows)
    notes = [label("siting_curve_note", lang)] if r.options.mode in ("budget", "coverage") \
        else []
    if any(not p.feasible for p in r.curve):
        notes.append(label("siting_curve_infeasible", lang))
    infeasible = "".join(f"<p>{_e(n)}</p>" for n in notes)
    return label("siting_curve", lang), curve_chart(r, lang) + infeasible + table


@section("siting")
def _rooms(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    r = plan.get(SitingResult)
    rows = [[_e(x.school_id), _e(sc.school_by_id[x.school_id].name), _e(x.town),
             _e(label(f"room_{x.status}", lang)), f"{x.cost_yuan:,}", str(x.lrc_students),
             str(x.students_served)] for x in r.built]
    body = f"<p>{_e(r.summary.proof)}</p>"
    body += _table([(_e(label("id", lang)), False), (_e(label("name", lang)), False),
                    (_e(label("town", lang)), False), (_e(label("status", lang)), False),
                    (_e(label("cost_yuan", lang)), True),
                    (_e(label("lrc_students", lang)), True),
                    (_e(label("siting_served", lang)), True)], rows) if rows else \
        f"<p>{_e(label('siting_no_rooms', lang))}</p>"
    open_towns = [t for t in r.towns if not t.covered]
    if open_towns:
        body += f"<h3>{_e(label('siting_uncovered_towns', lang))}</h3>" + _table(
            [(_e(label("town", lang)), False), (_e(label("lrc_students", lang)), True)],
            [[_e(t.town), str(t.lrc_students)] for t in open_towns])
    if r.moves:
        body += f"<h3>{_e(label('siting_moves', lang))}</h3>" + _table(
            [(_e(label("student", lang)), False), (_e(label("grade", lang)), True),
             (_e(label("siting_from", lang)), False), (_e(label("siting_to", lang)), False),
             (_e(label("travel_minutes", lang)), True)],
            [[_e(m.student_id), str(m.grade), _e(m.from_school), _e(m.to_school),
              f"{m.travel_minutes:.1f}"] for m in r.moves])
    return label("siting_rooms", lang), body
