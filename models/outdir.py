"""Output folders: nothing the user owns is ever deleted, and a crash never loses a plan.

Every folder lrcplan writes (a plan by `lrcplan plan` / `lrcplan map`, a scenario by
`lrcplan generate`) goes through `atomic_folder(target, kind=..., protect=...)`. The rules:

Ownership.  An existing `target` is replaced only if it is a folder lrcplan wrote itself:
    it carries lrcplan's marker {"format": "lrcplan-output", "format_version": 1, "kind":
    "plan" | "scenario", "files": {relative path: first 16 hex digits of its sha256}} of the
    same kind -- kept in the folder's extended attribute `user.lrcplan`, so a plan or
    scenario folder holds exactly its tables (and a copy made with `cp -a`, `shutil.copytree`
    or rsync -X keeps it), or in a `.lrcplan.json` file inside where the file system has no
    user extended attributes (FAT, some network shares) -- and it
    holds no file the manifest does not list and no listed file changed since (a user's
    notes.txt, an Excel-edited enrolment.csv or a hand-edited scenario are the user's and
    are never deleted). An empty folder may be used. Anything else -- a regular file, a
    folder without the marker (including plans of lrcplan versions before the marker), a
    marker of the other kind or of a newer format -- is refused with `InputError` (CLI exit
    2) saying why. The target may not be, lie inside, or contain a protected path (the
    scenario folder): symlinks are resolved and every ancestor is compared by (device,
    inode), so bind mounts and links do not fool it. `check_output` runs all these checks
    before any solving starts; `atomic_folder` runs them again under the lock, just before
    the swap.

Writing.  The block writes into a fresh hidden folder beside the target,
    `.{name}.lrcplan-tmp-{pid}-{8 hex}` (same file system, so renames are atomic; the name
    says whose it is). When the block succeeds every file is fsynced, the marker is written
    and fsynced, the folders are fsynced, and the new folder is swapped in with
    renameat2(RENAME_EXCHANGE) -- one atomic step: at every instant `name` is either the
    complete old or the complete new folder. The old folder, now under the temp name, is
    then removed. Where the file system cannot exchange, the fallback is two renames:
    `name` -> `.{name}.lrcplan-old`, temp -> `name`, then the old one is removed. The
    parent folder is fsynced after the swap, so a power cut does not undo it.

Failures.  Any OSError (disk full, quota, permission denied, read-only file system, I/O
    error...) or GDAL/pyogrio/fiona error while creating the parent, locking, writing,
    syncing or swapping becomes `OutputError` (not an InputError; CLI exit 3) with one line:
    the path, the cause in words, and that the previous folder is intact. The temp folder
    is removed; the previous folder was never touched (or, if the fallback's second
    rename fails, is renamed back).

Concurrency and crash recovery.  A run holds an exclusive flock on `.{name}.lrcplan-lock`
    beside the target from before its temp folder exists until after the swap (the file
    holds the owner's pid and is unlinked on release; acquisition re-checks the inode so an
    unlink race cannot give two owners). A second run for the same target is refused at
    once (exit 2) instead of trampling the first. Whoever holds the lock next -- the next
    run's early `check_output`, or `atomic_folder` itself -- recovers what a killed run
    (SIGKILL, power cut) left: every `.{name}.lrcplan-tmp-*` folder is stale (its owner
    would hold the lock) and is removed; a `.{name}.lrcplan-old` with no `name` (killed
    between the fallback's two renames) is renamed back to `name`, restoring the previous
    folder; a `.{name}.lrcplan-old` beside a `name` (killed after the swap) is removed.
    Recoveries are reported as warnings on stderr.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from lrcplan.models.errors import InputError, OutputError

XATTR = "user.lrcplan"
MARKER = ".lrcplan.json"  # where a file system has no user extended attributes
MARKER_FORMAT = "lrcplan-output"
FORMAT_VERSION = 1
KINDS = ("plan", "scenario")
# Files an operating system's file browser drops into any folder it shows: not the user's.
_JUNK = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


# ------------------------------------------------------------------ names beside the target
def _lock_path(real: Path) -> Path:
    return real.with_name(f".{real.name}.lrcplan-lock")


def _old_path(real: Path) -> Path:
    return real.with_name(f".{real.name}.lrcplan-old")


def _is_tmp_name(real: Path, name: str) -> bool:
    pattern = rf"\.{re.escape(real.name)}\.lrcplan-tmp-\d+-[0-9a-f]{{8}}"
    return re.fullmatch(pattern, name) is not None


# ------------------------------------------------------------------ checks
def _resolve(target: PathLike) -> Path:
    """The absolute target with every symlink resolved (temp and lock go beside the real one)."""
    path = Path(target)
    if path.is_symlink() and not path.exists():
        raise InputError(f"{target}: is a broken symbolic link; give a folder")
    real = Path(os.path.realpath(path))
    if real.parent == real:
        raise InputError(f"{target}: cannot be an output folder (it is the root)")
    return real


def _id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _ids(path: Path) -> list[tuple[int, int]]:
    """(device, inode) of path and each of its ancestors that exist."""
    return [i for p in (path, *path.parents) if (i := _id(p)) is not None]


def _check_protect(real: Path, shown: str, kind: str, protect: Sequence[PathLike]) -> None:
    """InputError if real is, contains or lies inside a protected folder (by path or inode)."""
    r_id, r_up = _id(real), _ids(real.parent)
    for prot in protect:
        p_real = Path(os.path.realpath(prot))
        p_id, p_up = _id(p_real), _ids(p_real.parent)
        if real == p_real or (r_id is not None and r_id == p_id):
            why = "is the scenario folder itself"
        elif real in p_real.parents or (r_id is not None and r_id in p_up):
            why = f"contains the scenario folder {prot}"
        elif p_real in real.parents or (p_id is not None and p_id in r_up):
            why = f"lies inside the scenario folder {prot}"
        else:
            continue
        raise InputError(f"{shown}: the {kind} folder {why}; lrcplan never writes into or "
                         "replaces a scenario: choose another output folder")


def _digest(path: Path, *, sync: bool = False) -> str:
    """The file's sha256, shortened to 64 bits: enough to notice an edit, small enough that
    the manifest of a plan fits in one extended attribute."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
        if sync:
            os.fsync(fh.fileno())
    return h.hexdigest()[:16]


_NO_XATTR = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.E2BIG, errno.ENOSPC, errno.ERANGE,
             errno.EPERM, errno.EACCES)


def _read_marker(folder: Path) -> bytes | None:
    """The marker: the folder's extended attribute, else the `.lrcplan.json` file in it."""
    try:
        return os.getxattr(folder, XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, *_NO_XATTR):
            raise
    try:
        return (folder / MARKER).read_bytes()
    except FileNotFoundError:
        return None


def _write_marker(folder: Path, doc: dict[str, object]) -> None:
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        os.setxattr(folder, XATTR, raw, follow_symlinks=False)
        with suppress(FileNotFoundError):
            os.unlink(folder / MARKER)  # copied over from the previous version (lrcplan map)
        return
    except OSError as exc:
        if exc.errno not in _NO_XATTR:
            raise
    with open(folder / MARKER, "wb") as fh:  # a file system without user xattrs (FAT...)
        fh.write(raw + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def _files(folder: Path) -> list[str]:
    """Every non-folder entry under folder (symlinks included, not followed), relative."""
    out = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        out += [(rel / f).as_posix() for f in files]
        out += [(rel / d).as_posix() for d in dirs if os.path.islink(Path(root) / d)]
    return out


def _refuse(shown: str, kind: str, why: str) -> InputError:
    return InputError(f"{shown}: {why}; lrcplan replaces only a {kind} folder it wrote "
                      "itself: choose a new or empty folder, or move this one away yourself")


def _check_ours(real: Path, shown: str, kind: str) -> None:
    """Raise InputError unless real is absent, an empty folder, or lrcplan's unchanged output."""
    if not os.path.lexists(real):
        return
    if not real.is_dir():
        raise InputError(f"{shown}: is a file, not a folder; lrcplan will not replace it: "
                         "choose a folder name")
    entries = [n for n in os.listdir(real) if n not in _JUNK]
    if not entries:
        return
    raw = _read_marker(real)
    if raw is None:
        what = ("it holds a scenario (scenario.toml)" if (real / "scenario.toml").exists()
                else "it has no lrcplan marker; a copy made without extended attributes "
                     "loses it")
        raise _refuse(shown, kind, f"this folder is not a {kind} lrcplan wrote ({what})")
    try:
        doc = json.loads(raw)
        ok = doc.get("format") == MARKER_FORMAT and isinstance(doc.get("files"), dict)
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        raise _refuse(shown, kind, "its lrcplan marker is unreadable")
    if doc.get("kind") != kind:
        raise _refuse(shown, kind, f"it is a {doc.get('kind')} lrcplan wrote, not a {kind}")
    if not isinstance(doc.get("format_version"), int) or doc["format_version"] > FORMAT_VERSION:
        raise _refuse(shown, kind, "it was written by a newer lrcplan")
    listed: dict[str, str] = doc["files"]
    present = [f for f in _files(real) if f != MARKER and Path(f).name not in _JUNK]
    extra = sorted(f for f in present if f not in listed)
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        raise _refuse(shown, kind, "it holds files lrcplan did not write: "
                      + ", ".join(extra[:3]) + more)
    changed = sorted(f for f in present
                     if not stat.S_ISREG(os.lstat(real / f).st_mode)
                     or _digest(real / f) != listed[f])
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise _refuse(shown, kind, "files changed since lrcplan wrote them: "
                      + ", ".join(changed[:3]) + more)


# ------------------------------------------------------------------ failures in words
_CAUSES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
           errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
           errno.EROFS: "read-only file system", errno.EIO: "input/output error",
           errno.ENOTDIR: "a part of the path is a file, not a folder",
           errno.EEXIST: "a part of the path is a file, not a folder",
           errno.ENAMETOOLONG: "file name too long", errno.EMFILE: "too many open files"}
_TEXT_CAUSES = (("no space left", "disk full"), ("disk is full", "disk full"),
                ("disk quota", "disk quota exceeded"),
                ("permission denied", "permission denied"),
                ("read-only", "read-only file system"),
                ("input/output error", "input/output error"))


def _is_write_error(exc: BaseException) -> bool:
    """An OSError, or an error of the GDAL bindings (pyogrio, fiona, osgeo) while writing."""
    if isinstance(exc, OSError):
        return True
    return any(c.__module__.split(".")[0] in ("pyogrio", "fiona", "osgeo")
               for c in type(exc).__mro__)


def _disk_full(shown: str) -> bool:
    """Whether the file system of the output folder has (next to) no space left."""
    folder = Path(shown).parent
    try:
        st = os.statvfs(folder if str(folder) else ".")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _output_error(exc: BaseException, shown: str, kind: str, intact: bool) -> OutputError:
    if isinstance(exc, OSError) and exc.errno in _CAUSES:
        cause = _CAUSES[exc.errno]
    else:
        text = str(exc).lower()
        cause = next((c for key, c in _TEXT_CAUSES if key in text), None)
        if cause is None and _disk_full(shown):
            # GDAL's GeoPackage driver reports SQLite's full disk as "Failed to commit
            # transaction", without an errno: the free space says what happened.
            cause = "disk full"
        if cause is None:
            cause = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                     else " ".join(str(exc).split())[:200] or type(exc).__name__)
    where = getattr(exc, "filename", None)
    where = f" ({where})" if where else ""
    after = (f"the previous {kind} in {shown} is intact" if intact
             else f"nothing was written to {shown}")
    return OutputError(f"{shown}: cannot write the {kind}: {cause}{where}; {after}")


# ------------------------------------------------------------------ lock and recovery
class _Lock:
    """An exclusive flock on `.{name}.lrcplan-lock`, unlinked on release."""

    def __init__(self, real: Path, shown: str) -> None:
        self.path = _lock_path(real)
        self.shown = shown
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                pid = os.read(fd, 32).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise InputError(f"{self.shown}: another lrcplan run (pid {pid}) is writing "
                                 "this folder now; wait for it or choose another folder"
                                 ) from exc
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    os.close(fd)
                    raise
                # A file system without locks: go on unlocked rather than not at all.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous owner unlinked it between our open and flock
        self.fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            with suppress(OSError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = None


def _recover(real: Path, shown: str, kind: str) -> None:
    """Clean up after runs killed before they finished (the caller holds the lock)."""
    parent = real.parent
    for entry in os.scandir(parent):
        if _is_tmp_name(real, entry.name) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
            log.warning("note: removed %s, left by an lrcplan run that did not finish",
                        entry.path)
    old = _old_path(real)
    if old.is_dir() and not old.is_symlink():
        if not os.path.lexists(real):
            os.rename(old, real)
            _fsync_dir(parent)
            log.warning("note: %s: restored the previous %s (a run was killed while "
                        "replacing it)", shown, kind)
        else:
            shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ syncing and swapping
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a directory: nothing to lose
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _seal(tmp: Path, kind: str) -> None:
    """fsync every file, write the marker with each file's hash, fsync every folder."""
    files = {f: _digest(tmp / f, sync=True) for f in sorted(_files(tmp)) if f != MARKER}
    _write_marker(tmp, {"format": MARKER_FORMAT, "format_version": FORMAT_VERSION,
                        "kind": kind, "files": files})
    for root, _, _ in os.walk(tmp, topdown=False):
        _fsync_dir(Path(root))


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
except (OSError, AttributeError):  # not glibc >= 2.28
    _renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap a and b atomically; False where the kernel or file system cannot."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _rename(a: Path, b: Path) -> None:
    os.rename(a, b)


def _swap(tmp: Path, real: Path) -> None:
    """Put tmp at real; whatever was at real ends up at tmp's name, for removal."""
    if not os.path.lexists(real) or (real.is_dir() and not os.listdir(real)):
        _rename(tmp, real)  # rename(2) replaces an empty folder atomically
    elif _exchange(tmp, real):
        pass
    else:
        old = _old_path(real)
        _rename(real, old)
        try:
            _rename(tmp, real)
        except BaseException:
            _rename(old, real)
            raise
        _rename(old, tmp)
    _fsync_dir(real.parent)


# ------------------------------------------------------------------ the public API
def check_output(target: PathLike, kind: str, protect: Sequence[PathLike] = ()) -> Path:
    """Check, before any work, that `target` may be written; recover after killed runs.

    Raises InputError when lrcplan may not replace `target` (see the module docstring),
    OutputError when its parent cannot be written. Returns the resolved target.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    shown = str(target)
    try:
        real = _resolve(target)
        _check_protect(real, shown, kind, protect)
        ancestor = next(p for p in real.parents if os.path.lexists(p))
        if not ancestor.is_dir():
            raise InputError(f"{shown}: {ancestor} is a file, not a folder")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise OSError(errno.EROFS if _read_only(ancestor) else errno.EACCES,
                          "not writable", str(ancestor))
        if real.parent.is_dir():
            with _Lock(real, shown):
                _recover(real, shown, kind)
                _check_ours(real, shown, kind)
        else:
            _check_ours(real, shown, kind)
    except OSError as exc:
        raise _output_error(exc, shown, kind, intact=os.path.isdir(target)) from exc
    return real


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextmanager
def atomic_folder(target: PathLike, *, kind: str,
                  protect: Sequence[PathLike] = ()) -> Iterator[Path]:
    """A temporary folder beside `target`, swapped in only when the block succeeds.

    `kind` is "plan" or "scenario"; `protect` lists folders (the scenario) the target may not
    be, contain or lie inside. An existing target is replaced only if lrcplan wrote it
    (InputError otherwise); a failure to write raises OutputError and leaves it intact.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    shown = str(target)
    real = _resolve(target)
    _check_protect(real, shown, kind, protect)
    intact = os.path.isdir(real)
    tmp: Path | None = None
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        with _Lock(real, shown):
            _recover(real, shown, kind)
            _check_ours(real, shown, kind)
            intact = os.path.isdir(real)
            tmp = real.with_name(f".{real.name}.lrcplan-tmp-{os.getpid()}-"
                                 f"{secrets.token_hex(4)}")
            os.mkdir(tmp, 0o777)  # the umask decides, as for any folder the user makes
            try:
                yield tmp
            except Exception as exc:
                if _is_write_error(exc):
                    raise _output_error(exc, shown, kind, intact) from exc
                raise
            _seal(tmp, kind)
            _check_protect(real, shown, kind, protect)  # again: the world may have moved
            _check_ours(real, shown, kind)
            _swap(tmp, real)
            intact = True
    except OSError as exc:
        raise _output_error(exc, shown, kind, intact) from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
