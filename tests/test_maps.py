"""Maps: layers and their properties, GIS exports, the offline page in a real browser."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT

from lrcplan.cli import main
from lrcplan.maps.layers import build_layers
from lrcplan.maps.render import save_plan
from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.io import load_scenario, save_scenario
from lrcplan.models.plan import Plan
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.pipeline import run_plan

DEMO = ROOT / "scenarios" / "demo"


@pytest.fixture(scope="module")
def demo() -> tuple[Scenario, Plan]:
    """The demo scenario and its plan."""
    sc = load_scenario(DEMO)
    return sc, run_plan(sc, created="2026-11-23T09:00:00")


@pytest.fixture(scope="module")
def tight() -> tuple[Scenario, Plan]:
    """The demo with a 4-minute travel limit: some students are left unplaced."""
    sc = load_scenario(DEMO)
    sc = replace(sc, policy=replace(sc.policy, max_home_school_minutes=4.0))
    return sc, run_plan(sc, created="2026-11-23T09:00:00")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, tight: tuple[Scenario, Plan]) -> Path:
    """The tight plan written with every map."""
    sc, plan = tight
    return save_plan(plan, sc, tmp_path_factory.mktemp("maps") / "plan")


def test_layers_have_the_expected_features(demo: tuple[Scenario, Plan]) -> None:
    sc, plan = demo
    layers = {lay.name: lay for lay in build_layers(sc, plan, include_empty=True)}
    assert list(layers) == ["towns", "student_cells", "enrolment_flows", "special_flows",
                            "unplaced_areas", "siting_uncovered_towns", "schools",
                            "routes", "route_stops"]
    schools = layers["schools"].frame
    assert len(schools) == len(sc.schools)
    loads = {x.school_id: x for x in plan.get(EnrolmentResult).schools}
    for _, row in schools.iterrows():
        if row["kind"] == "regular":
            assert row["lrc_students"] == loads[row["id"]].lrc_students
            assert row["room_required"] == (loads[row["id"]].lrc_students >= 5)
    assert schools["lrc_students"].sum() == plan.figure_values()["lrc_seated"]
    assert layers["towns"].frame["lrc_students"].sum() == schools["lrc_students"].sum()
    flows = layers["enrolment_flows"].frame
    assert flows["students"].sum() == plan.figure_values()["lrc_seated"]
    cells = layers["student_cells"].frame
    assert cells["students"].sum() == len(sc.students)
    assert len(layers["unplaced_areas"].frame) == 0


def test_unplaced_areas_name_reasons(tight: tuple[Scenario, Plan]) -> None:
    sc, plan = tight
    (lay,) = [x for x in build_layers(sc, plan) if x.name == "unplaced_areas"]
    assert lay.frame["students"].sum() == len(plan.get(EnrolmentResult).unplaced) > 0
    assert all("within 4 min" in r for r in lay.frame["reasons"])


def test_plan_folder_has_every_map_and_a_readable_geopackage(written: Path) -> None:
    import pyogrio

    for name in ("map.html", "map.png", "map.svg", "report.html", "plan.gpkg",
                 "schools.geojson", "towns.geojson", "unplaced_areas.geojson"):
        assert (written / name).stat().st_size > 0, name
    layers = {name for name, _ in pyogrio.list_layers(written / "plan.gpkg")}
    assert {"towns", "schools", "enrolment_flows", "unplaced_areas"} <= layers
    assert pyogrio.read_info(written / "plan.gpkg", layer="schools")["crs"] == "EPSG:4326"
    doc = json.loads((written / "schools.geojson").read_text())
    assert "color" not in doc["features"][0]["properties"]  # style stays out of GIS data
    page = (written / "map.html").read_text()
    assert "<script src=" not in page and 'rel="stylesheet" href=' not in page


def test_map_command_rerenders_in_place(written: Path, tight: tuple[Scenario, Plan],
                                        tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "plan"
    shutil.copytree(written, copy)
    (copy / "map.html").unlink()
    # The written plan was made with a 4-minute limit: the demo as shipped is another
    # scenario, and drawing the plan over it would mislead.
    assert main(["map", str(copy), "--scenario", str(DEMO)]) == 2
    assert "has changed since this plan was made" in capsys.readouterr().err
    save_scenario(tight[0], tmp_path / "tight")
    assert main(["map", str(copy), "--scenario", str(copy.parent / "tight"), "--lang",
                 "zh"]) == 0
    assert "随班就读" in (copy / "map.html").read_text()
    assert not [p for p in copy.iterdir() if p.name.startswith(".")]


def _browser():  # type: ignore[no-untyped-def]
    """A headless Chromium driven by Selenium, or a skip saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium "
                    "chromium-driver); .ci/run installs it")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.binary_location = chromium
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


@pytest.mark.browser
def test_pages_open_from_disk_without_errors(written: Path, tmp_path: Path) -> None:
    browser = _browser()
    try:
        browser.get((written / "map.html").as_uri())
        time.sleep(1.0)
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        overlays = [e.text for e in browser.find_elements(
            "css selector", ".leaflet-control-layers-overlays label")]
        assert overlays == ["Towns and streets", "Students per 1 km cell",
                            "Home to school (LRC)", "Home to special school",
                            "Unplaced students", "Towns without a room or centre",
                            "Schools", "Teacher routes", "Visited places"]
        assert browser.find_elements("css selector", ".lrc-legend .row")
        browser.save_screenshot(str(tmp_path / "map.png"))

        browser.get((written / "report.html").as_uri())
        time.sleep(0.5)
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        browser.save_screenshot(str(tmp_path / "report.png"))
    finally:
        browser.quit()
    assert (tmp_path / "map.png").stat().st_size > 10_000
