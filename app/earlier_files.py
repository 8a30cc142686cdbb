"""The files an export replaces are kept until it has finished; what a stopped one left is
tidied by the next export to the same folder.

An export asked to replace a file keeps the earlier one beside it under a hidden name (a
hard link, or a copy on drives without links: FAT, exFAT, some network shares) and puts
it back if the export fails or is cancelled (``put_back_on_failure``). A process that is
killed, or a computer that goes off, runs no cleanup: its kept files and unfinished
temporary files would stay beside the person's files for ever, unexplained.

So an export holds an OS lock, for its whole run, on a small hidden record in each folder
it writes in (``.lora-studio-export.<run>.lock``, ``<run>`` new for each record); the
record lists what it kept there, and the run's hidden files there carry the same ``<run>``.
The operating system drops the lock when the process ends, however it ends. The next
export to that folder (``tidy_stopped_exports``) takes up records nobody holds: a kept file
whose original is there is removed, one whose original is missing is put back, unfinished
temporary files go, and each is said in a sentence naming the file. A record another
export holds is never touched: that export is still running (in another window, or on the
command line), and a lock, unlike a process id, cannot be mistaken for a new process that
got the same number. No lock is ever waited for: a record is held, or it is not.

An export that finished but could not remove a kept file (on Windows, another program has
it open) leaves its record, marked finished, for the next export to remove that file
quietly: nothing stopped, and the file was replaced as the person asked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from app.jsonio import TEMPORARY_NAME_KEEPS, watching_writes
from app.os_lock import try_lock, unlock

Progress = Callable[[int, int, str], None]

RECORD_PREFIX: Final = ".lora-studio-export."
RECORD_SUFFIX: Final = ".lock"
_RECORD: Final = re.compile(re.escape(RECORD_PREFIX) + r"([0-9a-f]{16})" + re.escape(RECORD_SUFFIX))
MB: Final = 1 << 20  # a copy is made, checked for Cancel and reported in parts of this size
RECORD_READ_LIMIT: Final = 1 << 20  # a record lists a few names; more is not ours
FINISHED: Final = b'"finished"\n'  # a record's last line when its export finished
HOLD_ATTEMPTS: Final = 5
STOPPED: Final = ("an export that stopped before it finished (LoRA Studio was stopped, or the "
                  "computer went off)")


def kept_name(name: str, run: str) -> str:
    """The hidden name the earlier file ``name`` is kept under by export ``run``. It keeps
    only the start of ``name``, so it ends with a digest of the whole name: a long JSONL's
    name and its manifest's begin alike, and one kept file must not take the other's place."""
    whole = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f".{name[:TEMPORARY_NAME_KEEPS]}.{run}.{whole}.kept"


def _copying_name(name: str, run: str) -> str:
    """Where a copy is made before it becomes the kept file: a kept file is always whole."""
    return f".{name[:TEMPORARY_NAME_KEEPS]}.{run}.keeping"


def _unfinished(name: str, run: str) -> bool:
    """A temporary file of ``run``'s: a copy being made, or a file being written
    (``app.jsonio.atomic_writer`` names it ``.<name>.<run>.<random>.tmp`` inside a run)."""
    return name.startswith(".") and (name.endswith(f".{run}.keeping")
                                     or (name.endswith(".tmp") and f".{run}." in name))


# --- the lock that dies with its process ----------------------------------------------


# A record is locked on its byte 0 where locks are byte ranges (Windows): nobody reads a
# record without holding its lock (``_take_up``), so the lock may cover what it lists.
RECORD_BYTE: Final = 0


def _close_held(fd: int) -> None:
    """Close a record, letting go of its lock first if this process holds it."""
    unlock(fd, at=RECORD_BYTE)
    os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the open record (a tidy may have removed it between
    its making and its locking)."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)


def _let_go(fd: int, path: Path) -> None:
    """Remove a record whose lock is held, then close it. Where the system allows it is
    removed while still locked, so nobody can take it for a stopped export's; Windows
    removes no open file, so there it is closed first (and a running export's record,
    open, cannot be removed by anyone)."""
    if sys.platform == "win32":
        _close_held(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    with contextlib.suppress(OSError):
        os.unlink(path)
    _close_held(fd)


# The records this process's running exports hold, by identity. Where the system keeps a
# lock per process rather than per open file (Linux grants flock on NFS as an fcntl lock),
# a look from this process gets a running export's lock at once, and closing that look
# drops it: so a record held here is never opened by a tidy in this process.
_HELD_HERE: set[tuple[int, int]] = set()


def _folder_key(folder: Path) -> tuple[int, int]:
    info = os.stat(folder)
    return info.st_dev, info.st_ino


# --- one export's run ---------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    """A record an export holds locked: its open file, its path, and the ``<run>`` its
    name gives (the run's hidden files in its folder carry it too)."""

    fd: int
    path: Path
    token: str


def _new_record(folder: Path) -> _Record:
    """A record made and locked in ``folder``. One someone holds the moment it is made was
    taken up by a tidy (empty, it removes it): another name is made, without waiting, since
    the name stays taken while that tidy holds it."""
    for _attempt in range(HOLD_ATTEMPTS):
        token = secrets.token_hex(8)
        path = folder / f"{RECORD_PREFIX}{token}{RECORD_SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o644)
        if try_lock(fd, at=RECORD_BYTE) and _same_file(fd, path):
            return _Record(fd, path, token)
        _close_held(fd)
        with contextlib.suppress(OSError):  # empty, and nothing carries its name: never left
            os.unlink(path)  # behind where no lock can be had (a share without locks)
    raise OSError(f"could not hold an export's record in {folder}")


class _Run:
    """One export while it runs: the record it holds locked in each folder it writes in,
    and what it moved into place (``app.jsonio.WriteWatch``)."""

    def __init__(self) -> None:
        self.records: dict[tuple[int, int], _Record] = {}
        self.written: dict[Path, tuple[int, int] | None] = {}

    def hold(self, folder: Path) -> _Record:
        """This run's record in ``folder``, made and locked before anything of the run's is
        put there."""
        key = _folder_key(folder)
        if key not in self.records:
            record = _new_record(folder)
            self.records[key] = record
            _HELD_HERE.add(_identity_of(record.fd))
        return self.records[key]

    def note_kept(self, folder: Path, kept: str, original: str) -> None:
        """Write down (to the disk) that ``original`` is kept as ``kept``, before it is."""
        fd = self.hold(folder).fd
        os.write(fd, json.dumps([kept, original]).encode("ascii") + b"\n")
        os.fsync(fd)

    def release(self, staying: Iterable[Path] = (), needed: Iterable[Path] = ()) -> None:
        """Let go of every record; one whose folder holds a kept file that ``staying``
        names (it could not be removed) stays, marked finished, for the next export. Never
        one whose folder holds a kept file ``needed`` names (an earlier file that could not
        be put back): the next export would remove it as finished."""
        left = set()
        for copy in staying:
            with contextlib.suppress(OSError):
                left.add(_folder_key(copy.parent))
        for copy in needed:
            with contextlib.suppress(OSError):
                left.discard(_folder_key(copy.parent))
        for key, record in self.records.items():
            held = _identity_of(record.fd)
            if key in left:
                with contextlib.suppress(OSError):
                    os.write(record.fd, FINISHED)
                    os.fsync(record.fd)
                _close_held(record.fd)
            else:
                _let_go(record.fd, record.path)
            _HELD_HERE.discard(held)
        self.records.clear()

    # app.jsonio.WriteWatch
    def temporary_tag(self, folder: Path) -> str:
        return self.hold(folder).token

    def moved_into_place(self, path: Path) -> None:
        self.written[path] = _identity(path)


def _identity_of(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        now = os.lstat(path)
    except OSError:
        return None
    return now.st_dev, now.st_ino


@contextlib.contextmanager
def put_back_on_failure(paths: Iterable[Path], progress: Progress | None = None,
                        check: Callable[[], None] | None = None,
                        tell: Callable[[str], None] | None = None) -> Iterator[None]:
    """The files among ``paths`` that exist now are as they were if the work inside fails
    or is cancelled: an export asked to replace a file takes back what it wrote when it
    does not finish, and must not take the person's earlier file with it.

    Each is kept as a hard link (a copy where links are refused, reported to ``progress``
    as it is made; ``check`` raises to cancel it, and nothing of it stays) under a hidden
    name beside it until the work ends (one that cannot be removed then is left to the next
    export's tidy, its record kept). One that cannot be put back stays under that name,
    and ``tell`` hears it in a sentence naming both (``not_put_back``): nothing else would
    find it, hidden and without a record. One that cannot be kept (no room for a copy) is
    not: the work's own writes fail there too, before they replace anything. One that was
    not there is not there after either: the work may fail after writing it and before it
    could list it for taking back. Folders made on the way are taken back when empty.
    Only this work's own files are taken back: one another export (another window, the
    command line) wrote there meanwhile stays, and the earlier file is not put back over
    it.
    """
    run = _Run()
    kept: list[tuple[Path, Path]] = []
    absent: list[Path] = []  # files the work may make: none of them stays if it fails
    missing: set[Path] = set()  # folders the work may make on the way to its files
    try:
        for path in paths:
            missing.update(folder for folder in path.parents if not folder.exists())
            if not os.path.lexists(path):
                absent.append(path)
            elif not path.is_dir():
                copy = _keep(run, path, progress, check)
                if copy is not None:
                    kept.append((path, copy))
        with watching_writes(run):
            yield
    except BaseException:
        stale, needed = _take_back(run.written, kept, absent)
        run.release(stale, [copy for _path, copy in needed])
        for path, copy in needed:
            if tell:
                tell(not_put_back(path, copy))
        for folder in sorted(missing, key=lambda f: len(f.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never what someone else put there
        raise
    else:
        run.release([copy for _path, copy in kept if not _removed(copy)])


def _removed(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        return False  # on Windows, another program has it open
    return True


def not_put_back(path: Path, copy: Path) -> str:
    """What a person must do for an earlier file a failed or cancelled export could not
    put back (on Windows, another program has the new file open): it is only under the
    hidden name ``copy``. Said after the failure's own words, which were written before the
    put-back was tried ("nothing was changed"), so it begins by saying what did."""
    return (f"One file did change: the new {path.name} could not be taken away, so your "
            f"earlier {path} is kept as {copy.name} (a hidden file) in that folder; rename "
            f"it back to {path.name} once no program has {path.name} open.")


def _take_back(ours: dict[Path, tuple[int, int] | None], kept: list[tuple[Path, Path]],
               absent: list[Path]) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """Put back what this work replaced; the kept copies that stay (on Windows, another
    program has a file open): stale ones, and (with their file) ones still holding an
    earlier file."""
    stale: list[Path] = []
    needed: list[tuple[Path, Path]] = []
    for path, copy in kept:
        now = _identity(path)
        if now is None or (path in ours and now == ours[path]):
            try:
                os.replace(copy, path)  # this work's own file is there, or none
            except OSError:
                needed.append((path, copy))
        elif not _removed(copy):  # never replaced, or replaced by another export since
            stale.append(copy)
    for path in absent:
        with contextlib.suppress(OSError):
            if path in ours and _identity(path) == ours[path]:
                path.unlink()
    return stale, needed


def _keep(run: _Run, path: Path, progress: Progress | None,
          check: Callable[[], None] | None) -> Path | None:
    try:
        token = run.hold(path.parent).token
        copy = path.with_name(kept_name(path.name, token))
        run.note_kept(path.parent, copy.name, path.name)
    except OSError:
        return None  # nothing may be written in its folder: the work's writes fail too
    if path.is_symlink() or not path.is_file():  # a link is kept as a link
        try:
            shutil.copy2(path, copy, follow_symlinks=False)
        except OSError:
            with contextlib.suppress(OSError):
                copy.unlink()
            return None
        return copy
    with contextlib.suppress(OSError):
        os.link(path, copy)
        return copy
    return _copied(path, copy, token, progress, check)


def _copied(path: Path, copy: Path, run: str, progress: Progress | None,
            check: Callable[[], None] | None) -> Path | None:
    """``path`` copied to ``copy`` part by part (a drive without hard links: a 2 GB file
    takes a minute there), saying so to ``progress`` and stopping when ``check`` raises;
    an unfinished copy never stays."""
    part = path.with_name(_copying_name(path.name, run))
    words = (f"keeping a copy of the earlier {path.name} (MB copied), in case this save "
             "does not finish")
    try:
        total = max(1, -(-os.stat(path).st_size // MB))
        if progress:
            progress(0, total, words)
        with path.open("rb") as source, part.open("xb") as out:
            done = 0
            while block := source.read(MB):
                if check:
                    check()
                out.write(block)
                done += len(block)
                if progress:
                    progress(min(-(-done // MB), total), total, words)
            out.flush()
            os.fsync(out.fileno())  # put back after a power cut, it must be whole
        shutil.copystat(path, part)
        os.replace(part, copy)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink()
        return None
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return copy


# --- what a stopped export left -----------------------------------------------------


@dataclass
class Tidied:
    """What ``tidy_stopped_exports`` did, in sentences naming each file, and the files it
    put back."""

    sentences: list[str] = field(default_factory=list)
    put_back: list[Path] = field(default_factory=list)


def tidy_stopped_exports(folders: Iterable[Path]) -> Tidied:
    """Take up what exports that stopped without finishing left in ``folders``: only
    records no running export holds (see the module's docstring). What cannot be removed
    now stays listed for the next export to try again."""
    tidied = Tidied()
    seen: set[tuple[int, int]] = set()
    for folder in folders:
        try:
            key = _folder_key(folder)
            names = [entry.name for entry in os.scandir(folder)]
        except OSError:
            continue  # not there yet, or not readable: the export says so if it matters
        if key in seen:
            continue
        seen.add(key)
        for name in names:
            found = _RECORD.fullmatch(name)
            if found:
                _take_up(folder, name, found.group(1), names, tidied)
    return tidied


def _take_up(folder: Path, name: str, run: str, names: list[str], tidied: Tidied) -> None:
    path = folder / name
    if _identity(path) in _HELD_HERE:
        return  # a running export of this process's
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError:
        return
    done = False
    try:
        if try_lock(fd, at=RECORD_BYTE) and _same_file(fd, path):  # else it is running
            records, finished = _records(fd, run)
            done = _tidy(folder, run, records, finished, names, tidied)
    finally:
        if done:
            _let_go(fd, path)
        else:
            _close_held(fd)


def _records(fd: int, run: str) -> tuple[list[tuple[str, str]], bool]:
    """The (kept, original) names a record lists, and whether its export finished; a line
    cut short by the end of its process, or not in the names ``run`` gives, is not one."""
    os.lseek(fd, 0, os.SEEK_SET)
    found = []
    lines = os.read(fd, RECORD_READ_LIMIT).splitlines(keepends=True)
    for line in lines:
        with contextlib.suppress(ValueError, TypeError):
            kept, original = json.loads(line)
            if (isinstance(original, str) and kept == kept_name(original, run)
                    and os.sep not in original and "/" not in original
                    and original not in ("", ".", "..")):
                found.append((kept, original))
    return found, FINISHED in lines


def _tidy(folder: Path, run: str, records: list[tuple[str, str]], finished: bool,
          names: list[str], tidied: Tidied) -> bool:
    """Deal with one stopped export's files in ``folder`` (or what one that ``finished``
    could not remove: quietly); True when nothing of it stays."""
    whole = True
    for kept, original in records:
        copy, path = folder / kept, folder / original
        if not os.path.lexists(copy):
            continue
        try:
            if finished:
                copy.unlink()  # the file it kept was replaced, as the person asked
            elif os.path.lexists(path):
                copy.unlink()
                tidied.sentences.append(f"Removed the earlier copy of {path} kept by "
                                        f"{STOPPED}; {original} itself is there.")
            elif _put_back(copy, path):
                tidied.put_back.append(path)
                tidied.sentences.append(
                    f"{path} was missing after {STOPPED}: the earlier file it had kept is "
                    "put back.")
                if os.path.lexists(copy):
                    whole = False  # its record stays, for the next export to remove it
            else:  # the file appeared meanwhile: the copy is stale after all
                copy.unlink()
        except OSError:
            whole = False
    leftovers = [folder / name for name in names if _unfinished(name, run)]
    removed = 0
    for leftover in leftovers:
        try:
            leftover.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            whole = False
    if removed and not finished:
        tidied.sentences.append(
            f"Removed {removed} unfinished temporary file{'s' if removed > 1 else ''} left "
            f"in {folder} by {STOPPED}.")
    return whole


def _put_back(copy: Path, path: Path) -> bool:
    """Move ``copy`` back to ``path`` unless a file appeared there meanwhile (False)."""
    if not copy.is_symlink():
        try:
            os.link(copy, path)  # never over a file another export just wrote
        except FileExistsError:
            return False
        except OSError:
            pass  # no hard links on this drive
        else:
            with contextlib.suppress(OSError):  # held open elsewhere: it is back all the same
                copy.unlink()
            return True
    os.replace(copy, path)
    return True
