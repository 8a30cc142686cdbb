"""Known failures of the machine (disk full, read-only, locked, damaged) in words a person
can act on, kept apart from bugs.

A known failure says what happened to which file and what to do next. Anything else is a
bug in LoRA Studio: its details go to a log file and the person is told where it is.
"""

from __future__ import annotations

import errno
import sqlite3
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from app.errors import LibraryError

# SQLite's primary result codes by name (Python 3.11+ gives the name on every error).
_SQLITE_ADVICE = {
    "SQLITE_BUSY": "{db} is busy: another program is writing to it. Wait a moment and try "
                   "again; if it stays busy, close the other LoRA Studio or program using it.",
    "SQLITE_LOCKED": "{db} is busy: another program is writing to it. Wait a moment and try "
                     "again; if it stays busy, close the other LoRA Studio or program using it.",
    "SQLITE_READONLY": "{db} cannot be changed: the file or its folder is read-only. Reading "
                       "still works; to change the library, make its folder writable or copy "
                       "the library to a folder you may write to.",
    "SQLITE_FULL": "the disk holding {db} is full. Free some space on it and try again; the "
                   "step that failed changed nothing.",
    "SQLITE_CANTOPEN": "{db} cannot be opened: check that its folder exists and that you may "
                       "read it (and write to it, to change the library).",
    "SQLITE_PERM": "{db} may not be opened: you do not have permission. Ask for access to "
                   "the folder, or choose another library folder.",
    "SQLITE_IOERR": "the disk reported an error while using {db}. Check the disk or network "
                    "drive and try again; the step that failed changed nothing.",
    "SQLITE_CORRUPT": "{db} is damaged. Restore it from a backup (library.sqlite3.v*.bak "
                      "beside it, or your own), or move it away to start a new library.",
    "SQLITE_NOTADB": "{db} is not an SQLite database (the file is damaged or is something "
                     "else). Restore it from a backup, or move it away to start a new library.",
}
_SQLITE_BY_TEXT = (  # older SQLite builds: recognise the message instead
    ("database is locked", "SQLITE_BUSY"),
    ("readonly database", "SQLITE_READONLY"),
    ("database or disk is full", "SQLITE_FULL"),
    ("unable to open database file", "SQLITE_CANTOPEN"),
    ("disk I/O error", "SQLITE_IOERR"),
    ("malformed", "SQLITE_CORRUPT"),
    ("file is not a database", "SQLITE_NOTADB"),
)

_OS_ADVICE = {
    errno.ENOSPC: "the disk holding {file} is full. Free some space on it and try again; "
                  "the step that failed changed nothing.",
    errno.EDQUOT: "your disk quota is used up, so {file} cannot be written. Free some space "
                  "and try again.",
    errno.EFBIG: "{file} would be larger than this disk or your account allows. Free space "
                 "or choose another disk.",
    errno.EROFS: "{file} is on a read-only disk. Choose a place you may write to.",
    errno.EACCES: "you do not have permission to use {file}. Choose another place, or ask "
                  "for access to that folder.",
    errno.EPERM: "you do not have permission to use {file}. Choose another place, or ask for "
                 "access to that folder.",
    errno.ENAMETOOLONG: "the name or path {file} is too long for the file system. Choose a "
                        "shorter name or a folder nearer the top of the disk.",
    errno.EIO: "the disk reported an error while using {file}. Check the disk or network "
               "drive and try again.",
}


def unchangeable_library(root: Path, exc: OSError) -> str:
    """The one sentence for a change refused because nothing may be written in the library
    folder ``root`` (``exc``: what the disk said to a write there), whether the library is
    being opened for a change or a change is about to start in a window that opened it
    earlier: what cannot be done and why, that nothing was changed, what still works and
    what to do."""
    todo = ("make the folder writable, or copy the library to a folder you may write to "
            "and open the copy")
    if exc.errno == errno.EROFS:
        why = "its folder is on a read-only disk"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = "its folder is read-only for you"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why, todo = "the disk holding its folder is full", "free some space on it"
    else:
        why = f"nothing may be written in its folder ({exc.strerror or exc})"
    return (f"the library in {root} cannot be changed: {why}, so nothing was changed. "
            "Reading it still works (looking through the conversations and training files, "
            f"saving copies of them); to change it, {todo}.")


def os_advice(exc: OSError, file: str) -> str | None:
    """What a known failure of the disk (full, read-only, no permission…) means for
    ``file`` and what to do, in a sentence starting in lower case; None for other errors."""
    advice = _OS_ADVICE.get(exc.errno or -1)
    return advice.format(file=file) if advice else None


def sqlite_error_name(exc: BaseException) -> str | None:
    """The SQLite result code of an error (SQLAlchemy wraps it in ``.orig``), if any."""
    error = getattr(exc, "orig", exc)
    if not isinstance(error, sqlite3.Error):
        return None
    name = getattr(error, "sqlite_errorname", None)
    if name:
        for known in _SQLITE_ADVICE:
            if name == known or name.startswith(known + "_"):
                return known
    text = str(error)
    return next((code for words, code in _SQLITE_BY_TEXT if words in text), name or "")


# A team library's server, by what went wrong. Errors while connecting carry no SQLSTATE
# (libpq reports them as text), so those are recognised by their words; errors from a
# working connection by their SQLSTATE class or code.
_CONNECT_ADVICE = (
    (("Connection refused", "could not connect", "timeout expired", "Connection timed out",
      "No route to host", "Network is unreachable"),
     "the team library {db} cannot be reached: its server is not running or not reachable "
     "from here. Check the host and port, your network or VPN, and ask whoever runs the "
     "server whether it is up."),
    (("failed to resolve host", "could not translate host name", "Name or service not known"),
     "the team library {db} cannot be reached: its host name is unknown. Check the host in "
     "the URL, and your network or VPN."),
    (("password authentication failed", "no password supplied", "authentication failed",
      "no pg_hba.conf entry"),
     "the server of the team library {db} did not accept your login. Check the user name "
     "and password (a password can also come from your .pgpass file or PGPASSWORD), or ask "
     "whoever runs the server for access."),
    (("does not exist",),
     "the team library {db} does not exist on its server (no such database, or no such "
     "user). Check the database name in the URL, or ask whoever runs the server to create "
     "it (an empty database becomes a library when LoRA Studio first opens it)."),
    (("permission denied", "must be owner"),
     "you may not use the team library {db}: your database user lacks the permission. Ask "
     "whoever runs the server to grant it (CONNECT on the database, and the right to "
     "create tables when the library is new)."),
    (("too many connections", "remaining connection slots"),
     "the server of the team library {db} has no free connections. Close LoRA Studio "
     "windows you do not need, wait a moment and try again, or ask whoever runs the server "
     "to allow more connections."),
    (("server closed the connection", "terminating connection", "connection is lost",
      "the connection is closed", "consuming input failed", "SSL SYSCALL error"),
     "the connection to the team library {db} was lost (the server stopped or the network "
     "dropped). Finished work is kept; check the network and try again."),
)
_SQLSTATE_ADVICE = {
    "42501": _CONNECT_ADVICE[4][1],
    "53100": "the disk of the server of the team library {db} is full. Ask whoever runs "
             "the server to free space; the step that failed changed nothing.",
    "53300": _CONNECT_ADVICE[5][1],
    "25006": "the team library {db} was opened for reading only, so it cannot be changed "
             "here. Open it for writing to change it.",
    "57P01": _CONNECT_ADVICE[6][1],
    "57P02": _CONNECT_ADVICE[6][1],
    "57P03": "the server of the team library {db} is starting up or shutting down. Wait a "
             "moment and try again.",
    "3D000": _CONNECT_ADVICE[3][1],
    "28P01": _CONNECT_ADVICE[2][1],
    "28000": _CONNECT_ADVICE[2][1],
    "40001": "another member changed the team library {db} at the same moment. Try again; "
             "the step that failed changed nothing.",
    "40P01": "another member changed the team library {db} at the same moment. Try again; "
             "the step that failed changed nothing.",
    "55P03": "another member is changing the same part of the team library {db}. Wait a "
             "moment and try again; the step that failed changed nothing.",
}


def postgres_failure(exc: BaseException, database: str | None = None) -> str | None:
    """A sentence for an error of a team library's server (psycopg, or SQLAlchemy around
    it); None when it is not one we know. ``database`` is the URL shown (no password)."""
    error = getattr(exc, "orig", exc)
    module = type(error).__module__
    if not module.startswith("psycopg"):
        return None
    sqlstate = getattr(error, "sqlstate", None)
    text = str(error)
    advice: str | None = _SQLSTATE_ADVICE.get(sqlstate or "")
    if advice is None:
        advice = next((advice for words, advice in _CONNECT_ADVICE
                       if any(word in text for word in words)), None)
    if advice is None and sqlstate is None and type(error).__name__ == "OperationalError":
        first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
        advice = ("the team library {db} cannot be used: " + first.replace("{", "(")
                  .replace("}", ")") + ". Check the URL and that its server is running, "
                  "then try again.")
    if advice is None:
        return None
    if database:
        return advice.format(db=database)
    # Not told which library: "the team library" alone reads right in every sentence.
    return advice.format(db="").replace(" .", ".").replace(" :", ":").replace("  ", " ")


def known_failure(exc: BaseException, database: Path | str | None = None) -> str | None:
    """A sentence for a failure of the disk or the database; None when it is not one.
    ``database`` is the library database's file, or a team library's URL (no password)."""
    if isinstance(exc, LibraryError):
        return str(exc)
    if isinstance(database, str) or type(getattr(exc, "orig", exc)).__module__.startswith(
            "psycopg"):
        advice = postgres_failure(exc, str(database) if database else None)
        if advice is not None:
            return advice
        if isinstance(database, str):
            database = None
    code = sqlite_error_name(exc)
    if code is not None:
        advice = _SQLITE_ADVICE.get(code)
        db = f"the library database {database}" if database else "the library database"
        return advice.format(db=db) if advice else None
    if isinstance(exc, OSError):
        file = exc.filename or (str(database) if database else "a file")
        sentence = os_advice(exc, file)
        if sentence:
            return sentence[0].upper() + sentence[1:]
        if exc.strerror:
            return f"{file}: {exc.strerror}."
    return None


def as_library_error(exc: BaseException,
                     database: Path | str | None = None) -> LibraryError | None:
    text = known_failure(exc, database)
    return LibraryError(text) if text is not None else None


def failure_sentence(exc: BaseException, database: Path | str | None = None) -> str:
    """What to tell a person of any failure: its sentence when it is a known failure of
    the disk or the database, else a bug report (written to a log file)."""
    known = known_failure(exc, database)
    return known if known is not None else bug_report(exc)


HEADLINE_CHARACTERS = 200  # of an unexpected error's message shown to a person


def bug_report(exc: BaseException, log_folder: Path | None = None) -> str:
    """Write the traceback of an unexpected error to a log file; return what to tell."""
    folder = log_folder or Path(tempfile.gettempdir())
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    detail = "".join(traceback.format_exception(exc))
    elsewhere = getattr(exc, "child_traceback", "")  # a job's child process: its own
    if elsewhere:
        detail += f"\nWhere it happened (the job's own process):\n{elsewhere}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"lora-studio-error-{stamp}.log"
        log.write_text(detail, encoding="utf-8")
        where = f"The details are in {log}; please send that file to whoever looks after " \
                "LoRA Studio."
    except OSError:
        where = "Please report it to whoever looks after LoRA Studio."
    return (f"LoRA Studio met a problem it does not know how to handle ({_headline(exc)}). "
            f"Finished work is kept. {where}")


def _headline(exc: BaseException) -> str:
    """An error's type and the first line of its message, cut to fit a message box (a
    database error's text carries its whole statement and parameters: the log has them)."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > HEADLINE_CHARACTERS or len(lines) > 1:
        first = first[:HEADLINE_CHARACTERS].rstrip() + " …"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
