"""What a person meets on a common laptop screen: values the file does not give shown as
"—" on the Conversations page like on the LoRA Training JSON Files page; driven through
the real window on a real library of the fixtures."""

from __future__ import annotations

from pathlib import Path

from conftest import open_window
from PySide6.QtCore import Qt

from app.library import Library
from ui.conversations_model import MISSING, Column
from ui.members_model import MEMBER_ARC, MEMBER_TOPIC, MembersModel


def _cells(model, column: Column) -> list[str]:
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def test_a_value_the_file_does_not_give_shows_as_a_dash_like_on_the_files_page(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    page.set_batch_filter("legacy-batch")  # older exports: no arc, topic or persona
    model = page.model
    assert model.rowCount() > 0
    for column in (Column.ARC, Column.TOPIC, Column.ARCHETYPE):
        assert set(_cells(model, column)) == {MISSING}, column.name
    tip = model.data(model.index(0, Column.ARC), Qt.ItemDataRole.ToolTipRole)
    assert "not given" in tip
    # the LoRA Training JSON Files page shows the same mark for the same rows
    row = model.row_at(0)
    assert MembersModel.text(row, MEMBER_ARC) == MISSING  # type: ignore[arg-type]
    assert MembersModel.text(row, MEMBER_TOPIC) == MISSING  # type: ignore[arg-type]


def test_missing_values_sort_as_one_group_at_the_end_and_filter_as_none(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    window = open_window(qtbot, two_batches, dialogs, tmp_path)
    page = window.conversations
    model = page.model
    given = [r for r in two_batches.summaries() if r.emotional_arc_key]
    missing = [r for r in two_batches.summaries() if not r.emotional_arc_key]
    assert given and missing
    page.table.sortByColumn(Column.ARC, Qt.SortOrder.AscendingOrder)
    arcs = _cells(model, Column.ARC)
    assert arcs[len(given):] == [MISSING] * len(missing)  # after every named arc
    assert MISSING not in arcs[: len(given)]
    assert arcs[: len(given)] == sorted(arcs[: len(given)], key=str.casefold)
    page.table.sortByColumn(Column.ARC, Qt.SortOrder.DescendingOrder)
    arcs = _cells(model, Column.ARC)
    assert arcs[: len(missing)] == [MISSING] * len(missing)  # the same group, reversed
    assert MISSING not in arcs[len(missing):]
    # the arc chooser's "(none)" shows exactly the rows the table marks missing
    chooser = page.arc_filter
    chooser.setCurrentIndex(chooser.findData(""))
    assert chooser.currentText().startswith("(none)")
    assert model.rowCount() == len(missing)
    assert set(_cells(model, Column.ARC)) == {MISSING}
    # the search reads the values, not the mark: a dash finds nothing
    page.clear_filters()
    page.search.setText(MISSING)
    qtbot.waitUntil(lambda: model.rowCount() != len(given) + len(missing))
    assert model.rowCount() == 0
