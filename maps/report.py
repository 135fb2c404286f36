"""The plan report (`report.html`): one self-contained page a bureau can read, print or mail.

Nothing is fetched: CSS is inline, charts are inline SVG drawn with matplotlib (Agg), the
static map is a data: URI. Every text that comes from data is escaped. Students appear
by pseudonymous id only; no home location is written.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from lrcplan.maps.layers import TRAVEL_CMAP, Layer, load_stage_maps
from lrcplan.maps.static import quiet_glyphs
from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.entities import SchoolKind
from lrcplan.models.labels import grid_text, label
from lrcplan.models.plan import Plan, StageResult
from lrcplan.models.scenario import Scenario

MAX_VIOLATIONS_LISTED = 200  # the full list is in the plan's files; the page stays readable
CHART_SIZE = (5.2, 2.7)  # inches; the page shows two side by side
_CSS = """
:root { --ok: #1a7f37; --bad: #c62828; --muted: #5f6b76; --line: #d7dde3; }
* { box-sizing: border-box; }
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC",
  "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans", Roboto,
  "Helvetica Neue", Arial, sans-serif; color: #1d232a; line-height: 1.45;
  max-width: 1100px; margin: 0 auto; padding: 24px 28px 40px; font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
.sub { color: var(--muted); margin: 0 0 18px; }
.verdict { border-radius: 6px; padding: 12px 16px; margin: 12px 0 8px; font-weight: 600; }
.verdict.ok { background: #e8f5ec; border: 1px solid #9fd3ae; color: var(--ok); }
.verdict.bad { background: #fdecec; border: 1px solid #f1a7a7; color: var(--bad); }
.verdict ul { margin: 8px 0 0; padding-left: 22px; font-weight: normal; color: #4a1414; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr));
  gap: 18px 28px; align-items: start; }
.grid.days { grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); }
.days table { font-size: 12.5px; } .days th, .days td { padding: 3px 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
thead th { background: #eef2f5; font-weight: 600; border-bottom: 2px solid var(--line); }
tbody tr:nth-child(even) { background: #f7f9fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.sub-row { padding-left: 28px; color: var(--muted); }
td.small, span.small { font-size: 12.5px; color: var(--muted); }
.stages td:nth-child(-n+2) { white-space: nowrap; }
td.cap::first-letter, h3::first-letter, th::first-letter { text-transform: uppercase; }
h2 .count { color: var(--muted); font-weight: normal; }
.warn { color: var(--bad); font-weight: 600; }
.chart svg { width: 100%; height: auto; display: block; }
.map img { width: 100%; height: auto; border: 1px solid var(--line); display: block; }
.none { color: var(--muted); font-style: italic; }
.tt-grid { table-layout: fixed; font-size: 12.5px; }
.tt-grid th, .tt-grid td { border: 1px solid var(--line); padding: 3px 5px; }
.tt-grid th.per { width: 92px; white-space: nowrap; font-weight: 600; }
.tt-grid .sess + .sess { border-top: 1px dotted var(--line); margin-top: 2px; }
.tt-grid .pin { font-style: italic; }
.tt-school { margin: 0 0 18px; }
.tt-unserved h3 { margin: 16px 0 4px; }
.tt-unserved table { table-layout: fixed; }
.tt-unserved th:nth-child(1) { width: 130px; } .tt-unserved th:nth-child(2) { width: 150px; }
footer { margin-top: 36px; padding-top: 10px; border-top: 1px solid var(--line);
  color: var(--muted); font-size: 13px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 12px; }
  h2 { break-after: avoid; }
  .chart, .map, .verdict, tr, .tt-school { break-inside: avoid; }
  tbody tr:nth-child(even) { background: #f3f5f6; -webkit-print-color-adjust: exact;
    print-color-adjust: exact; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _known(key: str, fallback: str, lang: str) -> str:
    """The label of key, or fallback where the table has none (a stage added later)."""
    text = label(key, lang)
    return fallback if text == key else text


def _table(head: list[tuple[str, bool]], rows: list[list[str]]) -> str:
    """A table; head is (escaped text, numeric) per column, rows hold escaped cells."""
    th = "".join(f'<th class="num">{h}</th>' if num else f"<th>{h}</th>" for h, num in head)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{c}</td>' if num else f"<td>{c}</td>"
        for c, (_, num) in zip(row, head, strict=True)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


# ------------------------------------------------------------------ charts
def _svg(fig: Figure, prefix: str) -> str:
    """A figure as inline SVG: text kept as text, ids made unique on the page."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None,
                                              "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Inline SVG in HTML needs no namespace declarations; dropping them leaves no URL at all.
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\s(width|height)="[\d.]+pt"', "", svg, count=2)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    # Two charts on one page would share ids such as "patch_1" and clip-path hashes.
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m[1]}"', svg)
    return re.sub(r"#([\w.-]+)", lambda m: f"#{prefix}-{m[1]}" if m[1] in ids else m[0], svg)


def _chart_figure() -> tuple[Figure, object]:
    fig = Figure(figsize=CHART_SIZE, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)
    return fig, ax


def _nice_step(span: float) -> float:
    return next((s for s in (0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 20, 30, 60) if s >= span / 20), 120)


def travel_chart(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> str:
    """Histogram of LRC travel minutes with the policy limit, as inline SVG."""
    minutes = np.array([s.travel_minutes for s in plan.get(EnrolmentResult).lrc_seats])
    limit = sc.policy.max_home_school_minutes
    # The map's colour scale, so a bar has the colour of its flows on the map.
    vmax = next((lay.colorbar[2] for lay in layers if lay.colorbar), limit)
    fig, ax = _chart_figure()
    top = float(minutes.max()) if len(minutes) else 0.0
    if len(minutes):
        step = _nice_step(top)
        edges = np.arange(0.0, top + step, step)
        if len(edges) < 2:
            edges = np.array([0.0, step])
        counts, edges = np.histogram(minutes, bins=edges)
        mids = (edges[:-1] + edges[1:]) / 2
        cmap, norm = colormaps[TRAVEL_CMAP], Normalize(0.0, vmax)
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge",
               color=[cmap(norm(m)) for m in mids], edgecolor="white", linewidth=0.6)
    else:
        ax.text(0.5, 0.5, label("none", lang), transform=ax.transAxes, ha="center",
                color="#5f6b76")
    ax.axvline(limit, color="#c62828", linestyle="--", linewidth=1.4)
    right = limit > top * 0.6  # the note goes where the bars leave room for it
    ax.annotate(f"{label('policy_limit', lang)} {limit:g} {label('min', lang)}",
                xy=(limit, 0.97), xycoords=ax.get_xaxis_transform(),
                xytext=(-4 if right else 4, 0), textcoords="offset points",
                ha="right" if right else "left", va="top", fontsize=9, color="#c62828")
    ax.set_xlim(0, max(limit, top) * 1.04)
    ax.set_xlabel(label("travel_minutes", lang), fontsize=9)
    ax.set_ylabel(label("lrc_students", lang), fontsize=9)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout(pad=0.4)
    return _svg(fig, "travel")


def class_chart(plan: Plan, sc: Scenario, lang: str) -> str:
    """Bar chart of regular-school classes by their number of LRC students, as inline SVG."""
    per_class = Counter((s.school_id, s.grade, s.class_index)
                        for s in plan.get(EnrolmentResult).lrc_seats)
    regular = {s.id for s in sc.schools if s.kind is SchoolKind.REGULAR}
    counts = Counter(per_class[(c.school_id, c.grade, c.index)] for c in sc.classes
                     if c.school_id in regular)
    cap, preferred = sc.policy.max_lrc_per_class, sc.policy.preferred_lrc_per_class
    ks = list(range(0, max(cap, *counts.keys(), 0) + 1))
    heights = [counts.get(k, 0) for k in ks]
    colors = ["#b8c2cc" if k == 0 else "#2e9e5b" if k <= preferred
              else "#f0a030" if k <= cap else "#c62828" for k in ks]
    fig, ax = _chart_figure()
    bars = ax.bar([str(k) for k in ks], heights, color=colors, width=0.6)
    ax.bar_label(bars, labels=[f"{h:,}" for h in heights], fontsize=9, padding=2)
    ax.set_ylim(0, max(1, *heights) * 1.15)
    ax.set_xlabel(label("lrc_in_class", lang), fontsize=9)
    ax.set_ylabel(label("lrc_regular_classes", lang), fontsize=9)
    fig.tight_layout(pad=0.4)
    return _svg(fig, "perclass")


# ------------------------------------------------------------------ sections
def _verdict(plan: Plan, lang: str) -> str:
    if not plan.violations:
        return f'<div class="verdict ok">✔ {_e(label("check_ok", lang))}</div>'
    shown = plan.violations[:MAX_VIOLATIONS_LISTED]
    items = "".join(f"<li>{_e(v)}</li>" for v in shown)
    more = len(plan.violations) - len(shown)
    if more:
        items += f"<li>… +{more}</li>"
    return (f'<div class="verdict bad">✘ {_e(label("check_failed", lang))}: '
            f"{len(plan.violations)} {_e(label('violations', lang))}<ul>{items}</ul></div>")


def _figures_table(result: StageResult, lang: str) -> str:
    rows = []
    for f in result.figures():
        value = f.value
        shown = f"{value:,}" if isinstance(value, int) else _e(value)
        if f.alarm and value:  # zero is the healthy value of a figure to act on
            shown = f'<span class="warn">{shown}</span>'
        name = _e(label(f.key, lang))
        css = "sub-row" if f.indent else "cap"
        rows.append(f'<tr><td class="{css}">{name}</td><td class="num">{shown}</td></tr>')
    return (f"<table><thead><tr><th></th><th class=\"num\">{_e(label('value', lang))}"
            f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _key_tables(plan: Plan, lang: str) -> str:
    """One table of key figures per stage, as the stage computed them."""
    cells = "".join(f"<div><h3>{_e(_known('stage_' + r.stage, r.stage, lang))}</h3>"
                    f"{_figures_table(r, lang)}</div>" for r in plan.results)
    return f'<div class="grid">{cells}</div>'


def _stages_table(plan: Plan, lang: str) -> str:
    rows = []
    for s in plan.stages:
        rows.append([
            _e(_known(f"stage_{s.stage}", s.stage, lang)),
            _e(_known(f"status_{s.status.value}", s.status.value, lang)),
            "-" if s.objective is None else f"{s.objective:,.0f}",
            "-" if s.bound is None else f"{s.bound:,.0f}",
            f"{s.seconds:.2f}",
            _e(s.engine),
            f'<span class="small">{_e(s.proof or "-")}</span>',
        ])
    head = [(_e(label(k, lang)), k in ("objective", "bound", "seconds"))
            for k in ("stage", "status", "objective", "bound", "seconds", "engine",
                      "optimality")]
    return _table(head, rows)


def _schools_table(plan: Plan, sc: Scenario, lang: str) -> str:
    loads = sorted((x for x in plan.get(EnrolmentResult).schools if x.room_required),
                   key=lambda x: (-x.lrc_students, x.school_id))
    if not loads:
        return f'<p class="none">{_e(label("none", lang))}</p>'
    rows = []
    for x in loads:
        school = sc.school_by_id.get(x.school_id)
        room = (_e(label("yes", lang)) if x.has_room
                else f'<span class="warn">{_e(label("needed", lang))}</span>')
        rows.append([_e(x.school_id), _e(school.name if school else ""),
                     _e(school.town if school else ""), f"{x.lrc_students:,}", room,
                     f"{x.resource_teachers_needed} / {x.resource_teachers_present}"])
    head = [(_e(label("id", lang)), False), (_e(label("name", lang)), False),
            (_e(label("town", lang)), False), (_e(label("lrc_students", lang)), True),
            (_e(label("resource_room", lang)), False),
            (_e(label("resource_teachers", lang)), True)]
    return _table(head, rows)


def _unplaced_table(plan: Plan, lang: str) -> str:
    un = sorted(plan.get(EnrolmentResult).unplaced, key=lambda u: u.student_id)
    if not un:
        return f'<p class="none">{_e(label("none", lang))}</p>'
    rows = [[_e(u.student_id), str(u.grade),
             _e(label(u.tier.value if u.tier else "undecided", lang)), _e(u.reason)]
            for u in un]
    head = [(_e(label("student", lang)), False), (_e(label("grade", lang)), True),
            (_e(label("tier", lang)), False), (_e(label("reason", lang)), False)]
    return _table(head, rows)


Section = Callable[[Plan, Scenario, list[Layer], str], tuple[str, str]]
_SECTIONS: list[tuple[str, str, Section]] = []


def section(stage: str, *, after_map: bool = True) -> Callable[[Section], Section]:
    """Register a report section of a stage: fn(plan, sc, layers, lang) -> (title, html).

    Sections appear for the stages that ran, in pipeline order and, within a stage, in
    registration order; `after_map=False` puts a section before the map (charts),
    otherwise after it (lists to act on).
    """

    def wrap(fn: Section) -> Section:
        _SECTIONS.append((stage, "before" if not after_map else "after", fn))
        return fn

    return wrap


def _sections(plan: Plan, sc: Scenario, layers: list[Layer], lang: str, where: str
              ) -> list[str]:
    # Stages in pipeline order, each stage's sections in registration order: the page
    # does not depend on which stage's module happened to be imported first.
    ran = {r.stage: i for i, r in enumerate(plan.results)}
    out = []
    for stage, place, fn in sorted(_SECTIONS, key=lambda s: ran.get(s[0], len(ran))):
        if stage in ran and place == where:
            title, body = fn(plan, sc, layers, lang)
            out += [f"<h2>{title}</h2>", body]
    return out


@section("enrolment", after_map=False)
def _charts(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    # Chart text stays text in the SVG, so the browser draws Chinese with its own fonts.
    # Chinese labels need no CJK font here: the layout measures them with a Latin font and
    # the browser draws them, so matplotlib's per-glyph warnings are noise.
    with rc_context({"svg.fonttype": "none", "font.family": ["sans-serif"]}), quiet_glyphs():
        charts = (f'<div class="grid"><div class="chart"><h3>'
                  f'{_e(label("travel_hist", lang))}</h3>'
                  f"{travel_chart(plan, sc, layers, lang)}</div>"
                  f'<div class="chart"><h3>{_e(label("per_class_hist", lang))}</h3>'
                  f"{class_chart(plan, sc, lang)}</div></div>")
    return _e(label("charts", lang)), charts


@section("enrolment")
def _room_schools(plan: Plan, sc: Scenario, layers: list[Layer], lang: str
                  ) -> tuple[str, str]:
    n = sum(x.room_required for x in plan.get(EnrolmentResult).schools)
    return (f"{_e(label('room_schools', lang))} <span class=\"count\">({n})</span>",
            _schools_table(plan, sc, lang))


@section("enrolment")
def _unplaced(plan: Plan, sc: Scenario, layers: list[Layer], lang: str) -> tuple[str, str]:
    n = len(plan.get(EnrolmentResult).unplaced)
    return (f"{_e(label('unplaced_list', lang))} <span class=\"count\">({n})</span>",
            _unplaced_table(plan, lang))


def render_report(plan: Plan, sc: Scenario, layers: list[Layer], *, lang: str = "en",
                  map_png: bytes | None = None) -> str:
    """The report page as one HTML string: verdict, figures, stages, then stage sections."""
    load_stage_maps()
    title = f"{label('report_title', lang)} — {sc.name}"
    when = plan.created.replace("T", " ")
    grid = grid_text(sc.policy.privacy_grid_m, lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(label("generated", lang))} {_e(when)} · '
        f'{_e(label("scenario", lang))}: {_e(plan.scenario)}</p></header>',
        _verdict(plan, lang),
        f"<h2>{_e(label('key_numbers', lang))}</h2>", _key_tables(plan, lang),
        f"<h2>{_e(label('stages', lang))}</h2>",
        f'<div class="stages">{_stages_table(plan, lang)}</div>',
        *_sections(plan, sc, layers, lang, "before"),
    ]
    if map_png is not None:
        data = base64.b64encode(map_png).decode("ascii")
        parts += [f"<h2>{_e(label('map', lang))}</h2>",
                  f'<div class="map"><img alt="{_e(label("map", lang))}" '
                  f'src="data:image/png;base64,{data}"></div>']
    parts += [
        *_sections(plan, sc, layers, lang, "after"),
        f"<footer>{_e(label('privacy', lang, grid=grid))}</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(plan: Plan, sc: Scenario, layers: list[Layer], folder: Path, *,
                 lang: str = "en", map_png: bytes | None = None) -> Path:
    """Write the self-contained `report.html` into folder."""
    path = Path(folder) / "report.html"
    path.write_text(render_report(plan, sc, layers, lang=lang, map_png=map_png),
                    encoding="utf-8")
    return path
