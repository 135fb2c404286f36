"""`lrcplan check` end to end: hand edits of a written demo plan exit 1 and name the row."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
Rows = list[dict[str, str]]


def lrcplan(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lrcplan", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tamper")
    scen = root / "demo"
    shutil.copytree(ROOT / "scenarios" / "demo", scen)
    r = lrcplan("plan", scen, "-o", root / "plan", "--no-maps")
    assert r.returncode == 0, r.stderr
    ok = lrcplan("check", scen, root / "plan")
    assert ok.returncode == 0 and "reshuffle" in ok.stdout, ok.stdout + ok.stderr
    return scen, root / "plan"


def read(path: Path) -> Rows:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, rows: Rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def edit(folder: Path, file: str, pick: Callable[[dict[str, str]], bool],
         change: Callable[[dict[str, str]], None]) -> str:
    """Change the first row `pick` accepts; returns its first column (student or school)."""
    rows = read(folder / file)
    row = next(r for r in rows if pick(r))
    change(row)
    write(folder / file, rows)
    return next(iter(row.values()))


def _classes(scen: Path) -> set[tuple[str, str, str]]:
    return {(r["school_id"], r["grade"], r["class_index"]) for r in read(scen / "classes.csv")}


def _class_id(scen: Path, other_grade: bool) -> Callable[[Path], str]:
    def tamper(plan: Path) -> str:
        classes = _classes(scen)

        def change(r: dict[str, str]) -> None:
            key = next(c for c in sorted(classes) if c[0] == r["school_id"]
                       and (c[1] != r["grade"] if other_grade else
                            c[1] == r["grade"] and c[2] != r["class_index"]))
            r["class_id"] = "-".join(key)

        return edit(plan, "enrolment.csv", lambda r: r["tier"] == "lrc", change)
    return tamper


def _moved_incumbent_reshuffled(scen: Path) -> Callable[[Path], str]:
    def tamper(plan: Path) -> str:
        classes = _classes(scen)

        def pick(r: dict[str, str]) -> bool:
            return r["tier"] == "lrc" and r["incumbent"] == "true" and any(
                c[:2] == (r["school_id"], r["grade"]) and c[2] != r["class_index"]
                for c in classes)

        def change(r: dict[str, str]) -> None:
            idx = next(c[2] for c in sorted(classes) if c[:2] == (r["school_id"], r["grade"])
                       and c[2] != r["class_index"])
            r["class_index"] = idx
            r["class_id"] = f"{r['school_id']}-{r['grade']}-{idx}"

        sid = edit(plan, "enrolment.csv", pick, change)
        doc = json.loads((plan / "plan.json").read_text(encoding="utf-8"))
        for s in doc["stages"]:
            if s["stage"] == "enrolment":
                s["options"]["reshuffle"] = True
        (plan / "plan.json").write_text(json.dumps(doc), encoding="utf-8")
        return sid
    return tamper


def _flip(r: dict[str, str], col: str) -> None:
    r[col] = "false" if r[col] == "true" else "true"


def _set(col: str, value: str | Callable[[str], str]) -> Callable[[dict[str, str]], None]:
    def change(r: dict[str, str]) -> None:
        r[col] = value(r[col]) if callable(value) else value
    return change


def _basis(value: str) -> Callable[[Path], str]:
    def tamper(plan: Path) -> str:
        return edit(plan, "placement.csv", lambda r: r["basis"] != "given", _set("basis", value))
    return tamper


def _false_reason(plan: Path) -> str:
    return edit(plan, "placement.csv", lambda r: r["tier"] == "lrc",
                _set("reason", lambda t: t.replace("mild", "moderate").replace("LRC", "LRC*")))


CASES: dict[str, Callable[[Path], Callable[[Path], str]]] = {
    "class_id-same-grade": lambda scen: _class_id(scen, other_grade=False),
    "class_id-other-grade": lambda scen: _class_id(scen, other_grade=True),
    "incumbent-moved-reshuffle": _moved_incumbent_reshuffled,
    "incumbent-flag": lambda scen: lambda p: edit(
        p, "enrolment.csv", lambda r: r["incumbent"] == "true", lambda r: _flip(r, "incumbent")),
    "not-incumbent-flag": lambda scen: lambda p: edit(
        p, "enrolment.csv", lambda r: r["incumbent"] == "false",
        lambda r: _flip(r, "incumbent")),
    "catchment-flag": lambda scen: lambda p: edit(
        p, "enrolment.csv", lambda r: True, lambda r: _flip(r, "catchment")),
    "distance": lambda scen: lambda p: edit(
        p, "enrolment.csv", lambda r: float(r["distance_km"]) > 0.01,
        _set("distance_km", "0.001")),
    "room_required": lambda scen: lambda p: edit(
        p, "schools.csv", lambda r: True, lambda r: _flip(r, "room_required")),
    "resource_teachers_needed": lambda scen: lambda p: edit(
        p, "schools.csv", lambda r: True,
        _set("resource_teachers_needed", lambda t: str(int(t) + 1))),
    "lrc_students": lambda scen: lambda p: edit(
        p, "schools.csv", lambda r: True, _set("lrc_students", lambda t: str(int(t) + 1))),
    "basis-given": lambda scen: _basis("given"),
    "basis-committee": lambda scen: _basis("committee"),
    "false-reason": lambda scen: _false_reason,
}
def _cases() -> list[object]:
    return [pytest.param(name, id=name) for name in CASES]


def _checked(scen: Path, plan: Path) -> subprocess.CompletedProcess[str]:
    r = lrcplan("check", scen, plan)
    assert "Traceback" not in r.stdout + r.stderr
    return r


@pytest.mark.parametrize("name", _cases())
def test_tampering_exits_1(written: tuple[Path, Path], tmp_path: Path, name: str) -> None:
    scen, plan = written
    copy = tmp_path / "plan"
    shutil.copytree(plan, copy)
    subject = CASES[name](scen)(copy)
    r = _checked(scen, copy)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "reshuffle" in out  # the options the verdict relied on are printed
    if name == "incumbent-moved-reshuffle":
        assert "enrolment.reshuffle=true" in out
    assert subject in r.stdout, f"{subject} not named:\n{out}"


def test_cell_violation_reported(written: tuple[Path, Path], tmp_path: Path) -> None:
    """A class_id that disagrees with its row is a 'cell' violation naming file and line."""
    scen, plan = written
    for name in ("class_id-same-grade", "class_id-other-grade"):
        copy = tmp_path / name
        shutil.copytree(plan, copy)
        CASES[name](scen)(copy)
        r = _checked(scen, copy)
        assert r.returncode == 1 and "cell" in r.stdout and ".csv:" in r.stdout, r.stdout


def test_plan_of_another_scenario_exits_2(written: tuple[Path, Path], tmp_path: Path) -> None:
    scen, _ = written
    other = tmp_path / "x"
    assert lrcplan("generate", "xiaoshan", "--seed", "5", "-o", other).returncode == 0
    assert lrcplan("plan", other, "-o", tmp_path / "xplan", "--no-maps",
                   "--time-limit", "2").returncode in (0, 1)
    r = _checked(scen, tmp_path / "xplan")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "plan.json" in r.stderr and "another scenario" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_student_row_with_another_violation(written: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    scen, plan = written
    copy = tmp_path / "plan"
    shutil.copytree(plan, copy)
    rows = read(copy / "enrolment.csv")
    rows.append(dict(rows[0], student_id="STU999999"))
    rows[1]["distance_km"] = "0.001"
    write(copy / "enrolment.csv", rows)
    r = _checked(scen, copy)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "STU999999" in r.stdout and rows[1]["student_id"] in r.stdout
