"""An export keeps the files it replaces until it has finished (``app.earlier_files``).

One stopped without finishing (its process killed, the computer off) runs no cleanup: the
next export to the same folder, in the window or on the command line, removes what it
left, puts back an earlier file that went missing, and says so naming the file; a running
export's kept files are never touched. On drives without hard links the earlier file is
copied, with progress and Cancel.

Real processes are killed here (SIGKILL: no cleanup runs, as in a crash), and the files
are real files on disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_process import kill_hard, python_child, wait_for_marker

from app import earlier_files
from app.cli import main
from app.earlier_files import put_back_on_failure
from app.export import ExportCancelled, ExportFormat, export, export_targets
from app.jsonio import atomic_writer
from app.library import Library
from app.trainingfiles import add_conversations
from ui.tasks import job_over

EARLIER = b"my own lines\n"
EARLIER_MANIFEST = b"my own manifest\n"
STOPPED = "an export that stopped before it finished"

# An export in another process that keeps the earlier files, writes half of the new
# JSONL, says so (the marker) and waits there until it is killed.
CHILD = """
import sys, threading
from pathlib import Path
from app import earlier_files
from app.earlier_files import put_back_on_failure
from app.jsonio import atomic_writer
target, marker = Path(sys.argv[1]), Path(sys.argv[2])
with put_back_on_failure([target, target.with_name(target.name + ".manifest.json")]):
    with atomic_writer(target) as out:
        out.write(b"half a li")
        out.flush()
        marker.write_text("kept")
        threading.Event().wait()
"""


@pytest.fixture
def small(filled_library: Library) -> Iterator[Path]:
    """A training file, the library closed (the command opens it itself); its folder."""
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True, cut_off_policy="keep")
    filled_library.close()
    yield filled_library.root


@pytest.fixture
def earlier(tmp_path: Path) -> Path:
    """A JSONL and its manifest a person exported before (and edited): the target."""
    target = tmp_path / "out" / "mine.jsonl"
    target.parent.mkdir()
    target.write_bytes(EARLIER)
    target.with_name("mine.jsonl.manifest.json").write_bytes(EARLIER_MANIFEST)
    return target


def _export(root: Path, target: Path, capsys: pytest.CaptureFixture[str],
            *more: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(root), "export", "Small", "--format", "jsonl",
                 "-o", str(target), *more])
    out, err = capsys.readouterr()
    return code, out, err


@contextlib.contextmanager
def _running(target: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    marker = tmp_path / "kept"
    with python_child(CHILD, str(target), str(marker)) as child:
        wait_for_marker(child, marker, 60, "kept the earlier files")
        yield child


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _hold_kept_files_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept earlier files cannot be removed, as on Windows while another program has one
    open; every other file can."""
    unlink = Path.unlink

    def held_open(path: Path, missing_ok: bool = False) -> None:
        if path.name.endswith(".kept"):
            raise PermissionError(errno.EACCES, "being used by another process", str(path))
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", held_open)


def _new_files_held_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """An earlier file cannot be put back, as on Windows while another program has the new
    file open: moving its kept copy back over it is refused."""
    replace = os.replace

    def held_open_replace(source: object, destination: object) -> None:
        if str(source).endswith(".kept"):
            raise PermissionError(errno.EACCES, "being used by another process")
        replace(source, destination)  # type: ignore[arg-type]

    monkeypatch.setattr(earlier_files.os, "replace", held_open_replace)


def _killed_while_exporting(target: Path, tmp_path: Path) -> None:
    with _running(target, tmp_path) as child:
        kill_hard(child)
    hidden = [name for name in _names(target.parent) if name.startswith(".")]
    assert len(hidden) == 4, hidden  # two kept files, the half JSONL, the record


def test_the_next_export_removes_what_a_killed_export_left(
        small: Path, earlier: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Killed after keeping both earlier files and writing half the JSONL: the person's
    files are whole (the half JSONL never replaced anything), so what it left is stale."""
    _killed_while_exporting(earlier, tmp_path)
    assert earlier.read_bytes() == EARLIER

    code, out, err = _export(small, earlier, capsys, "--force")
    assert code == 0, err
    manifest = export_targets(ExportFormat.JSONL, earlier)[-1]
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in out, out
    assert f"Removed the earlier copy of {manifest} kept by {STOPPED}" in out, out
    assert f"Removed 1 unfinished temporary file left in {earlier.parent} by {STOPPED}" in out
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]
    assert earlier.read_bytes() != EARLIER  # and the export itself was done


def test_a_file_gone_after_a_killed_export_is_put_back_before_anything_replaces_it(
        small: Path, earlier: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _killed_while_exporting(earlier, tmp_path)
    earlier.unlink()  # gone: the only copy of it is the one the killed export kept

    code, out, err = _export(small, earlier, capsys, "--force")
    assert code == 1
    assert f"{earlier} was missing after {STOPPED}" in err, err
    assert "the earlier file it had kept is put back" in err
    assert "Nothing was exported, so that mine.jsonl is not replaced unseen" in err
    assert earlier.read_bytes() == EARLIER
    assert earlier.with_name("mine.jsonl.manifest.json").read_bytes() == EARLIER_MANIFEST
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]

    code, out, err = _export(small, earlier, capsys, "--force")  # seen: now replace it
    assert code == 0, err
    assert "Removed" not in out
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]


def test_a_running_exports_kept_files_are_never_touched(
        small: Path, earlier: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Another export of the same file runs (another window, the command line) while this
    one replaces it: its kept files stay, for it to put back if it fails."""
    with _running(earlier, tmp_path) as child:
        theirs = sorted(name for name in _names(earlier.parent) if name.startswith("."))
        code, out, err = _export(small, earlier, capsys, "--force")
        assert code == 0, err
        assert "Removed" not in out
        assert sorted(name for name in _names(earlier.parent)
                      if name.startswith(".")) == theirs
        kept = [earlier.parent / name for name in theirs if name.endswith(".kept")
                and not name.startswith(".mine.jsonl.manifest.json.")]
        assert [path.read_bytes() for path in kept] == [EARLIER]
        kill_hard(child)

    code, out, err = _export(small, earlier, capsys, "--force")  # now it is a stopped one
    assert code == 0, err
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in out, out
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]


def test_the_window_says_what_it_tidied(qtbot, page, filled_library: Library, dialogs,
                                        earlier: Path, tmp_path: Path) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True, cut_off_policy="keep")
    page.refresh(select_name="Small")
    _killed_while_exporting(earlier, tmp_path)
    dialogs.save_paths.append(earlier)
    dialogs.confirms.append(True)  # replace the manifest too

    with qtbot.waitSignal(page.status, timeout=60000) as saved:
        page.file_actions["jsonl"].trigger()

    said = saved.args[0]
    assert said.startswith("Saved "), said
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in said
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in \
        page.banner.label.text()
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]
    assert not dialogs.warnings


# --- drives without hard links (FAT, exFAT, some network shares) ----------------------


MB = 1 << 20


@pytest.fixture(params=[errno.EXDEV, errno.EPERM])
def no_links(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hard links are refused, as FAT and exFAT refuse them."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(request.param, os.strerror(request.param))

    monkeypatch.setattr(os, "link", refuse)


def _big_earlier(tmp_path: Path) -> Path:
    target = tmp_path / "out" / "mine.json"
    target.parent.mkdir()
    target.write_bytes(b"my own earlier copy\n" * (3 * MB // 20))  # 3 MB
    return target


@pytest.mark.usefixtures("no_links")
def test_without_links_keeping_the_earlier_file_shows_progress_and_stops_on_cancel(
        filled_library: Library, tmp_path: Path) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True, cut_off_policy="keep")
    target = _big_earlier(tmp_path)
    before = target.read_bytes()
    reported: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, what: str) -> None:
        reported.append((done, total, what))

    def cancelled() -> bool:  # once a part of the copy is made
        return any(0 < done < total and "keeping a copy" in what
                   for done, total, what in reported)

    with pytest.raises(ExportCancelled):
        export(filled_library, "Small", ExportFormat.JSON, target, overwrite=True,
               progress=progress, cancelled=cancelled)
    assert reported[0] == (0, 3, "keeping a copy of the earlier mine.json (MB copied), in "
                                 "case this save does not finish")
    assert target.read_bytes() == before
    assert _names(target.parent) == ["mine.json"]


@pytest.mark.usefixtures("no_links")
def test_without_links_the_earlier_file_is_copied_and_the_copy_goes_after(
        filled_library: Library, tmp_path: Path) -> None:
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True, cut_off_policy="keep")
    target = _big_earlier(tmp_path)
    reported: list[tuple[int, int, str]] = []

    export(filled_library, "Small", ExportFormat.JSON, target, overwrite=True,
           progress=lambda done, total, what: reported.append((done, total, what)))
    keeping = [(done, total) for done, total, what in reported if "keeping a copy" in what]
    assert keeping == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert _names(target.parent) == ["mine.json", "mine.json.manifest.json"]


def test_earlier_files_whose_names_start_alike_are_each_put_back(tmp_path: Path) -> None:
    """A name of 32 characters or more and its manifest's name begin alike for as far as
    the hidden names keep them: each earlier file is still kept under a name of its own,
    and a failed export puts each one back, not the manifest in place of the JSONL."""
    target = tmp_path / "counselling-sessions-november-2026-full.jsonl"
    manifest = export_targets(ExportFormat.JSONL, target)[-1]
    target.write_bytes(EARLIER)
    manifest.write_bytes(EARLIER_MANIFEST)

    with pytest.raises(ExportCancelled), put_back_on_failure([target, manifest]):
        for path in (target, manifest):
            with atomic_writer(path) as out:
                out.write(b"new\n")
        raise ExportCancelled()

    assert target.read_bytes() == EARLIER
    assert manifest.read_bytes() == EARLIER_MANIFEST
    assert _names(tmp_path) == sorted([target.name, manifest.name])


def test_an_export_running_in_this_process_is_never_taken_for_a_stopped_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the system's lock belongs to the process (Linux grants flock on NFS as a
    process's fcntl lock: a second look from the same process gets it at once, and closing
    that look drops the running export's lock), an export in another window of the same
    process still leaves a running export's kept files alone."""
    monkeypatch.setattr(earlier_files, "try_lock", lambda *_args, **_kwargs: True)
    target = tmp_path / "mine.jsonl"
    target.write_bytes(EARLIER)

    with put_back_on_failure([target]):
        hidden = _names(tmp_path)
        assert len(hidden) == 3, hidden  # the file, its kept copy, the record
        tidied = earlier_files.tidy_stopped_exports([tmp_path])
        assert tidied.sentences == []
        assert _names(tmp_path) == hidden

    assert _names(tmp_path) == ["mine.jsonl"]


def _cancel_after_the_tidy(page) -> None:
    """Cancel the window's export as a person would, once its tidy is done (the export
    asks ``cancelled`` before it writes anything)."""
    page.property("_running_task").cancel()


def _disk_full_after_the_tidy(page) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(page.library.root))


@pytest.mark.parametrize("end", [_cancel_after_the_tidy, _disk_full_after_the_tidy])
def test_the_window_says_what_it_tidied_when_the_export_does_not_finish(
        qtbot, page, filled_library: Library, dialogs, earlier: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, end) -> None:
    """Cancelled, or failed with something other than a LibraryError (a full disk): what
    the tidy removed is said all the same, in the failure's message and status line."""
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True, cut_off_policy="keep")
    page.refresh(select_name="Small")
    _killed_while_exporting(earlier, tmp_path)
    from app import export as export_module

    paying = export_module.pay_owed_rebuild

    def then_end(*args: object, **kwargs: object) -> None:
        paying(*args, **kwargs)
        end(page)

    monkeypatch.setattr(export_module, "pay_owed_rebuild", then_end)
    dialogs.save_paths.append(earlier)
    dialogs.confirms.append(True)  # replace the manifest too

    with qtbot.waitSignal(page.status, timeout=60000) as ended:
        page.file_actions["jsonl"].trigger()
    task = page.property("_running_task")
    qtbot.waitUntil(lambda: job_over(task), timeout=60000)  # its reads closed, the library not

    said = ended.args[0]
    assert said.startswith("Could not save the copy: "), said
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in said, said
    [(title, message)] = dialogs.warnings
    assert title == "Could not save the copy"
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in message, message
    assert earlier.read_bytes() == EARLIER
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]


def test_a_kept_copy_another_program_holds_open_is_removed_by_the_next_export(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export finished, but its kept earlier file could not be removed (on Windows,
    another program has it open): its record stays, and the next export removes the copy,
    saying nothing (nothing stopped; the file was replaced as asked)."""
    target = tmp_path / "mine.jsonl"
    target.write_bytes(EARLIER)
    _hold_kept_files_open(monkeypatch)
    with put_back_on_failure([target]), atomic_writer(target) as out:
        out.write(b"new\n")
    monkeypatch.undo()  # the other program has closed it
    assert len([name for name in _names(tmp_path) if name.endswith(".kept")]) == 1

    tidied = earlier_files.tidy_stopped_exports([tmp_path])

    assert tidied.sentences == []
    assert tidied.put_back == []
    assert _names(tmp_path) == ["mine.jsonl"]
    assert target.read_bytes() == b"new\n"


def test_a_record_taken_up_the_moment_it_is_made_is_left_for_another_without_waiting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tidy in another export took up this export's new record before it could lock it
    (it found no lock on it): the export never waits for that lock (on Windows the wait
    gives up after 10 s) and makes its record under another name, and the earlier file
    is still kept and put back when the export is cancelled."""
    target = tmp_path / "mine.jsonl"
    target.write_bytes(EARLIER)
    locking = earlier_files.try_lock
    tries: list[int] = []

    def taken_at_first(fd: int, at: int = 0) -> bool:
        tries.append(fd)
        if len(tries) == 1:
            return False  # held by that tidy
        return locking(fd, at)

    monkeypatch.setattr(earlier_files, "try_lock", taken_at_first)
    with pytest.raises(ExportCancelled), put_back_on_failure([target]):
        with atomic_writer(target) as out:
            out.write(b"new\n")
        raise ExportCancelled()

    assert len(tries) == 2  # tried again at once, under another name
    assert target.read_bytes() == EARLIER
    monkeypatch.undo()
    # The name given up is removed (or, on Windows while that tidy has it open, by the
    # tidy): nothing is left for the next tidy, and it has nothing to say.
    assert earlier_files.tidy_stopped_exports([tmp_path]).sentences == []
    assert _names(tmp_path) == ["mine.jsonl"]


def test_a_file_put_back_while_its_kept_copy_is_held_open_still_stops_the_export(
        small: Path, earlier: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The earlier file is put back (a hard link made), but its kept name cannot be removed
    (on Windows, another program has it open): it is put back all the same, so it is said
    and the export stops, rather than replacing it unseen at once."""
    _killed_while_exporting(earlier, tmp_path)
    earlier.unlink()  # gone: the only copy of it is the one the killed export kept
    _hold_kept_files_open(monkeypatch)
    code, out, err = _export(small, earlier, capsys, "--force")

    assert code == 1
    assert f"{earlier} was missing after {STOPPED}" in err, err
    assert "Nothing was exported, so that mine.jsonl is not replaced unseen" in err
    assert earlier.read_bytes() == EARLIER
    monkeypatch.undo()  # the other program has closed it: the next export removes the copy
    code, out, err = _export(small, earlier, capsys, "--force")
    assert code == 0, err
    assert f"Removed the earlier copy of {earlier} kept by {STOPPED}" in out, out
    assert _names(earlier.parent) == ["mine.jsonl", "mine.jsonl.manifest.json"]


def test_a_kept_copy_held_open_when_an_export_is_cancelled_is_removed_by_the_next_export(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled before it replaced anything, the export cannot remove its kept copy (on
    Windows, another program has the file open: likely, when that is why it failed): its
    record stays, marked finished, and the next export removes the copy quietly, instead
    of it staying hidden for ever with no record of it."""
    target = tmp_path / "mine.jsonl"
    target.write_bytes(EARLIER)
    _hold_kept_files_open(monkeypatch)
    with pytest.raises(ExportCancelled), put_back_on_failure([target]):
        raise ExportCancelled()
    monkeypatch.undo()  # the other program has closed it
    assert len([name for name in _names(tmp_path) if name.endswith(".kept")]) == 1

    tidied = earlier_files.tidy_stopped_exports([tmp_path])

    assert tidied.sentences == []
    assert _names(tmp_path) == ["mine.jsonl"]
    assert target.read_bytes() == EARLIER


def test_an_earlier_file_not_put_back_is_never_taken_for_a_finished_exports_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed after replacing one file, the export cannot put that earlier file back (on
    Windows, another program has the new one open), and cannot remove its stale copy of
    a second: the record is not marked finished, so no later export removes the only copy
    of the first earlier file quietly."""
    first, second = tmp_path / "mine.jsonl", tmp_path / "other.jsonl"
    first.write_bytes(EARLIER)
    second.write_bytes(EARLIER_MANIFEST)
    _new_files_held_open(monkeypatch)
    _hold_kept_files_open(monkeypatch)
    with pytest.raises(ExportCancelled), put_back_on_failure([first, second]):
        with atomic_writer(first) as out:
            out.write(b"new\n")
        raise ExportCancelled()
    monkeypatch.undo()
    kept = [name for name in _names(tmp_path) if name.endswith(".kept")]
    assert len(kept) == 2
    [mine] = [tmp_path / name for name in kept if name.startswith(".mine.jsonl.")]

    earlier_files.tidy_stopped_exports([tmp_path])

    assert mine.read_bytes() == EARLIER  # still there for someone to find


def test_a_folder_where_no_record_can_be_locked_is_left_without_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no lock can be had (a network share without locks), the export fails before
    it replaces anything, and the records it tried are not left in the person's folder:
    no tidy could ever lock them either, and each export would add more."""
    target = tmp_path / "mine.jsonl"
    target.write_bytes(EARLIER)
    monkeypatch.setattr(earlier_files, "try_lock", lambda *_args, **_kwargs: False)

    with (pytest.raises(OSError), put_back_on_failure([target]),
          atomic_writer(target) as out):
        out.write(b"new\n")

    assert _names(tmp_path) == ["mine.jsonl"]
    assert target.read_bytes() == EARLIER


# --- an earlier file that cannot be put back --------------------------------------------


def _not_put_back(earlier: Path) -> tuple[Path, str]:
    """The hidden copy still holding ``earlier``, and the sentence that must name it."""
    [kept] = [earlier.parent / name for name in _names(earlier.parent)
              if name.startswith(f".{earlier.name}.") and name.endswith(".kept")]
    return kept, ("One file did change: the new mine.jsonl could not be taken away, so your "
                  f"earlier {earlier} is kept as {kept.name} (a hidden file) in that folder; "
                  "rename it back to mine.jsonl once no program has mine.jsonl open.")


def _manifest_refused(*_args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_the_command_line_names_an_earlier_file_it_could_not_put_back(
        small: Path, earlier: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The export replaced mine.jsonl, then failed on its manifest (a full disk), and the
    earlier mine.jsonl cannot be put back (on Windows, another program has the new one
    open): it stays under its hidden name only, so the error says where and what to do."""
    from app import export as export_module

    _new_files_held_open(monkeypatch)
    monkeypatch.setattr(export_module, "_write_manifest", _manifest_refused)
    code, _out, err = _export(small, earlier, capsys, "--force")
    monkeypatch.undo()

    assert code == 1
    assert err.startswith(f"error: cannot write to {earlier}: "), err
    kept, sentence = _not_put_back(earlier)
    assert sentence in err, err
    assert kept.read_bytes() == EARLIER


def _cancelled_at_the_manifest(page) -> None:
    page.property("_running_task").cancel()
    raise ExportCancelled()


def _disk_full_at_the_manifest(page) -> None:
    _manifest_refused()


@pytest.mark.parametrize("end", [_cancelled_at_the_manifest, _disk_full_at_the_manifest])
def test_the_window_names_an_earlier_file_it_could_not_put_back(
        qtbot, page, filled_library: Library, dialogs, earlier: Path,
        monkeypatch: pytest.MonkeyPatch, end) -> None:
    """Cancelled or failed after replacing mine.jsonl, which cannot be put back: the
    warning and the status line say where the earlier file is and what to do."""
    ids = [row.conversation_id for row in filled_library.summaries()][:3]
    add_conversations(filled_library, "Small", ids, create=True, cut_off_policy="keep")
    page.refresh(select_name="Small")
    from app import export as export_module

    _new_files_held_open(monkeypatch)
    monkeypatch.setattr(export_module, "_write_manifest", lambda *_args: end(page))
    dialogs.save_paths.append(earlier)
    dialogs.confirms.append(True)  # replace the manifest too
    full = end is _disk_full_at_the_manifest
    if full:
        dialogs.save_paths.append(None)  # asked for another place: cancelled

    with qtbot.waitSignal(page.status, timeout=60000) as ended:
        page.file_actions["jsonl"].trigger()
    task = page.property("_running_task")
    qtbot.waitUntil(lambda: job_over(task), timeout=60000)
    monkeypatch.undo()
    offered = [a[2] for a in dialogs.asked if a[0] == "save_path"]
    assert offered[1:] == ([earlier] if full else [])  # the full disk's place, again

    kept, sentence = _not_put_back(earlier)
    said = ended.args[0]
    assert said.startswith("Could not save the copy: "), said
    assert sentence in said, said
    [(title, message)] = dialogs.warnings
    assert title == "Could not save the copy"
    assert sentence in message, message
    assert kept.read_bytes() == EARLIER
