"""The rule: no traceback ever reaches a person, and nothing stored is lost.

Every command of ``lora-studio`` runs against every damaged-library state we know and
with every hostile input we have. Each answer is either success or a sentence on stderr
(``error: …`` / ``refused: …``) with a non-zero exit code, never a traceback and never the
"problem it does not know how to handle" bug report; a database that could not be opened
is left byte for byte as it was, and no stored conversation disappears.

The commands run through ``app.cli.main`` in this process (one process per command would
take minutes); the process-level cases (closed pipes, other users, full disks, kills) have
their own tests that run the real command.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ENRICHED, LEGACY
from hostile_corpus import hold_library, hostile_cases, write_corpus
from old_schema import downgrade

from app.cli import READ_ONLY_COMMANDS, main
from app.paths import DATABASE_NAME

State = Callable[[Path], None]
BUG = "does not know how to handle"
DELETES = {"delete-conversations"}  # asked for: the one command meant to remove conversations


def _database(root: Path) -> Path:
    return root / DATABASE_NAME


def healthy(root: Path) -> None:
    return None


def garbage(root: Path) -> None:
    _database(root).write_bytes(b"not a database at all\n" * 50)


def zero_length(root: Path) -> None:
    _database(root).write_bytes(b"")


def zero_length_alone(root: Path) -> None:
    """An empty database file and nothing else of a library beside it: a new library."""
    _database(root).write_bytes(b"")
    for path in root.iterdir():
        if path != _database(root):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _sql(root: Path, *statements: str) -> None:
    conn = sqlite3.connect(_database(root))
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def newer(root: Path) -> None:
    _sql(root, "PRAGMA user_version = 99")


def version_lost(root: Path) -> None:
    _sql(root, "PRAGMA user_version = 0")


def version_wrong(root: Path) -> None:
    _sql(root, "PRAGMA user_version = 1")


def a_table_missing(root: Path) -> None:
    _sql(root, "PRAGMA foreign_keys = OFF", "DROP TABLE training_file_members")


def foreign(root: Path) -> None:
    _database(root).unlink()
    _sql(root, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")


def truncated_page(root: Path) -> None:
    data = _database(root).read_bytes()
    _database(root).write_bytes(data[: len(data) // 2])


def stored_rendering_damaged(root: Path) -> None:
    _sql(root, "UPDATE build_fragments SET jsonl = substr(jsonl, 1, 100)")


def stored_build_missing(root: Path) -> None:
    _sql(root, "PRAGMA foreign_keys = OFF", "DELETE FROM build_fragments")


def files_folder_is_a_file(root: Path) -> None:
    (root / "training-files").write_text("in the way", encoding="utf-8")


def interrupted_build(root: Path) -> None:
    """An older version's build folder, killed before the database pointed at it."""
    unfinished = root / "training-files" / "00001-r99"
    unfinished.mkdir(parents=True)
    (unfinished / "base.jsonl").write_text("{}\n", encoding="utf-8")
    (unfinished / ".building").touch()


def leftover_renderings(root: Path) -> None:
    """A large build killed before its switch: renderings that nothing uses."""
    _sql(root, "INSERT INTO build_fragments SELECT key || ':left', sha256, tokens, json_size, "
         "jsonl_size, jsonl, json FROM build_fragments")


def library_is_a_file(root: Path) -> None:
    shutil.rmtree(root)
    root.write_text("a file where the library folder should be", encoding="utf-8")


def _older(version: int) -> State:
    def make(root: Path) -> None:
        downgrade(_database(root), version)
    make.__name__ = f"older_v{version}"
    return make


OLDER = {f"older_v{version}" for version in (1, 2, 3, 4)}


STATES: dict[str, State] = {f.__name__: f for f in (
    healthy, garbage, zero_length, zero_length_alone, newer, version_lost, version_wrong,
    a_table_missing, foreign, truncated_page, stored_rendering_damaged, stored_build_missing,
    files_folder_is_a_file, interrupted_build, leftover_renderings, library_is_a_file,
    *(_older(version) for version in (1, 2, 3, 4)))}
# Opening these must not change the database file at all.
UNTOUCHABLE = {"garbage", "zero_length", "newer", "a_table_missing", "foreign",
               "truncated_page"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("inputs")
    good = base / "batch-a"
    good.mkdir()
    for path in ENRICHED[:3]:
        shutil.copy(path, good)
    more = base / "batch-b"
    more.mkdir()
    shutil.copy(LEGACY[0], more)
    hostile = base / "hostile"
    write_corpus(hostile, hostile_cases(), big=False)
    return {"good": good, "more": more, "hostile": hostile, "out": base / "out"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, inputs: dict[str, Path]) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "lib"
    for argv in (["import", str(inputs["good"])], ["add", "--new", "base", "--all"]):
        assert run(root, argv)[0] == 0
    return root


def run(root: Path, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--data-dir", str(root), *argv])
        except SystemExit as exc:  # argparse's usage errors: a message, no traceback
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # exactly what must never happen
            import traceback

            err.write("Traceback (escaped main):\n" + "".join(traceback.format_exception(exc)))
            code = -1
    return code, out.getvalue(), err.getvalue()


def commands(inputs: dict[str, Path], root: Path) -> dict[str, list[str]]:
    out = inputs["out"]
    hostile = sorted(str(p) for p in inputs["hostile"].iterdir())
    return {
        "validate hostile": ["validate", *hostile],
        "import good": ["import", str(inputs["more"])],
        "import hostile": ["import", str(inputs["hostile"])],
        "conversations": ["conversations"],
        "conversations json": ["conversations", "--json"],
        "batches": ["batches"],
        "rename-batch": ["rename-batch", "batch-a", "renamed"],
        "move": ["move", "moved", "enriched-1"],
        "review": ["review", "enriched-1", "--by", "tester"],
        "files": ["files"],
        "files json": ["files", "--json"],
        "openings": ["openings", "base"],
        "openings json": ["openings", "base", "--words", "3", "--json"],
        "add existing": ["add", "base", "--all"],
        "add new": ["add", "--new", "second", "--all"],
        "add new CJK name": ["add", "--new", "日" * 79, "--all"],
        "add new device name": ["add", "--new", "COM¹", "--all"],
        "add control batch": ["add", "base", "--batch", "bad\x1bbatch"],
        "set policy": ["set", "base", "--cut-off-policy", "keep"],
        "remove": ["remove", "base", "not-a-member"],
        "delete-conversations": ["delete-conversations", "enriched-1", "--yes"],
        "rebuild": ["rebuild", "base"],
        "max-len": ["max-len", "base", "2048"],
        "max-len out of range": ["max-len", "base", "3"],
        "tokens": ["tokens"],
        "tokens bad tokenizer": ["tokens", "--tokenizer", str(inputs["hostile"])],
        "export jsonl": ["export", "base", "--format", "jsonl", "-o", str(out / "b.jsonl"),
                         "--force"],
        "export messages": ["export", "base", "--format", "jsonl-messages", "-o",
                            str(out / "m.jsonl"), "--force"],
        "export split": ["export", "base", "--format", "split", "-o", str(out / "split"),
                         "--force"],
        "export into library": ["export", "base", "--format", "json", "-o",
                                str(root / DATABASE_NAME), "--force"],
        # The library is read first (in every state), then the team server is not there.
        "copy-library to a server that is down": [
            "copy-library", "--to", "postgresql://curator@127.0.0.1:1/team"],
        "copy-library to a folder": ["copy-library", "--to", str(out / "a-folder")],
    }


def readers(inputs: dict[str, Path]) -> set[str]:
    """The commands that only read, each of which must read a library of any version
    without changing it (the export into the library folder is refused on purpose)."""
    return {label for label, argv in commands(inputs, Path()).items()
            if argv[0] in READ_ONLY_COMMANDS} - {"export into library"}


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def stored_ids(root: Path) -> set[str]:
    """Conversation ids in the database file, read directly (empty if unreadable)."""
    try:
        conn = sqlite3.connect(f"{_database(root).as_uri()}?mode=ro", uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT conversation_id FROM conversations")}
        finally:
            conn.close()
    except (sqlite3.Error, ValueError):
        return set()


@contextlib.contextmanager
def state_copy(pristine: Path, scratch: Path, make: State) -> Iterator[Path]:
    if scratch.exists():
        shutil.rmtree(scratch) if scratch.is_dir() else scratch.unlink()
    shutil.copytree(pristine, scratch, ignore=shutil.ignore_patterns("library.lock"))
    make(scratch)
    yield scratch


@pytest.mark.parametrize("state", list(STATES))
def test_every_command_answers_with_a_sentence_and_loses_nothing(
    state: str, pristine: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    failures = []
    scratch = tmp_path / "lib"
    for label, argv in commands(inputs, scratch).items():
        with state_copy(pristine, scratch, STATES[state]) as root:
            before_db, before_ids = digest(_database(root)), stored_ids(root)
            code, out, err = run(root, argv)
            text = out + err
            problem = None
            if "Traceback" in text or code == -1:
                problem = "a traceback reached the person"
            elif BUG in text:
                problem = "an unknown failure (bug report) instead of a known one"
            elif code != 0 and not any(line.startswith(("error: ", "refused: ", "usage:"))
                                       for line in err.splitlines()) \
                    and not out.strip():
                problem = "a failure without a sentence"
            elif code == 0 and state in UNTOUCHABLE and label != "validate hostile":
                problem = "succeeded on a library it should not open"
            elif state in UNTOUCHABLE and digest(_database(root)) != before_db:
                problem = "changed a database it could not open"
            elif state in OLDER and label in readers(inputs) and code != 0:
                problem = "a reading command did not read an older library"
            elif state in OLDER and label in readers(inputs) and (
                    digest(_database(root)) != before_db or list(root.glob("*.bak"))):
                problem = "a reading command changed an older library"
            elif label not in DELETES and not before_ids <= stored_ids(root):
                problem = f"lost conversations {sorted(before_ids - stored_ids(root))}"
            if problem:
                failures.append(f"{label}: {problem} (exit {code}):\n{text[-1500:]}")
    assert not failures, f"state {state}:\n" + "\n\n".join(failures)


def test_a_library_held_by_another_process_answers_every_command(
    pristine: Path, inputs: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    shutil.copytree(pristine, root)
    failures = []
    with hold_library(root, tmp_path / "holder"):
        for label, argv in commands(inputs, root).items():
            before = stored_ids(root)
            code, out, err = run(root, argv)
            text = out + err
            if "Traceback" in text or BUG in text or code == -1:
                failures.append(f"{label}: {text[-800:]}")
            elif code != 0 and not err.startswith(("error: ", "refused: ")) \
                    and not out.strip():
                failures.append(f"{label}: no sentence: {text[-800:]}")
            assert label in DELETES or before <= stored_ids(root)
    assert not failures, "\n\n".join(failures)


def test_the_matrix_covers_the_states_and_commands_we_know() -> None:
    """A new command or state must be added here: the parser's commands are all listed."""
    from app.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    listed = {argv[0] for argv in commands({"good": Path(), "more": Path(),
                                            "hostile": Path(), "out": Path()}, Path()).values()
              if argv}
    assert set(sub.choices) <= listed | {"validate"}, set(sub.choices) - listed
    json.dumps(sorted(STATES))
