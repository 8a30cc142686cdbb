"""Damaged, old, read-only, full and interrupted libraries, through the real command.

Each state is made for real (a zero-length file, a dump without user_version, a folder
another user may only read, a disk that is full, a process killed mid-build) and each
command answers with a sentence and an exit code, never a traceback, losing nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_process import kill_hard, python_child, wait_for_marker
from cli_process import NOBODY, can_switch_user, give_to, run_cli, shared_folder
from conftest import ENRICHED
from old_schema import downgrade

from app.db import SCHEMA_VERSION
from app.library import Library
from app.paths import DATABASE_NAME

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX processes and permissions")


def make_library(root: Path, scratch: Path, files: int = 3) -> Path:
    folder = scratch / "batch-a"
    folder.mkdir(parents=True, exist_ok=True)
    for path in ENRICHED[:files]:
        shutil.copy(path, folder)
    assert run_cli("--data-dir", root, "import", folder).returncode == 0
    assert run_cli("--data-dir", root, "add", "--new", "base", "--all").returncode == 0
    return root


@pytest.fixture
def built(tmp_path: Path) -> Path:
    return make_library(tmp_path / "lib", tmp_path)


def tree(root: Path) -> dict[str, str]:
    """Every file under the library folder with its hash (the lock file excepted)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "library.lock"
            and not p.name.endswith(("-wal", "-shm"))}


def said(result: subprocess.CompletedProcess[str], *words: str) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    for word in words:
        assert word in text, text


# --- 4: nothing writes inside the library folder -------------------------------------


def test_export_never_writes_into_the_library_folder(built: Path, tmp_path: Path) -> None:
    before = tree(built)
    for target in (built / DATABASE_NAME, built / "training-files" / "base.jsonl",
                   built / "copy.jsonl"):
        result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o",
                         target, "--force")
        assert result.returncode == 1
        said(result, "inside the library folder")
    link = tmp_path / "innocent.jsonl"
    link.symlink_to(built / DATABASE_NAME)
    result = run_cli("--data-dir", built, "export", "base", "--format", "json", "-o", link)
    said(result, "inside the library folder")
    assert tree(built) == before


def test_export_over_an_existing_file_needs_force(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine.jsonl"
    target.write_text("precious", encoding="utf-8")
    result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target)
    assert result.returncode == 1
    said(result, "already exists", "--force")
    assert target.read_text(encoding="utf-8") == "precious"
    result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target,
                     "--force")
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8") != "precious"


def test_export_over_an_existing_manifest_alone_needs_force_and_says_what_it_is(
        built: Path, tmp_path: Path) -> None:
    """The copy is new, but the manifest written beside it is not: the command refuses,
    naming the manifest as such, as for any file it would replace."""
    target = tmp_path / "mine.json"
    manifest = tmp_path / "mine.json.manifest.json"
    manifest.write_text("precious", encoding="utf-8")
    result = run_cli("--data-dir", built, "export", "base", "--format", "json", "-o", target)
    assert result.returncode == 1
    said(result, f"{manifest} already exists: the copy's manifest (what was exported, with "
                 "checksums) is written there. Save the copy under another name or in "
                 "another folder, or add --force to replace it.")
    assert manifest.read_text(encoding="utf-8") == "precious" and not target.exists()
    result = run_cli("--data-dir", built, "export", "base", "--format", "json", "-o", target,
                     "--force")
    assert result.returncode == 0, result.stderr
    assert manifest.read_text(encoding="utf-8") != "precious" and target.exists()


# --- 6: a lost database is not a new library -------------------------------------------


def test_a_zero_length_database_beside_its_library_is_refused_and_nothing_changes(
    built: Path
) -> None:
    (built / DATABASE_NAME).write_bytes(b"")
    others = tree(built)
    for args in (("files",), ("import", ENRICHED[0]), ("add", "--new", "x", "--all")):
        result = run_cli("--data-dir", built, *args)
        assert result.returncode == 1
        said(result, "0 bytes", "Restore")
    with pytest.raises(Exception, match="0 bytes"):
        Library(built)
    assert tree(built) == others
    assert (built / DATABASE_NAME).stat().st_size == 0


def test_cleanup_never_deletes_a_build_the_database_does_not_know(built: Path) -> None:
    from app.recovery import finish_interrupted_work

    foreign = built / "training-files" / "00042-r7"  # a build folder from before v6
    foreign.mkdir(parents=True)
    (foreign / "from-another-database.jsonl").write_text("{}\n", encoding="utf-8")
    with Library(built) as library:
        finish_interrupted_work(library)
    assert (foreign / "from-another-database.jsonl").exists()


# --- 7: user_version lost or wrong ---------------------------------------------------


def dump_and_restore(database: Path) -> None:
    """SQLite's .dump route: a new file from the SQL text, user_version 0."""
    source = sqlite3.connect(database)
    script = "\n".join(source.iterdump())
    source.close()
    database.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{database}{extra}").unlink(missing_ok=True)
    target = sqlite3.connect(database)
    target.executescript(script)
    target.close()


def user_version(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("stamp", [0, 1, 2])
def test_a_library_with_a_lost_or_wrong_user_version_is_recognised(built: Path,
                                                                   stamp: int) -> None:
    database = built / DATABASE_NAME
    dump_and_restore(database)
    conn = sqlite3.connect(database)
    conn.execute(f"PRAGMA user_version = {stamp}")
    conn.commit()
    conn.close()
    before = database.read_bytes()
    listed = run_cli("--data-dir", built, "conversations")  # a reader: changes nothing
    said(listed, "3 conversations")
    assert listed.returncode == 0
    assert database.read_bytes() == before
    assert not list(built.glob("*.bak")), "a reader wrote a backup"
    result = run_cli("--data-dir", built, "add", "base", "--all")  # a writer: fixes the stamp
    said(result, "already in 'base'")
    assert user_version(database) == SCHEMA_VERSION


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_readers_read_an_older_library_without_changing_it(
        built: Path, tmp_path: Path, version: int) -> None:
    database = built / DATABASE_NAME
    downgrade(database, version)
    before = tree(built)
    original = hashlib.sha256(database.read_bytes()).hexdigest()
    temporary = tmp_path / "tmp"  # where the upgraded copy is made, and must go again
    temporary.mkdir()
    env = {"TMPDIR": str(temporary)}
    with Library(built, read_only=True) as reader:
        assert reader.count() == 3
    listing = run_cli("--data-dir", built, "conversations", "--json", env=env)
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.splitlines()) == 3
    files = run_cli("--data-dir", built, "files", env=env)
    assert files.returncode == 0 and files.stdout.startswith("base\t3 conversations")
    target = tmp_path / "copy.jsonl"
    exported = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o",
                       target, env=env)
    assert exported.returncode == 0, exported.stderr
    assert target.read_bytes() == next((built / "training-files").glob("*/base.jsonl")) \
        .read_bytes()
    assert hashlib.sha256(database.read_bytes()).hexdigest() == original
    assert tree(built) == before  # no upgrade, no backup, nothing beside it
    assert list(temporary.iterdir()) == []  # the copy was removed
    assert user_version(database) == version
    # A command that changes the library upgrades it, keeping a backup.
    said(run_cli("--data-dir", built, "add", "base", "--all"), "nothing added")
    assert user_version(database) == SCHEMA_VERSION
    assert (built / f"{DATABASE_NAME}.v{version}.bak").exists()


def test_an_older_versions_build_is_listed_but_never_exported_unchecked(
        built: Path, tmp_path: Path) -> None:
    """Builds of older versions are files on disk: a reader lists them, refuses to export
    them unchecked, and changes nothing; a changing command moves them into the library."""
    database = built / DATABASE_NAME
    downgrade(database, 4)
    for record in (built / "training-files").glob("*/.sha256"):
        record.unlink()
    before = tree(built)
    listed = run_cli("--data-dir", built, "files")
    assert listed.returncode == 0 and listed.stdout.startswith("base\t"), listed.stderr
    target = tmp_path / "copy.jsonl"
    refused = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target)
    assert refused.returncode == 1
    said(refused, "stored as files from an older LoRA Studio", 'lora-studio rebuild "base"')
    assert not target.exists()
    assert tree(built) == before  # not upgraded, not rebuilt: a reader changes nothing
    assert run_cli("--data-dir", built, "rebuild", "base").returncode == 0
    assert user_version(database) == SCHEMA_VERSION
    exported = run_cli("--data-dir", built, "export", "base", "--format", "jsonl", "-o", target)
    assert exported.returncode == 0, exported.stderr


def test_an_older_library_that_cannot_be_copied_is_refused_with_a_sentence(
        built: Path, tmp_path: Path) -> None:
    database = built / DATABASE_NAME
    downgrade(database, 3)
    before = tree(built)
    # The copy cannot be written: files may not grow past 4 KB (as on a full disk).
    result = run_cli("--data-dir", built, "files", file_size=4096)
    assert result.returncode == 1
    said(result, str(database), "older LoRA Studio", "TMPDIR")
    assert tree(built) == before


# --- 8: read-only folders and full disks ---------------------------------------------


@pytest.mark.skipif(not can_switch_user(),
                    reason="needs root, setpriv and a Python that nobody may start")
def test_readers_work_on_a_library_another_user_may_only_read() -> None:
    with shared_folder() as shared:
        root = make_library(shared / "lib", shared / "input")
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # root's; nobody may only read
        before = tree(root)
        out = shared / "out"
        out.mkdir()
        give_to(out)
        env = {"HOME": str(shared)}
        for args in (("conversations",), ("batches",), ("files",),
                     ("export", "base", "--format", "jsonl", "-o", out / "base.jsonl")):
            result = run_cli("--data-dir", root, *args, user=NOBODY, env=env)
            said(result)
            assert result.returncode == 0, result.stderr
        assert (out / "base.jsonl").stat().st_size > 0
        result = run_cli("--data-dir", root, "import", ENRICHED[3], user=NOBODY, env=env)
        assert result.returncode == 1
        said(result, "read-only", "still work")
        assert tree(root) == before


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                          capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=60)


def fill(disk: Path) -> None:
    with (disk / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_says_so_and_readers_still_work(full_disk: Path, tmp_path: Path) -> None:
    root = make_library(full_disk / "lib", tmp_path, files=2)
    fill(full_disk)
    before = tree(root)
    listed = run_cli("--data-dir", root, "conversations")
    said(listed, "2 conversations")
    for args in (("import", ENRICHED[3]), ("add", "--new", "more", "--all")):
        result = run_cli("--data-dir", root, *args)
        assert result.returncode == 1, result.stdout
        said(result, "full")
        assert "damaged" not in result.stdout + result.stderr
    (full_disk / "filler").unlink()
    assert {k: v for k, v in tree(root).items()} == before
    assert run_cli("--data-dir", root, "files").stdout.count("\n") == 1


# --- 9: interrupted work is completed or rolled back ----------------------------------

SLOW_BUILD = r"""
import sys, time
from pathlib import Path
from app.library import Library
from app import trainingfiles

root, marker, action = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def progress(done, total, current):
    if done == 2:
        marker.write_text("building")
        time.sleep(60)

library = Library(root)
ids = [row.conversation_id for row in library.summaries()]
if action == "add-new":
    trainingfiles.add_conversations(library, "fresh", ids, progress=progress, create=True)
else:
    stale = trainingfiles.files_holding(library, batch_id="batch-a")
    library.rename_batch("batch-a", "renamed")
    trainingfiles.rebuild_training_files(library, stale, progress=progress)
"""


def kill_mid_build(root: Path, marker: Path, action: str) -> None:
    with python_child(SLOW_BUILD, str(root), str(marker), action) as child:
        wait_for_marker(child, marker, 120, "started building")
        kill_hard(child)


def fragments(root: Path) -> int:
    """Stored conversation renderings (app.stored_builds), read without the app."""
    conn = sqlite3.connect(root / DATABASE_NAME)
    try:
        return int(conn.execute("SELECT count(*) FROM build_fragments").fetchone()[0])
    finally:
        conn.close()


def exported_jsonl(root: Path, name: str, target: Path) -> str:
    result = run_cli("--data-dir", root, "export", name, "--format", "jsonl", "-o", target)
    assert result.returncode == 0, result.stderr
    return target.read_text(encoding="utf-8")


def test_killed_during_add_new_leaves_nothing_for_the_next_command(built: Path,
                                                                   tmp_path: Path) -> None:
    stored = fragments(built)
    kill_mid_build(built, tmp_path / "marker", "add-new")
    listed = run_cli("--data-dir", built, "files")  # any command, even a reader
    said(listed)
    assert listed.stdout.splitlines()[0].startswith("base\t")
    assert len(listed.stdout.splitlines()) == 1, "an empty leftover training file"
    assert fragments(built) == stored
    assert not (built / "training-files").exists()
    again = run_cli("--data-dir", built, "add", "--new", "fresh", "--all")
    assert again.returncode == 0, again.stderr


def test_killed_during_the_rebuilds_after_rename_batch_the_next_command_finishes(
    built: Path, tmp_path: Path
) -> None:
    kill_mid_build(built, tmp_path / "marker", "rename")
    listed = run_cli("--data-dir", built, "conversations")
    said(listed, "renamed")
    assert "rebuilt the training file 'base'" in listed.stderr
    text = exported_jsonl(built, "base", tmp_path / "base.jsonl")
    assert "batch-a" not in text
    assert "renamed" in text
    assert fragments(built) == 3  # one per member: the old renderings went with the switch


# --- also: a stored build damaged outside LoRA Studio ----------------------------------


def test_a_damaged_stored_rendering_is_refused_with_the_way_out(built: Path,
                                                                tmp_path: Path) -> None:
    good = exported_jsonl(built, "base", tmp_path / "good.jsonl")
    conn = sqlite3.connect(built / DATABASE_NAME)
    conn.execute("UPDATE build_fragments SET jsonl = CAST('x' || substr(CAST(jsonl AS TEXT), 2)"
                 " AS BLOB) WHERE rowid = (SELECT min(rowid) FROM build_fragments)")
    conn.commit()  # same size, one byte changed: only the checksum can tell
    conn.close()
    target = tmp_path / "messages.jsonl"
    result = run_cli("--data-dir", built, "export", "base", "--format", "jsonl-messages",
                     "-o", target)
    assert result.returncode == 1
    said(result, "damaged", "lora-studio rebuild")
    assert not target.exists()
    assert run_cli("--data-dir", built, "rebuild", "base").returncode == 0
    assert exported_jsonl(built, "base", tmp_path / "again.jsonl") == good


# --- also: a closed pipe, plain-text dialogs, the orjson floor ------------------------


def test_a_closed_pipe_ends_the_listing_quietly(built: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line, like "| head -0"
    child = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(built), "conversations"],
        stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    os.close(write_end)
    assert "Traceback" not in child.stderr and "BrokenPipe" not in child.stderr, child.stderr
    assert child.returncode != 0


def test_dialog_text_from_files_is_plain_text(qtbot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from ui.dialogs import message_box

    box = message_box(QMessageBox.Icon.Warning, "Refused",
                      "evil<b>.json</b>: <img src='x'>", None)
    qtbot.addWidget(box)
    assert box.textFormat() == Qt.TextFormat.PlainText


def test_orjson_has_the_nesting_limit_fix() -> None:
    from importlib.metadata import requires, version

    from packaging.version import Version

    (wanted,) = [r for r in requires("lora-studio") or [] if r.startswith("orjson")]
    floor = Version(wanted.split(">=")[1].split(",")[0].split(";")[0].strip())
    assert floor >= Version("3.11.6")  # loads: CVE-2024-27454 (3.9.15); dumps: CVE-2025-67221
    assert Version(version("orjson")) >= floor


def test_every_schema_version_can_be_recognised_by_its_tables() -> None:
    """A new migration must say what it adds (app.db.MARKERS), or a library whose
    user_version was lost would be taken for an older one and upgraded twice."""
    from app.db import MARKERS, MIGRATIONS

    assert set(MARKERS) == set(range(2, SCHEMA_VERSION + 1))
    assert set(MIGRATIONS) == set(range(1, SCHEMA_VERSION))


def test_a_healthy_library_needs_no_recovery(built: Path) -> None:
    """The check runs before every command: it must not find work where there is none
    (a header format change would otherwise rebuild every file at every command)."""
    from app.recovery import needs_recovery, stale_training_files

    with Library(built, read_only=True) as library:
        assert stale_training_files(library) == []
        assert not needs_recovery(library)
    result = run_cli("--data-dir", built, "files")
    assert result.stderr == ""
