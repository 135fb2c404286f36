"""Routes outputs: map layers, report sections, ICS itineraries and `lrcplan routes`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT

from lrcplan.cli import main
from lrcplan.maps.itinerary import first_monday, visit_date
from lrcplan.maps.layers import build_layers, cell_centre, home_cells, load_stage_maps
from lrcplan.maps.render import save_plan
from lrcplan.models.io import load_scenario
from lrcplan.models.plan import Plan
from lrcplan.models.routes import RoutesResult
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.pipeline import run_plan

DEMO = ROOT / "scenarios" / "demo"
CREATED = "2026-11-23T09:00:00"  # a Monday: week 1 starts on 2026-11-30


@pytest.fixture(scope="module")
def demo() -> tuple[Scenario, Plan]:
    """The demo scenario and its plan (routes included)."""
    sc = load_scenario(DEMO)
    plan = run_plan(sc, created=CREATED)
    assert plan.get(RoutesResult).stops
    return sc, plan


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, demo: tuple[Scenario, Plan]) -> Path:
    """The demo plan written with every map, layer and itinerary."""
    sc, plan = demo
    return save_plan(plan, sc, tmp_path_factory.mktemp("routes") / "plan")


def _home_sites(sc: Scenario, result: RoutesResult) -> list[str]:
    return sorted({s.site_id for s in result.stops if s.kind == "home"})


def _home_texts(sc: Scenario, ids: list[str], *, strict: bool = True) -> list[str]:
    """Ways a home coordinate could be written: full precision, and down to 4 decimals
    where strict (pages with town boundaries may share 5 decimals with a home by chance)."""
    out = []
    for sid in ids:
        st = sc.student_by_id[sid]
        for v in (st.lon, st.lat):
            out += [repr(v), f"{v:.6f}"]
            if strict:
                out += [f"{v:.5f}", f"{v:.4f}"]
    return out


def test_layers_draw_routes_and_homes_only_at_cell_centres(demo: tuple[Scenario, Plan]
                                                          ) -> None:
    sc, plan = demo
    load_stage_maps()
    layers = {lay.name: lay for lay in build_layers(sc, plan)}
    result = plan.get(RoutesResult)
    routes, stops = layers["routes"].frame, layers["route_stops"].frame
    assert len(routes) == len(result.days)
    assert set(routes["teacher_id"]) == {t for t, _, _ in result.days}
    assert routes["visits"].sum() == sum(v.status == "served" for v in result.visits)
    assert routes["color"].nunique() == len(set(routes["teacher_id"]))
    assert all("popup" in routes and p for p in routes["popup"])
    assert stops["visits"].sum() == sum(v.status == "served" for v in result.visits)

    homes = _home_sites(sc, result)
    assert homes, "the demo has home visits"
    ix, iy = home_cells(sc, homes)
    centres = {(cell_centre(sc, int(a), int(b)).x, cell_centre(sc, int(a), int(b)).y)
               for a, b in zip(ix, iy, strict=True)}
    schools = {(s.lon, s.lat) for s in sc.schools}
    exact = {(sc.student_by_id[h].lon, sc.student_by_id[h].lat) for h in homes}
    line_points = {xy for g in routes.geometry for xy in g.coords}
    assert line_points <= schools | centres
    assert not line_points & exact
    home_points = {(g.x, g.y) for g, k in zip(stops.geometry, stops["kind"], strict=True)
                   if k == "home"}
    assert home_points and home_points <= centres and not home_points & exact
    # No student id next to a place on the map.
    for frame in (routes, stops):
        text = frame.drop(columns="geometry").to_json()
        assert not any(h in text for h in homes)


def test_plan_folder_has_route_layers_without_home_coordinates(
        written: Path, demo: tuple[Scenario, Plan]) -> None:
    import pyogrio

    sc, plan = demo
    layers = {name for name, _ in pyogrio.list_layers(written / "plan.gpkg")}
    assert {"routes", "route_stops"} <= layers
    doc = json.loads((written / "routes.geojson").read_text())
    assert len(doc["features"]) == len(plan.get(RoutesResult).days)
    homes = _home_sites(sc, plan.get(RoutesResult))
    for name, strict in (("routes.geojson", True), ("route_stops.geojson", True),
                         ("map.html", False), ("report.html", False)):
        page = (written / name).read_text()
        assert not [t for t in _home_texts(sc, homes, strict=strict) if t in page], name


def test_itineraries_parse_back_one_per_teacher(written: Path,
                                                demo: tuple[Scenario, Plan]) -> None:
    from icalendar import Calendar

    sc, plan = demo
    result = plan.get(RoutesResult)
    teachers = sorted({t for t, _, _ in result.days})
    files = sorted((written / "itineraries").glob("*.ics"))
    assert [p.stem for p in files] == teachers
    texts = _home_texts(sc, _home_sites(sc, result))
    assert first_monday(CREATED) == date(2026, 11, 30)
    uids: set[str] = set()
    for path in files:
        raw = path.read_text(encoding="utf-8")
        assert not [t for t in texts if t in raw], path.name
        cal = Calendar.from_ical(raw)
        events = list(cal.walk("VEVENT"))
        mine = [s for s in result.stops if s.teacher_id == path.stem]
        assert len(events) == sum(s.kind in ("itinerant", "home", "lunch") for s in mine)
        assert cal.walk("VTIMEZONE")[0]["TZID"] == "Asia/Shanghai"
        by_uid = {str(e["UID"]): e for e in events}
        assert len(by_uid) == len(events) and not uids & set(by_uid)
        uids |= set(by_uid)
        for s in mine:
            if not s.visit_id:
                continue
            e = by_uid[f"{s.visit_id}/{s.teacher_id}/W{s.week}-{s.day}@lrcplan"]
            start = e.decoded("DTSTART")
            assert str(start.tzinfo) == "Asia/Shanghai"
            assert start.date() == visit_date(CREATED, s.week, s.day)
            assert start.hour * 60 + start.minute == s.start
            assert (e.decoded("DTEND") - start).total_seconds() == (s.end - s.start) * 60
            assert s.visit_id in str(e["DESCRIPTION"])
            if s.kind == "home":
                assert str(e["LOCATION"]).startswith("grid cell ")
                assert str(e["SUMMARY"]).endswith(s.site_id)
            else:
                school = sc.school_by_id[s.site_id]
                assert str(e["LOCATION"]) == f"{school.name}, {school.town}"


def test_report_has_the_routes_sections_and_a_gantt(written: Path,
                                                    demo: tuple[Scenario, Plan]) -> None:
    _, plan = demo
    page = (written / "report.html").read_text()
    for title in ("Week of the itinerant and home-delivery teachers", "Teacher-day routes",
                  "Teachers&#x27; weekly totals", "Unserved visits"):
        assert title in page, title
    assert '<div class="chart gantt"><svg' in page
    un = [v for v in plan.get(RoutesResult).visits if v.status == "unserved"]
    for v in un:
        assert f"<td>{v.visit_id}</td>" in page
    for key in plan.get(RoutesResult).days:
        assert f"<h3>{key[0]} · W{key[1]} {key[2]} · " in page


def test_routes_command_prints_a_teachers_week(written: Path, demo: tuple[Scenario, Plan],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _, plan = demo
    result = plan.get(RoutesResult)
    teacher = sorted({t for t, _, _ in result.days})[0]
    assert main(["routes", str(written), "--teacher", teacher]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{teacher}: ")
    for (t, week, day), stops in result.days.items():
        if t == teacher:
            assert f"week {week} {day}" in out
            for s in stops:
                assert s.site_id in out
    assert out.count("  day: ") == sum(t == teacher for t, _, _ in result.days)
    assert main(["routes", str(written), "--teacher", "NOBODY", "--scenario",
                 str(DEMO)]) == 2
    err = capsys.readouterr().err
    assert "NOBODY" in err and teacher in err
