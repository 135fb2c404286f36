"""The static map (map.png / map.svg) and the self-contained HTML report."""

from __future__ import annotations

import html
import re
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT

import lrcplan.maps.static as static
from lrcplan.maps.layers import Layer, build_layers
from lrcplan.maps.report import write_report
from lrcplan.maps.static import draw_static, scale_length_km, write_static
from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.io import load_scenario
from lrcplan.models.labels import label
from lrcplan.models.plan import Plan, Violation
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.pipeline import run_plan

DEMO = ROOT / "scenarios" / "demo"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Any src= or href= whose value points at the network.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)

Fixture = tuple[Scenario, Plan, list[Layer]]


@pytest.fixture(scope="module")
def demo() -> Fixture:
    """The demo scenario, its plan and its layers."""
    sc = load_scenario(DEMO)
    plan = run_plan(sc, created="2026-11-23T09:00:00")
    return sc, plan, build_layers(sc, plan)


@pytest.fixture(scope="module")
def tight() -> Fixture:
    """The demo with a 4-minute travel limit: some students are left unplaced."""
    sc = load_scenario(DEMO)
    sc = replace(sc, policy=replace(sc.policy, max_home_school_minutes=4.0))
    plan = run_plan(sc, created="2026-11-23T09:00:00")
    return sc, plan, build_layers(sc, plan)


def _texts(fig: object) -> list[str]:
    """Every text of a figure: figure texts, axes texts, legend texts, titles."""
    out = [t.get_text() for t in fig.texts]  # type: ignore[attr-defined]
    for leg in fig.legends:  # type: ignore[attr-defined]
        out += [t.get_text() for t in leg.get_texts()] + [leg.get_title().get_text()]
    for ax in fig.axes:  # type: ignore[attr-defined]
        out += [t.get_text() for t in ax.texts] + [ax.get_title(loc="left")]
    return out


def _legend(fig: object) -> list[str]:
    (leg,) = fig.legends  # type: ignore[attr-defined]
    return [t.get_text() for t in leg.get_texts()]


# ------------------------------------------------------------------ static map
def test_static_map_has_legend_scale_bar_colour_bar_and_title(demo: Fixture) -> None:
    sc, plan, layers = demo
    t = time.perf_counter()
    fig = draw_static(layers, sc, plan)
    assert time.perf_counter() - t < 3.0
    legend = _legend(fig)
    for key in ("towns", "enrolment_flows", "regular", "special", "centre", "room",
                "required"):
        assert label(key) in legend, key
    assert any(text.startswith(label("lrc_size")) and "1 / 5 / 10" in text for text in legend)
    # Hidden layers (cells, special flows) stay off the sheet and off its legend.
    assert label("student_cells", grid="1 km") not in legend
    (ax,) = [a for a in fig.axes if a.get_label() == "map"]
    (bar,) = [t for t in ax.texts if t.get_gid() == "scalebar"]
    assert bar.get_text().endswith("km")
    (cax,) = [a for a in fig.axes if a.get_label() == "colorbar"]
    assert cax.get_title(loc="left") == label("travel_minutes")
    assert [a for a in fig.axes if a.get_label() == "inset"] == []  # the demo is not crowded
    texts = _texts(fig)
    assert f"{label('report_title')} — {sc.name}" in texts
    sub = next(x for x in texts if x.startswith(label("generated")))
    d = plan.figure_values()
    assert "2026-11-23" in sub and f"{label('lrc_seated')} {d['lrc_seated']}" in sub
    assert f"{label('unplaced')} {d['unplaced']}" in sub
    assert any(label("privacy", grid="1 km") in x for x in texts)
    assert tuple(fig.get_size_inches()) == pytest.approx((11.69, 8.27))


def test_scale_bar_lengths_are_round() -> None:
    assert scale_length_km(25_000) == 5
    assert scale_length_km(48_000) == 10
    assert scale_length_km(4_000) == 1
    assert scale_length_km(900_000) == 200


def test_write_static_writes_png_and_svg(demo: Fixture, tmp_path: Path) -> None:
    sc, plan, layers = demo
    png, svg = write_static(draw_static(layers, sc, plan), tmp_path)
    assert (png, svg) == (tmp_path / "map.png", tmp_path / "map.svg")
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 50_000
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and text.rstrip().endswith("</svg>")


def test_unplaced_areas_appear_in_the_legend(tight: Fixture) -> None:
    sc, plan, layers = tight
    assert label("unplaced_areas") in _legend(draw_static(layers, sc, plan))


def test_chinese_map_with_or_without_a_cjk_font(demo: Fixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sc, plan, layers = demo
    note = label("no_cjk_font")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no per-glyph warning spam either way
        fig = draw_static(layers, sc, plan, lang="zh")
        if static.cjk_font() is None:
            assert label("regular") in _legend(fig)
            assert any(note in x for x in _texts(fig))
        else:
            assert label("regular", "zh") in _legend(fig)

        monkeypatch.setattr(static, "cjk_font", lambda: None)
        fig = draw_static(layers, sc, plan, lang="zh")
        assert label("regular") in _legend(fig)
        assert any(note in x for x in _texts(fig))
        monkeypatch.setattr(static, "cjk_font", lambda: "DejaVu Sans")
        fig = draw_static(layers, sc, plan, lang="zh")
        assert label("regular", "zh") in _legend(fig)
        assert f"{label('report_title', 'zh')} — {sc.name}" in _texts(fig)
        assert not any(note in x for x in _texts(fig))


def test_crowded_district_is_fast_and_gets_an_inset(tmp_path: Path) -> None:
    from lrcplan.scenarios.generator import generate

    sc = generate("xiaoshan", seed=1)
    plan = run_plan(sc, created="2026-11-23T09:00:00")
    layers = build_layers(sc, plan)
    t = time.perf_counter()
    fig = draw_static(layers, sc, plan)
    (inset,) = [a for a in fig.axes if a.get_label() == "inset"]
    assert inset.get_title(loc="left").startswith(label("inset"))
    png, _ = write_static(fig, tmp_path)
    assert time.perf_counter() - t < 10.0
    assert png.read_bytes()[:8] == PNG_SIGNATURE


# ------------------------------------------------------------------ report
def _report(fx: Fixture, folder: Path, **kw: object) -> str:
    sc, plan, layers = fx
    plan = kw.pop("plan", plan)  # type: ignore[assignment]
    path = write_report(plan, sc, layers, folder, **kw)  # type: ignore[arg-type]
    assert path == folder / "report.html" and path.stat().st_size > 0
    return path.read_text(encoding="utf-8")


def test_report_of_a_checked_plan(demo: Fixture, tmp_path: Path) -> None:
    sc, plan, layers = demo
    page = _report(demo, tmp_path, map_png=PNG_SIGNATURE + b"not really a png")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert f"{html.escape(label('report_title'))} — {html.escape(sc.name)}" in page
    assert 'class="verdict ok"' in page and html.escape(label("check_ok")) in page
    assert "verdict bad" not in page
    assert not EXTERNAL.search(page)
    assert "<link" not in page and "<script" not in page
    assert page.count("<svg") == 3  # two enrolment charts and the routes' week
    assert 'src="data:image/png;base64,' in page
    # Key numbers, the stages with the optimality sentence, the threshold schools.
    d = plan.figure_values()
    assert f">{d['lrc_seated']}<" in page
    assert html.escape(plan.get(EnrolmentResult).summary.proof) in page
    for load in plan.get(EnrolmentResult).schools:
        if load.room_required:
            assert f">{load.school_id}<" in page
    assert html.escape(label("unplaced_list")) in page
    assert html.escape(label("privacy", grid="1 km")) in page
    # Privacy: no home coordinate, whatever its precision in the data.
    for st in sc.students:
        assert repr(st.lon) not in page and repr(st.lat) not in page, st.id


def test_report_lists_violations_in_a_red_box(demo: Fixture, tmp_path: Path) -> None:
    _, plan, _ = demo
    bad = replace(plan, violations=(Violation("class-cap", "X-1-1", "3 LRC students (max 2)"),))
    page = _report(demo, tmp_path, plan=bad)
    assert 'class="verdict bad"' in page and html.escape(label("check_failed")) in page
    assert html.escape(str(bad.violations[0])) in page
    assert "verdict ok" not in page


def test_report_lists_unplaced_students_with_reasons(tight: Fixture, tmp_path: Path) -> None:
    _, plan, _ = tight
    page = _report(tight, tmp_path)
    assert plan.get(EnrolmentResult).unplaced
    for u in plan.get(EnrolmentResult).unplaced:
        assert f"<td>{u.student_id}</td>" in page
        assert html.escape(u.reason) in page


def test_report_escapes_data_and_speaks_chinese(demo: Fixture, tmp_path: Path) -> None:
    sc, plan, layers = demo
    evil = replace(sc, name='<img src="https://example.com/x.png">')
    page = _report((evil, plan, layers), tmp_path, lang="zh")
    assert "<img src=" not in page and not EXTERNAL.search(page)
    assert '<html lang="zh-CN">' in page
    for key in ("check_ok", "key_numbers", "stages", "room_schools", "unplaced_list"):
        assert html.escape(label(key, "zh")) in page, key
    assert label("none", "zh") in page  # no unplaced students
