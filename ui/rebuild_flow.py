"""Bringing training files up to date after a change that is already saved (review marks,
batches, the tokenizer): one background rebuild in a child process, with progress and
Cancel, then one report. Three flows share it, so they report the same way."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from app.library import Library
from app.trainingfiles import rebuild_training_files
from ui.changes import LibraryChanges
from ui.dialogs import Dialogs
from ui.saved_copies import with_out_of_date
from ui.tasks import in_child, run_with_progress


def rebuild_in_background(
    window: QWidget,
    library: Library,
    changes: LibraryChanges,
    dialogs: Dialogs,
    names: list[str],
    *,
    title: str,
    on_done: Callable[[list[str]], None],
    failure_title: str,
    failure_consequence: str,
) -> None:
    """Rebuild ``names``; ``on_done`` gets the names rebuilt. On failure (or Cancel) the
    warning says why, then ``failure_consequence``: what is saved and what stays stale.
    Either way the training files page is told, since some files may have been rebuilt."""

    def done(rebuilt: list[str]) -> None:
        changes.training_files_changed.emit()
        on_done(rebuilt)

    def failed(why: str) -> None:
        changes.training_files_changed.emit()
        if task.is_cancelled():  # (not "nothing was changed": the change itself is saved)
            why = "The rebuild was cancelled."
        dialogs.warn(window, failure_title, f"{why}\n{failure_consequence}")

    task = run_with_progress(window, title,
                             in_child(rebuild_training_files, library, names), done, failed)


def quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def update_training_files(window: QWidget, library: Library, changes: LibraryChanges,
                          dialogs: Dialogs, names: list[str], message: str,
                          say: Callable[[str], None], kept: str) -> None:
    """After a change the training files ``names`` record (a batch, a review mark): say
    ``message`` at once when none does, else once they are rebuilt ("…; rebuilt 'a'", with
    the saved copies left out of date); failed, the warning says ``kept``: what is saved
    and what stays stale."""
    if not names:
        say(message)
        return
    rebuild_in_background(
        window, library, changes, dialogs, names,
        title="Updating training files",
        on_done=lambda rebuilt: say(with_out_of_date(
            f"{message}; rebuilt {quoted(rebuilt)}", library, rebuilt)),
        failure_title="Training files not updated",
        failure_consequence=kept)
