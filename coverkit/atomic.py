"""Write outputs atomically: one file at a time, or a whole set of files together.

A run that fails, is interrupted or is killed never leaves a half-written
output, nor a mix of old and new outputs, behind: :func:`atomic_path` for one
file, :func:`write_together` for a set (the map, the report files and the
saved plan of a county).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are not serialised
    fcntl = None  # type: ignore[assignment]

from coverkit.errors import OutputError


def shared_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file under the current umask.

    :func:`tempfile.mkstemp` creates files readable by their owner only; outputs
    are meant to be shared, so they get the usual mode before being moved in.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str], *, create: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success move it to ``final``.

    Parameters
    ----------
    final
        The output path.
    create
        Leave the (empty) temporary file in place; ``False`` removes it first
        for writers that must create the file themselves (GDAL).

    Yields
    ------
    Path
        Where to write. On any exception it is removed and ``final`` is untouched.
    """
    final = Path(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    if not create:
        tmp.unlink()
    try:
        yield tmp
        os.chmod(tmp, shared_file_mode())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_folder(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` and its parents, or raise one clear :class:`OutputError` line."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder '{folder}' ({exc.strerror}); choose another with --out"
        ) from exc


# ------------------------------------------------------------------ all-or-nothing output sets
#
# A run writes its new files into a staging folder ``.coverkit-run-<host>-<pid>-<start>-<random>``
# beside the targets, then commits them: under a lock on every target folder it writes a
# journal (``journal.json``: for each target its staged item, where the old one is kept and
# the staged item's inode), moves each old target aside into ``old/`` and the new one in,
# and renames the journal ``committed.json``. Until that rename a crash is undone (rolled
# back) from the journal; after it the new set stands and only the staging is removed. The
# staging name holds the owner's host, process id and process start time, so the next run
# (or ``coverkit map``/``report``) finishes or undoes the commits of runs that died and
# never touches a live run's staging.

#: Prefix of every staging folder.
STAGING_PREFIX = ".coverkit-run-"
_JOURNAL = "journal.json"
_COMMITTED = "committed.json"
_BACKUPS = "old"
_STAGING_NAME = re.compile(r"\.coverkit-run-([0-9a-f]{8})-(\d+)-(\d+)-[0-9a-f]{8}")
_ACTIVE: set[str] = set()  # staging folders in use by this process (any thread)
_ACTIVE_LOCK = threading.Lock()
_HINT = "check permissions and free space, or choose another folder with --out"

#: ``write_together``'s stage callback returns ``{key: (target, staged item or None)}``.
Moves = dict[str, tuple[Path, Path | None]]


class CommitInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while a complete output set was moved in.

    The moves were finished first (or undone, if one failed), so the message
    says which outputs are now in place.
    """


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt for one run so its clean-up runs.

    Some libraries catch every exception, KeyboardInterrupt included, and raise
    their own (openpyxl turns it into ``TypeError``). Whatever escapes the run
    after a signal arrived is therefore raised as the interrupt it was, so the
    CLI reports an interruption, not a traceback. Main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        arrived.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(sig) not in (signal.SIG_IGN, None):
                previous[sig] = signal.signal(sig, interrupt)
    except (ValueError, OSError):  # pragma: no cover - not in the main interpreter
        yield
        return
    try:
        yield
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if arrived:
            raise KeyboardInterrupt(f"signal {arrived[0]}") from exc
        raise
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM instead of acting on them; yield the list of those caught.

    Python runs signal handlers in the main thread whichever thread the kernel
    delivered the signal to, so recording there covers every thread. Signals
    that are ignored stay ignored. From a thread other than the main one the
    handlers cannot be changed and nothing is deferred (a signal then stops
    the main thread, never this one).
    """
    caught: list[int] = []

    def record(signum: int, frame: object) -> None:
        caught.append(signum)

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old = signal.getsignal(sig)
            if old in (signal.SIG_IGN, None):
                continue
            with contextlib.suppress(ValueError, OSError):
                previous[sig] = signal.signal(sig, record)
    try:
        yield caught
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@functools.cache
def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _process_start(pid: int) -> str | None:
    """The start time of a process (Linux ``/proc``), ``"0"`` where unknown, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else "0"
    except OSError:
        return "0"
    fields = text.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # a zombie has finished
        return None if fields and fields[0] in ("Z", "X") else "0"
    return fields[19]


@functools.cache
def _own_start() -> str:
    return _process_start(os.getpid()) or "0"


def _alive(pid: int, start: str) -> bool:
    if os.path.isdir("/proc/self"):
        found = _process_start(pid)
        return found is not None and (start == "0" or found in ("0", start))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _owner_gone(staging: Path) -> bool:
    """True if the run that made ``staging`` has ended (only then may it be cleaned)."""
    from coverkit import settings

    try:
        st = os.lstat(staging)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return False
    match = _STAGING_NAME.fullmatch(staging.name)
    if match is None:  # an older coverkit's staging: copies only, no journal
        return time.time() - st.st_mtime > settings.stale_staging_s
    host, pid, start = match.groups()
    if host != _host():
        return False  # another computer's run: not this one to judge
    if int(pid) == os.getpid() and start == _own_start():
        with _ACTIVE_LOCK:
            return os.path.abspath(staging) not in _ACTIVE
    return not _alive(int(pid), start)


def new_staging(base: str | os.PathLike[str]) -> Path:
    """Create a staging folder in ``base`` named after this process; OutputError if impossible."""
    base = Path(os.path.abspath(base))
    name = f"{STAGING_PREFIX}{_host()}-{os.getpid()}-{_own_start()}-{secrets.token_hex(4)}"
    with _ACTIVE_LOCK:  # registered before it exists: another thread never sees it unowned
        _ACTIVE.add(str(base / name))
    try:
        (base / name).mkdir(mode=0o700)
    except OSError as exc:
        with _ACTIVE_LOCK:
            _ACTIVE.discard(str(base / name))
        raise OutputError(f"cannot write into the folder {base} ({exc.strerror}); {_HINT}") from exc
    return base / name


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` durably: a temporary file, fsync, rename, fsync of the folder."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder and path != folder
    except ValueError:
        return False


def _valid_journal(staging: Path, data: Any) -> bool:
    """A journal this code wrote: every target inside the staging's parent, every item inside it.

    A staging folder may sit in a folder someone sent: its journal must not
    move anything outside that folder.
    """
    if not isinstance(data, dict) or data.get("version") != 1:
        return False
    base = os.path.realpath(staging.parent)
    entries, created = data.get("entries"), data.get("created")
    if not isinstance(entries, list) or not isinstance(created, list):
        return False
    paths = [e.get("target") for e in entries if isinstance(e, dict)] + created
    if len(paths) != len(entries) + len(created) or not all(isinstance(p, str) for p in paths):
        return False
    if any("\x00" in p or not os.path.isabs(p) for p in paths):
        return False
    if not all(_inside(os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p)),
                       base) for p in paths):  # fmt: skip
        return False
    for k, entry in enumerate(entries):
        staged, inode = entry.get("staged"), entry.get("inode")
        if entry.get("backup") != f"{_BACKUPS}/{k}":
            return False
        if staged is not None and not (
            isinstance(staged, str)
            and _inside(os.path.normpath(staging / staged), str(staging))
            and isinstance(inode, list)
            and len(inode) == 2
            and all(type(v) is int for v in inode)
        ):
            return False
    return True


def _read_journal(staging: Path) -> tuple[str, dict[str, Any]] | None:
    """(``"prepared"`` or ``"committed"``, journal) of a staging folder; None without one."""
    for state, name in (("committed", _COMMITTED), ("prepared", _JOURNAL)):
        path = staging / name
        if not os.path.lexists(path):
            continue
        try:
            data = json.loads(path.read_bytes()[: 16 * 2**20])
        except (OSError, ValueError, RecursionError):
            data = None
        return state, data
    return None


def _lock(folder: str, *, wait: bool) -> int | None:
    """An exclusive lock on ``folder`` (an fd to close to release it); None if busy or gone."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    if fcntl is None:  # pragma: no cover - no flock on this platform
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def _locked(folders: list[str], held: dict[str, int], *, wait: bool) -> Iterator[bool]:
    """Lock ``folders`` not in ``held`` (sorted, so runs never wait on each other in a circle).

    Yields whether every existing folder was locked; ``wait=False`` gives up on a busy one.
    """
    fds: dict[str, int] = {}
    ok = True
    try:
        for folder in sorted(set(folders) - set(held)):
            if not os.path.isdir(folder):
                continue
            fd = _lock(folder, wait=wait)
            if fd is None:
                ok = False
                break
            fds[folder] = fd
        held.update(fds)
        yield ok
    finally:
        for folder, fd in fds.items():
            held.pop(folder, None)
            os.close(fd)


def _same_inode(path: str, inode: list[int]) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return [st.st_dev, st.st_ino] == inode


def _roll_back(staging: Path, data: dict[str, Any]) -> None:
    """Undo the moves of a journal, newest first; OSError if one cannot be undone.

    A target that no longer holds this run's item (another run replaced it
    since) is left alone, and so is the old item then.
    """
    for entry in reversed(data["entries"]):
        target, backup = entry["target"], staging / entry["backup"]
        if entry["staged"] is not None:
            staged = staging / entry["staged"]
            if not os.path.lexists(staged) and _same_inode(target, entry["inode"]):
                os.rename(target, staged)
        if os.path.lexists(backup) and not os.path.lexists(target):
            os.rename(backup, target)
    for folder in reversed(data["created"]):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only if still empty


def _finish(staging: Path, state: str | None) -> None:
    """Remove a staging folder whose journal is done with (rolled back or committed)."""
    if state == "committed":
        # the old items go first: without committed.json a staging is never rolled back,
        # and without old/ there is nothing left to roll back with
        shutil.rmtree(staging / _BACKUPS, ignore_errors=True)
        (staging / _COMMITTED).unlink(missing_ok=True)
    (staging / _JOURNAL).unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)
    with _ACTIVE_LOCK:
        _ACTIVE.discard(str(staging))


def _recover_one(staging: Path, held: dict[str, int]) -> bool:
    """Finish or undo the commit of a dead run; False if left (busy, foreign or failing)."""
    found = _read_journal(staging)
    if found is None:  # died before committing anything: only copies inside
        _finish(staging, None)
        return True
    data = found[1]
    if not _valid_journal(staging, data):
        return False  # not a journal coverkit wrote: leave it alone
    parents = [os.path.dirname(e["target"]) for e in data["entries"]]
    with _locked(parents, held, wait=False) as ok:
        if not ok:
            return False
        found = _read_journal(staging)  # another run may have recovered it meanwhile
        if found is None:
            return True
        try:
            if found[0] == "prepared":
                _roll_back(staging, data)
        except OSError:
            return False
        _finish(staging, found[0])
    return True


def recover_stale(
    folders: Iterable[str | os.PathLike[str]], *, held: dict[str, int] | None = None
) -> list[Path]:
    """Finish or undo the output commits of runs that died, and remove their staging folders.

    Parameters
    ----------
    folders
        Folders to look in for ``.coverkit-run-*`` staging folders (not recursively).
    held
        Folder locks this process already holds (used inside a commit).

    Returns
    -------
    list of Path
        The staging folders dealt with. Those of live runs (this one included),
        of other computers, of other users, or with a journal coverkit did not
        write, are left alone.
    """
    done, seen = [], set()
    held = {} if held is None else held
    for folder in folders:
        try:
            children = sorted(
                p for p in Path(folder).iterdir() if p.name.startswith(STAGING_PREFIX)
            )
        except OSError:
            continue
        for staging in children:
            staging = Path(os.path.abspath(staging))
            if str(staging) in seen or not _owner_gone(staging):
                continue
            seen.add(str(staging))
            if _recover_one(staging, held):
                done.append(staging)
    return done


def _check_target(target: str, kind: str) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if kind == "file" and stat.S_ISDIR(st.st_mode):
        raise OutputError(
            f"{target} is a folder where coverkit writes a file; move or rename that folder, "
            "or choose another folder with --out"
        )
    if kind == "dir" and not (stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise OutputError(
            f"{target} is a file where coverkit writes a folder; move or rename that file, "
            "or choose another folder with --out"
        )


def _preflight(staging: Path, entries: list[dict[str, Any]]) -> None:
    """Refuse before anything moves: unwritable folder, other file system, wrong kind of target."""
    device = os.stat(staging).st_dev
    for parent in sorted({os.path.dirname(e["target"]) for e in entries}):
        if not os.path.isdir(parent):
            raise OutputError(
                f"{parent} is not a folder; move that file away or choose another --out"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(
                f"cannot write into the folder {parent} (read-only or not permitted); make it "
                "writable or choose another folder with --out"
            )
        if os.stat(parent).st_dev != device:
            raise OutputError(
                f"{parent} is on another disk than {staging.parent}; keep the output folders "
                "on one disk or choose another folder with --out"
            )
    for entry in entries:
        _check_target(entry["target"], entry["kind"])


def _move_in(staging: Path, entries: list[dict[str, Any]]) -> None:
    """For each target: the old item aside into ``old/``, the staged one in its place."""
    (staging / _BACKUPS).mkdir(exist_ok=True)
    for entry in entries:
        if os.path.lexists(entry["target"]):
            os.rename(entry["target"], staging / entry["backup"])
        if entry["staged"] is not None:
            os.rename(staging / entry["staged"], entry["target"])


def _entries(staging: Path, moves: Moves) -> list[dict[str, Any]]:
    """The journal entries of ``moves`` (absolute targets; staged items relative to staging)."""
    entries = []
    for k, (target, staged) in enumerate(moves.values()):
        entry: dict[str, Any] = {
            "target": os.path.abspath(target),
            "staged": None,
            "backup": f"{_BACKUPS}/{k}",
            "kind": "remove",
            "inode": None,
        }
        if staged is not None:
            st = os.lstat(staged)
            entry["staged"] = Path(os.path.abspath(staged)).relative_to(staging).as_posix()
            entry["kind"] = "dir" if stat.S_ISDIR(st.st_mode) else "file"
            entry["inode"] = [st.st_dev, st.st_ino]
        entries.append(entry)
    return entries


def _missing_folders(folders: Iterable[str]) -> list[str]:
    """The folders (and parents) that do not exist yet, parents first."""
    missing: list[str] = []
    for folder in sorted(set(folders)):
        chain = [folder, *(str(p) for p in Path(folder).parents)]
        for f in reversed([f for f in chain if not os.path.lexists(f)]):
            if f not in missing:
                missing.append(f)
    return missing


def _locked_commit(staging: Path, data: dict[str, Any], held: dict[str, int]) -> None:
    """Preflight and move everything in, or put everything back; under the folder locks."""
    try:
        recover_stale([staging.parent], held=held)
        _preflight(staging, data["entries"])
        _move_in(staging, data["entries"])
        os.replace(staging / _JOURNAL, staging / _COMMITTED)
        _fsync_dir(staging)
    except BaseException as exc:
        try:
            _roll_back(staging, data)
        except OSError as undo:
            raise OutputError(
                f"cannot move the outputs into place ({_reason(exc)}) nor put the earlier ones "
                f"back ({_reason(undo)}); they are kept in {staging}: fix the cause, then run "
                "coverkit again, which restores them"
            ) from exc
        (staging / _JOURNAL).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(
                f"cannot move the outputs into place ({_reason(exc)}); the earlier outputs "
                f"were kept as they were; {_HINT}"
            ) from exc
        raise


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OutputError) or not isinstance(exc, OSError):
        return str(exc).split(";")[0]
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _commit(staging: Path, moves: Moves) -> None:
    """Commit the staged ``moves`` all together (see the comment above :data:`STAGING_PREFIX`)."""
    entries = _entries(staging, moves)
    parents = [os.path.dirname(e["target"]) for e in entries]
    data = {"version": 1, "entries": entries, "created": _missing_folders(parents)}
    try:
        _write_json(staging / _JOURNAL, data)
        for folder in data["created"]:
            os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        for folder in reversed(data["created"]):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        (staging / _JOURNAL).unlink(missing_ok=True)
        raise OutputError(f"cannot prepare the outputs ({_reason(exc)}); {_HINT}") from exc
    held: dict[str, int] = {}
    with _locked(parents, held, wait=True):
        _locked_commit(staging, data, held)


def _discard(staging: Path) -> None:
    """Clean up after a run: undone or committed journals are finished, a failed undo kept."""
    found = _read_journal(staging)
    if found is not None and found[0] == "prepared":
        with _ACTIVE_LOCK:  # the undo failed: a later run restores from it
            _ACTIVE.discard(str(staging))
        return
    _finish(staging, found[0] if found else None)


def write_together(
    base: str | os.PathLike[str],
    stage: Callable[[Path], Moves],
    *,
    scan: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, Path]:
    """Write a set of outputs so that they all appear together, or none of them.

    Parameters
    ----------
    base
        A folder on the same disk as every target, where the staging folder
        goes (created if missing; removed again if the run fails).
    stage
        Called with an empty staging folder; writes the new files and folders
        into it and returns ``{key: (target, staged item)}``; a staged item of
        None removes the target.
    scan
        More folders where dead runs' staging folders may be (see
        :func:`recover_stale`); ``base`` is always looked in.

    Returns
    -------
    dict of str to Path
        The targets written, by key.

    Raises
    ------
    OutputError
        One line naming the folder or file and the fix, if a file cannot be
        written (no space, read-only, not permitted, name too long), a folder
        stands where a file goes, or the targets are on different disks. The
        targets are then exactly as they were.
    CommitInterrupted
        If SIGINT/SIGTERM arrived while the outputs were moved in: they are
        all in place (the signal waited for the commit).

    Notes
    -----
    Runs writing the same targets take turns (a lock on each target folder), so
    the result is one run's complete set. A run killed at any point (even
    ``kill -9``) leaves a journal from which the next run restores either the
    old set or the new set, whichever the killed run had reached.
    """
    base = Path(os.path.abspath(base))
    recover_stale([base, *scan])
    created = [Path(f) for f in _missing_folders([str(base)])]
    make_folder(base)
    staging: Path | None = None
    done = False
    try:
        staging = new_staging(base)
        moves = _stage(stage, staging, base)
        with deferred_signals() as caught:
            try:
                _commit(staging, moves)
                done = True
            finally:
                _discard(staging)
                staging = None
        if caught:
            raise CommitInterrupted(
                f"the new outputs were all in place when signal {caught[0]} arrived: "
                + ", ".join(sorted({str(t.parent) for t, s in moves.values() if s is not None}))
            )
        return {key: Path(t) for key, (t, s) in moves.items() if s is not None}
    finally:
        with deferred_signals():
            if staging is not None:
                _discard(staging)
            if not done:
                for folder in reversed(created):
                    with contextlib.suppress(OSError):
                        folder.rmdir()


def _outside(path: str, staging: Path, base: Path) -> str:
    """``path`` inside ``staging`` as the user sees it: ``base/…/<file name>``."""
    name = Path(path).name
    return str(base) if Path(path) == staging else str(base / "…" / name)


def _stage(stage: Callable[[Path], Moves], staging: Path, base: Path) -> Moves:
    """Run the writer; an OSError becomes one OutputError line naming ``base``, not the staging."""
    try:
        return stage(staging)
    except OutputError as exc:
        inside = re.escape(str(staging)) + r"[^\s;,)'\"]*"
        if not re.search(inside, str(exc)):
            raise
        message = re.sub(inside, lambda m: _outside(m.group(), staging, base), str(exc))
        raise OutputError(message) from exc
    except OSError as exc:
        name = f" {Path(exc.filename).name}" if exc.filename else ""
        raise OutputError(
            f"cannot write{name} into {base} ({exc.strerror or exc}); nothing was changed; {_HINT}"
        ) from exc
