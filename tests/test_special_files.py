"""Only ordinary files are read, with a bounded read; everything else gets a verdict.

Real named pipes, real links to /dev/zero, real unreadable folders (as another user, since
root reads everything), each through the real command in its own process with a deadline
and a memory limit, so a hang or a runaway read fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cli_process import NOBODY, can_switch_user, give_to, run_cli, shared_folder
from conftest import ENRICHED
from hostile_corpus import conversation, dump

from app.importer import Verdict, import_paths
from app.library import Library
from app.skipped_files import LINK_INSIDE
from app.validate import validate_path

GIGABYTE = 1 << 30


def good_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.json"
    path.write_bytes(dump(conversation(name)))
    return path


def no_traceback(result: object) -> None:
    text = result.stdout + result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in text, text


def test_a_named_pipe_in_a_folder_gets_a_verdict_and_the_rest_imports(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    good_file(folder, "beside_the_pipe")
    os.mkfifo(folder / "x.json")
    result = run_cli("--data-dir", tmp_path / "lib", "import", folder, timeout=60)
    no_traceback(result)
    assert "x.json" in result.stdout and "named pipe" in result.stdout, result.stdout
    assert result.stdout.splitlines()[-1] == (
        "1 conversation imported, 1 file could not be imported.")
    assert result.returncode == 1  # a rejection is reported in the exit code


def test_validate_refuses_a_named_pipe_without_waiting(tmp_path: Path) -> None:
    pipe = tmp_path / "x.json"
    os.mkfifo(pipe)
    lines = tmp_path / "y.jsonl"
    os.mkfifo(lines)
    result = run_cli("validate", pipe, lines, timeout=60)
    no_traceback(result)
    assert result.stdout.count("named pipe") == 2, result.stdout
    assert result.returncode == 1


def test_a_link_to_dev_zero_is_refused_without_reading_it(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "zero.json").symlink_to("/dev/zero")
    good_file(folder, "beside_zero")
    result = run_cli("--data-dir", tmp_path / "lib", "import", folder, timeout=60,
                     memory=2 * GIGABYTE)
    no_traceback(result)
    assert "zero.json: a link to /dev/zero" in result.stdout, result.stdout
    assert result.stdout.splitlines()[-1] == (
        "1 conversation imported, 1 file could not be imported.")
    # Named on purpose, the link is followed, and what it leads to is refused unread.
    for args in (("--data-dir", tmp_path / "lib", "import", folder / "zero.json"),
                 ("validate", folder / "zero.json")):
        result = run_cli(*args, timeout=60, memory=2 * GIGABYTE)
        no_traceback(result)
        assert "zero.json" in result.stdout and "a device" in result.stdout, result.stdout


def test_a_file_that_grows_past_its_stat_size_is_cut_off(library: Library,
                                                          tmp_path: Path) -> None:
    """/proc files say they are empty and are not: the read is bounded by itself."""
    import app.jsonio as jsonio

    verdict_text = []
    proc_file = Path("/proc/self/mountinfo")
    if not proc_file.exists() or proc_file.stat().st_size != 0:
        pytest.skip("no /proc file with a stat size of 0")
    try:
        jsonio.read_input_bytes(proc_file, max_bytes=16)
    except jsonio.InputError as exc:
        verdict_text.append(str(exc))
    assert verdict_text and "more than" in verdict_text[0]


def test_links_out_of_the_dropped_folder_are_reported_not_followed(
    library: Library, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = good_file(outside, "outside_the_folder")
    folder = tmp_path / "batch"
    folder.mkdir()
    inside = good_file(folder, "inside_the_folder")
    (folder / "link-out.json").symlink_to(secret)
    (folder / "link-in.json").symlink_to(inside)  # the same file twice: imported once
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)
    report = import_paths(library, [folder])
    by_name = {Path(v.path).name: v for v in report.verdicts}
    assert by_name["link-out.json"].verdict is Verdict.REJECTED
    assert "outside the folder" in by_name["link-out.json"].reason
    assert by_name["linked-folder"].verdict is Verdict.REJECTED
    assert "not followed" in by_name["linked-folder"].reason
    assert report.imported == 1
    assert [row.conversation_id for row in library.summaries()] == ["inside_the_folder"]


def test_a_link_to_a_file_that_is_gone_says_so(library: Library, tmp_path: Path) -> None:
    """A dangling link was told to copy its file into the folder: there is none (audit57
    O5)."""
    folder = tmp_path / "batch"
    folder.mkdir()
    good_file(folder, "beside_the_dangling_link")
    gone = tmp_path / "moved-away" / "gone.json"
    (folder / "dangling.json").symlink_to(gone)
    report = import_paths(library, [folder])
    by_name = {Path(v.path).name: v for v in report.verdicts}
    assert by_name["dangling.json"].verdict is Verdict.REJECTED
    assert "it was moved or deleted (or it is a link to a file that is gone)" in \
        by_name["dangling.json"].reason
    assert "outside the folder" not in by_name["dangling.json"].reason
    assert report.imported == 1


def test_links_back_into_the_dropped_folder_are_read_once_and_not_rejected(
    library: Library, tmp_path: Path
) -> None:
    """A link to the dropped folder itself, or from a subfolder up to it, leads to files the
    walk reads anyway: said under "not read" (nothing to do), not rejected with advice to
    import a folder the person just imported."""
    folder = tmp_path / "loop"
    (folder / "sub").mkdir(parents=True)
    good_file(folder, "in_the_folder")
    good_file(folder / "sub", "in_the_subfolder")
    (folder / "self").symlink_to(folder, target_is_directory=True)
    (folder / "sub" / "up").symlink_to("..", target_is_directory=True)
    (folder / "gone-out").symlink_to(tmp_path, target_is_directory=True)  # up and out
    report = import_paths(library, [folder])
    assert report.imported == 2
    (rejected,) = [v for v in report.verdicts if v.verdict is Verdict.REJECTED]
    assert Path(rejected.path).name == "gone-out"
    assert "not followed" in rejected.reason
    (kind,) = report.skipped
    assert kind.kind == LINK_INSIDE and kind.count == 2
    assert kind.sentence().startswith("2 links to a folder read already: each leads to a "
                                      "folder within the one imported")


@pytest.mark.skipif(not can_switch_user(),
                    reason="needs root, setpriv and a Python that nobody may start")
def test_an_unreadable_subfolder_gets_a_verdict() -> None:
    with shared_folder() as shared:
        folder = shared / "batch"
        (folder / "locked").mkdir(parents=True)
        good_file(folder, "readable_one")
        good_file(folder / "locked", "unreadable_one")
        give_to(shared)
        (folder / "locked").chmod(0)
        result = run_cli("--data-dir", shared / "lib", "import", folder, user=NOBODY,
                         timeout=120, env={"HOME": str(shared)})
        no_traceback(result)
        assert "locked" in result.stdout and "cannot be read" in result.stdout, result.stdout
        assert result.stdout.splitlines()[-1] == (
            "1 conversation imported, 1 folder could not be imported."), result.stdout


# --- numbers that overflow ------------------------------------------------------------


def infinite_score_file(folder: Path) -> Path:
    document = conversation("infinite_score")
    document["training_pairs"][1]["training_metadata"]["quality_score"] = 1.0
    text = json.dumps(document).replace('"quality_score": 1.0', '"quality_score": 1e999', 1)
    assert "1e999" in text
    path = folder / "infinite.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_and_validate_agree_on_a_number_that_overflows(
    library: Library, tmp_path: Path
) -> None:
    path = infinite_score_file(tmp_path)
    report = import_paths(library, [path])
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.REJECTED
    assert "1e999" in verdict.reason and "too large" in verdict.reason
    checked = validate_path(path)
    assert not checked.ok
    assert any("1e999" in p.reason for p in checked.problems)
    assert library.count() == 0


def test_a_library_holding_an_old_null_score_still_builds(tmp_path: Path) -> None:
    """Libraries imported before the fix hold the infinite score as null in the digest."""
    import sqlite3

    root = tmp_path / "lib"
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(ENRICHED[0], folder)
    assert run_cli("--data-dir", root, "import", folder).returncode == 0
    conn = sqlite3.connect(root / "library.sqlite3")
    digest = json.loads(conn.execute("SELECT digest FROM conversations").fetchone()[0])
    digest["reply_scores"] = [None, *digest["reply_scores"]]
    conn.execute("UPDATE conversations SET digest = ?, quality_score = 9e999",
                 (json.dumps(digest).encode(),))
    conn.commit()
    conn.close()
    result = run_cli("--data-dir", root, "add", "--new", "scores", "--all")
    no_traceback(result)
    assert result.returncode == 0, result.stderr


# --- ids --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["escape\x1b[2Jhere", "bell\x07", "rtl\u202eoverride",
                                 "x" * 201])
def test_conversation_ids_must_be_short_printable_text(library: Library, tmp_path: Path,
                                                       bad: str) -> None:
    document = conversation("placeholder")
    document["dataset_metadata"]["dataset_name"] = bad
    path = tmp_path / "bad-id.json"
    path.write_bytes(dump(document))
    (verdict,) = import_paths(library, [path]).verdicts
    assert verdict.verdict is Verdict.REJECTED
    assert "conversation id" in verdict.reason
    assert library.count() == 0


@pytest.mark.parametrize("bad", ["escape\x1b[2J", "nul\x00x", "x" * 201])
def test_batch_ids_must_be_short_printable_text(library: Library, tmp_path: Path,
                                                bad: str) -> None:
    path = good_file(tmp_path, "batch_id_case")
    result = run_cli("--data-dir", tmp_path / "lib", "import", path, "--batch", bad) \
        if "\x00" not in bad else None
    if result is not None:
        no_traceback(result)
        assert result.returncode != 0 and "batch ID" in result.stderr, result.stderr
    from app.errors import LibraryError

    with pytest.raises(LibraryError, match="batch ID"):
        import_paths(library, [path], batch=bad)


# --- validate's memory ---------------------------------------------------------------


def test_validate_refuses_a_huge_json_file_before_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: takes no disk
        handle.truncate(466 * 1000 * 1000)
    result = run_cli("validate", huge, memory=GIGABYTE, timeout=120)
    no_traceback(result)
    # read as a large full file is, from its start: refused at its first byte
    assert "466 MB" in result.stdout, result.stdout
    assert "neither a conversation file nor a full training file" in result.stdout
    assert result.returncode == 1


def test_validate_reads_a_jsonl_file_line_by_line_with_a_bounded_line(tmp_path: Path) -> None:
    lines = tmp_path / "one-long-line.jsonl"
    with lines.open("wb") as handle:
        handle.write(b'{"messages": "')
        handle.truncate(200 * 1000 * 1000)  # 200 MB without a line end (sparse)
    result = run_cli("validate", lines, memory=GIGABYTE, timeout=120)
    no_traceback(result)
    assert "line 1 is longer than" in result.stdout, result.stdout


# --- files the system will not open: the reason and what to do -----------------------


def test_a_file_gone_before_it_is_read_says_what_to_do(library: Library,
                                                       tmp_path: Path) -> None:
    """A file deleted while the import runs fails as a link to nothing does (the open finds
    no file): "No such file or directory" alone leaves a person guessing."""
    folder = tmp_path / "batch"
    folder.mkdir()
    good_file(folder, "beside_the_gone_ones")
    (folder / "gone.json").symlink_to(folder / "deleted.json")
    (folder / "loop.json").symlink_to("loop.json")
    report = import_paths(library, [folder, tmp_path / "never-there.json"])
    reasons = {Path(v.path).name: v.reason for v in report.verdicts
               if v.verdict is Verdict.REJECTED}
    assert "moved or deleted" in reasons["gone.json"]
    assert "choose it again where it is now" in reasons["gone.json"]
    assert "leads back to itself" in reasons["loop.json"]
    assert "check the path" in reasons["never-there.json"]
    assert report.imported == 1  # the rest of the folder goes on
    for name in ("gone.json", "loop.json"):
        verdict = validate_path(folder / name)
        assert any("try again" in p.reason or "choose" in p.reason
                   for p in verdict.problems), verdict.problems


@pytest.mark.skipif(not can_switch_user(),
                    reason="needs root, setpriv and a Python that nobody may start")
def test_an_unreadable_file_says_how_to_read_it() -> None:
    with shared_folder() as shared:
        folder = shared / "batch"
        folder.mkdir(parents=True)
        good_file(folder, "readable_one")
        good_file(folder, "unreadable_one")
        give_to(shared)
        (folder / "unreadable_one.json").chmod(0)
        result = run_cli("--data-dir", shared / "lib", "import", folder, user=NOBODY,
                         timeout=120, env={"HOME": str(shared)})
        no_traceback(result)
        line = next(line for line in result.stdout.splitlines() if "unreadable_one" in line)
        assert "give yourself permission to read it" in line, result.stdout
