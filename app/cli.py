"""The ``lora-studio`` command. With no sub-command it opens the desktop window."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import shlex
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from app import FORMAT_VERSION, __version__
from app.budget_fit import DESCRIPTIONS as OVER_BUDGET_DESCRIPTIONS
from app.budget_fit import FOR_NEW_FILES, OverBudget
from app.budget_words import over_budget_sentence
from app.build import Progress
from app.chat_templates import BUNDLED
from app.copy_library import copy_library
from app.cutoff import DEFAULT_POLICY, DESCRIPTIONS, CutOffPolicy
from app.duplicate_words import duplicate_line
from app.errors import InputError, LibraryError
from app.export import (
    DEFAULT_SEED,
    DEFAULT_VALID_FRACTION,
    ExportFormat,
    check_split_folder,
    export,
    export_notes,
    export_targets,
    manifest_path,
    nothing_to_train,
)
from app.exportguard import check_export_targets
from app.failures import failure_sentence
from app.full_found import full_files_in
from app.full_restore import restored, told
from app.idtext import readable_name
from app.importer import FileVerdict, ImportReport, Verdict, import_paths
from app.labels import display_name
from app.library import Library, clean_batch_id
from app.location import parse_location
from app.paths import DATABASE_NAME
from app.places import readable_reason, split_reason
from app.quality import harmful_warnings, informational_names
from app.recovery import finish_interrupted_work, needs_recovery
from app.removal import apply_removal, plan_removal
from app.replace_checks import (
    Replaced,
    Worse,
    differences,
    holding,
    marks_taken,
    replace_changed,
    stored_conversations,
)
from app.replace_words import (
    changed_lines,
    marks_question,
    marks_taken_words,
    rebuilds_sentence,
    worse_findings,
)
from app.reply_openings import (
    DEFAULT_TOP,
    OPENING_WORDS,
    WORD_CHOICES,
    FileOpenings,
    Opening,
    file_openings,
)
from app.review_marks import mark_reviewed
from app.running_now import running_elsewhere, running_sentence
from app.samples import sample_ids
from app.settings_words import fitted_replies, settings_sentence
from app.split import parse_valid_share
from app.stored_builds import rebuilds_due
from app.token_counts import NO_LINE, ensure_counts
from app.tokenizer_choice import choose, counter_for
from app.trainingfiles import (
    AddPlan,
    TrainingFileInfo,
    apply_addition,
    change_settings,
    files_holding,
    get_training_file,
    header,
    list_training_files,
    plan_addition,
    rebuild_if_owed,
    rebuild_training_files,
    remove_conversations,
)
from app.validate import Verdict as ValidationVerdict
from app.validate import problem_words, validate_path
from app.validate_folder import folder_files, nothing_to_check, passed_over_words
from app.wording import agreeing, first_few, plural

POLICIES = [policy.value for policy in CutOffPolicy]
OVER_BUDGET = [setting.value for setting in OverBudget]
GUI_MODULE = "ui.main"  # found by name so that the core never imports Qt
# These only read, so they work while a LoRA Studio window has the library open.
READ_ONLY_COMMANDS = frozenset({"conversations", "batches", "files", "export", "openings"})


def _valid_share(text: str) -> float:
    """``--valid-fraction`` as the window takes it: 0.1 or 10%."""
    try:
        return parse_valid_share(text)
    except LibraryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    """``--top``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lora-studio",
        description="Curate enriched conversations and build LoRA training files.",
    )
    parser.add_argument("--version", action="version",
                        version=f"LoRA Studio {__version__} (formats v{FORMAT_VERSION})")
    parser.add_argument("--library", "--data-dir", dest="library", metavar="PATH_OR_URL",
                        help="the library: a folder, or a team library's "
                             "postgresql://user@host:port/database URL (default: "
                             "$LORA_STUDIO_HOME, else for a COMMAND the user-data folder "
                             "and for the window the library it had open last); a folder that "
                             "holds no library gets a new one")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check files: individual, full JSON or JSONL")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    p = sub.add_parser("import", help="import conversation files, full training files and "
                       "folders (each folder of files becomes a batch named after it)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--batch", metavar="ID",
                   help=("one batch for everything; without it each folder is its own batch, "
                         "named after it (or by its path when two share a name); a full "
                         "training file of ours keeps the batches its records name unless "
                         "--batch-per-file is given"))
    p.add_argument("--replace", action="store_true",
                   help="replace stored conversations whose content changed (same id) and "
                        "rebuild the training files that hold them")
    p.add_argument("--batch-per-file", action="store_true",
                   help="put all the conversations of a full training file into one batch "
                        "(--batch, else named after the file); without it each conversation "
                        "of a full training file of ours keeps the batch its record names")
    p.add_argument("--recreate", action="store_true",
                   help="also make each full training file of ours imported (named here or "
                        "in a folder) a training file again: its name (or a free one), its "
                        "settings, its conversations in its order; one the library already "
                        "holds (same conversations, order and settings) is said and skipped")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per file or conversation: its verdict, and for a "
                        "refusal where in the file (a JSON path) and why; with --replace, "
                        "then one per rebuilt training file (\"training_file\") with what "
                        "the new versions brought into it")

    p = sub.add_parser("conversations", help="list the library")
    p.add_argument("--batch", metavar="ID")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--reviewed", action="store_true", help="only those marked reviewed")
    shown.add_argument("--not-reviewed", action="store_true",
                       help="only those not marked reviewed")
    p.add_argument("--json", action="store_true", help="one JSON object per conversation")

    p = sub.add_parser("batches", help="list batches with their counts")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per batch: batch_id, conversations, created_at")

    p = sub.add_parser("rename-batch", help="rename a batch (merges into an existing one)")
    p.add_argument("old")
    p.add_argument("new")

    p = sub.add_parser("move", help="move conversations to another batch")
    p.add_argument("batch")
    p.add_argument("conversation_ids", nargs="+", metavar="CONVERSATION_ID")

    p = sub.add_parser("review", help="mark conversations reviewed (who and when are kept in "
                       "the library, never in the source file); their training files are rebuilt")
    p.add_argument("conversation_ids", nargs="+", metavar="CONVERSATION_ID")
    p.add_argument("--by", metavar="NAME", help="who reviewed (default: your login name)")
    p.add_argument("--undo", action="store_true", help="take the review mark away")

    p = sub.add_parser("files", help="list training files")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("openings", help="a training file's most common reply openings and "
                       "the share of replies ending on a question (tics a LoRA amplifies)")
    p.add_argument("name")
    p.add_argument("--top", type=_positive, default=DEFAULT_TOP, metavar="N",
                   help=f"how many openings to list (default {DEFAULT_TOP})")
    p.add_argument("--words", type=int, choices=WORD_CHOICES, default=OPENING_WORDS,
                   help=f"words an opening has (default {OPENING_WORDS})")
    p.add_argument("--json", action="store_true",
                   help="one JSON object: the counts, and per opening its replies, share "
                        "and conversation ids")

    p = sub.add_parser("add", help="add conversations to a training file")
    p.add_argument("name")
    p.add_argument("--new", action="store_true", help="create the training file first")
    p.add_argument("--batch", metavar="ID", help="every conversation of a batch")
    p.add_argument("--all", action="store_true", help="every conversation in the library")
    p.add_argument("conversation_ids", nargs="*", default=[], metavar="CONVERSATION_ID")
    p.add_argument("--cut-off-policy", choices=POLICIES,
                   help="with --new: what the file does with cut-off turns (default: trim)")
    p.add_argument("--over-budget", choices=OVER_BUDGET,
                   help="with --new: what the file does with a line over its length limit "
                        f"(default: {FOR_NEW_FILES.value})")
    p.add_argument("--leave-out-flagged", action="store_true",
                   help="leave out conversations with quality warnings that would harm "
                        f"training (any but {informational_names()}, which the JSONL "
                        "already handles)")
    p.add_argument("--leave-out-near-duplicates", action="store_true",
                   help="leave out conversations that nearly repeat one already in the file "
                        "or earlier in this add")
    over = p.add_mutually_exclusive_group()
    over.add_argument("--leave-out-over-budget", action="store_true",
                      help="leave out conversations over the file's length limit (a trainer "
                           "would cut or drop their lines); in a file that fits its lines "
                           "(--over-budget fit) those whose first reply alone is too long "
                           "are left out anyway, unless --keep-over-budget")
    over.add_argument("--keep-over-budget", action="store_true",
                      help="add them all the same: in a file that fits its lines, those whose "
                           "first reply alone is longer than the limit, written whole")

    p = sub.add_parser("set", help="change a training file's settings (rebuilds it)")
    p.add_argument("name")
    p.add_argument("--cut-off-policy", choices=POLICIES,
                   help="; ".join(f"{p.value}: {text}" for p, text in DESCRIPTIONS.items()))
    p.add_argument("--max-seq-len", type=int, metavar="TOKENS",
                   help="the length limit, as max-len sets it")
    p.add_argument("--over-budget", choices=OVER_BUDGET,
                   help="a line over the length limit: " + "; ".join(
                       f"{p.value}: {text}" for p, text in OVER_BUDGET_DESCRIPTIONS.items()))

    p = sub.add_parser("remove", help="remove conversations from a training file")
    p.add_argument("name")
    p.add_argument("conversation_ids", nargs="+", metavar="CONVERSATION_ID")

    p = sub.add_parser("delete-conversations",
                       help="remove conversations from the library (the training files that "
                            "hold them are rebuilt without them)")
    p.add_argument("conversation_ids", nargs="*", default=[], metavar="CONVERSATION_ID")
    p.add_argument("--batch", metavar="ID", help="every conversation of a batch, and the batch")
    p.add_argument("--samples", action="store_true",
                   help="the sample conversations that came with the app")
    p.add_argument("--yes", action="store_true",
                   help="do not ask (needed when the input is not a terminal)")

    p = sub.add_parser("rebuild", help="write a training file's JSON and JSONL again")
    p.add_argument("name")

    p = sub.add_parser("max-len", help="set a training file's length limit (tokens; the "
                                       "recipes pass it on as the trainer's max_seq_len)")
    p.add_argument("name")
    p.add_argument("tokens", type=int)

    p = sub.add_parser("tokens", help="count tokens; choose the library's tokenizer and chat "
                                      "template (a team library's: for every member)")
    p.add_argument("--tokenizer", type=Path, metavar="TOKENIZER_JSON",
                   help="your base model's tokenizer.json ('bundled' for the bundled one)")
    p.add_argument("--template", metavar="NAME_OR_FILE",
                   help=f"chat template: {', '.join(BUNDLED)}, or a tokenizer_config.json "
                        "or .jinja file")

    p = sub.add_parser("copy-library",
                       help="copy the library (--library, default the local one) into an "
                            "empty team library: conversations, batches, review marks and "
                            "training files with their builds; the library is only read")
    p.add_argument("--to", required=True, metavar="URL",
                   help="the empty team library: postgresql://user@host:port/database")

    p = sub.add_parser("export", help="save a copy of a training file")
    p.add_argument("name")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat])
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="file to write (a folder for --format split and split-per-reply)")
    p.add_argument("--force", action="store_true", help="replace files that already exist")
    p.add_argument("--valid-fraction", type=_valid_share, default=DEFAULT_VALID_FRACTION,
                   help="share held out for validation: a fraction (0.1) or a percentage "
                        "(10%%)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--recipes", action="store_true",
                   help="also write a TRL script, Axolotl and LLaMA-Factory configs "
                        "(with its dataset_info.json entries) and, for a split, an MLX-LM "
                        "config for the file")
    return parser


def _print(text: str) -> None:
    # A file name that is not UTF-8 would stop a strict UTF-8 output (a pipe, Windows,
    # most locales) in the middle of a report: its odd bytes show as U+FFFD.
    sys.stdout.write(readable_name(text) + "\n")


def cmd_openings(args: argparse.Namespace, library: Library) -> int:
    """The file's most common reply openings (``app.reply_openings``), of every trained
    reply and of the first replies, and how many replies end on a question."""
    _say_work_running(library, "these counts may change")
    found = file_openings(library, args.name, args.top)
    if found.owes_rebuild:
        sys.stderr.write(f"note: '{readable_name(found.name)}' owes a rebuild: these are the "
                         "lines it holds now; rebuild it (lora-studio rebuild NAME) to count "
                         "what its conversations say now\n")
    if args.json:
        _print(orjson.dumps(openings_json(found, args.words)).decode())
        return 0
    for line in openings_lines(found, args.words):
        _print(line)
    return 0


def _opening_json(item: Opening, share: float) -> dict[str, Any]:
    return {"opening": item.words, "replies": item.replies, "share": round(share, 4),
            "most_often": item.longer, "conversations": list(item.conversations)}


def openings_json(found: FileOpenings, words: int) -> dict[str, Any]:
    """``openings --json``: one object a script reads."""
    counted = found.openings
    return {
        "name": found.name, "words": words, "trained_replies": counted.replies,
        "ending_on_question": counted.questions, "first_replies": counted.first_replies,
        "owes_rebuild": found.owes_rebuild,
        "openings": [_opening_json(item, counted.share(item.replies))
                     for item in counted.top(words)],
        "first_reply_openings": [_opening_json(item, counted.share(item.replies, first=True))
                                 for item in counted.top(words, first=True)],
    }


def openings_lines(found: FileOpenings, words: int) -> list[str]:
    """``openings``: a sentence of the counts, then the openings of every trained reply
    and of the first replies, one a line (count, share, opening, how it goes on)."""
    counted = found.openings
    if not counted.replies:
        return [f"'{found.name}' trains no reply, so no reply opening is counted."]
    asking = counted.questions
    lines = [f"'{found.name}': {plural(counted.replies, 'trained reply', 'trained replies')}; "
             f"{asking:,} ({counted.share(asking):.0%}) "
             f"{agreeing(asking, 'ends', 'end')} on a question."]
    for first, heading in ((False, f"every trained reply ({counted.replies:,})"),
                           (True, f"the first reply of each conversation "
                                  f"({counted.first_replies:,})")):
        lines.append(f"Most common openings ({plural(words, 'word')}) of {heading}:")
        for item in counted.top(words, first):
            lines.append(f"  {item.replies:>6,}  {counted.share(item.replies, first):>4.0%}  "
                         f"{item.words or '(no word)'} …  (most often \"{item.longer}\"; "
                         f"{plural(len(item.conversations), 'conversation')})")
    return lines


def cmd_validate(args: argparse.Namespace) -> int:
    """A line per file given, and per file checked in a folder given (``app.validate_folder``);
    1 when any file checked is invalid, or a folder holds nothing to check."""
    bad = 0
    for path in args.paths:
        if not path.is_dir():
            bad += not _say_verdict(validate_path(path), path)
            continue
        found = folder_files(path)
        for folder, why in found.unreadable:
            bad += 1
            _print(f"INVALID  {folder}  [folder]")
            _print(f"    the folder: cannot be read ({why}); its files were not checked")
        if not found.files and not found.unreadable:
            bad += 1
            _print(f"nothing  {path}  [folder]")
            _print(f"    {nothing_to_check(path, found)}")
            continue
        for file in found.files:
            bad += not _say_verdict(validate_path(file), file)
        if found.passed_over:
            _print(f"not checked in {path}: {passed_over_words(found)}")
    return 1 if bad else 0


def _say_verdict(verdict: ValidationVerdict, path: Path) -> bool:
    """Print the verdict's lines; True when the file is valid."""
    _print(f"{'valid   ' if verdict.ok else 'INVALID '} {path}  [{verdict.kind_words}]")
    if verdict.note:
        _print(f"    {verdict.note}")
    for problem in verdict.problems:
        _print(f"    {problem_words(problem)}")
    return verdict.ok


MAX_LISTED = 10  # changed conversations the kept line names one by one; then how many more


def cmd_import(args: argparse.Namespace, library: Library) -> int:
    facts = full_files_in(library, args.paths).full_files if args.recreate else []
    report = import_paths(library, args.paths, batch=args.batch,
                          own_batches=not args.batch_per_file)
    replaced = Replaced(report, [])
    if args.replace and report.changed:
        # As the window's Replace: the stored versions checked, replaced, the files holding
        # them rebuilt and checked again, to say only what the new versions brought in.
        replaced = replace_changed(library, report.changed)
        report = with_replaced(report, replaced.report)
    # Made again once the replace is done: it holds the versions the import left stored.
    kept = [str(v.conversation_id) for v in report.changed]
    told(report, restored(library, facts, kept))
    # With --json, stdout holds only the verdicts (one JSON object a line) and the findings
    # in the rebuilt training files; the rest of what is said goes to stderr.
    say = _print if not args.json else (lambda text: sys.stderr.write(text + "\n"))
    for item in report.verdicts:
        if args.json:
            where, why = split_reason(item.reason)
            _print(orjson.dumps({
                "path": readable_name(item.path), "verdict": item.verdict.value,
                "where": where or None,
                "reason": why or None, "conversation_id": item.conversation_id,
                "batch_id": item.batch_id}).decode())
            continue
        if item.verdict is Verdict.DUPLICATE:
            _print(f"{item.verdict.value:<9} {duplicate_line(item, str, 'add --replace')}")
            continue
        detail = (readable_reason(item.reason) if item.reason  # places in words, as the window
                  else f"{item.conversation_id} → batch {item.batch_id}")
        _print(f"{item.verdict.value:<9} {item.path}: {detail}")
    for kind in report.skipped:  # a line a kind of file, not a line a file
        say(f"not read  {kind.sentence()}")
    if report.batches_created:
        say("batches created: " + ", ".join(report.batches_created))
    say(report.summary())
    if report.changed:
        for line in kept_lines(library, report.changed):
            say(line)
    for name in replaced.rebuilt:
        say(f"rebuilt training file '{name}' (it holds a replaced conversation)")
    if report.marks_taken:
        say(marks_taken_words(report.marks_taken) + ".")
    if args.json:
        for name in replaced.rebuilt:
            _print(orjson.dumps(findings_data(name, replaced.worse)).decode())
    for line in findings_lines(replaced.worse):
        say(line)
    return 1 if report.rejected else 0


def with_replaced(first: ImportReport, again: ImportReport) -> ImportReport:
    """The import's report with its changed conversations as the replace left them: each
    changed verdict in its place, taken from the second import of their files."""
    # Each by its own file and place in it: two files of the import may hold one changed
    # conversation, one replacing it and the other then a repeat of it with other content.
    outcome = {(v.path, v.conversation_id): v for v in again.verdicts}
    verdicts = [outcome.get((v.path, v.conversation_id), v) if v.verdict is Verdict.CHANGED
                else v for v in first.verdicts]
    return dataclasses.replace(first, verdicts=verdicts, notes=[*first.notes, *again.notes],
                               cancelled=first.cancelled or again.cancelled)


def kept_lines(library: Library, changed: list[FileVerdict]) -> list[str]:
    """What the window's Replace question says of changed conversations kept as stored:
    who they are (client · batch · new file: what differs; the first ``MAX_LISTED``) and
    which training files a replace would rebuild, and the review marks it would take away."""
    n = len(changed)
    ids = [str(v.conversation_id) for v in changed if v.conversation_id]
    named = changed[:MAX_LISTED]
    differs = differences(library, [(str(v.conversation_id), v.file) for v in named])
    stored = stored_conversations(library, ids)
    lines = [f"{plural(n, 'changed conversation')} {agreeing(n, 'was', 'were')} kept as "
             f"stored; run the import again with --replace to replace "
             f"{agreeing(n, 'it', 'them')}:",
             *changed_lines(named, stored, differs)]
    if n > MAX_LISTED:
        lines.append(f"  … and {n - MAX_LISTED:,} more")
    held = holding(library, ids)
    lines.append(rebuilds_sentence(held.counts, held.in_no_file, n, listed=MAX_LISTED))
    taken = marks_taken(library, [(str(v.conversation_id), v.file) for v in changed], stored)
    if taken:
        lines.append(marks_question(taken, n))
    return lines


def findings_lines(worse: list[Worse]) -> list[str]:
    """What the new versions brought into the rebuilt training files, as the window's
    status says it: a sentence a check, naming the files and the conversations; then how
    to take them out. Nothing when the checks found nothing new."""
    found = worse_findings(worse)
    if not found:
        return []
    lines = [f"Of the replaced conversations, {clause}: {first_few(ids, MAX_LISTED)}."
             for clause, ids in found]
    names = sorted({w.name for w in worse})
    lines.append("To take one out of a training file: lora-studio remove "
                 f"{shlex.quote(names[0]) if len(names) == 1 else 'NAME'} CONVERSATION_ID…")
    return lines


def findings_data(name: str, worse: list[Worse]) -> dict[str, Any]:
    """``--json``: a rebuilt training file and what the checks found in its replaced
    conversations only after the replace (each list empty when nothing)."""
    found = next((w for w in worse if w.name == name), None)
    return {"training_file": name, "rebuilt": True,
            "harmful_warnings": {cid: list(codes) for cid, codes in
                                 (found.harmful.items() if found else [])},
            "over_length_limit": list(found.over_limit) if found else [],
            "near_duplicates": list(found.near) if found else []}


def _replies_text(trained: int, every: int) -> str:
    """A conversation's replies in the list: "3 replies", or "0 of 3 replies trained" when
    the default cut-off policy leaves some out (the Replies column's count)."""
    replies = agreeing(every, "reply", "replies")
    return f"{every} {replies}" if trained >= every else f"{trained} of {every} {replies} trained"


def _tokens_text(count: int) -> str:
    return "no training line" if count == NO_LINE else \
        f"{count} {agreeing(count, 'token', 'tokens')}"


def cmd_conversations(args: argparse.Namespace, library: Library) -> int:
    _say_work_running(library, "this list may change")
    rows = library.summaries(args.batch)
    if args.reviewed or args.not_reviewed:
        rows = [row for row in rows if (row.reviewed_by is not None) == args.reviewed]
    tokens = ensure_counts(library, [row.conversation_id for row in rows])
    if args.json:
        for row in rows:
            # The summary's own names (app.records.ConversationSummary), as the table has them.
            fields = row._asdict()
            del fields["pk"]
            count = tokens.get(row.conversation_id, row.token_count)
            fields["token_count"] = None if count == NO_LINE else count  # None: no line
            _print(orjson.dumps(fields).decode())
        return 0
    for row in rows:
        _print(f"{row.batch_id}\t{row.conversation_id}\t{row.persona_name or ''}\t"
               f"{row.emotional_arc_key or ''}\t{row.training_topic_key or ''}\t"
               f"{row.turns} {agreeing(row.turns, 'turn', 'turns')}\t"
               f"{_replies_text(row.replies_trained, row.trainable_replies)}\t"
               + _tokens_text(tokens.get(row.conversation_id, 0))
               + (f"\treviewed by {row.reviewed_by}" if row.reviewed_by else ""))
    _print(plural(len(rows), "conversation", grouped=False))  # the list's end: plain too
    return 0


def _say_work_running(library: Library, may_change: str) -> bool:
    """A line on stderr for each import or build another LoRA Studio is doing in the
    library now, so that a listing read part-way is not taken for the whole (stdout, which
    scripts read, stays as it is). Whether there was any."""
    records = running_elsewhere(library.root)
    for record in records:
        sys.stderr.write(f"note: {readable_name(running_sentence(record, may_change))}\n")
    return bool(records)


def cmd_batches(args: argparse.Namespace, library: Library) -> int:
    running = _say_work_running(library, "these counts may change")
    batches = library.batches()
    # On stderr, as files says it (stdout keeps a line a batch); not while an import runs
    # elsewhere, which is the way to some.
    if not batches and not running:
        sys.stderr.write("No batches yet: the library holds no conversation. Import some "
                         "with 'lora-studio import FILES_OR_FOLDERS' (each folder becomes a "
                         "batch), or in the window.\n")
    for batch in batches:
        if args.json:
            _print(orjson.dumps({"batch_id": batch.batch_id, "conversations":
                                 batch.conversations, "created_at": batch.created_at}).decode())
        else:
            _print(f"{batch.batch_id}\t{batch.conversations}")
    return 0


def cmd_files(args: argparse.Namespace, library: Library) -> int:
    _say_work_running(library, "this list may change")
    files = list_training_files(library)
    if not files:  # on stderr: stdout keeps a line (or JSON object) a file, for scripts
        sys.stderr.write("No training files yet: make one with 'lora-studio add NAME --new "
                         "--all' (or --batch ID, or conversation ids), or on the window's "
                         "LoRA Training JSON Files page.\n")
    for info in files:
        if args.json:
            # The tokens the window shows: its lines counted with the library's tokenizer
            # and chat template (the header's tokens.total); estimated_tokens, the header's
            # characters / 4, is a rough guide beside it (the two differed by a quarter).
            _print(orjson.dumps({
                "name": info.name, "conversations": info.conversations,
                "trainable_replies": info.trainable_replies, "tokens": info.tokens,
                "estimated_tokens": info.estimated_tokens, "json_bytes": info.json_bytes,
                "jsonl_bytes": info.jsonl_bytes, "created_at": info.created_at,
                "updated_at": info.updated_at, "cut_off_policy": info.cut_off_policy,
                "max_seq_len": info.max_seq_len, "over_budget": info.over_budget,
            }).decode())
        else:
            _print(file_line(info))
    return 0


def file_line(info: TrainingFileInfo) -> str:
    """One line of ``files``: tab-separated, read by scripts, so its numbers are plain."""
    return (f"{info.name}\t{plural(info.conversations, 'conversation', grouped=False)}\t"
            f"{plural(info.trainable_replies, 'reply', 'replies', grouped=False)}\t"
            f"updated {info.updated_at}")


def policy_line(name: str, policy: str, trained: int, left_out: int) -> str:
    """What ``set`` says: a sentence, its two numbers written alike (grouped)."""
    return (f"'{name}' now uses cut-off policy {policy}: "
            f"{plural(trained, 'reply', 'replies')} trained, {left_out:,} left out")


def changed_settings(library: Library, name: str, cut_off_policy: str | None = None,
                     max_seq_len: int | None = None, over_budget: str | None = None
                     ) -> tuple[TrainingFileInfo, dict[str, Any], str]:
    """Change the settings with one rebuild; the file, its header and what the window says
    after Settings… (``app.settings_words``): the settings, the replies left out to fit,
    and how many the change left out or brought back."""
    before = get_training_file(library, name)
    fitted = fitted_replies(before.over_budget, header(library, name))
    info = change_settings(library, name, cut_off_policy=cut_off_policy,
                           max_seq_len=max_seq_len, over_budget=over_budget)
    head = header(library, info.name)
    return info, head, settings_sentence(info.name, info.cut_off_policy, info.max_seq_len,
                                         info.over_budget, head, fitted)


def cmd_set(args: argparse.Namespace, library: Library) -> int:
    if args.cut_off_policy is None and args.over_budget is None and args.max_seq_len is None:
        raise LibraryError("set needs a setting to change: --cut-off-policy, --max-seq-len "
                           "or --over-budget")
    info, head, sentence = changed_settings(library, args.name, args.cut_off_policy,
                                            args.max_seq_len, args.over_budget)
    totals = head["totals"]
    if args.cut_off_policy is not None:
        _print(policy_line(info.name, info.cut_off_policy,
                           totals["trainable_replies"], totals["replies_left_out"]))
    # Always the window's sentence: a policy that trains cut-off replies makes lines
    # longer, so a file that fits its lines may leave replies out that it trained before.
    _print(sentence)
    for line in set_notes(info.name, head):
        _print(line)
    return 0


def cmd_add(args: argparse.Namespace, library: Library) -> int:
    if args.all:
        ids = [row.conversation_id for row in library.summaries()]
    elif args.batch:
        ids = [row.conversation_id for row in library.summaries(args.batch)]
        if not ids:
            raise LibraryError(f"the batch '{args.batch}' has no conversations")
    else:
        ids = args.conversation_ids
    for option, value in (("--cut-off-policy", args.cut_off_policy),
                          ("--over-budget", args.over_budget)):
        if value is not None and not args.new:
            raise LibraryError(f"{option} with add needs --new; to change an existing "
                               f"file use: lora-studio set '{args.name}' {option} {value}")
    plan = plan_addition(library, args.name, ids, create=args.new,
                         cut_off_policy=args.cut_off_policy or DEFAULT_POLICY,
                         over_budget=args.over_budget or FOR_NEW_FILES,
                         )
    plan = plan.choose(leave_out_flagged=args.leave_out_flagged,
                       leave_out_near_duplicates=args.leave_out_near_duplicates,
                       leave_out_over_budget=not args.keep_over_budget and (
                           args.leave_out_over_budget or plan.unfittable_left_out))
    for why, skipped in plan.skipped().items():
        _print(f"skipped {len(skipped):,} {why}: {first_few(skipped, 20)}")
    if plan.unfittable_left_out and plan.leave_out_over_budget and not args.leave_out_over_budget:
        them = agreeing(len(plan.over_budget), "it", "them")
        _print(f"left out {plural(len(plan.over_budget), 'conversation')} whose first reply "
               f"alone is longer than the length limit of '{plan.name}' "
               f"({plan.max_seq_len:,} tokens): no trainer trains such a line right (TRL cuts "
               f"inside that reply and trains the cut); --keep-over-budget adds {them} whole: "
               f"{first_few(sorted(plan.over_budget), 20)}")
    # As the window's add review: samples asked for with one's own data are left out.
    plan = plan.choose(leave_out_samples=plan.mixes_samples)
    if plan.leave_out_samples:
        _print(samples_left_out(plan))
    if not plan.adding:
        if plan.create:
            none = agreeing(plan.requested, "the conversation cannot",
                            f"none of the {plan.requested:,} conversations can")
            raise LibraryError(f"'{plan.name}' was not created: {none} be added")
        _print(f"nothing added to '{plan.name}'")
        return 0
    info = apply_addition(library, plan)
    _print(f"added {len(plan.adding):,} to '{info.name}': now "
           f"{plural(info.conversations, 'conversation')}, "
           f"{plural(info.trainable_replies, 'trainable reply', 'trainable replies')}")
    for line in added_notes(plan, header(library, info.name)):
        _print(line)
    return 0



def samples_left_out(plan: AddPlan) -> str:
    """Why the app's sample conversations asked for with the user's own were not added, and
    how to add them all the same (on their own, a request is not mixed)."""
    ids = [cid for cid in plan.new if cid in plan.samples]
    them = agreeing(len(ids), "it", "them")
    return (f"left out {plural(len(ids), 'sample conversation')} that came with the app, as "
            "the window's add does when samples come with your own conversations; to add "
            f"{them} all the same, add {them} on {agreeing(len(ids), 'its', 'their')} own: "
            f"lora-studio add \"{plan.name}\" " + " ".join(ids))


def added_notes(plan: AddPlan, head: Mapping[str, Any]) -> list[str]:
    """What the add review of the window shows beside the counts: replies the file's
    cut-off policy leaves out, conversations over its token budget, quality warnings and
    near-duplicates (each with the option that leaves them out), and what that means."""
    notes = []
    added = set(plan.adding)
    cut = [cid for cid in plan.cut_off if cid in added]
    if cut:
        notes.append(
            f"{plural(len(cut), 'added conversation')} "
            f"{agreeing(len(cut), 'loses', 'lose')} "
            f"{plural(plan.replies_left_out, 'cut-off reply', 'cut-off replies')} to the "
            f"'{plan.cut_off_policy}' cut-off policy of '{plan.name}' (they are not trained; "
            "the full JSON keeps them for review)")
    over = [cid for cid in plan.over_budget if cid in added]
    if over:
        it = agreeing(len(over), "it", "them")
        what = (f"{agreeing(len(over), 'has', 'have')} a first reply longer than the length "
                f"limit of '{plan.name}' on its own: written whole, every reply counted as "
                f"trained (a trainer cuts {it} inside that reply)" if plan.fits_lines
                else f"{agreeing(len(over), 'is', 'are')} over the length limit of "
                     f"'{plan.name}'")
        notes.append(f"{plural(len(over), 'added conversation')} {what}; "
                     f"--leave-out-over-budget leaves {it} out")
    samples = [cid for cid in plan.samples if cid in added]
    if samples:  # asked for alone: added, and said, as the window's add review does
        kind = agreeing(len(samples), "is a sample conversation", "are sample conversations")
        notes.append(f"{plural(len(samples), 'added conversation')} {kind} that came with "
                     "the app")
    sentence = over_budget_sentence(plan.name, head)
    if sentence:
        notes.append(sentence)
    # the record's own warnings (what the header's quality summary counts), told apart:
    # those that would harm training, and those the JSONL already handles
    flagged = {cid: harmful_warnings(codes) for cid, codes in plan.warned
               if cid in added and cid in plan.flagged}
    if flagged:
        notes.append(
            f"{plural(len(flagged), 'added conversation')} {agreeing(len(flagged), 'has', 'have')}"
            f" quality warnings that would harm training ({_kinds(flagged.values())}), "
            f"counted in the header of '{plan.name}'; --leave-out-flagged leaves "
            f"{agreeing(len(flagged), 'it', 'them')} out")
    handled = [codes for cid, codes in plan.warned if cid in added and cid not in plan.flagged]
    if handled:
        notes.append(
            f"{plural(len(handled), 'added conversation')} {agreeing(len(handled), 'has', 'have')}"
            f" only warnings the JSONL already handles ({_kinds(handled)}), counted in the "
            f"header of '{plan.name}' too; --leave-out-flagged keeps "
            f"{agreeing(len(handled), 'it', 'them')}")
    near = plan.near_duplicates_added()
    if near:
        notes.append(
            f"{plural(len(near), 'added conversation')} "
            f"{agreeing(len(near), 'is a near-duplicate', 'are near-duplicates')} of a "
            f"conversation already in '{plan.name}' or earlier in this add (most sentences "
            "the same, or a shorter copy): a repeated conversation gets extra weight in "
            "training; "
            f"--leave-out-near-duplicates leaves {agreeing(len(near), 'it', 'them')} out")
    return notes


def _kinds(codes_of_each: Iterable[Sequence[str]]) -> str:
    """"Reply Cut Off 2, Text Repaired 1": each code's name and how many carry it, the most
    frequent first."""
    kinds = Counter(code for codes in codes_of_each for code in codes)
    return ", ".join(f"{display_name(code)} {n:,}" for code, n in
                     sorted(kinds.items(), key=lambda item: (-item[1], item[0])))


def set_notes(name: str, head: Mapping[str, Any]) -> list[str]:
    """After a policy change: the members that no longer give a training line, and a
    file whose JSONL is now empty (an export for a trainer is then refused)."""
    totals = head.get("totals") or {}
    policy = head.get("cut_off_policy", "")
    quality = head.get("quality_summary") or {}
    lost = int(quality.get("conversations_without_trained_reply") or 0)
    if not totals.get("jsonl_lines"):
        return [nothing_to_train(name, int(totals.get("conversations") or 0), policy)
                + " Until then an export for a trainer is refused."]
    if lost:
        return [f"{plural(lost, 'conversation')} of '{name}' "
                f"{agreeing(lost, 'gives', 'give')} no training line under the '{policy}' "
                "cut-off policy: a cut-off turn leaves nothing to train (the full JSON "
                "keeps them for review)"]
    return []


def cmd_delete_conversations(args: argparse.Namespace, library: Library) -> int:
    given = sum((bool(args.conversation_ids), bool(args.batch), args.samples))
    if given != 1:
        raise LibraryError("delete-conversations takes exactly one of CONVERSATION_IDs, "
                           "--batch ID or --samples")
    if args.samples:
        ids = sample_ids(library)
        if not ids:
            _print("the library holds no sample conversations")
            return 0
        plan = plan_removal(library, ids)
    else:
        plan = plan_removal(library, args.conversation_ids, batch_id=args.batch)
    if plan.missing:
        _print(f"not in the library (ignored): {', '.join(plan.missing[:20])}")
    if not plan.count:
        _print("nothing to remove")
        return 0 if plan.batch_id is None else _drop_empty_batch(library, plan.batch_id)
    what = (f"batch '{plan.batch_id}' and its {plural(plan.count, 'conversation')}"
            if plan.batch_id else plural(plan.count, "conversation"))
    _print(f"this removes {what} from the library")
    if plan.training_files:
        files = len(plan.training_files)
        held = agreeing(plan.count, "it", "some of them")
        _print(f"{agreeing(files, 'this training file holds', 'these training files hold')} "
               f"{held} and will be rebuilt without {agreeing(plan.count, 'it', 'them')}: "
               + ", ".join(f"'{name}'" for name in plan.training_files))
    if not args.yes:
        if not sys.stdin.isatty():
            raise LibraryError("nothing was removed: add --yes to confirm")
        them = "them" if plan.batch_id else agreeing(plan.count, "it", "them")
        answer = input(f"Remove {them}? [y/N] ").strip().casefold()
        if answer not in ("y", "yes"):
            _print("nothing was removed")
            return 1
    result = apply_removal(library, plan)
    for name in result.rebuilt:
        _print(f"rebuilt training file '{name}'")
    _print(f"removed {plural(result.removed, 'conversation')} from the library"
           + (f"; batches removed: {', '.join(result.batches_removed)}"
              if result.batches_removed else ""))
    return 0


def _drop_empty_batch(library: Library, batch_id: str) -> int:
    """``--batch`` of an empty batch removes the batch itself."""
    library.delete_empty_batch(batch_id)
    _print(f"removed the empty batch '{batch_id}'")
    return 0


def cmd_tokens(args: argparse.Namespace, library: Library) -> int:
    template: str | None = args.template
    template_file: Path | None = None
    if template is not None and template not in BUNDLED:
        template_file, template = Path(template), None
    bundled = args.tokenizer is not None and str(args.tokenizer) == "bundled"
    changing = args.tokenizer is not None or args.template is not None
    if changing:
        choose(library, tokenizer_file=None if bundled else args.tokenizer,
          bundled_tokenizer=bundled, template=template, template_file=template_file)
    counter = counter_for(library)
    _print(f"tokenizer: {counter.tokenizer_name}; chat template: {counter.template.label}")
    counts = ensure_counts(library)
    total = sum(counts.values())
    _print(f"{plural(len(counts), 'conversation')}, {plural(total, 'token')}"
           + (f", longest {max(counts.values()):,}" if counts else ""))
    if changing:
        _pay_owed_rebuilds(library, "the library's tokenizer and chat template changed")
    return 0


def _pay_owed_rebuilds(library: Library, why: str) -> None:
    """Rebuild now what a change left owed (``app.stored_builds.OWED``), as the window
    does after it, instead of at the next writing open: a file's header and its lines'
    ``token_count`` name the choice in use once the command ends."""
    with library.session() as session:
        owed = rebuilds_due(session)
    for name in owed:
        progress = _tenths(f"rebuilding '{name}'", "conversation")
        if rebuild_if_owed(library, name, progress) is not None:
            _print(f"rebuilt training file '{name}' ({why})")


def _tenths(label: str, unit: str) -> Progress:
    """Progress on stderr, a line per tenth of the work (not per item), as copy-library."""
    shown = [-1]

    def progress(done: int, total: int, _item: str) -> None:
        step = done * 10 // max(total, 1)
        if step != shown[0]:
            shown[0] = step
            sys.stderr.write(f"{label}: {done:,} of {plural(total, unit)}\n")
    return progress


def _rebuild_stale(library: Library, names: list[str], why: str = "its batches changed") -> None:
    """Training files name each conversation's batch and review state: rebuild those that
    changed."""
    for name in rebuild_training_files(library, names):
        _print(f"rebuilt training file '{name}' ({why})")


def cmd_export(args: argparse.Namespace, library: Library) -> int:
    """Export, saying with its outcome what the export told (``app.export.export``: what
    it tidied first, an earlier file it could not put back), as the window does: a failed
    export's error holds it, where whoever reads only the error sees it."""
    told: list[str] = []
    for record in running_elsewhere(library.root):  # a change of this file, not done yet
        if record.get("kind") == "build" and \
                str(record.get("name", "")).casefold() == args.name.casefold():
            made = record.get("change") == "create"
            sys.stderr.write("note: " + readable_name(running_sentence(
                record, "it can be exported once it is made" if made else
                "an export gives the file as it was before this change",
                until_it_ends=not made)) + "\n")
    try:
        written = export(library, args.name, ExportFormat(args.format), args.output,
                         args.valid_fraction, args.seed, recipes=args.recipes,
                         overwrite=args.force, tell=told.append)
    except LibraryError as exc:
        if told:
            raise LibraryError(" ".join([str(exc), *told])) from None
        raise
    except BaseException:  # stopped (Ctrl+C), or a failure that is not the library's
        for sentence in told:
            sys.stderr.write(readable_name(sentence) + "\n")
        raise
    for sentence in told:
        _print(sentence)
    for path in written:
        _print(f"wrote {path}")
    for note in export_notes(ExportFormat(args.format), written):
        _print(note)
    return 0


def cmd_review(args: argparse.Namespace, library: Library) -> int:
    change = mark_reviewed(library, args.conversation_ids, args.by, undo=args.undo)
    if args.undo:
        _print(f"took the review mark from {plural(change.conversations, 'conversation')}")
    else:
        _print(f"marked {plural(change.conversations, 'conversation')} reviewed by "
               f"{change.reviewed_by} at {change.reviewed_at}")
    _rebuild_stale(library, change.stale_files, "its review marks changed")
    return 0


def _finish_interrupted_work(args: argparse.Namespace, read_only: bool) -> None:
    """Complete or roll back what a killed command left, before any command runs.

    A reading command does it only when the library is free to change (no window holds
    it, the folder is writable) and of this version; otherwise it reads what is there.
    """
    if not read_only:
        return
    with Library.open(args.library, read_only=True) as reader:
        if reader.older_version:  # a reader never upgrades it: it reads what is there
            sys.stderr.write(f"note: {older_library_note(reader.display)}\n")
            return
        if not needs_recovery(reader):
            return
    try:
        writer = Library.open(args.library)
    except LibraryError:
        return  # held by a window (it recovers itself) or not writable: read as it is
    with writer:
        _report_recovery(writer)


def older_library_note(where: str) -> str:
    """What a reading command says of a library an older LoRA Studio wrote: that it is
    left as it is, and what would upgrade it (and what that does first)."""
    return (f"{where} was written by an older LoRA Studio: this command reads it as it is and "
            "changes nothing. The first command that changes it, or opening it in the window, "
            "upgrades it (backing up library.sqlite3 beside it first) and says what else it "
            "brings up to date.")


def _report_recovery(library: Library) -> None:
    """What opening for writing did first: the tokenizer choice carried into the library
    (said once), work a killed command left finished or rolled back."""
    if library.tokenizer_notice:
        sys.stderr.write(f"note: {library.tokenizer_notice}\n")
    for sentence in finish_interrupted_work(library):
        sys.stderr.write(f"note: {sentence}\n")


def cmd_copy_library(args: argparse.Namespace) -> int:
    """Copy without changing the source: no recovery pass, opened for reading only."""
    if not parse_location(args.to).is_team:
        raise LibraryError(
            f"--to {args.to} is not a team library: give its URL, as in "
            "postgresql://user@host:port/database (copy-library fills an empty team "
            "library; to copy a library folder, copy the folder).")
    shown = {"table": "", "step": -1}

    def progress(done: int, total: int, table: str) -> None:
        step = done * 10 // max(total, 1)  # a line per tenth and per table, not per chunk
        if table != shown["table"] or step != shown["step"]:
            shown["table"], shown["step"] = table, step
            sys.stderr.write(f"copying {table}: {done:,} of {total:,} rows\n")

    with Library.open(args.library, read_only=True) as source, \
            Library.open(args.to) as target:
        report = copy_library(source, target, progress=progress)
        for table, rows in report.rows.items():
            _print(f"{table}: {plural(rows, 'row')}")
        _print(f"copied {source.display} into the team library {target.display} "
               f"({plural(report.total, 'row')})")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.command == "validate":
        return cmd_validate(args)
    if args.command == "copy-library":
        return cmd_copy_library(args)
    read_only = args.command in READ_ONLY_COMMANDS
    if args.command == "export":
        check_split_folder(ExportFormat(args.format), args.output)
        targets = export_targets(ExportFormat(args.format), args.output)
        check_export_targets(parse_location(args.library).folder, targets, overwrite=args.force,
                             manifest=manifest_path(ExportFormat(args.format), args.output))
    _finish_interrupted_work(args, read_only)
    with Library.open(args.library, read_only=read_only) as library:
        if not read_only:
            _report_recovery(library)
        match args.command:
            case "import":
                return cmd_import(args, library)
            case "conversations":
                return cmd_conversations(args, library)
            case "batches":
                return cmd_batches(args, library)
            case "rename-batch":
                stale = files_holding(library, batch_id=args.old)
                merged, renamed, _made = library.rename_batch(args.old, args.new)
                _print(f"merged batch '{args.old}' ({plural(len(renamed), 'conversation')}) "
                       f"into the existing batch '{clean_batch_id(args.new)}'" if merged
                       else f"renamed batch '{args.old}' to '{args.new}'")
                _rebuild_stale(library, stale)
            case "move":
                stale = files_holding(library, conversation_ids=args.conversation_ids)
                moved = library.move_conversations(args.conversation_ids, args.batch)
                _print(f"moved {plural(moved, 'conversation')} to batch '{args.batch}'")
                _rebuild_stale(library, stale)
            case "review":
                return cmd_review(args, library)
            case "files":
                return cmd_files(args, library)
            case "openings":
                return cmd_openings(args, library)
            case "add":
                return cmd_add(args, library)
            case "set":
                return cmd_set(args, library)
            case "delete-conversations":
                return cmd_delete_conversations(args, library)
            case "remove":
                info = remove_conversations(library, args.name, args.conversation_ids)
                _print(f"'{info.name}' now has {plural(info.conversations, 'conversation')}")
            case "rebuild":
                for name in rebuild_training_files(library, [args.name], from_scratch=True):
                    _print(f"rebuilt training file '{name}'")
            case "tokens":
                return cmd_tokens(args, library)
            case "max-len":
                _print(changed_settings(library, args.name, max_seq_len=args.tokens)[2])
            case "export":
                return cmd_export(args, library)
    return 0


def _database(where: str | None) -> Path | str | None:
    """What a failure message names: the library's database file or its team URL."""
    try:
        location = parse_location(where)
    except LibraryError:
        return None
    return location.display if location.is_team else location.folder / DATABASE_NAME


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "add" and not any(e.startswith("-") for e in extra):
        # argparse ends a positional list at the first option: "add NAME --new ID ID".
        args.conversation_ids = [*args.conversation_ids, *extra]
    elif extra:
        parser.error("unrecognized arguments: " + " ".join(extra))
    if args.command == "add":
        given = sum((bool(args.batch), args.all, bool(args.conversation_ids)))
        if given != 1:
            parser.error("add takes exactly one of --batch ID, --all or CONVERSATION_IDs")
    if args.command is None:
        return int(importlib.import_module(GUI_MODULE).run_gui(args.library))
    try:
        code = run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except (LibraryError, InputError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except BrokenPipeError:
        # The reader went away (``lora-studio conversations | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("stopped: finished work is kept\n")
        return 130
    except Exception as exc:
        sys.stderr.write(f"error: {failure_sentence(exc, _database(args.library))}\n")
        return 1
