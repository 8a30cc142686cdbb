"""An add's near-duplicate review compares a new conversation only with the members that
share one of its smallest *sentence* hashes. Older versions sketched the empty piece after a
dialogue's final full stop (or inside an ellipsis) too: its hash, 0, the smallest value
there is, leads almost every sketch they stored. Looked up like a sentence, it made every
member a candidate of every new conversation (adding 3,000 unrelated conversations compared
about 4.5 million pairs). A one-time pass sketches those again (``app.stored_sketches``),
but a library opens as it is when that pass is cancelled or fails, so the review still
leaves the empty piece out."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ENRICHED, LEGACY
from shorter_copy import SHORT_ID, shorter_copy
from sqlalchemy import select

from app import near_in_file
from app.importer import import_paths
from app.library import Library
from app.models import Conversation
from app.similar import unpack


def _compared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many candidates each call of ``first_near`` was given."""
    sizes: list[int] = []
    real = near_in_file.first_near

    def counting(sketch: bytes, candidates: Any, *rest: Any) -> Any:
        candidates = list(candidates)
        sizes.append(len(candidates))
        return real(sketch, candidates, *rest)

    monkeypatch.setattr(near_in_file, "first_near", counting)
    return sizes


def test_unrelated_conversations_are_not_compared(library: Library,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import_paths(library, [*ENRICHED, *LEGACY])
    rows = [(row.conversation_id, row.pk) for row in library.summaries()]
    with library.session() as session:
        sketches = list(session.scalars(select(Conversation.dialogue_sketch)))
    assert all(0 not in unpack(sketch) for sketch in sketches)  # today's imports
    sizes = _compared(monkeypatch)
    assert near_in_file.near_on_add(library, None, rows).near == ()
    assert sum(sizes) < len(rows)  # not every earlier one for each


def test_a_shorter_copy_is_still_found(library: Library, tmp_path: Any) -> None:
    import_paths(library, [ENRICHED[1], shorter_copy(tmp_path / "copy", 3)])
    rows = [(row.conversation_id, row.pk) for row in library.summaries()]
    assert near_in_file.near_on_add(library, None, rows).near == (SHORT_ID,)


def test_sketches_stored_before_are_not_all_compared(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The library stored by an older version, before its one-time pass has run: four of
    its five sketches start with the empty piece's 0."""
    root = tmp_path / "old"
    shutil.copytree(Path(__file__).parent / "data" / "library-before-sentence-sketches", root)
    with Library(root) as library:
        rows = [(row.conversation_id, row.pk) for row in library.summaries()]
        with library.session() as session:
            sketches = list(session.scalars(select(Conversation.dialogue_sketch)))
        assert sum(unpack(sketch)[0] == 0 for sketch in sketches) == 4
        sizes = _compared(monkeypatch)
        assert near_in_file.near_on_add(library, None, rows).near == (SHORT_ID,)
        assert sum(sizes) == 1  # the copy with its original only
