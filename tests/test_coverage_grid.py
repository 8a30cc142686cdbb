"""The files page's coverage grid counts combinations of real values only: "—" (a value the
files do not give) shows where conversations without one are, never as gaps to fill."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY, addable
from PySide6.QtCore import Qt

from app.coverage import Axis
from app.importer import import_paths
from app.library import Library
from app.trainingfiles import add_conversations
from ui.training_files_page import TrainingFilesPage
from ui.wording import MISSING

# Three enriched fixtures a file takes whole: one persona (Anxious Planner), three arcs.
ONE_PERSONA = ("enriched-1.json", "enriched-2.json", "single-convo-file-2.json")

Cells = dict[tuple[str, str], tuple[str, bool]]


def show_coverage(page: TrainingFilesPage, name: str, axis: Axis = Axis.ARC) -> Cells:
    """Selects ``name`` on the page's Coverage tab; each cell's text and whether it is
    shaded as a gap, by its row and column headers."""
    page.refresh(select_name=name)
    assert page.select_file(name), f"the page does not list the training file {name!r}"
    page.tabs.setCurrentWidget(page.coverage)
    chooser = page.coverage.columns_chooser
    chooser.setCurrentIndex(chooser.findData(axis.value))
    model = page.coverage.model
    return {(str(model.headerData(r, Qt.Orientation.Vertical)),
             str(model.headerData(c, Qt.Orientation.Horizontal))):
            (model.index(r, c).data(),
             model.index(r, c).data(Qt.ItemDataRole.BackgroundRole) is not None)
            for r in range(model.rowCount()) for c in range(model.columnCount())}


def headers(cells: Cells) -> set[str]:
    return {row for row, _ in cells} | {column for _, column in cells}


def test_a_file_of_the_fixtures_counts_only_the_values_the_library_holds(
        page: TrainingFilesPage, filled_library: Library) -> None:
    """The legacy fixtures give no persona or arc, yet a file without them shows no "—"
    row or column, and the count is of persona × arc combinations only."""
    rows = filled_library.summaries()
    enriched = [r for r in rows if r.persona_archetype and r.emotional_arc_key]
    added = set(addable([r.conversation_id for r in enriched]))
    add_conversations(filled_library, "Enriched", sorted(added), create=True)
    personas = {r.persona_archetype for r in enriched}
    arcs = {r.emotional_arc_key for r in enriched}
    filled = {(r.persona_archetype, r.emotional_arc_key) for r in enriched
              if r.conversation_id in added}
    combinations = len(personas) * len(arcs)
    assert (combinations, len(filled)) == (12, 4)  # the fixtures, as they are

    cells = show_coverage(page, "Enriched")
    assert MISSING not in headers(cells)
    assert len(cells) == combinations
    assert sum(shaded for _, shaded in cells.values()) == combinations - len(filled)
    assert page.coverage.summary.text() == (
        "4 of 12 persona × arc combinations have conversations; 8 are gaps (0, shaded).")


@pytest.fixture
def one_persona(library: Library, tmp_path: Path) -> Library:
    """A library of three enriched fixtures of one persona, and the legacy ones (no
    persona, no arc)."""
    folder = tmp_path / "one-persona"
    folder.mkdir()
    for path in [p for p in ENRICHED if p.name in ONE_PERSONA] + LEGACY:
        shutil.copy(path, folder / path.name)
    assert import_paths(library, [folder]).imported == len(ONE_PERSONA) + len(LEGACY)
    return library


def test_full_coverage_reads_all_of_all_and_a_missing_value_is_never_a_gap(
        qtbot, one_persona: Library, dialogs) -> None:
    page = TrainingFilesPage(one_persona, dialogs)
    qtbot.addWidget(page)
    page.resize(1200, 750)
    rows = one_persona.summaries()
    enriched = [r.conversation_id for r in rows if r.persona_archetype]
    legacy = [r.conversation_id for r in rows if not r.persona_archetype]
    add_conversations(one_persona, "Full", enriched, create=True)
    add_conversations(one_persona, "Mixed", enriched + legacy[:2], create=True)

    cells = show_coverage(page, "Full")
    assert MISSING not in headers(cells)
    assert sorted(cells.values()) == [("1", False)] * 3
    assert page.coverage.summary.text() == (
        "3 of 3 persona × arc combinations have conversations; none is a gap.")

    cells = show_coverage(page, "Mixed")
    arcs = {column for _, column in cells} - {MISSING}
    assert len(arcs) == 3 and {row for row, _ in cells} == {"Anxious Planner", MISSING}
    assert cells[(MISSING, MISSING)] == ("2", False)  # counted where they are, not shaded
    for arc in arcs:
        assert cells[("Anxious Planner", arc)] == ("1", False)
        assert cells[(MISSING, arc)] == ("", False)  # no combination: blank, not a gap
    assert cells[("Anxious Planner", MISSING)] == ("", False)
    assert page.coverage.summary.text() == (
        "3 of 3 persona × arc combinations have conversations; none is a gap. "
        f"{MISSING} stands for a value the files do not give (2 conversations here), "
        "not a combination to fill.")
    model = page.coverage.model
    tip = model.index(model.rowCount() - 1, model.columnCount() - 1).data(
        Qt.ItemDataRole.ToolTipRole)
    assert tip == (f"{MISSING} × {MISSING}: 2 conversations in this file ({MISSING}: a value "
                   "the files do not give, not a combination to fill)")

    cells = show_coverage(page, "Mixed", Axis.TOPIC)
    assert not any(shaded for _, shaded in cells.values())
    assert page.coverage.summary.text().startswith(
        "2 of 2 persona × topic combinations have conversations; none is a gap. ")


def test_a_library_of_no_values_has_no_combinations_to_fill(
        qtbot, library: Library, dialogs, tmp_path: Path) -> None:
    folder = tmp_path / "legacy"
    folder.mkdir()
    for path in LEGACY[:2]:
        shutil.copy(path, folder / path.name)
    import_paths(library, [folder])
    add_conversations(library, "Older", [r.conversation_id for r in library.summaries()],
                      create=True)
    page = TrainingFilesPage(library, dialogs)
    qtbot.addWidget(page)
    assert show_coverage(page, "Older") == {(MISSING, MISSING): ("2", False)}
    assert page.coverage.summary.text() == (
        "No persona × arc combinations to fill: the library's conversations do not give "
        f"both a persona and an arc. {MISSING} stands for a value the files do not give "
        "(2 conversations here), not a combination to fill.")
