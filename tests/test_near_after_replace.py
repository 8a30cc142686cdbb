"""An import that replaces a conversation and, in a later file, brings a new one: the new
one is marked near-duplicate against the replaced conversation's NEW text, not the text it
replaced. The import's index of the library (``app.fingerprints.StoredNear``), once read,
kept the old sketch until the import ended, so a re-generation of the replaced text was
marked "near" a conversation that no longer says it. Real stock dialogues written as files
and imported; the chunk is lowered so that each file is stored in a chunk of its own (as
the files past the first thousand of an import are)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from common_sentences import stock_dialogue, stock_dialogues, templates, vocabulary, write
from sqlalchemy import select
from test_near_common_sentences import TWIN_ID, _flag, _hidden_twin_file

from app import importer
from app.importer import Verdict, import_paths
from app.library import Library
from app.models import Conversation
from app.near_in_file import NearIndex
from app.similar import COMMON_BUCKET, NEAR_DUPLICATE


def test_a_later_file_is_not_marked_near_the_text_a_replace_took_out(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original, twin = _hidden_twin_file(library, tmp_path)  # 150 stock dialogues stored
    rng = random.Random(11)
    sources = templates()
    words = vocabulary(sources)
    # first: a new stock dialogue, which shares stock lines with stored ones that are not
    # near it, so the import reads its index of the library (with the original's text)
    (opener,) = stock_dialogues(tmp_path / "a-new", 1, seed=99)
    # then: the original's new version, a dialogue of its own
    stored = json.loads((tmp_path / "stock" / f"{original}.json").read_text(encoding="utf-8"))
    new_version = write(tmp_path / "b-replaced",
                        stock_dialogue(sources[1 % len(sources)], original, rng, words))
    assert json.loads(new_version.read_text(encoding="utf-8")) != stored
    # last: a re-generation of the original's OLD text
    monkeypatch.setattr(importer, "CHUNK", 1)

    report = import_paths(library, [opener, new_version, twin], replace=True)

    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED, Verdict.REPLACED,
                                                     Verdict.IMPORTED]
    assert report.replaced_ids == [original]
    codes, text = _flag(library, TWIN_ID)
    assert NEAR_DUPLICATE not in codes, text  # the text it repeats is gone
    assert library.count_with_warning(NEAR_DUPLICATE) == 0


def test_an_index_with_an_entry_replaced_finds_what_one_built_with_it_finds(
        library: Library, tmp_path: Path) -> None:
    """``NearIndex.replace`` in place (before and after the crowded stock lines made it hash
    its entries): every sketch's candidates, in order, are those of an index built with the
    new sketch from the start."""
    assert import_paths(library, stock_dialogues(tmp_path / "stock", 60, seed=5)).imported == 60
    with library.session() as session:
        rows = [(cid, sketch) for cid, sketch in session.execute(
            select(Conversation.conversation_id, Conversation.dialogue_sketch)
            .order_by(Conversation.pk))]
    queries = [sketch for _cid, sketch in rows]

    def candidates(index: NearIndex) -> list[list[str]]:
        return [[cid for cid, _sketch in index.candidates(q)] for q in queries]

    replaced = NearIndex()
    for cid, sketch in rows:
        replaced.add(cid, sketch)
    list(replaced.candidates(queries[0]))  # crowded keys: its entries hashed
    swaps = {3: rows[40][1], 20: rows[7][1], 41: b""}
    for entry, sketch in swaps.items():
        replaced.replace(entry, sketch)
    built = NearIndex()
    for number, (cid, sketch) in enumerate(rows):
        built.add(cid, swaps.get(number, sketch))
    assert candidates(replaced) == candidates(built)
    assert any(len(found) > COMMON_BUCKET for found in candidates(built))  # crowded
