"""The import summary's lists of duplicates and imported files, grouped where one place
gives many: a full training file's conversations, or a folder's files.

Re-dropping a library's folders lists every file again, and a full training file holds
thousands of conversations: one line each buries the rejected files (listed one by one,
as each needs its own reason) under thousands of lines that say the same.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from app.duplicate_words import duplicate_line as duplicate_line
from app.duplicate_words import whose
from app.importer import FileVerdict, folder_batch_names
from app.wording import first_few
from ui.wording import and_list, plural

GROUP_FROM = 20  # one place's verdicts in a section are grouped from this many
EXAMPLES = 3  # file names a folder's line shows


def folder_and_name(path: str) -> tuple[str, str]:
    """``str(Path(path).parent)`` and ``Path(path).name``, without a Path per file: a
    10,000-file import's summary built 30,000 of them, some 70 ms on the window's thread
    before the dialog showed. A name that ends in a separator or "." goes the slow way.
    Where "/" is the one separator, the path is cut at its last one (``os.path.split``
    costs twice as much, and ``_folder`` writes the head as Path does either way)."""
    if os.altsep is None and os.sep == "/":
        cut = path.rfind("/") + 1
        head, tail = path[:cut], path[cut:]
    else:
        head, tail = os.path.split(path)
    if tail in ("", "."):
        whole = Path(path)
        return str(whole.parent), whole.name
    return _folder(head), tail


@functools.lru_cache(maxsize=4096)
def _folder(head: str) -> str:
    """A folder as Path writes it (no doubled or trailing separator; "." for none): once a
    folder, as a drop's thousands of files share a few folders."""
    return str(Path(head))


def _place(verdict: FileVerdict) -> tuple[str, bool]:
    """Where a verdict comes from: its full training file, else its folder; and which."""
    if verdict.path != verdict.file:
        return verdict.file, True
    return folder_and_name(verdict.path)[0], False


def grouped_lines(items: list[FileVerdict], line: Callable[[FileVerdict], str],
                  group: Callable[[list[FileVerdict]], str],
                  short: Callable[[str], str]) -> list[str]:
    """One line a verdict (``line``), except where a place gives ``GROUP_FROM`` or more, or
    a full training file more than one: then one line (``group`` of what follows the
    place's name and count), where the place's first verdict stood. Not indented: the
    summary's view shows each line as a row of its section, its text indents them."""
    places: dict[tuple[str, bool], list[FileVerdict]] = {}
    for verdict in items:
        places.setdefault(_place(verdict), []).append(verdict)
    folders = folder_labels([place for place, whole_file in places if not whole_file])
    lines: list[str] = []
    for (place, whole_file), verdicts in places.items():
        if len(verdicts) < (2 if whole_file else GROUP_FROM):
            lines += [line(verdict) for verdict in verdicts]
            continue
        if whole_file:
            head = f"{short(place)}: {plural(len(verdicts), 'conversation')}"
        else:
            names = [folder_and_name(v.path)[1] for v in verdicts[:EXAMPLES]]
            more = len(verdicts) - len(names)
            listed = and_list([*names, f"{more:,} more"] if more else names)
            head = f"{folders[place]}/: {plural(len(verdicts), 'file')} ({listed})"
        lines.append(f"{head} {group(verdicts)}")
    return lines


def folder_labels(folders: list[str]) -> dict[str, str]:
    """Each folder by its name, or by as many folders above it as tell it from another of
    the same name ("delivery-A/batch-000", "delivery-B/batch-000"): five lines
    "batch-000/: 200 files" from five deliveries could not be told apart."""
    named = folder_batch_names([Path(folder).parts or (folder,) for folder in folders])
    return {folder: named[Path(folder).parts or (folder,)] for folder in folders}


def imported_group(verdicts: list[FileVerdict]) -> str:
    batches = sorted({str(v.batch_id) for v in verdicts})
    return f"→ {'batch' if len(batches) == 1 else 'batches'} {and_list(batches)}"


def duplicates_group(verdicts: list[FileVerdict]) -> str:
    """Where the stored copies are, by batch (what a person knows a conversation by)."""
    batches = sorted({v.stored_batch for v in verdicts if v.stored_batch})
    shown = [f"'{b}'" for b in batches[:EXAMPLES]]
    if len(batches) > EXAMPLES:
        shown.append(f"{len(batches) - EXAMPLES:,} more")
    where = (f" (in {'batch' if len(batches) == 1 else 'batches'} {and_list(shown)})"
             if batches else "")
    if all(v.imported_before for v in verdicts):
        return f"{'was' if len(verdicts) == 1 else 'were'} imported before{where}: skipped"
    return f"{'is' if len(verdicts) == 1 else 'are'} already in the library{where}: skipped"


def repeats_group(short: Callable[[str], str]) -> Callable[[list[FileVerdict]], str]:
    """What many repeats of this import's conversations repeat: the files they were
    imported from, the first few by name."""
    def group(verdicts: list[FileVerdict]) -> str:
        files = list(dict.fromkeys(short(FileVerdict(v.earlier, v.verdict).file)
                                   for v in verdicts if v.earlier))
        listed = and_list(files) if len(files) <= EXAMPLES else first_few(files, EXAMPLES)
        return (f"{'repeats' if len(verdicts) == 1 else 'repeat'} conversations imported "
                f"earlier in this import{f' (from {listed})' if files else ''}: skipped")
    return group


def near_line(verdict: FileVerdict, short: Callable[[str], str]) -> str:
    """A stored conversation flagged near_duplicate, by its file and what it nearly
    repeats; its id last."""
    where = verdict.near_where or f"conversation {verdict.near_of}"
    return (f"{short(verdict.path)}: {whose(verdict)} nearly repeats {where}. "
            f"Conversation id {verdict.conversation_id}")


def near_group(verdicts: list[FileVerdict]) -> str:
    """Many flagged ones from one place: where what they repeat is, the first few."""
    places = list(dict.fromkeys(str(v.near_where) for v in verdicts if v.near_where))
    listed = and_list(places) if len(places) <= EXAMPLES else first_few(places, EXAMPLES)
    return (f"{'nearly repeats' if len(verdicts) == 1 else 'nearly repeat'} conversations "
            f"stored before {'it' if len(verdicts) == 1 else 'them'}"
            + (f" ({listed})" if places else ""))
