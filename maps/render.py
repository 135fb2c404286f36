"""Everything a plan folder shows: GIS layers always; map.html, map.png/svg, report.html."""

from __future__ import annotations

import os
from pathlib import Path

from lrcplan.maps.export import write_geojson, write_geopackage
from lrcplan.maps.layers import build_layers
from lrcplan.models.errors import InputError
from lrcplan.models.labels import LANGS
from lrcplan.models.outdir import atomic_folder
from lrcplan.models.plan import Plan
from lrcplan.models.planio import write_plan
from lrcplan.models.scenario import Scenario


def write_layers(plan: Plan, sc: Scenario, folder: Path) -> list[Path]:
    """Every layer as `<layer>.geojson` plus all of them in `plan.gpkg`; itineraries; the
    timetable workbook (`timetables.xlsx`, when the plan has a timetable)."""
    from lrcplan.maps.itinerary import write_itineraries
    from lrcplan.maps.workbook import write_workbook

    layers = build_layers(sc, plan, include_empty=True)
    paths = write_geojson(layers, folder)
    return [*paths, write_geopackage([lay for lay in layers if len(lay.frame)],
                                     folder / "plan.gpkg"), *write_itineraries(plan, sc, folder),
            *write_workbook(plan, sc, folder)]


def write_maps(plan: Plan, sc: Scenario, folder: Path, *, lang: str = "en",
               tiles: bool = False) -> list[Path]:
    """`map.html`, `map.png`, `map.svg` and `report.html` into folder."""
    from lrcplan.maps.interactive import write_map
    from lrcplan.maps.report import write_report
    from lrcplan.maps.static import draw_static, write_static

    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r} (expected one of {', '.join(LANGS)})")
    layers = build_layers(sc, plan, lang=lang)
    html = write_map(layers, sc, plan, folder, lang=lang, tiles=tiles)
    png, svg = write_static(draw_static(layers, sc, plan, lang=lang), folder)
    report = write_report(plan, sc, layers, folder, lang=lang, map_png=png.read_bytes())
    return [html, png, svg, report]


def save_plan(plan: Plan, sc: Scenario, out: str | os.PathLike[str], *, maps: bool = True,
              lang: str = "en", tiles: bool = False) -> Path:
    """Write the plan folder atomically: tables, GIS layers and, unless told not to, maps.

    Nothing appears at `out` unless everything was written; the scenario folder is never
    an output.
    """
    from lrcplan.optimizer.stages import STAGE_FILES

    with atomic_folder(out, kind="plan", protect=[sc.source] if sc.source else []) as tmp:
        write_plan(plan, sc, tmp, STAGE_FILES)
        write_layers(plan, sc, tmp)
        if maps:
            write_maps(plan, sc, tmp, lang=lang, tiles=tiles)
    return Path(out)
