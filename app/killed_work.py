"""What an import or a build killed mid-way left undone, said at the next start.

They keep a record while they run (``app.running_work``); a record no process holds any
more is work a kill cut short. An import stores chunk by chunk, so part of it is in the
library: the sentence says how much, and that importing the same files again finishes it
(the ones already stored are skipped). A build switches its training file in one
transaction, so a build killed before its switch changed nothing: the sentence names the
file and says so; a change of settings cut short also gets the file's settings from
before back (they are saved before its rebuild starts). One killed after its switch did
its change, and nothing is said.

An import cancelled as its window closed stopped cleanly, but the window that would have
said how far it got is gone: it leaves a record of that (``keep_unsaid_cancel``), and the
next start says it the same way. One cancelled with its own Cancel is said by its window
then (its summary and the status bar), and leaves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from app import running_work
from app.importer import IMPORT_RECORD, ImportReport, batches_stored_after
from app.library import Library
from app.models import TrainingFile
from app.running_work import Record
from app.trainingfiles import ADD_RECORD, CREATE_RECORD, SETTINGS_RECORD
from app.wording import plural

# The record of an import cancelled as its window closed (``keep_unsaid_cancel``).
CANCELLED_IMPORT_RECORD = "import cancelled unsaid"


def keep_unsaid_cancel(library: Library, paths: Sequence[Path], report: ImportReport,
                       replacing: int = 0) -> None:
    """``report``, of an import of ``paths`` cancelled where no window is left to say it
    (it closed), kept for the next start to say: what was imported, how far it got, and
    that importing the same again finishes it. Nothing for an import that ended whole.
    ``replacing``: the import was a Replace of that many changed conversations."""
    if not report.cancelled or library.read_only or (replacing and not report.replaced_ids):
        return  # (a Replace cancelled before it replaced one changed nothing)
    running_work.leave(library.root, {
        "kind": CANCELLED_IMPORT_RECORD, "from": [str(p) for p in paths],
        "files": report.found, "reached": report.found - report.not_reached,
        "stored": len(report.stored_ids),
        **({"replacing": replacing, "replaced": len(report.replaced_ids)}
           if replacing else {})})


def any_left(library: Library) -> bool:
    """Whether a killed import or build left a record (cheap: a folder listing; it reads
    only, so it runs on a library opened read-only)."""
    return bool(running_work.interrupted(library.root))


def say_and_forget(library: Library) -> list[str]:
    """One sentence for each killed import or build (the words after "LoRA Studio ..."
    at start), its record gone once said; nothing for a read-only library."""
    if library.read_only:
        return []
    return _settled(library, running_work.interrupted(library.root))


def settle_left_by(library: Library, pid: int, since_ns: int) -> list[str]:
    """``say_and_forget`` for the records of the process ``pid`` (a job's child the window
    killed, started at ``since_ns``): the window says the kill itself, the next start not
    again."""
    if library.read_only:
        return []
    return _settled(library, running_work.interrupted(library.root, pid, since_ns))


def _settled(library: Library, records: list[tuple[Path, Record | None]]) -> list[str]:
    said = []
    for path, record in records:
        sentence = (None if record is None  # cut short while written: it says nothing
                    else _import(library, record) if record.get("kind") == IMPORT_RECORD
                    else _cancelled_import(record)
                    if record.get("kind") == CANCELLED_IMPORT_RECORD
                    else _build(library, record))
        if sentence:
            said.append(sentence)
        running_work.forget(path)
    return said


def _from(record: Record) -> tuple[str, str]:
    """Where an import's record says it read (" from /x"), and what to import again
    ("folder", or "files" for a file or several places)."""
    places = [str(p) for p in record.get("from") or []]
    where = (f" from {places[0]}" if len(places) == 1 else
             f" from {places[0]} and {plural(len(places) - 1, 'other place')}" if places
             else "")
    what = ("files" if len(places) != 1 else
            "file" if places[0].lower().endswith((".json", ".jsonl")) else "folder")
    return where, what


def _again(what: str) -> str:
    return (f"import the same {what} again (drop {'them' if what == 'files' else 'it'} on "
            "the window) to finish it; the conversations already stored are skipped")


def _replace_again(what: str) -> str:
    return (f"import the same {what} again and answer Replace (--replace on the command "
            "line) to replace the rest; those already replaced are skipped")


def _import(library: Library, record: Record) -> str:
    where, what = _from(record)
    if record.get("replacing"):  # replaced in place: no new row counts them
        return (f"found that replacing {_changed(record)}{where} was interrupted (some "
                "may be replaced already, and the training files holding them are rebuilt "
                "as this library opens): " + _replace_again(what))
    stored = sum(count for _batch, count in
                 batches_stored_after(library, int(record.get("last_pk") or 0)))
    return (f"found that an import of {plural(int(record.get('files') or 0), 'file')}{where} "
            f"was interrupted ({plural(stored, 'conversation')} of it stored): "
            + _again(what))


def _changed(record: Record) -> str:
    """The changed conversations a replace was asked to replace, in words."""
    count = int(record.get("replacing") or 0)
    return "changed conversations" if count < 0 else plural(count, "changed conversation")


def _cancelled_import(record: Record) -> str:
    where, what = _from(record)
    if record.get("replacing"):
        replaced = int(record.get("replaced") or 0)
        return (f"found that replacing {_changed(record)}{where} was cancelled when its "
                f"window closed ({replaced:,} replaced): " + _replace_again(what))
    files, reached = int(record.get("files") or 0), int(record.get("reached") or 0)
    stored = plural(int(record.get("stored") or 0), "conversation")
    if files < 0:  # cancelled while it looked through the folders: it read no file
        return (f"found that an import{where} was cancelled when its window closed, while "
                f"it was still looking for files (nothing of it stored): " + _again(what))
    how_far = (f"{reached:,} of its {plural(files, 'file')} read" if reached < files
               else "its last file not read to its end")
    return (f"found that an import of {plural(files, 'file')}{where} was cancelled when its "
            f"window closed ({how_far}, {stored} of it stored): " + _again(what))


def _build(library: Library, record: Record) -> str | None:
    name = str(record.get("name") or "")
    change = record.get("change")
    with library.session() as session, session.begin():
        row = session.scalar(select(TrainingFile).where(TrainingFile.slug == name.casefold()))
        if change == CREATE_RECORD:
            if row is not None:
                return None  # killed after its switch: it was made
            count = plural(int(record.get("count") or 0), "conversation")
            return (f"found that creating the training file '{name}' from {count} was "
                    f"interrupted: '{name}' was not created and the library is as it was "
                    "before; create it again")
        if row is None or row.revision != record.get("revision"):
            return None  # done before the kill (or the file is gone since)
        if change == SETTINGS_RECORD:
            row.max_seq_len = int(record.get("max_seq_len") or row.max_seq_len)
            row.over_budget = str(record.get("over_budget") or row.over_budget)
            return (f"found that changing the settings of the training file '{row.name}' "
                    f"was interrupted: they were not changed, and '{row.name}' is as it was "
                    "before; change them again")
        if change == ADD_RECORD:
            count = plural(int(record.get("count") or 0), "conversation")
            return (f"found that adding {count} to the training file '{row.name}' was "
                    f"interrupted: nothing was added, and '{row.name}' is as it was "
                    "before; add them again")
    return None
