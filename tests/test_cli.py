"""The ``lora-studio`` command, run in-process against a library in tmp_path."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import BAD, ENRICHED, FIRST_REPLY_CUT, LEGACY, ROOT

from app import FORMAT_VERSION, __version__
from app.cli import file_line, main, policy_line
from app.labels import display_name
from app.library import Library
from app.settings_words import fitted_replies
from app.trainingfiles import TrainingFileInfo, header, list_training_files, member_ids

EXAMPLES = [
    ROOT / "schemas" / "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.json",
    ROOT / "schemas" / "c-alpha-build_v3.4_emotional-dataset-JSON-example_v4.jsonl",
]
TOTAL = len(ENRICHED) + len(LEGACY)
# The legacy fixtures are files of the older v3 format: the summary says they were converted.
OLDER = f"{len(LEGACY)} files in the older v3 format were converted as they were imported."

# What the JSONL already handles: the repaired text is trained, the unanswered last turn is
# left out of the line. Spelled out here, not imported, so the test says what it means.
HANDLED = {"text_repaired", "unanswered_last_turn"}

CONVERSATION_KEYS = {
    "conversation_id", "batch_id", "persona_name", "persona_archetype", "emotional_arc",
    "emotional_arc_key", "training_topic", "training_topic_key", "turns", "trainable_replies",
    "replies_trained", "quality_score", "quality_tier", "created", "imported_at",
    "source_file", "warning_codes", "warnings_text", "training_files", "reviewed_by",
    "reviewed_at", "token_count", "token_budget",
}


class Cli:
    """Runs ``main`` with ``--data-dir`` and hands back (exit code, stdout, stderr)."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = data_dir
        self.capsys = capsys

    def __call__(self, *args: Any) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--data-dir", str(self.data_dir), *map(str, args)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ids(self, *args: Any) -> list[str]:
        code, out, _ = self("conversations", "--json", *args)
        assert code == 0
        return [orjson.loads(line)["conversation_id"] for line in out.splitlines()]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "lib", capsys)


@pytest.fixture
def imported(cli: Cli, fixture_folder: Path) -> Cli:
    code, _, _ = cli("import", fixture_folder)
    assert code == 0
    return cli


def test_import_prints_a_line_per_file_and_a_summary(cli: Cli, fixture_folder: Path) -> None:
    code, out, err = cli("import", fixture_folder)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == TOTAL + 2
    for line in lines[:-2]:
        assert line.startswith("imported ")
        assert f"→ batch {fixture_folder.name}" in line
    assert lines[-2] == f"batches created: {fixture_folder.name}"
    assert lines[-1] == f"{TOTAL} conversations imported. {OLDER}"

    code, out, _ = cli("import", fixture_folder)
    assert code == 0, "duplicates alone are not a failure"
    lines = out.splitlines()
    assert all(line.startswith("duplicate ") for line in lines[:-1])
    assert lines[-1] == (f"0 conversations imported, {TOTAL} conversations already in the "
                         "library (skipped).")


def test_import_exits_1_when_something_was_rejected(cli: Cli, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in [*BAD, ENRICHED[0]]:
        shutil.copy(path, mixed / path.name)
    code, out, _ = cli("import", mixed, "--batch", "chosen")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(BAD) + 3  # a line per file, the batches created, the summary
    assert lines[-2] == "batches created: chosen"
    rejected = [line for line in lines if line.startswith("rejected ")]
    assert len(rejected) == len(BAD)
    assert any("line" in line and "column" in line for line in rejected)
    assert any("raw" in line for line in rejected)
    # places in words, as the window says them: no JSON path such as "$:" before the reason
    assert not any(": $" in line for line in rejected), rejected
    assert next(line for line in lines if line.startswith("imported ")).endswith("batch chosen")
    assert lines[-1] == f"1 conversation imported, {len(BAD)} files could not be imported."


def test_import_of_a_missing_path(cli: Cli, tmp_path: Path) -> None:
    code, out, _ = cli("import", tmp_path / "nowhere")
    assert code == 1
    assert "no such file or folder" in out


def test_import_refuses_a_named_file_that_is_not_json_as_such_and_imports_the_rest(
        cli: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember to check batch 4", encoding="utf-8")
    code, out, _ = cli("import", notes, ENRICHED[0])
    assert code == 1
    assert (f"rejected  {notes}: not a .json conversation file; only .json files are "
            "imported") in out.splitlines()
    assert "not valid JSON" not in out
    assert out.splitlines()[-1] == "1 conversation imported, 1 file could not be imported."


def test_conversations_json(imported: Cli, fixture_folder: Path) -> None:
    code, out, _ = imported("conversations", "--json")
    assert code == 0
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert len(rows) == TOTAL
    for row in rows:
        assert set(row) == CONVERSATION_KEYS
        assert row["batch_id"] == fixture_folder.name
        assert row["turns"] > 0 and row["trainable_replies"] > 0
        # what the default cut-off policy trains: none of a first reply that is cut off
        cut_first = row["conversation_id"] in FIRST_REPLY_CUT
        assert (row["replies_trained"] == 0) == cut_first
        assert row["replies_trained"] <= row["trainable_replies"]
    assert len({row["conversation_id"] for row in rows}) == TOTAL


def test_conversations_text_and_batch_filter(imported: Cli, fixture_folder: Path) -> None:
    code, out, _ = imported("conversations")
    assert code == 0
    assert out.splitlines()[-1] == f"{TOTAL} conversations"
    cut_first = [line for line in out.splitlines() if any(c in line for c in FIRST_REPLY_CUT)]
    assert len(cut_first) == 2
    assert all(re.search(r"\t0 of \d+ replies trained\t", line) for line in cut_first), cut_first
    code, out, _ = imported("conversations", "--batch", "nobody")
    assert out.splitlines() == ["0 conversations"]


def test_counts_of_one_are_singular_in_the_conversation_list_and_a_refused_add(
        cli: Cli, tmp_path: Path) -> None:
    document = json.loads(ENRICHED[0].read_text(encoding="utf-8"))
    replies = [pair for pair in document["training_pairs"] if pair["target_response"]]
    for pair in replies[1:]:
        pair["target_response"] = None  # one consultant reply left to train on
    one = tmp_path / "one-reply.json"
    one.write_text(json.dumps(document), encoding="utf-8")
    code, _, err = cli("import", one)
    assert code == 0, err
    code, out, err = cli("conversations")
    assert code == 0, err
    row, total = out.splitlines()
    assert "\t1 reply\t" in row and total == "1 conversation"
    code, _, err = cli("add", "--new", "Ghost", "no-such-conversation")
    assert code == 1
    assert "'Ghost' was not created: the conversation cannot be added" in err


def test_batches_json(imported: Cli, fixture_folder: Path) -> None:
    """One JSON object a batch, as conversations and files give (audit57 W5: refused)."""
    code, out, err = imported("batches", "--json")
    assert code == 0, err
    [line] = out.splitlines()
    batch = json.loads(line)
    assert batch.keys() == {"batch_id", "conversations", "created_at"}
    assert (batch["batch_id"], batch["conversations"]) == (fixture_folder.name, TOTAL)
    assert batch["created_at"].startswith("20")


def test_batches_rename_and_move(imported: Cli, fixture_folder: Path) -> None:
    code, out, _ = imported("batches")
    assert code == 0
    assert out.splitlines() == [f"{fixture_folder.name}\t{TOTAL}"]

    code, _, _ = imported("rename-batch", fixture_folder.name, "main")
    assert code == 0
    ids = imported.ids()
    code, out, _ = imported("move", "side", ids[0], ids[1])
    assert code == 0 and "moved 2" in out
    _, out, _ = imported("batches")
    assert out.splitlines() == [f"main\t{TOTAL - 2}", "side\t2"]
    assert imported.ids("--batch", "side") == ids[:2]

    code, out, _ = imported("rename-batch", "side", "main")  # onto an existing batch
    assert code == 0
    assert out.splitlines()[0] == ("merged batch 'side' (2 conversations) into the existing "
                                   "batch 'main'")
    _, out, _ = imported("batches")
    assert out.splitlines() == [f"main\t{TOTAL}"]

    code, _, err = imported("move", "side", "unknown-conversation")
    assert code == 1
    assert "unknown-conversation" in err


def test_training_file_commands(imported: Cli, fixture_folder: Path, tmp_path: Path) -> None:
    ids = imported.ids()
    imported("move", "small", *ids[:3])

    code, out, err = imported("add", "Small set", "--new", "--batch", "small")
    assert code == 0, err
    assert "now 3 conversations" in out

    code, listing, _ = imported("files", "--json")
    assert code == 0
    (row,) = [orjson.loads(line) for line in listing.splitlines()]
    assert row["name"] == "Small set"
    assert row["conversations"] == 3
    assert row["trainable_replies"] > 0 and row["json_bytes"] > 0 and row["jsonl_bytes"] > 0
    # the tokens the window shows (counted), beside the rough characters / 4
    assert row["tokens"] > 0 and row["tokens"] != row["estimated_tokens"]

    code, out, err = imported("add", "Small set", ids[1], ids[2])
    assert code == 0, err
    assert f"skipped 2 already in 'Small set': {ids[1]}, {ids[2]}" in out
    assert "nothing added to 'Small set'" in out
    assert imported("files", "--json")[1] == listing, "nothing new: nothing changes"

    code, out, err = imported("add", "Small set", ids[1], ids[5], "no-such-id")
    assert code == 0, err
    assert f"skipped 1 already in 'Small set': {ids[1]}" in out
    assert "skipped 1 not in the library: no-such-id" in out
    assert "added 1 to 'Small set': now 4 conversations" in out

    code, out, err = imported("remove", "Small set", ids[0])
    assert code == 0, err
    assert "now has 3 conversations" in out

    for fmt in ("json", "jsonl"):
        target = tmp_path / "exports" / f"small.{fmt}"
        code, out, err = imported("export", "Small set", "--format", fmt, "-o", target)
        assert code == 0, err
        assert out.splitlines() == [f"wrote {target}", f"wrote {target}.manifest.json"]
        assert target.stat().st_size > 0
    exported = orjson.loads((tmp_path / "exports" / "small.json").read_bytes())
    assert [c["conversation_id"] for c in exported["conversations"]] == [ids[1], ids[2], ids[5]]
    lines = (tmp_path / "exports" / "small.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x)["metadata"]["conversation_id"] for x in lines] == [
        ids[1], ids[2], ids[5]
    ]
    # validate on the folder of a save: the manifests are checked against their files
    # (they were called INVALID, "not a conversation file"), and a changed copy is named.
    saved = sorted((tmp_path / "exports").iterdir())
    code, out, _ = imported("validate", *saved)
    assert code == 0
    assert f"valid    {tmp_path / 'exports' / 'small.jsonl.manifest.json'}  [manifest]" in out
    assert "checked the 1 file it lists beside it" in out
    with (tmp_path / "exports" / "small.jsonl").open("ab") as handle:
        handle.write(b"\n")
    code, out, _ = imported("validate", tmp_path / "exports" / "small.jsonl.manifest.json")
    assert code == 1
    assert ("$.files[0]: small.jsonl changed since LoRA Studio saved it (its size or sha256 "
            "is not the one the manifest records): save it again from LoRA Studio") in out
    (tmp_path / "exports" / "small.json").unlink()
    code, out, _ = imported("validate", tmp_path / "exports" / "small.json.manifest.json")
    assert code == 1 and "$.files[0]: small.json is not beside it (" in out

    code, _, err = imported("add", "Small set", "--new", "--all")
    assert code == 1
    assert "already exists" in err
    code, _, err = imported("add", "Other", "--batch", "nobody")
    assert code == 1
    assert "no conversations" in err


def test_add_new_with_conversation_ids_after_the_flag(imported: Cli) -> None:
    """``add NAME --new ID...`` is the natural order (like ``add NAME --new --batch B``)."""
    ids = imported.ids()
    code, out, err = imported("add", "Picked", "--new", ids[0], ids[1])
    assert code == 0, err
    assert "now 2 conversations" in out


def test_a_refused_add_new_leaves_no_file(imported: Cli) -> None:
    ids = imported.ids()
    code, out, err = imported("add", "--new", "Ghost", "no-such-conversation")
    assert code == 1
    assert "skipped 1 not in the library: no-such-conversation" in out
    assert "'Ghost' was not created" in err
    assert imported("files")[1] == ""
    code, out, err = imported("add", "--new", "Ghost", ids[0])
    assert code == 0, err
    assert "now 1 conversation, " in out
    code, out, err = imported("files")
    assert code == 0, err
    assert out.startswith("Ghost\t1 conversation\t")


def test_files_lines_keep_plain_numbers_and_a_sentence_writes_its_numbers_alike(
        imported: Cli) -> None:
    """``files`` is tab-separated for scripts: 1234, never 1,234; ``set``'s sentence
    groups both its numbers (it mixed "1,234 replies trained, 5678 left out")."""
    code, _, err = imported("add", "--new", "Big", *imported.ids()[:2])
    assert code == 0, err
    code, out, err = imported("files")
    assert code == 0, err
    info = next(i for i in list_training_files_of(imported) if i.name == "Big")
    assert out.splitlines()[0] == file_line(info)
    big = dataclasses.replace(info, conversations=1234, trainable_replies=5678)
    assert file_line(big).split("\t")[1:3] == ["1234 conversations", "5678 replies"]
    assert policy_line("Big", "drop", 1234, 5678) == (
        "'Big' now uses cut-off policy drop: 1,234 replies trained, 5,678 left out")


def list_training_files_of(cli: Cli) -> list[TrainingFileInfo]:
    with Library.open(cli.data_dir, read_only=True) as library:
        return list_training_files(library)


def test_validate_examples_exit_0(cli: Cli) -> None:
    code, out, _ = cli("validate", *EXAMPLES)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(EXAMPLES)
    assert all(line.startswith("valid ") for line in lines)


def test_validate_bad_files_exit_1(cli: Cli) -> None:
    code, out, _ = cli("validate", *BAD)
    assert code == 1
    verdicts = [line for line in out.splitlines() if not line.startswith(" ")]
    assert len(verdicts) == len(BAD)
    assert all(line.startswith("INVALID ") for line in verdicts)
    for path in BAD:
        assert sum(str(path) in line for line in verdicts) == 1


def test_validate_mixed_reports_each_file(cli: Cli) -> None:
    code, out, _ = cli("validate", EXAMPLES[0], *BAD)
    assert code == 1
    verdicts = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [line.split()[0] for line in verdicts] == ["valid"] + ["INVALID"] * len(BAD)


def test_validate_says_import_refuses_a_conversation_not_named_json(
        cli: Cli, tmp_path: Path) -> None:
    """import refuses a .txt unread however good its conversation: validate agrees."""
    renamed = tmp_path / "conv.txt"
    shutil.copyfile(ENRICHED[0], renamed)
    code, out, _ = cli("validate", renamed, ENRICHED[0])
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"INVALID  {renamed}  [individual")
    assert lines[1] == ("    the file: not a .json conversation file; only .json files are "
                        "imported; rename it to conv.json to import it")
    assert lines[2].startswith(f"valid    {ENRICHED[0]}  [individual")
    code, out, _ = cli("import", renamed)
    assert code == 1 and "only .json files are imported" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"LoRA Studio {__version__} (formats v{FORMAT_VERSION})"
    )


def test_a_broken_library_file_is_an_error_not_a_traceback(cli: Cli) -> None:
    cli.data_dir.mkdir(parents=True)
    (cli.data_dir / "library.sqlite3").write_bytes(b"garbage" * 200)
    code, _, err = cli("batches")
    assert code == 1
    assert err.startswith("error:") and "not a LoRA Studio library" in err


def test_module_entry_point(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )

    version = run("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"LoRA Studio {__version__} (formats v{FORMAT_VERSION})"

    checked = run("validate", str(EXAMPLES[0]))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("valid ")

    failed = run("validate", str(BAD[0]))
    assert failed.returncode == 1
    assert failed.stdout.startswith("INVALID ")


def test_validate_recognises_our_schema_files(capsys):
    from app.cli import main

    schemas = sorted((Path(__file__).resolve().parents[1] / "schemas").glob("*.json*"))
    assert main(["validate", *map(str, schemas)]) == 0
    out = capsys.readouterr().out
    assert out.count("[JSON Schema]") == 2 and "[JSONL line schema]" in out


def test_move_rebuilds_the_training_files_it_affects(tmp_path, capsys):
    from app.cli import main

    data = ["--data-dir", str(tmp_path / "lib")]
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "legacy"
    assert main([*data, "import", str(fixtures), "--batch", "old"]) == 0
    assert main([*data, "add", "set", "--new", "--batch", "old"]) == 0
    capsys.readouterr()
    lines = _conversation_lines(main, data, capsys)
    ids = [json.loads(line)["conversation_id"] for line in lines][:2]
    assert main([*data, "move", "new", *ids]) == 0
    out = capsys.readouterr().out
    assert "rebuilt training file 'set'" in out


def _conversation_lines(main, data, capsys):
    assert main([*data, "conversations", "--json"]) == 0
    return capsys.readouterr().out.splitlines()


def test_conversations_say_which_have_no_training_line(imported: Cli) -> None:
    """A conversation with no reply to train on has no line, so no token count (null in
    JSON, "no training line" in text), never a count of 0 that reads as "not counted"."""
    code, out, _ = imported("conversations", "--json")
    assert code == 0
    counts = {row["conversation_id"]: row["token_count"]
              for row in map(orjson.loads, out.splitlines())}
    no_line = {cid for cid, n in counts.items() if n is None}
    assert no_line and all(n > 0 for cid, n in counts.items() if cid not in no_line)
    code, out, _ = imported("conversations")
    for line in out.splitlines()[:-1]:
        cid = line.split("\t")[1]
        assert ("no training line" in line) == (cid in no_line)


def test_max_len_says_how_many_lines_the_budget_cuts(imported: Cli) -> None:
    """The recipes give the trainer this length: TRL cuts longer lines, Axolotl drops them."""
    # Lines written whole (a file that fits them keeps only a first reply too long over)
    code, _, err = imported("add", "Pilot Run", "--new", "--cut-off-policy", "keep",
                            "--over-budget", "keep", "--all")
    assert code == 0, err
    code, out, err = imported("max-len", "Pilot Run", "1024")
    assert code == 0, err
    with Library.open(imported.data_dir, read_only=True) as library:
        tokens = header(library, "Pilot Run")["tokens"]
    over, longest = tokens["lines_over_max_seq_len"], tokens["max"]
    assert 1 < over < TOTAL and longest > 1024
    assert out.splitlines() == [  # the window's words after Settings…, in one line
        "Rebuilt 'Pilot Run': cut-off replies: Train every reply; length limit 1,024 tokens. "
        "Lines over the limit are written whole. "
        f"{over} of the {TOTAL} lines of 'Pilot Run' are longer than its length limit "
        "of 1,024 tokens. The trainer recipes pass that limit on: TRL would cut "
        "those lines at 1,024 tokens (nothing after that point is learned) and Axolotl would "
        "leave them out. "
        f"Raise the limit (its longest line has {longest:,} tokens: lora-studio max-len "
        f"\"Pilot Run\" {longest}), end each such line at its last whole reply that fits "
        "(lora-studio set \"Pilot Run\" --over-budget fit), or remove the longest "
        "conversations from it."]
    code, out, err = imported("max-len", "Pilot Run", str(longest))
    assert code == 0, err
    assert out.splitlines() == [f"Rebuilt 'Pilot Run': cut-off replies: Train every reply; "
                                f"length limit {longest:,} tokens; every line fits."]
    code, out, err = imported("max-len", "Pilot Run", str(longest - 1))
    assert code == 0, err
    assert (f"written whole. 1 of the {TOTAL} lines of 'Pilot Run' is longer"
            in out.splitlines()[0])


def test_add_says_the_warnings_the_header_counts_and_the_near_duplicates_apart(
        imported: Cli, tmp_path: Path) -> None:
    """The add's text counts the quality warnings the built file's header counts (not the
    library's near-duplicate flag): those that would harm training, with the option that
    leaves them out, and those the JSONL already handles apart; near-duplicates on their
    own line, with their option. (A file that keeps cut-off turns adds the fixtures with
    cut-off replies.)"""
    from test_add_review import near_twin_file

    code, _, err = imported("import", near_twin_file(tmp_path / "twin"))
    assert code == 0, err
    code, out, err = imported("add", "Everything", "--new", "--all", "--cut-off-policy", "keep")
    assert code == 0, err
    with Library.open(imported.data_dir, read_only=True) as library:
        quality = header(library, "Everything")["quality_summary"]
    added = re.search(r"^added (\d+) to 'Everything'", out, re.M)
    assert added is not None
    harmful = {code: n for code, n in quality["warnings_by_code"].items() if code not in HANDLED}
    kinds = ", ".join(f"{name} {n}" for name, n in sorted(
        ((display_name(code), n) for code, n in harmful.items()),
        key=lambda item: (-item[1], item[0])))
    flagged = re.search(r"^(\d+) added conversations have quality warnings that would harm "
                        r"training \((.*)\), counted in the header of 'Everything'; "
                        "--leave-out-flagged leaves them out$", out, re.M)
    assert flagged is not None and flagged[2] == kinds
    handled = re.search(r"^(\d+) added conversations have only warnings the JSONL already "
                        r"handles \((.*)\), counted in the header of 'Everything' too; "
                        "--leave-out-flagged keeps them$", out, re.M)
    assert handled is not None
    assert {name for name, _n in (kind.rsplit(" ", 1) for kind in handled[2].split(", "))} == {
        display_name(code) for code in HANDLED}
    assert int(flagged[1]) + int(handled[1]) == quality["conversations_with_warnings"]
    assert ("1 added conversation is a near-duplicate of a conversation already in "
            "'Everything' or earlier in this add (most sentences the same, or a shorter copy): "
            "a repeated conversation gets extra weight in training; "
            "--leave-out-near-duplicates leaves it out"
            ) in out.splitlines()

    code, out, err = imported("add", "Without twins", "--new", "--all",
                              "--leave-out-near-duplicates", "--cut-off-policy", "keep")
    assert code == 0, err
    assert ("skipped 1 nearly repeating a conversation already in the file or earlier in the "
            "selection (left out): fp_conversation_near") in out.splitlines()
    assert "near-duplicate" not in out
    assert f"added {int(added[1]) - 1} to 'Without twins'" in out



def test_leaving_out_flagged_keeps_the_conversations_whose_warnings_the_jsonl_handles(
        cli: Cli) -> None:
    """A clean file of the real enriched fixtures kept 2 of the 4 trainable conversations:
    the 2 whose only warnings were Unanswered Last Turn and Text Repaired were left out as
    flagged, though their JSONL lines are sound. Only warnings that harm training (here the
    cut-off replies) flag a conversation."""
    code, _, err = cli("import", ROOT / "tests" / "fixtures" / "enriched")
    assert code == 0, err
    code, out, _ = cli("conversations", "--json")
    warnings = {row["conversation_id"]: set(row["warning_codes"])
                for row in map(json.loads, out.splitlines())}
    handled = sorted(cid for cid, codes in warnings.items() if codes and codes <= HANDLED)
    assert len(handled) == 2, "two fixtures have only warnings the JSONL handles"
    clean = sorted(cid for cid, codes in warnings.items() if not codes - HANDLED)

    code, out, err = cli("add", "clean", "--new", "--batch", "enriched", "--leave-out-flagged")
    assert code == 0, err
    with Library.open(cli.data_dir, read_only=True) as library:
        added = sorted(member_ids(library, "clean"))
    assert added == clean and len(added) == 4
    assert "flagged" not in "".join(line for line in out.splitlines()
                                    if line.startswith("skipped"))
    assert ("2 added conversations have only warnings the JSONL already handles (Unanswered "
            "Last Turn 2, Text Repaired 1), counted in the header of 'clean' too; "
            "--leave-out-flagged keeps them") in out.splitlines()


def test_the_help_of_leave_out_flagged_names_the_warnings_it_keeps(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["add", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("--leave-out-flagged leave out conversations with quality warnings that would "
            "harm training (any but Text Repaired and Unanswered Last Turn, which the JSONL "
            "already handles)") in help_text


def test_set_policy_alone_says_the_windows_sentence(imported: Cli) -> None:
    """``set --cut-off-policy`` says what the window says after Settings… (the settings
    and the replies left out to fit), after its policy line; it printed only that line,
    which read as if every trained reply were in the JSONL."""
    code, _, err = imported("add", "Fitted", "--new", "--all", "--cut-off-policy", "trim",
                            "--over-budget", "fit", "--keep-over-budget")
    assert code == 0, err
    code, out, err = imported("max-len", "Fitted", "2048")
    assert code == 0, err
    code, out, err = imported("set", "Fitted", "--cut-off-policy", "keep")
    assert code == 0, err
    with Library.open(imported.data_dir, read_only=True) as library:
        head = header(library, "Fitted")
    fitted = fitted_replies("fit", head)
    assert fitted > 1
    lines = out.splitlines()
    assert lines[0].startswith("'Fitted' now uses cut-off policy keep: ")
    assert lines[1] == ("Rebuilt 'Fitted': cut-off replies: Train every reply; length limit "
                        "2,048 tokens. Every line fits: long conversations were shortened to "
                        f"fit ({fitted} replies at their ends are left out of the JSONL; the "
                        "full JSON keeps them).")
