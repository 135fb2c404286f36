"""The command line: exit codes, messages without tracebacks, atomic outputs, privacy."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import DATA, ROOT

from lrcplan.cli import main

DEMO = ROOT / "scenarios" / "demo"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "lrcplan", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_help_of_every_command() -> None:
    for cmd in ("generate", "validate", "info", "plan", "check", "map", "timetable"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "usage: lrcplan " + cmd in r.stdout


def test_validate_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DATA / "tiny")]) == 0
    assert "OK: 4 schools, 6 classes, 4 students, 2 teachers, 2 towns" in capsys.readouterr().out
    assert main(["info", str(DATA / "tiny")]) == 0
    out = capsys.readouterr().out
    assert "Schools by kind and town" in out and "Students and LRC seats by grade" in out


def test_generate_writes_a_valid_scenario(tmp_path: Path) -> None:
    out = tmp_path / "x"
    assert main(["generate", "demo", "--seed", "3", "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert (out / "scenario.toml").read_text().count('preset = "demo"') == 1


def test_corrupted_demo_reports_all_four_errors_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(DEMO, bad)
    schools = (bad / "schools.csv").read_text().splitlines()
    schools.append(schools[1].replace(schools[1].split(",")[1], "Copy School"))  # duplicate id
    (bad / "schools.csv").write_text("\n".join(schools) + "\n")
    with (bad / "students.csv").open() as fh:
        rows = list(csv.reader(fh))
    rows[1][1], rows[1][2] = rows[1][2], rows[1][1]  # swapped lon/lat
    rows[2][rows[0].index("catchment_school")] = "NO_SUCH_SCHOOL"  # unknown reference
    with (bad / "students.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    teachers = (bad / "teachers.csv").read_text().splitlines()
    teachers[0] = teachers[0].replace(",skills", ",skilz")  # missing column
    (bad / "teachers.csv").write_text("\n".join(teachers) + "\n")

    r = run("validate", bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "4 problems in the scenario" in r.stderr, r.stderr
    assert "schools.csv:" in r.stderr and "duplicate id" in r.stderr
    assert "students.csv:2: lat:" in r.stderr and "look swapped" in r.stderr
    assert "students.csv:3: catchment_school: unknown school 'NO_SUCH_SCHOOL'" in r.stderr
    assert "teachers.csv:1: skills: required column is missing" in r.stderr

    r = run("plan", bad, "-o", tmp_path / "out")
    assert r.returncode == 2 and not (tmp_path / "out").exists()


def test_user_mistakes_exit_2(tmp_path: Path) -> None:
    r = run("validate", tmp_path / "nowhere")
    assert r.returncode == 2 and "not a scenario folder" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("generate", "demo", "--scale", "-1", "-o", tmp_path / "x")
    assert r.returncode == 2 and "--scale must be positive" in r.stderr
    r = run("check", DATA / "tiny", tmp_path)
    assert r.returncode == 2 and "plan.json" in r.stderr and "Traceback" not in r.stderr


def test_plan_then_check_then_tamper(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan"
    assert main(["plan", str(DEMO), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Check: OK" in text and "enrolment  optimal" in text
    for name in ("placement.csv", "enrolment.csv", "schools.csv", "unplaced.csv",
                 "plan.json", "schools.geojson", "enrolment_flows.geojson",
                 "unplaced_areas.geojson", "plan.gpkg", "map.html", "report.html"):
        assert (out / name).is_file(), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    assert main(["check", str(DEMO), str(out)]) == 0

    # Put every LRC student of the plan into the first class: the checker must object.
    with (out / "enrolment.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    first = next(r for r in rows if r["tier"] == "lrc")
    for r in rows:
        if r["tier"] == "lrc" and r["grade"] == first["grade"]:
            r["school_id"], r["class_index"] = first["school_id"], first["class_index"]
    with (out / "enrolment.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["check", str(DEMO), str(out)]) == 1
    assert "[class-cap]" in capsys.readouterr().out


def test_outputs_never_hold_a_home_location_or_a_name(tmp_path: Path) -> None:
    from lrcplan.models.io import load_scenario

    src = tmp_path / "named"
    shutil.copytree(DEMO, src)
    lines = (src / "students.csv").read_text().splitlines()
    lines = [lines[0] + ",name"] + [f"{ln},Student Name {i}" for i, ln in enumerate(lines[1:])]
    (src / "students.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "plan"
    assert main(["plan", str(src), "-o", str(out)]) == 0
    sc = load_scenario(DEMO)
    # A home is leaked when both its exact lon and lat appear in one file (a single number
    # may coincide with a town vertex rounded to the same 6 decimals).
    schools = {(s.lon, s.lat) for s in sc.schools}
    homes = [(repr(s.lon), repr(s.lat)) for s in sc.students if (s.lon, s.lat) not in schools]
    for path in sorted(out.rglob("*")):  # itineraries/ too
        if path.is_dir() or path.suffix in (".png", ".gpkg"):
            continue  # pixels, and the GeoPackage checked by its geometries below
        if path.suffix == ".xlsx":  # a zip of XML parts: every cell, shared string, name
            with zipfile.ZipFile(path) as z:
                text = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            text = path.read_text()
        assert "Student Name" not in text, path.name
        for lon, lat in homes:
            assert not (lon in text and lat in text), f"{path.name} holds home {lon}, {lat}"
    import pyogrio
    import shapely

    home_points = {(s.lon, s.lat) for s in sc.students}
    for name, _ in pyogrio.list_layers(out / "plan.gpkg"):
        frame = pyogrio.read_dataframe(out / "plan.gpkg", layer=name)
        coords = {tuple(c) for c in shapely.get_coordinates(frame.geometry.values)}
        assert not coords & home_points, f"plan.gpkg layer {name} holds a home location"


def test_readme_and_ci_share_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [ln for ln in readme[:20] if ln.startswith("python3 -m venv")]
    assert len(commands) == 2, "README opens with the demo and the test command"
    assert commands[0].endswith("lrcplan plan scenarios/demo -o out")
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
