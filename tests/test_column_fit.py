"""The arithmetic of the Conversations table's fitted columns (``ui.column_fit``)."""

from __future__ import annotations

from ui.column_fit import longest, squeezed


def test_columns_that_fit_keep_their_widths() -> None:
    wants = {"arc": 180, "topic": 200, "replies": 64}
    assert squeezed(wants, {"arc": 110, "topic": 120}, 444) == wants
    assert squeezed(wants, {"arc": 110, "topic": 120}, 1000) == wants


def test_the_excess_is_taken_in_proportion_to_what_each_has_over_its_floor() -> None:
    wants = {"arc": 180, "topic": 220, "replies": 64}  # 70 and 100 over their floors
    widths = squeezed(wants, {"arc": 110, "topic": 120}, 464 - 34)
    assert widths["replies"] == 64  # not fitted: keeps its width
    assert widths == {"arc": 166, "topic": 200, "replies": 64}
    assert sum(widths.values()) <= 430


def test_no_column_goes_under_its_floor() -> None:
    widths = squeezed({"arc": 180, "topic": 220, "replies": 64}, {"arc": 110, "topic": 120},
                      100)
    assert widths == {"arc": 110, "topic": 120, "replies": 64}  # the table scrolls sideways


def test_the_longest_texts_are_measured_once_each() -> None:
    names = ["Al", "Jennifer Martinez", "Bo", "Jennifer Martinez", "Christopher Alexander"]
    assert longest(names, 2) == ["Christopher Alexander", "Jennifer Martinez"]


def test_the_columns_named_first_give_up_their_width_before_the_others() -> None:
    wants = {"files": 220, "arc": 180, "topic": 220}
    floors = {"files": 70, "arc": 110, "topic": 120}
    assert squeezed(wants, floors, 520, first=["files"]) == {
        "files": 120, "arc": 180, "topic": 220}
    widths = squeezed(wants, floors, 400, first=["files"])  # files at its floor, then the rest
    assert widths["files"] == 70 and sum(widths.values()) <= 400


def test_the_texts_measured_are_the_ones_the_table_shows_after_a_change(filled_library) -> None:
    """The clients and training-file combinations are gathered with the choosers' values
    (a step at a time), and gathered anew for an index patched with new training files."""
    from ui.column_fit import column_texts
    from ui.conversations_model import DISPLAY, Column
    from ui.row_index import RowIndex

    rows = filled_library.summaries()
    index = RowIndex(rows)
    texts = column_texts(index)
    for column in (Column.BATCH, Column.CLIENT, Column.ARC, Column.TOPIC):
        shown = {str(DISPLAY[column](row)) for row in rows}
        assert max(shown, key=len) in texts[column], column.name
    assert "Couple Conflict → Alignment" in texts[Column.ARC]
    patched = index.with_changes(files={rows[0].pk: ("emotional-support-v1", "all-samples")})
    assert "emotional-support-v1, all-samples" in column_texts(patched)[Column.FILES]
    assert "emotional-support-v1, all-samples" not in column_texts(index)[Column.FILES]
