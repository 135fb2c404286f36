"""Output folders end to end: the CLI as a user runs it, killed with SIGKILL, on a full disk.

Issue 7, section 1: nothing the user owns is ever deleted, a failed or killed run leaves the
previous plan, and the next run cleans up after a killed one.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from test_outdir import hidden, snapshot

from lrcplan.models import outdir
from lrcplan.models.outdir import check_output

DEMO = ROOT / "scenarios" / "demo"

# A CLI run with one thing changed inside the process: it pauses (after writing the pid to
# a signal file) at a chosen moment of the swap, or finds the disk full.
CHILD = r"""
import builtins, errno, io, os, sys, time
from pathlib import Path
from lrcplan.models import outdir
from lrcplan.cli import main

mode, signal_file, *argv = sys.argv[1:]

def pause():
    Path(signal_file).write_text(str(os.getpid()))
    time.sleep(300)

if mode == "between-renames":  # the two-rename fallback, stopped between the renames
    outdir._exchange = lambda a, b: False
    rename = outdir._rename
    def paused_rename(a, b):
        rename(a, b)
        if Path(b).name.endswith(".lrcplan-old"):
            pause()
    outdir._rename = paused_rename
elif mode == "after-exchange":  # swapped, the old plan not yet removed
    exchange = outdir._exchange
    def paused_exchange(a, b):
        done = exchange(a, b)
        pause()
        return done
    outdir._exchange = paused_exchange
elif mode == "disk-full":  # every file opened for writing in the temp folder: ENOSPC
    real_open = builtins.open
    def full(file, mode="r", *a, **k):
        if ".lrcplan-tmp-" in str(file) and any(c in mode for c in "wax+"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, mode, *a, **k)
    builtins.open = io.open = full
sys.exit(main(argv))
"""


def run(*args: str | Path, mode: str | None = None,
        signal_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = ([sys.executable, "-m", "lrcplan"] if mode is None
           else [sys.executable, "-c", CHILD, mode, str(signal_file)])
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def start(*args: str | Path, mode: str | None = None,
          signal_file: Path | None = None) -> subprocess.Popen[bytes]:
    cmd = ([sys.executable, "-m", "lrcplan"] if mode is None
           else [sys.executable, "-c", CHILD, mode, str(signal_file)])
    return subprocess.Popen([*cmd, *map(str, args)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended ({proc.returncode}) before {path.name}"
        assert time.monotonic() < end, f"no {path.name} after {timeout} s"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete plan of the demo, with maps, written by lrcplan (copied per test)."""
    base = tmp_path_factory.mktemp("golden")
    r = run("plan", DEMO, "-o", base / "out")
    assert r.returncode == 0, r.stderr
    return base / "out"


@pytest.fixture
def old(golden: Path, tmp_path: Path) -> Path:
    """A copy of the golden plan (copytree keeps lrcplan's marker) and a scenario copy."""
    shutil.copytree(DEMO, tmp_path / "scen")
    out = tmp_path / "work" / "out"
    shutil.copytree(golden, out)
    return out


def assert_whole(out: Path, before: dict[str, str]) -> str:
    """out holds the complete old plan or a complete new one; which?"""
    now = snapshot(out)
    if now == before:
        return "old"
    assert sorted(now) == sorted(before), "not the complete file list of a plan"
    outdir._check_ours(out, str(out), "plan")  # every file's hash as lrcplan wrote it
    return "new"


def assert_one_line_error(r: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


# ------------------------------------------------------------------ the reproductions
def test_scenario_as_output_exits_2_and_keeps_every_file(tmp_path: Path) -> None:
    d = tmp_path / "D"
    shutil.copytree(DEMO, d)
    before = snapshot(d)
    r = run("plan", d, "-o", d, "--no-maps")
    assert_one_line_error(r, 2, "is the scenario folder itself")
    assert snapshot(d) == before and hidden(tmp_path) == []


def test_folder_holding_the_scenario_exits_2(tmp_path: Path) -> None:
    p = tmp_path / "P"
    shutil.copytree(DEMO, p / "scen")
    (p / "notes.txt").write_text("my notes")
    before = snapshot(p)
    r = run("plan", p / "scen", "-o", p, "--no-maps")
    assert_one_line_error(r, 2, "contains the scenario folder")
    assert snapshot(p) == before and hidden(tmp_path) == []


def test_existing_file_or_foreign_folder_exits_2(tmp_path: Path) -> None:
    f = tmp_path / "F"
    f.write_text("keep me")
    r = run("plan", DEMO, "-o", f, "--no-maps")
    assert_one_line_error(r, 2, "is a file, not a folder")
    assert f.read_text() == "keep me"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    for args in (("plan", DEMO, "-o", mine, "--no-maps"),
                 ("generate", "demo", "-o", mine)):
        assert_one_line_error(run(*args), 2, "not a", "lrcplan wrote")
    assert snapshot(mine) == {"thesis.docx": snapshot(mine)["thesis.docx"]}
    assert hidden(tmp_path) == []


def test_own_outputs_are_replaced_and_map_keeps_the_plan_replaceable(old: Path) -> None:
    scen = old.parent.parent / "scen"
    r = run("plan", scen, "-o", old, "--no-maps")
    assert r.returncode == 0, r.stderr
    assert not (old / "map.html").exists()  # replaced whole, not merged
    r = run("map", old, "--scenario", scen)
    assert r.returncode == 0, r.stderr
    assert (old / "map.html").is_file()
    outdir._check_ours(old, str(old), "plan")
    assert run("plan", scen, "-o", old, "--no-maps").returncode == 0
    gen = old.parent / "gen"
    assert run("generate", "demo", "-o", gen).returncode == 0
    assert run("generate", "demo", "--seed", "2", "-o", gen).returncode == 0
    assert_one_line_error(run("plan", scen, "-o", gen), 2, "a scenario lrcplan wrote, not a plan")
    assert hidden(old.parent) == []


# ------------------------------------------------------------------ full disk (exit 3)
def test_disk_full_exits_3_with_one_line_and_the_old_plan(old: Path, tmp_path: Path) -> None:
    before = snapshot(old)
    r = run("plan", tmp_path / "scen", "-o", old, mode="disk-full", signal_file=tmp_path / "s")
    assert_one_line_error(r, 3, str(old), "disk full", "the previous plan", "intact")
    assert snapshot(old) == before and hidden(old.parent) == []


def test_full_tmpfs_exits_3_and_keeps_the_old_plan(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if m.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({m.stderr.strip()}); the injected ENOSPC "
                    "test covers the CLI")
    try:
        out = disk / "out"
        r = run("plan", DEMO, "-o", out, "--no-maps")  # ~0.3 MB: fits
        assert r.returncode == 0, r.stderr
        before = snapshot(out)
        r = run("plan", DEMO, "-o", out)  # with maps ~1.7 MB: the disk fills up
        assert_one_line_error(r, 3, "disk full", "the previous plan", "intact")
        assert snapshot(out) == before and hidden(disk) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# ------------------------------------------------------------------ SIGKILL
def test_sigkill_at_several_moments_leaves_a_whole_plan_and_the_next_run_cleans_up(
        old: Path) -> None:
    scen = old.parent.parent / "scen"
    before = snapshot(old)
    seen = []
    for delay in (0.3, 1.0, 2.0, "temp", "temp+0.3"):
        proc = start("plan", scen, "-o", old)
        if isinstance(delay, float):
            time.sleep(delay)
        else:  # as soon as (or a little after) the run starts writing its temp folder
            end = time.monotonic() + 60
            mine = f".out.lrcplan-tmp-{proc.pid}-"  # not a stale one of an earlier kill
            while not any(n.startswith(mine) for n in hidden(old.parent)):
                assert proc.poll() is None and time.monotonic() < end
                time.sleep(0.005)
            time.sleep(0.3 if delay == "temp+0.3" else 0)
        kill(proc)
        seen.append(assert_whole(old, before))
        before = snapshot(old)
    r = run("plan", scen, "-o", old, "--no-maps")
    assert r.returncode == 0, r.stderr
    assert hidden(old.parent) == []  # no temp, old or lock folder left
    print("SIGKILL left:", seen)  # old or new at each moment depends on the machine's speed


def test_sigkill_between_the_two_renames_restores_the_old_plan(old: Path,
                                                               tmp_path: Path) -> None:
    scen, sig = tmp_path / "scen", tmp_path / "paused"
    before = snapshot(old)
    proc = start("plan", scen, "-o", old, "--no-maps", mode="between-renames", signal_file=sig)
    try:
        wait_for(sig, proc)
        # Meanwhile a second run for the same folder is refused, not let loose on it.
        assert_one_line_error(run("plan", scen, "-o", old, "--no-maps"), 2,
                              "another lrcplan run")
    finally:
        kill(proc)
    assert not old.exists()  # the moment the issue describes: only the hidden old plan
    assert snapshot(old.with_name(".out.lrcplan-old")) == before
    check_output(old, "plan", protect=[scen])  # the next run's first step
    assert snapshot(old) == before and hidden(old.parent) == []


def test_sigkill_after_the_swap_keeps_the_new_plan_and_removes_the_old(old: Path,
                                                                       tmp_path: Path) -> None:
    scen, sig = tmp_path / "scen", tmp_path / "paused"
    before = snapshot(old)
    proc = start("plan", scen, "-o", old, mode="after-exchange", signal_file=sig)
    try:
        wait_for(sig, proc)
    finally:
        kill(proc)
    assert assert_whole(old, before) == "new"
    (left,) = [n for n in hidden(old.parent) if n.startswith(".out.lrcplan-tmp-")]
    assert snapshot(old.parent / left) == before  # the old plan, under the temp name
    r = run("plan", scen, "-o", old, "--no-maps")
    assert r.returncode == 0 and "removed" in r.stderr, r.stderr
    assert hidden(old.parent) == []
