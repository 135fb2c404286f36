"""Property test: any tampering with a written plan is caught when the plan is checked.

A valid plan of the demo district (and of the demo with a travel limit so tight that some
students stay unplaced) is written once; each example changes one thing in a copy of it:
a cell of any table (another row's value of the same column, random text, a number near the
old one, '', a flipped 'true'/'false'), a row added (copied, or with an unknown id), removed,
duplicated, two rows swapped, or a plan.json field (enrolment.options.reshuffle flipped,
a number changed). Reading and checking the folder must then either raise an InputError
naming the file or, when a verified value changed, report at least one violation; no other
exception may escape.
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from lrcplan.models.errors import InputError
from lrcplan.models.io import load_scenario
from lrcplan.models.planio import write_plan
from lrcplan.models.scenario import Scenario
from lrcplan.models.siting import SitingOptions
from lrcplan.models.tables import CellError, as_bool, as_float, as_int
from lrcplan.optimizer.check import check
from lrcplan.optimizer.check.enrolment import DISTANCE_TOLERANCE_KM, TRAVEL_TOLERANCE_MIN
from lrcplan.optimizer.pipeline import load_plan, run_plan
from lrcplan.optimizer.stages import STAGE_FILES

ROOT = Path(__file__).parent.parent
TABLES = [t for f in STAGE_FILES for t in f.tables]
FILES = ["plan.json", *(t.file for t in TABLES)]

# A float change within the checker's tolerance plus the rounding of the written value
# (minutes to 0.01, km to the metre) may still be true: such changes count as no-ops.
FLOAT_SLACK = {"travel_minutes": TRAVEL_TOLERANCE_MIN + 0.005,
               "distance_km": DISTANCE_TOLERANCE_KM + 0.0005}
INT_COLUMNS = {"grade", "class_index", "lrc_students", "classes_with_lrc", "classes_with_two",
               "resource_teachers_needed", "resource_teachers_present"}
BOOL_COLUMNS = {"catchment", "incumbent", "room_required", "has_room"}
# plan.json numbers that the checker verifies; the others (time limit, solver statistics,
# summary figures) describe the run and may change without making the plan invalid.
VERIFIED_JSON = {("enrolment", "preferred_per_class"), ("siting", "budget_rooms")}
# The budget curve reports other solves (budgets 0..K-1): the checker verifies its shape and
# its point at K against the plan, not what the other budgets would give.
DESCRIBED = {("siting_curve.csv", c) for c in ("feasible", "towns_covered", "value", "proven")}


@dataclass
class Base:
    """A valid plan folder's contents, kept in memory."""

    sc: Scenario
    tables: dict[str, tuple[list[str], list[list[str]]]]  # file -> header, rows
    doc: dict[str, Any]


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _base(sc: Scenario, folder: Path, options: dict[str, Any] | None = None) -> Base:
    plan = run_plan(sc, options, created="2025-01-01T00:00:00")
    assert plan.violations == ()
    folder.mkdir()
    write_plan(plan, sc, folder, STAGE_FILES)
    tables = {t.file: _read_csv(folder / t.file) for t in TABLES}
    return Base(sc, tables, json.loads((folder / "plan.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> list[Base]:
    root = tmp_path_factory.mktemp("mutations")
    demo = load_scenario(ROOT / "scenarios" / "demo")
    tight = replace(demo, policy=replace(demo.policy, max_home_school_minutes=4.0))
    out = [_base(demo, root / "demo"), _base(tight, root / "tight"),
           _base(demo, root / "budget", {"siting": SitingOptions(mode="budget", rooms=3)})]
    assert out[2].tables["siting_moves.csv"][1], "the budget demo must move students"
    assert out[1].tables["unplaced.csv"][1], "the tight demo must leave students unplaced"
    return out


# ------------------------------------------------------------------ what counts as a change
def _parsed(column: str, value: str) -> object:
    """The value a cell stands for (its text where it does not parse)."""
    try:
        if column in FLOAT_SLACK:
            return as_float({column: value}, column)
        if column in INT_COLUMNS:
            return as_int({column: value}, column, blank=True)
        if column in BOOL_COLUMNS:
            return as_bool({column: value}, column)
    except CellError:
        pass
    return ("text", value)


def same_value(column: str, old: str, new: str, derived: tuple[str, ...]) -> bool:
    """Whether a changed cell still says the same (or, for floats, a possibly true) value."""
    if old == new:
        return True
    if column in derived:
        return False  # derived cells must restate their row exactly
    a, b = _parsed(column, old), _parsed(column, new)
    if column in FLOAT_SLACK and isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= FLOAT_SLACK[column]
    return a == b and type(a) is type(b)


# ------------------------------------------------------------------ mutations
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@dataclass
class Mutation:
    what: str
    verified: bool  # a verified value changed: the check must fail
    apply: Callable[[dict[str, tuple[list[str], list[list[str]]]], dict[str, Any]], None]


def _new_cell(data: st.DataObject, column: str, old: str, others: list[str]) -> str:
    kind = data.draw(st.sampled_from(["other", "text", "near", "blank", "flip"]))
    if kind == "other" and others:
        return data.draw(st.sampled_from(others))
    if kind == "near":
        if column in FLOAT_SLACK or "." in old:
            try:
                v = float(old)
            except ValueError:
                v = 0.0
            delta = data.draw(st.sampled_from([1e-4, 1e-3, 0.004, 0.01, 0.05, 0.06, 0.2,
                                               1.0, 7.5]))
            return repr(round(v + data.draw(st.sampled_from([-1, 1])) * delta, 6))
        if old.lstrip("-").isdigit():
            return str(int(old) + data.draw(st.integers(-3, 3)))
        return old + data.draw(st.sampled_from(["0", "1", " ", "x"]))
    if kind == "flip" and old in ("true", "false"):
        return "false" if old == "true" else "true"
    if kind == "blank":
        return ""
    return data.draw(TEXT)


def table_mutation(data: st.DataObject, base: Base) -> Mutation:
    spec = data.draw(st.sampled_from(TABLES), label="table")
    header, rows = base.tables[spec.file]
    kinds = ["cell", "add-copy", "add-unknown", "add-other-id", "remove", "duplicate", "swap"]
    if not rows:
        kinds = ["add-copy", "add-unknown"]  # copies come from other tables' ids
    kind = data.draw(st.sampled_from(kinds), label="mutation")
    if kind in ("add-copy", "add-unknown") and not rows:
        key = header[0]
        src = next((r for f, (h, rs) in base.tables.items() for r in rs if h[0] == key),
                   ["0"])  # siting_curve.csv: no other table starts with "rooms"
        row = [src[0] if kind == "add-copy" else "NOBODY"] + [""] * (len(header) - 1)
        return Mutation(f"{spec.file}: add {row}", True,
                        lambda t, d: t[spec.file][1].append(row))
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    if kind == "cell":
        c = data.draw(st.integers(0, len(header) - 1), label="column")
        column, old = header[c], rows[i][c]
        others = sorted({r[c] for r in rows} - {old})
        new = _new_cell(data, column, old, others)
        verified = not same_value(column, old, new, spec.derived) and \
            (spec.file, column) not in DESCRIBED

        def set_cell(t: dict[str, Any], d: dict[str, Any]) -> None:
            t[spec.file][1][i][c] = new

        return Mutation(f"{spec.file} row {i + 2} ({rows[i][0]}) {column}: {old!r} -> "
                        f"{new!r}", verified, set_cell)
    if kind == "swap":
        j = data.draw(st.integers(0, len(rows) - 1), label="other row")

        def swap(t: dict[str, Any], d: dict[str, Any]) -> None:
            rs = t[spec.file][1]
            rs[i], rs[j] = rs[j], rs[i]

        return Mutation(f"{spec.file}: swap rows {i + 2} and {j + 2}", False, swap)
    if kind == "remove":
        return Mutation(f"{spec.file}: remove row {i + 2} ({rows[i][0]})", True,
                        lambda t, d: t[spec.file][1].pop(i))
    row = list(rows[i])
    if kind == "add-unknown":
        row[0] = data.draw(st.sampled_from(["NOBODY", "STU999999", "SCH9999", rows[i][0] + "x"]))
    elif kind == "add-other-id":
        ids = sorted({s.id for s in base.sc.students} | {s.id for s in base.sc.schools}
                     | {r[0] for r in rows})
        row[0] = data.draw(st.sampled_from(ids))
    at = data.draw(st.integers(0, len(rows)), label="position")
    return Mutation(f"{spec.file}: insert at row {at + 2} {row}", True,
                    lambda t, d: t[spec.file][1].insert(at, row))


def _numbers(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every number (not bool) in plan.json."""
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _numbers(v, (*path, k))]
    if isinstance(doc, list):
        return [p for k, v in enumerate(doc) for p in _numbers(v, (*path, k))]
    return [path] if isinstance(doc, int | float) and not isinstance(doc, bool) else []


def json_mutation(data: st.DataObject, base: Base) -> Mutation:
    stages = [s["stage"] for s in base.doc["stages"]]
    e = stages.index("enrolment")
    if data.draw(st.booleans(), label="flip reshuffle"):
        def flip(t: dict[str, Any], d: dict[str, Any]) -> None:
            opts = d["stages"][e]["options"]
            opts["reshuffle"] = not opts["reshuffle"]
        # The demo has incumbents: flipping reshuffle makes their flags false.
        return Mutation("plan.json: enrolment.options.reshuffle flipped", True, flip)
    path = data.draw(st.sampled_from(_numbers(base.doc)), label="number")
    old = base.doc
    for k in path:
        old = old[k]
    new = data.draw(st.one_of(st.integers(-3, 3).map(lambda n: old + n),
                              st.sampled_from([0, -1, 0.5, 1e9, "1", None, True])))
    stage = base.doc["stages"][path[1]]["stage"] if path[0] == "stages" else ""
    verified = (stage, path[-1]) in VERIFIED_JSON and new != old

    def set_number(t: dict[str, Any], d: dict[str, Any]) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = new

    return Mutation(f"plan.json {'.'.join(map(str, path))}: {old!r} -> {new!r}", verified,
                    set_number)


def write_folder(folder: Path, tables: dict[str, tuple[list[str], list[list[str]]]],
                 doc: dict[str, Any]) -> None:
    folder.mkdir(exist_ok=True)
    for name, (header, rows) in tables.items():
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([header, *rows])
    (folder / "plan.json").write_text(json.dumps(doc), encoding="utf-8")


def verdict(base: Base, m: Mutation, folder: Path) -> tuple[str | None, list[Any]]:
    """(InputError message or None, violations) of the mutated plan."""
    tables = copy.deepcopy(base.tables)
    doc = copy.deepcopy(base.doc)
    m.apply(tables, doc)
    write_folder(folder, tables, doc)
    try:
        plan = load_plan(folder, base.sc)
    except InputError as exc:
        return str(exc), []
    return None, check(base.sc, plan)


def assert_caught(base: Base, m: Mutation, folder: Path) -> None:
    note(m.what)
    error, violations = verdict(base, m, folder)
    note(f"InputError: {error}" if error else f"violations: {violations[:5]}")
    if error is not None:
        assert any(f in error for f in FILES), f"InputError names no plan file: {error}"
    elif m.verified:
        assert violations, f"tampering not caught: {m.what}"


# ------------------------------------------------------------------ the property
@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_is_caught(bases: list[Base], tmp_path: Path, data: st.DataObject
                                ) -> None:
    base = bases[data.draw(st.integers(0, len(bases) - 1), label="scenario")]
    if data.draw(st.integers(0, 9), label="where") == 0:
        m = json_mutation(data, base)
    else:
        m = table_mutation(data, base)
    assert_caught(base, m, tmp_path / "plan")


def test_valid_copy_passes(bases: list[Base], tmp_path: Path) -> None:
    """The unmutated copy checks clean (so a violation above comes from the mutation)."""
    for n, base in enumerate(bases):
        error, violations = verdict(base, Mutation("none", False, lambda t, d: None),
                                    tmp_path / str(n))
        assert error is None and violations == []


def test_reason_with_text_appended_is_caught(bases: list[Base], tmp_path: Path) -> None:
    base = bases[0]
    old = base.tables["placement.csv"][1][0][3]
    m = Mutation(f"placement.csv row 2 reason: {old!r} -> {old + '0'!r}", True,
                 lambda t, d: t["placement.csv"][1][0].__setitem__(3, old + "0"))
    error, violations = verdict(base, m, tmp_path / "plan")
    assert error is None and [v.rule for v in violations] == ["reason"]
