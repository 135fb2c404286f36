"""Output folders, unit level: what may be replaced, writing failures, locks, recovery.

The end-to-end cases (the CLI, SIGKILL during real runs, a full tmpfs) are in
tests/test_outdir_e2e.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from lrcplan.models import outdir
from lrcplan.models.errors import InputError, OutputError
from lrcplan.models.outdir import atomic_folder, check_output


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under folder (hidden ones too) with the sha256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write(target: Path, files: dict[str, str], kind: str = "plan", **kw: object) -> None:
    with atomic_folder(target, kind=kind, **kw) as tmp:  # type: ignore[arg-type]
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    """A plan folder lrcplan wrote: two tables and a sub-folder."""
    out = tmp_path / "out"
    write(out, {"plan.json": '{"v": 1}', "enrolment.csv": "a,b\n", "sub/x.txt": "x"})
    return out


# ------------------------------------------------------------------ writing and replacing
def test_new_folder_appears_complete_with_the_marker_and_nothing_else(plan: Path) -> None:
    assert sorted(snapshot(plan)) == ["enrolment.csv", "plan.json", "sub/x.txt"]
    doc = json.loads(os.getxattr(plan, outdir.XATTR))
    assert doc["kind"] == "plan" and doc["format"] == "lrcplan-output"
    assert sorted(doc["files"]) == ["enrolment.csv", "plan.json", "sub/x.txt"]
    assert hidden(plan.parent) == []  # no temp, no lock, no old
    umask = os.umask(0)
    os.umask(umask)
    assert plan.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_own_plan_is_replaced_whole(plan: Path) -> None:
    write(plan, {"plan.json": '{"v": 2}'})
    assert snapshot(plan) == {"plan.json": hashlib.sha256(b'{"v": 2}').hexdigest()}
    assert hidden(plan.parent) == []


def test_missing_parents_are_created_and_empty_folder_is_used(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "out", {"plan.json": "{}"})
    assert (tmp_path / "a" / "b" / "out" / "plan.json").is_file()
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty", {"plan.json": "{}"})
    assert (tmp_path / "empty" / "plan.json").is_file()


def test_symlink_to_own_plan_writes_the_real_folder(plan: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(plan)
    write(link, {"plan.json": "{}"})
    assert link.is_symlink() and list(snapshot(plan)) == ["plan.json"]


# ------------------------------------------------------------------ refusals (exit 2)
@pytest.mark.parametrize(("setup", "message"), [
    (lambda d: (d.mkdir(), (d / "notes.txt").write_text("mine")), "has no lrcplan marker"),
    (lambda d: (d.mkdir(), (d / "scenario.toml").write_text("")), "holds a scenario"),
    (lambda d: d.write_text("a file"), "is a file, not a folder"),
])
def test_a_folder_or_file_lrcplan_did_not_write_is_never_replaced(tmp_path: Path, setup,
                                                                  message: str) -> None:
    target = tmp_path / "out"
    setup(target)
    before = target.read_bytes() if target.is_file() else snapshot(target)
    for call in (lambda: check_output(target, "plan"),
                 lambda: write(target, {"plan.json": "{}"})):
        with pytest.raises(InputError, match=message):
            call()
    assert (target.read_bytes() if target.is_file() else snapshot(target)) == before
    assert hidden(tmp_path) == []


def test_own_plan_with_a_users_file_or_edit_is_not_replaced(plan: Path) -> None:
    (plan / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds files lrcplan did not write: notes.txt"):
        write(plan, {"plan.json": "{}"})
    (plan / "notes.txt").unlink()
    (plan / "enrolment.csv").write_text("edited in Excel\n")
    with pytest.raises(InputError, match="files changed since lrcplan wrote them: enrolment"):
        check_output(plan, "plan")
    assert (plan / "enrolment.csv").read_text() == "edited in Excel\n"
    (plan / "enrolment.csv").write_text("a,b\n")  # edited back: lrcplan's again
    (plan / "sub" / "x.txt").unlink()  # a file the user deleted is no reason to refuse
    write(plan, {"plan.json": "{}"})


def test_kind_and_format_version_must_match(plan: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="it is a plan lrcplan wrote, not a scenario"):
        check_output(plan, "scenario")
    doc = json.loads(os.getxattr(plan, outdir.XATTR))
    os.setxattr(plan, outdir.XATTR, json.dumps({**doc, "format_version": 99}).encode())
    with pytest.raises(InputError, match="newer lrcplan"):
        check_output(plan, "plan")
    os.setxattr(plan, outdir.XATTR, b"not json")
    with pytest.raises(InputError, match="marker is unreadable"):
        check_output(plan, "plan")


def test_a_symlink_inside_is_not_lrcplans(plan: Path, tmp_path: Path) -> None:
    (tmp_path / "precious").write_text("mine")
    (plan / "enrolment.csv").unlink()
    (plan / "enrolment.csv").symlink_to(tmp_path / "precious")
    with pytest.raises(InputError, match="changed since"):
        write(plan, {"plan.json": "{}"})
    assert (tmp_path / "precious").read_text() == "mine"


@pytest.mark.parametrize(("out", "why"), [
    ("scen", "is the scenario folder itself"),
    ("scen/plan", "lies inside the scenario folder"),
    ("scen/deeper/plan", "lies inside the scenario folder"),
    (".", "contains the scenario folder"),
    ("link", "is the scenario folder itself"),
    ("link/plan", "lies inside the scenario folder"),
])
def test_output_may_not_be_contain_or_lie_inside_the_scenario(tmp_path: Path, out: str,
                                                              why: str) -> None:
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "scenario.toml").write_text("name = 'x'\n")
    (tmp_path / "link").symlink_to(scen)
    target = tmp_path / out
    for call in (lambda: check_output(target, "plan", protect=[scen]),
                 lambda: write(target, {"plan.json": "{}"}, protect=[scen])):
        with pytest.raises(InputError, match=why):
            call()
    assert snapshot(scen) == {"scenario.toml": hashlib.sha256(b"name = 'x'\n").hexdigest()}
    assert not (scen / "plan").exists() and hidden(scen) == []


def test_protected_folder_is_rechecked_at_rename_time(tmp_path: Path) -> None:
    scen, out, ran = tmp_path / "scen", tmp_path / "out", []
    with (pytest.raises(InputError, match="is the scenario folder itself"),  # noqa: PT012
          atomic_folder(out, kind="plan", protect=[scen]) as tmp):
        (tmp / "plan.json").write_text("{}")
        out.mkdir()  # while the plan is written, the scenario path comes to mean out
        scen.symlink_to(out)
        ran.append(True)
    assert ran and list(out.iterdir()) == [] and hidden(tmp_path) == []


def test_check_output_creates_nothing(tmp_path: Path) -> None:
    assert check_output(tmp_path / "a" / "b", "plan") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ writing failures (exit 3)
@pytest.mark.parametrize(("exc", "cause"), [
    (OSError(errno.ENOSPC, "No space left on device", "x.csv"), "disk full"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "disk quota exceeded"),
    (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
    (OSError(errno.EIO, "Input/output error"), "input/output error"),
])
def test_write_failure_is_an_output_error_and_the_old_plan_stays(plan: Path, exc: OSError,
                                                                 cause: str) -> None:
    before = snapshot(plan)
    with pytest.raises(OutputError) as info, atomic_folder(plan, kind="plan") as tmp:  # noqa: PT012
        (tmp / "plan.json").write_text("{}")
        raise exc
    msg = str(info.value)
    assert cause in msg and "\n" not in msg and "the previous plan" in msg and "intact" in msg
    assert not isinstance(info.value, InputError)
    assert snapshot(plan) == before and hidden(plan.parent) == []


def test_gdal_write_errors_are_output_errors_too(plan: Path) -> None:
    pyogrio_errors = pytest.importorskip("pyogrio.errors")
    before = snapshot(plan)
    with pytest.raises(OutputError, match="disk full"), atomic_folder(plan, kind="plan"):  # noqa: PT012
        raise pyogrio_errors.FeatureError("failed to write feature: database or disk is "
                                          "full")
    with (pytest.raises(OutputError, match="cannot write the plan: GDAL said no"),
          atomic_folder(plan, kind="plan")):
        raise pyogrio_errors.DataSourceError("GDAL said no")
    assert snapshot(plan) == before and hidden(plan.parent) == []


def test_other_errors_pass_through_and_leave_no_temp(plan: Path) -> None:
    before = snapshot(plan)
    for exc in (ValueError("a bug"), InputError("bad input"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), atomic_folder(plan, kind="plan"):  # noqa: PT012
            raise exc
    assert snapshot(plan) == before and hidden(plan.parent) == []


def test_failure_on_a_new_target_says_nothing_was_written(tmp_path: Path) -> None:
    with (pytest.raises(OutputError, match="disk full.*nothing was written"),
          atomic_folder(tmp_path / "new", kind="plan")):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_sealing_or_swapping(plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(plan)

    def no_space(*a: object, **k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outdir, "_write_marker", no_space)
    with pytest.raises(OutputError, match="disk full"):
        write(plan, {"plan.json": "{}"})
    monkeypatch.undo()
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)  # the two-rename fallback
    real_rename = outdir._rename

    def second_fails(a: Path, b: Path) -> None:
        if a.name.startswith(".out.lrcplan-tmp-"):
            raise OSError(errno.EIO, "Input/output error")
        real_rename(a, b)

    monkeypatch.setattr(outdir, "_rename", second_fails)
    with pytest.raises(OutputError, match="input/output error"):
        write(plan, {"plan.json": "{}"})
    assert snapshot(plan) == before and hidden(plan.parent) == []  # renamed back


def test_parent_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises((InputError, OutputError), match="not a folder"):
        write(tmp_path / "file" / "out", {"plan.json": "{}"})
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(OutputError, match="permission denied"):
        check_output(tmp_path / "out", "plan")


def test_read_only_file_system(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a read-only tmpfs here: {r.stderr.strip()}")
    try:
        with pytest.raises(OutputError, match="read-only file system"):
            check_output(ro / "out", "plan")
        with pytest.raises(OutputError, match="read-only file system.*nothing was written"):
            write(ro / "out", {"plan.json": "{}"})
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def test_full_tmpfs(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        write(disk / "out", {"plan.json": "{}", "a.csv": "x" * 100_000})
        before = snapshot(disk / "out")
        with pytest.raises(OutputError, match=r"disk full") as info:
            write(disk / "out", {"plan.json": "{}", "a.csv": "y" * 200_000})
        assert "\n" not in str(info.value)
        assert snapshot(disk / "out") == before and hidden(disk) == []
        write(disk / "out", {"plan.json": "{}", "a.csv": "z" * 100_000})  # space came back
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# ------------------------------------------------------------------ lock and recovery
def test_a_second_writer_is_refused_while_the_first_writes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_folder(out, kind="plan") as tmp:
        (tmp / "plan.json").write_text("{}")
        with pytest.raises(InputError, match=f"another lrcplan run \\(pid {os.getpid()}\\)"):
            check_output(out, "plan")
        with pytest.raises(InputError, match="another lrcplan run"):
            write(out, {"plan.json": "{}"})
        assert tmp.is_dir()  # the second did not take the first's temp for a stale one
    assert (out / "plan.json").is_file() and hidden(tmp_path) == []


def test_stale_temp_folders_are_removed_and_strangers_kept(plan: Path, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    stale = tmp_path / ".out.lrcplan-tmp-999999-0123abcd"
    stale.mkdir()
    (stale / "enrolment.csv").write_text("STU1,...")
    strangers = [".out.lrcplan-tmp-mine", ".out.abcd1234", ".other.lrcplan-tmp-1-0123abcd",
                 ".out.lrcplan-tmp-1-0123abcd.lrcplan-tmp-2-0123abcd"]
    for name in strangers:
        (tmp_path / name).mkdir()
    check_output(plan, "plan")
    assert not stale.exists() and "removed" in caplog.text
    assert hidden(tmp_path) == sorted(strangers)


def test_old_folder_is_restored_when_the_swap_was_cut(plan: Path, tmp_path: Path) -> None:
    before = snapshot(plan)
    plan.rename(tmp_path / ".out.lrcplan-old")  # killed between the two renames
    (tmp_path / ".out.lrcplan-tmp-999999-0123abcd").mkdir()  # the new, never swapped in
    check_output(plan, "plan")
    assert snapshot(plan) == before and hidden(tmp_path) == []


def test_old_folder_beside_the_new_one_is_removed(plan: Path, tmp_path: Path) -> None:
    (tmp_path / ".out.lrcplan-old").mkdir()  # killed after the swap, before the clean-up
    before = snapshot(plan)
    write(plan, {"plan.json": "new"})
    assert snapshot(plan) != before and hidden(tmp_path) == []


def test_fallback_without_rename_exchange(plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    write(plan, {"plan.json": "new"})
    assert (plan / "plan.json").read_text() == "new" and hidden(plan.parent) == []


def test_marker_file_where_extended_attributes_are_missing(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    def unsupported(*a: object, **k: object) -> None:
        raise OSError(errno.ENOTSUP, "Operation not supported")

    monkeypatch.setattr(os, "setxattr", unsupported)
    monkeypatch.setattr(os, "getxattr", unsupported)
    out = tmp_path / "out"
    write(out, {"plan.json": "{}"})
    assert json.loads((out / outdir.MARKER).read_text())["files"] == {
        "plan.json": hashlib.sha256(b"{}").hexdigest()[:16]}
    write(out, {"plan.json": "[]"})
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="notes.txt"):
        write(out, {"plan.json": "{}"})
