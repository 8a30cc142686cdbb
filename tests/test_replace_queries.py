"""The queries a replace makes: the checks read only the members asked about, and which
files hold the changed conversations is read once for the question and the checks before
the replace, and once after it. Real library (the fixtures in two batches), real SQL
statements seen on the library's engine, a real window answering the question."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import ENRICHED, open_window
from sqlalchemy import event
from test_replace_says_what import (
    conversation_id,
    first_reply_rewritten,
    import_in_window,
    regenerated,
    two_files,
)

from app import key_parts
from app.library import Library
from app.replace_checks import MemberChecks, _members

Statement = tuple[str, tuple[Any, ...]]


@contextmanager
def statements(library: Library) -> Iterator[list[Statement]]:
    """Each SQL statement the library's engine runs meanwhile, with its parameters."""
    seen: list[Statement] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any,
               _many: bool) -> None:
        seen.append((sql, tuple(parameters) if isinstance(parameters, (list, tuple)) else ()))

    event.listen(library.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(library.engine, "before_cursor_execute", record)


def test_the_members_checked_are_read_by_their_ids_in_chunks_not_the_whole_file(
        two_batches: Library, monkeypatch) -> None:
    """``_members`` asks SQL for the ids wanted (a chunk at a time), not for every member
    of the file; what it gives is as before: the ones the file holds, in file order."""
    library = two_batches
    a, b = two_files(library)
    assert len(a) >= 4
    not_in_a = next(cid for cid in b if cid not in a)
    asked = [a[3], a[0], not_in_a, a[2], "no-such-conversation", a[0]]
    monkeypatch.setattr(key_parts, "CHUNK", 2)

    with statements(library) as seen:
        found = _members(library, "Coaching A", asked)

    assert [cid for cid, _pk, _codes in found] == [a[0], a[2], a[3]]
    pks = library.resolve_ids([a[0], a[2], a[3]])
    assert [pk for _cid, pk, _codes in found] == [pks[a[0]], pks[a[2]], pks[a[3]]]
    reads = [(sql, parameters) for sql, parameters in seen if "warning_codes" in sql]
    bound = [p for _sql, parameters in reads for p in parameters if p != "Coaching A"]
    assert sorted(bound) == sorted(dict.fromkeys(asked))  # each id once, nothing else
    assert all(len(parameters) <= 2 + 1 for _sql, parameters in reads)  # a chunk + the name


def test_one_reading_says_which_files_hold_them_how_many_each_and_how_many_none(
        two_batches: Library) -> None:
    """``holding``: the question's counts by file, how many are in no file (an id the
    library does not hold is in none), and the files a replace rebuilds."""
    from app.replace_checks import holding

    library = two_batches
    a, b = two_files(library)
    in_none = next(r.conversation_id for r in library.summaries()
                   if r.conversation_id not in a and r.conversation_id not in b)
    shared = [cid for cid in a if cid in b]
    only_b = [cid for cid in b if cid not in a]
    asked = [*a[:3], *only_b[:2], in_none, "no-such-conversation", a[0]]

    with statements(library) as seen:
        held = holding(library, asked)

    in_a = len(set(a[:3]))
    in_b = len(set(a[:3]) & set(shared)) + len(only_b[:2])
    assert held.counts == [("Coaching A", in_a), ("Coaching B", in_b)]
    assert held.names == ["Coaching A", "Coaching B"]
    assert held.in_no_file == 2  # in_none and the unknown id
    assert len([sql for sql, _p in seen if "training_file_members" in sql]) == 1
    assert holding(library, [in_none]).counts == []
    assert holding(library, [in_none]).in_no_file == 1


def holding_reads(seen: list[Statement]) -> int:
    """The statements reading which training files hold some conversations by their ids."""
    return sum(1 for sql, _p in seen
               if "training_file_members" in sql
               and re.search(r"conversations\.conversation_id IN", sql)
               and "warning_codes" not in sql and "dialogue_sketch" not in sql)


def test_a_replace_reads_which_files_hold_them_once_before_and_once_after(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The question, the checks before the replace and (after the import) the rebuild with
    the checks after it: two readings of which files hold them, not five."""
    library = two_batches
    two_files(library)
    paths = [regenerated(p, tmp_path / "redelivery", first_reply_rewritten)
             for p in ENRICHED[:3]]
    window = open_window(qtbot, library, dialogs, tmp_path)

    with statements(library) as seen:
        question = import_in_window(qtbot, window, dialogs, paths, replace=True)

    assert "Replacing rebuilds 'Coaching A'" in question
    assert holding_reads(seen) == 2


def member_sketch_reads(seen: list[Statement]) -> list[str]:
    """The training files whose members' sketches were read whole (``_file_sketches``)."""
    return [str(parameters[-1]) for sql, parameters in seen
            if "dialogue_sketch" in sql and "training_files.name" in sql]


def test_a_replace_reads_each_files_members_sketches_once_not_before_and_after(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The near-duplicate checks before the replace and after it ask of the same files:
    their members' sketches are read for the first and kept for the second (the ones
    replaced are read again by their keys). What the checks find is unchanged: the status
    still names what the new versions brought in (``test_replace_says_what``)."""
    library = two_batches
    a, b = two_files(library)
    shared = next(cid for cid in a if cid in b)
    paths = [regenerated(p, tmp_path / "redelivery", first_reply_rewritten)
             for p in ENRICHED if conversation_id(p) in (a[0], shared)]
    window = open_window(qtbot, library, dialogs, tmp_path)

    with statements(library) as seen:
        question = import_in_window(qtbot, window, dialogs, paths, replace=True)

    assert "Replacing rebuilds 'Coaching A'" in question and "'Coaching B'" in question
    assert sorted(member_sketch_reads(seen)) == ["Coaching A", "Coaching B"]


def test_a_file_deleted_after_the_question_has_nothing_to_check(two_batches: Library) -> None:
    """The checks before the replace take the files named when the question was asked; one
    deleted meanwhile (by a team member) is not a failure of the replace."""
    from app.replace_checks import checks_by_file, holding
    from app.trainingfiles import delete_training_file

    library = two_batches
    a, b = two_files(library)
    asked = [*a[:2], *b[-1:]]
    names = holding(library, asked).names
    delete_training_file(library, "Coaching B")

    found = checks_by_file(library, asked, names)

    assert names == ["Coaching A", "Coaching B"]
    assert found["Coaching B"] == MemberChecks()
    assert found["Coaching A"] == checks_by_file(library, asked, ["Coaching A"])["Coaching A"]
