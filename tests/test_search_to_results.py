"""From the search field the keyboard goes on to what it found: Enter or Down puts it on
the table's first row found (the search applied at once, without its typing pause)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_window, settle
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.library import Library


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Down])
def test_enter_or_down_in_the_search_goes_to_the_first_row_found(
        qtbot, filled_library: Library, dialogs, tmp_path: Path, key: Qt.Key) -> None:
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    settle(qtbot, window)
    page = window.conversations
    client = page.rows()[-1].persona_name
    assert client
    found = [row for row in page.rows() if row.persona_name == client]
    assert 0 < len(found) < page.model.total
    page.search.setFocus()
    QTest.keyClicks(page.search, client)
    QTest.keyClick(page.search, key)
    assert page.model.shown_count < page.model.total, "applied without the typing pause"
    assert window.focusWidget() is page.table
    assert page.table.currentIndex().row() == 0
    assert page.reader_conversation_id() == page.model.row_at(0).conversation_id


def test_a_search_finds_the_rows_that_hold_every_word_or_quoted_phrase(filled_library) -> None:
    """Audit S5: "Jennifer shame" found nothing though "Jennifer" and "shame" each did:
    the whole text was looked for as one piece."""
    from ui.row_index import Filter, RowIndex, search_terms

    index = RowIndex(filled_library.summaries())
    rows = index.rows

    def found(text: str) -> set[str]:
        shown, _mask = index.select(Filter(text=text))
        return {rows[n].conversation_id for n in shown}

    row = next(row for row in rows if row.emotional_arc and row.persona_name)
    client = row.persona_name.split()[0]
    arc_word = row.emotional_arc.split()[0]
    both = found(f"{client} {arc_word}")
    assert row.conversation_id in both
    assert both == found(client) & found(arc_word)
    assert found(f"{arc_word}   {client}") == both, "any order, any spacing"
    assert search_terms('"Student Loan" jennifer') == ("student loan", "jennifer")
    assert search_terms('   ') == ()
    assert found('"no such phrase anywhere"') == set()
