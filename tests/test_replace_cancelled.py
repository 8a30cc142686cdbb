"""A Replace cancelled part-way keeps what it replaced; it says how many of how many, and
how to replace the rest: in the status when its own window is there to say it, at the
next start when the window closed during it (as an import cancelled so is said), and a
Replace killed mid-way is said as one, not as an import whose re-import skips what it
stored. Real library, regenerated copies of the real fixtures on disk, the real window."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import ENRICHED, open_window
from scripted_dialogs import ScriptedDialogs
from test_replace_says_what import conversation_id, first_reply_rewritten, regenerated

from app import killed_work, replace_checks, running_work
from app.importer import IMPORT_RECORD, import_paths
from app.library import Library
from app.trainingfiles import add_conversations
from ui.replace_flow import replaced_sentence

WAIT_MS = 60000


def _redelivered(library: Library, tmp_path: Path) -> tuple[list[Path], list[str]]:
    """The enriched fixtures stored, then regenerated (one reply rewritten in each) in a
    folder of their own: the files, and the ids they change."""
    import_paths(library, list(ENRICHED))
    paths = [regenerated(p, tmp_path / "redelivery", first_reply_rewritten) for p in ENRICHED]
    return paths, [conversation_id(p) for p in paths]


def _texts(library: Library, ids: Sequence[str]) -> dict[str, list[str]]:
    return {cid: [m["content"] for m in library.record(cid)["messages"]] for cid in ids}


def test_a_replace_cancel_kept_for_the_next_start_is_said_once_and_importing_again_finishes_it(
        library: Library, tmp_path: Path) -> None:
    paths, ids = _redelivered(library, tmp_path)
    before = _texts(library, ids)
    calls: list[int] = []

    def after_the_first_file(done: int, _total: int, _what: str) -> None:
        calls.append(done)

    report = import_paths(library, paths, replace=set(ids), progress=after_the_first_file,
                          cancelled=lambda: any(done >= 1 for done in calls))
    assert report.cancelled and 0 < len(report.replaced_ids) < len(ids)
    killed_work.keep_unsaid_cancel(library, paths, report, replacing=len(ids))

    where = f"{paths[0]} and {len(paths) - 1} other places"
    assert killed_work.say_and_forget(library) == [
        f"found that replacing {len(ids)} changed conversations from {where} was cancelled "
        f"when its window closed ({len(report.replaced_ids)} replaced): import the same "
        "files again and answer Replace (--replace on the command line) to replace the "
        "rest; those already replaced are skipped"]
    assert killed_work.say_and_forget(library) == [], "said once"
    after = _texts(library, ids)
    replaced = set(report.replaced_ids)
    assert all((after[cid] != before[cid]) == (cid in replaced) for cid in ids)
    # and what it says finishes it
    rest = import_paths(library, paths, replace=True)
    assert sorted(rest.replaced_ids) == sorted(set(ids) - replaced)
    assert rest.duplicates == len(replaced)


def test_a_killed_replace_is_said_as_a_replace(library: Library, tmp_path: Path) -> None:
    """A kill leaves the import's record (its process gone): written here as the import
    writes it, left unlocked as a killed process leaves it."""
    paths, ids = _redelivered(library, tmp_path)
    record = {"kind": IMPORT_RECORD, "files": len(paths), "from": [str(paths[0])],
              "last_pk": 0, "started": "2026-01-01T00:00:00Z", "replacing": len(ids)}
    assert running_work.leave(library.root, record)
    [said] = killed_work.say_and_forget(library)
    assert said == (
        f"found that replacing {len(ids)} changed conversations from {paths[0]} was "
        "interrupted (some may be replaced already, and the training files holding them "
        "are rebuilt as this library opens): import the same file again and answer "
        "Replace (--replace on the command line) to replace the rest; those already "
        "replaced are skipped")


def test_the_import_writes_how_many_it_replaces_in_its_record(
        library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths, ids = _redelivered(library, tmp_path)
    seen: list[dict[str, Any]] = []
    real = running_work.running

    def noted(root: Path, record: dict[str, Any], read_only: bool = False) -> Any:
        seen.append(record)
        return real(root, record, read_only)

    from app import importer
    monkeypatch.setattr(importer, "running", noted)
    import_paths(library, paths, replace=set(ids[:2]))
    import_paths(library, paths, replace=True)
    import_paths(library, [ENRICHED[0]])  # a plain import: no count of it
    assert [r.get("replacing", "none") for r in seen] == [2, -1, "none"]


def test_the_status_says_how_many_of_how_many_a_cancelled_replace_replaced() -> None:
    assert replaced_sentence(3, 3, cancelled=False) == "Replaced 3 conversations"
    assert replaced_sentence(6, 6, cancelled=True) == "Replaced 6 conversations"
    assert replaced_sentence(2, 6, cancelled=True) == (
        "Replacing was cancelled: 2 of the 6 changed conversations replaced (import the "
        "same files again and answer Replace to replace the rest)")
    assert replaced_sentence(0, 1, cancelled=True) == (
        "Replacing was cancelled before any conversation was replaced: the library is as "
        "it was")


def test_a_replace_cancelled_before_it_replaced_one_leaves_nothing_for_the_next_start(
        library: Library, tmp_path: Path) -> None:
    paths, ids = _redelivered(library, tmp_path)
    report = import_paths(library, paths, replace=set(ids), cancelled=lambda: True)
    assert report.cancelled and not report.replaced_ids
    killed_work.keep_unsaid_cancel(library, paths, report, replacing=len(ids))
    assert killed_work.say_and_forget(library) == []


def held_replace_import(gate: Path) -> Callable[..., Any]:
    """The Replace's real import, held after its first file until ``gate`` exists or it
    is cancelled (the Replace runs in a thread of the window's process)."""
    def held(library: Library, paths: Sequence[Path], **kwargs: Any) -> Any:
        progress = kwargs.pop("progress", None)
        cancelled = kwargs.get("cancelled")

        def holding(done: int, total: int, current: str) -> None:
            if progress is not None:
                progress(done, total, current)
            if done >= 1:
                Path(f"{gate}.held").touch()
                while not gate.exists() and not (cancelled and cancelled()):
                    time.sleep(0.01)

        return import_paths(library, paths, progress=holding, **kwargs)

    return held


def _replacing_held(qtbot, library: Library, paths: list[Path], tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ScriptedDialogs]:
    """The real window importing ``paths`` from its menu, Replace answered, its Replace
    held after the first file; the window and its scripted dialogs."""
    gate = tmp_path / "gate"
    monkeypatch.setattr(replace_checks, "import_paths", held_replace_import(gate))
    dialogs = ScriptedDialogs()
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append(paths)
    dialogs.texts.append("")
    dialogs.confirms.append(True)  # Replace
    window.import_files_action.trigger()
    qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=WAIT_MS)
    return window, dialogs


def test_closing_the_window_during_a_replace_is_said_at_the_next_start_and_files_rebuilt(
        qtbot, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import finish_interrupted_work_or_explain

    paths, ids = _redelivered(library, tmp_path)
    before = _texts(library, ids)
    add_conversations(library, "Coaching", ids, create=True)
    window, dialogs = _replacing_held(qtbot, library, paths, tmp_path, monkeypatch)
    dialogs.confirms.append(True)  # close, cancelling the Replace
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    root = library.root
    library.close()

    with Library.open(root) as again:
        replaced = [cid for cid, texts in _texts(again, ids).items() if texts != before[cid]]
        assert 0 < len(replaced) < len(ids)
        done = finish_interrupted_work_or_explain(again, ScriptedDialogs())
        assert done[0] == (
            f"found that replacing {len(ids)} changed conversations from {paths[0]} and "
            f"{len(paths) - 1} other places was cancelled when its window closed "
            f"({len(replaced)} replaced): import the same files again and answer Replace "
            "(--replace on the command line) to replace the rest; those already replaced "
            "are skipped")
        assert any(line.startswith("rebuilt the training file 'Coaching'") for line in done)
        assert finish_interrupted_work_or_explain(again, ScriptedDialogs()) == [], "said once"


def test_the_status_says_a_replace_cancelled_with_its_own_cancel(
        qtbot, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QProgressDialog, QPushButton

    paths, ids = _redelivered(library, tmp_path)
    before = _texts(library, ids)
    window, _dialogs = _replacing_held(qtbot, library, paths, tmp_path, monkeypatch)

    def shown() -> list[QProgressDialog]:
        return [d for d in window.findChildren(QProgressDialog) if d.isVisible()]

    qtbot.waitUntil(lambda: bool(shown()), timeout=WAIT_MS)  # (shown after a moment)
    [progress] = shown()
    [cancel] = progress.findChildren(QPushButton)
    with qtbot.waitSignal(window.importer.replacer.replaced, timeout=WAIT_MS):
        cancel.click()
    replaced = [cid for cid, texts in _texts(library, ids).items() if texts != before[cid]]
    assert 0 < len(replaced) < len(ids)
    assert window.statusBar().currentMessage().startswith(
        f"Replacing was cancelled: {len(replaced)} of the {len(ids)} changed conversations "
        "replaced (import the same files again and answer Replace to replace the rest)")
    assert killed_work.say_and_forget(library) == [], "said by its window, not again"
