"""Plan folders: write -> read round trip of every registered stage's tables, and refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from lrcplan.models.enrolment import EnrolmentResult
from lrcplan.models.errors import InputError
from lrcplan.models.io import load_scenario
from lrcplan.models.plan import Plan, Violation
from lrcplan.models.planio import PLAN_FORMAT, PLAN_FORMAT_VERSION, write_plan
from lrcplan.models.scenario import Scenario
from lrcplan.optimizer.pipeline import load_plan, run_plan
from lrcplan.optimizer.stages import STAGE_FILES

ROOT = Path(__file__).parent.parent


def _demo() -> Scenario:
    return load_scenario(ROOT / "scenarios" / "demo")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Scenario, Plan, Path]]:
    """The demo, and the demo with a 4-minute travel limit (students left unplaced)."""
    demo = _demo()
    tight = replace(demo, policy=replace(demo.policy, max_home_school_minutes=4.0))
    out = {}
    for name, sc in (("demo", demo), ("unplaced", tight)):
        plan = run_plan(sc, created="2025-01-01T00:00:00")
        if name == "demo":  # a recorded verdict must come back too
            plan = replace(plan, violations=(Violation("travel", "STU1", "a message"),))
        folder = tmp_path_factory.mktemp(name)
        write_plan(plan, sc, folder, STAGE_FILES)
        out[name] = (sc, plan, folder)
    assert out["unplaced"][1].get(EnrolmentResult).unplaced, "the tight demo leaves " \
                                                            "students unplaced"
    return out


@pytest.mark.parametrize("name", ["demo", "unplaced"])
@pytest.mark.parametrize("files", STAGE_FILES, ids=lambda f: f.stage)
def test_round_trip(plans: dict[str, tuple[Scenario, Plan, Path]], name: str,
                    files: object) -> None:
    sc, plan, folder = plans[name]
    back = load_plan(folder, sc)
    assert back.cell_mismatches == ()
    stage = files.stage  # type: ignore[attr-defined]
    written = next(r for r in plan.results if r.stage == stage)
    read = next(r for r in back.results if r.stage == stage)
    for table in files.tables:  # type: ignore[attr-defined]
        assert list(table.items(read)) == list(table.items(written)), table.file
        assert (folder / table.file).is_file()
    assert read.options == written.options
    assert read.figures() == written.figures()
    assert files.extra(read) == files.extra(written)  # type: ignore[attr-defined]
    s, w = read.summary, written.summary
    assert (s.stage, s.status, s.objective, s.bound, s.engine, s.proof) == (
        w.stage, w.status, w.objective, w.bound, w.engine, w.proof)
    assert s.seconds == pytest.approx(w.seconds, abs=1e-3)


@pytest.mark.parametrize("name", ["demo", "unplaced"])
def test_round_trip_plan(plans: dict[str, tuple[Scenario, Plan, Path]], name: str) -> None:
    sc, plan, folder = plans[name]
    back = load_plan(folder, sc)
    assert [r.stage for r in back.results] == [r.stage for r in plan.results]
    assert (back.scenario, back.fingerprint, back.created) == (
        plan.scenario, plan.fingerprint, plan.created)
    assert back.violations == plan.violations


def test_plan_json_format(plans: dict[str, tuple[Scenario, Plan, Path]]) -> None:
    doc = json.loads((plans["demo"][2] / "plan.json").read_text(encoding="utf-8"))
    assert doc["format"] == PLAN_FORMAT == "lrcplan-plan"
    assert doc["format_version"] == PLAN_FORMAT_VERSION
    assert [s["stage"] for s in doc["stages"]] == [f.stage for f in STAGE_FILES]


def test_other_scenario_refused(plans: dict[str, tuple[Scenario, Plan, Path]]) -> None:
    sc, _, folder = plans["demo"]
    other = load_scenario(ROOT / "tests" / "data" / "tiny")
    with pytest.raises(InputError, match=r"plan\.json.*another scenario"):
        load_plan(folder, other)
    tight = plans["unplaced"][0]  # same tables, other policy: another fingerprint
    with pytest.raises(InputError, match=r"plan\.json.*has changed since this plan was made"):
        load_plan(folder, tight)
    load_plan(folder, sc)


def test_folder_without_plan_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"plan\.json: missing"):
        load_plan(tmp_path, _demo())
    with pytest.raises(InputError, match="not a plan folder"):
        load_plan(tmp_path / "nowhere", _demo())


@pytest.mark.parametrize("doc", [{"format": "geojson"}, {"format_version": 2}, [1, 2],
                                 {"format": PLAN_FORMAT, "format_version": 1}])
def test_plan_json_of_another_format(tmp_path: Path, doc: object) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=r"plan\.json"):
        load_plan(tmp_path, _demo())


def test_plan_json_not_json(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_bytes(b"\xff{")
    with pytest.raises(InputError, match=r"plan\.json: not valid JSON"):
        load_plan(tmp_path, _demo())
