"""``lora-studio validate``: tell what a file is and whether it is valid v4.

A ``.json`` file too large to read whole (over ``MAX_INPUT_BYTES``, as the import decides)
is read as the import reads it, a conversation at a time (``app.fullstream``): a 1 GB full
training file read whole took gigabytes of memory, and past 256 MB it was not read at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app import jsonio
from app.detect import Kind, detect_kind, earlier_format_conversation, is_earlier_full
from app.errors import InputError, Problem
from app.fullsplit import ItemResult, split_full
from app.fullstream import (
    MAX_FULL_BYTES,
    Outline,
    conversations,
    full_too_large,
    items,
    outline,
    too_deep,
)
from app.idtext import readable_name
from app.jsonio import (
    MAX_DEPTH,
    cannot_be_read,
    deeper_than,
    open_regular,
    read_json_file,
    sha256_of,
)
from app.llamafactory_recipe import entry_digest
from app.loader import NOT_JSON_FILE, is_json_name, looks_like_jsonl, record_from_bytes
from app.recipes import DATASET_INFO
from app.records import warning_line
from app.schemas import (
    CONVERSATION,
    FULL_SCHEMA,
    INDIVIDUAL_SCHEMA,
    JSONL_SCHEMA,
    MESSAGES_ONLY_LINE,
    json_path,
    validator,
)
from app.wording import plural

MAX_PROBLEMS = 20
# What is read whole at most: a larger file is read a conversation at a time, unless it
# grew past this between its size being looked at and its reading.
MAX_JSON_BYTES = 256 * 1024 * 1024
JSON_LIMIT = "validate reads whole; validate it again once nothing writes to it"
MAX_LINE_BYTES = 64 * 1024 * 1024


BROKEN = "broken"  # the kind of a file that could not be read as JSON
# What a person reads for a kind whose name is the code's; the others read as they are.
KIND_WORDS = {BROKEN: "not readable as JSON"}


@dataclass
class Verdict:
    path: Path
    kind: str
    problems: list[Problem] = field(default_factory=list)
    note: str = ""  # one sentence on what the file is, where its kind needs it

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def kind_words(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind)


def problem_words(problem: Problem) -> str:
    """A problem as its line under a verdict says it: one at the top of the file (JSON
    path ``$``) as "the file: …", or its reason alone where it says the file or names its
    line; a place inside the file keeps its JSON path, which a person looks up with it."""
    where = problem.where
    if where == "$" or where.endswith(" $"):
        start = where.removesuffix("$")  # "[conversation 2 of 3] " of an earlier format
        if problem.reason.startswith(("line ", "the file ")):
            return start + problem.reason
        return f"{start}{'the conversation' if start else 'the file'}: {problem.reason}"
    line = LINE_FIRST.match(problem.reason)
    if line:  # a JSONL line's place: its number first ("line 3, $.messages: …")
        return f"{line.group(1)}, {where}: {problem.reason[line.end():]}"
    return f"{where}: {problem.reason}"


LINE_FIRST = re.compile(r"(line \d+): ")


def _schema_problems(document: object, schema: str, file: str, prefix: str = "") -> list[Problem]:
    errors = sorted(validator(schema).iter_errors(document), key=lambda e: list(e.path))
    return [
        Problem(file, f"{prefix}{error.message}", json_path(error.absolute_path))
        for error in errors[:MAX_PROBLEMS]
    ]


def chat_problems(line: dict[str, Any], file: str, number: int) -> list[Problem]:
    """The checks chat fine-tuning tools apply to a ``messages`` list."""
    messages = line.get("messages") if isinstance(line, dict) else None
    where = f"line {number}"
    if not isinstance(messages, list) or not messages:
        return [Problem(file, f"{where}: 'messages' must be a non-empty array")]
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    problems = []
    if roles[0] != "system":
        problems.append(Problem(file, f"{where}: the first message must be the system message"))
    dialogue = roles[1:] if roles[0] == "system" else roles
    for index, role in enumerate(dialogue):
        expected = "user" if index % 2 == 0 else "assistant"
        if role != expected:
            problems.append(Problem(file, f"{where}: message {index + 1} should be {expected}, "
                                          f"found {role}"))
            break
    if roles[-1] != "assistant":
        problems.append(Problem(file, f"{where}: the last message must be an assistant reply"))
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            problems.append(Problem(file, f"{where}: message {index} has no text"))
    return problems


def _messages_only(line: object) -> bool:
    """A line of the "messages only" export (no metadata key at all)."""
    return isinstance(line, dict) and set(line) == {"messages"}


def _schema_file_problems(schema: dict[str, Any], file: str) -> list[Problem]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [Problem(file, f"not a valid JSON Schema: {exc.message}",
                        json_path(exc.absolute_path))]
    return []


def _lines(handle: IO[bytes]) -> Iterator[bytes | None]:
    """Lines of at most ``MAX_LINE_BYTES``; None stands for a line that is longer."""
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass  # skip to the end of the long line, a megabyte at a time
            yield None
        else:
            yield raw


def _validate_jsonl(path: Path) -> Verdict:
    verdict = Verdict(path, "jsonl")
    try:
        with open_regular(path) as handle:
            _check_lines(path, handle, verdict)
    except InputError as exc:
        verdict.problems += exc.problems
    except OSError as exc:
        verdict.problems.append(Problem(path.name, cannot_be_read(exc)))
    return verdict


def _check_lines(path: Path, handle: IO[bytes], verdict: Verdict) -> None:
    lines = 0
    for number, raw in enumerate(_lines(handle), start=1):
        if len(verdict.problems) >= MAX_PROBLEMS:
            break
        if raw is None:
            verdict.problems.append(Problem(
                path.name, f"line {number} is longer than {MAX_LINE_BYTES // 2**20} MB, "
                "more than any training conversation needs"))
            continue
        if not raw.strip():
            verdict.problems.append(Problem(path.name, f"line {number} is empty"))
            continue
        lines += 1
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            verdict.problems.append(Problem(path.name, f"line {number} is not JSON: {exc}"))
            continue
        if isinstance(line, dict) and "$schema" in line:  # our one-line schema file
            verdict.kind = "JSONL line schema"
            verdict.problems += _schema_file_problems(line, path.name)
            continue
        schema = MESSAGES_ONLY_LINE if _messages_only(line) else JSONL_SCHEMA
        verdict.problems += _schema_problems(line, schema, path.name, f"line {number}: ")
        verdict.problems += chat_problems(line, path.name, number)
    if lines == 0 and not verdict.problems:
        verdict.problems.append(Problem(path.name, "the file has no lines"))
    verdict.note = verdict.note or older_copy_note(verdict.problems)


# Required fields a later LoRA Studio added to the files it writes (the header's and a
# JSONL line's metadata): a copy saved before them lacks them and nothing else.
ADDED_LATER = frozenset({
    "cut_off_policy", "tokens", "repaired_conversations", "replies_left_out_by_reason",
    "conversations_without_trained_reply", "replies_left_out",  # the full JSON's header
    "token_count", "left_out_replies",  # a JSONL line's metadata
})
MISSING = re.compile(r"(?:line \d+: )?'([^']+)' is a required property")


def older_copy_note(problems: Sequence[Problem]) -> str:
    """Why a copy whose problems (those listed) are all fields a later version added is
    invalid: it was saved by an older LoRA Studio (the list alone read as a damaged file)."""
    names = [MISSING.fullmatch(problem.reason) for problem in problems]
    if not problems or not all(m is not None and m.group(1) in ADDED_LATER for m in names):
        return ""
    return ("saved by an older LoRA Studio: the fields below were added by a later version; "
            "save the copy again from the library to have them")


def _jsonl_under_another_name(path: Path) -> bool:
    """The start of the file is one JSON object per line (read only after a failed parse)."""
    try:
        with open_regular(path) as handle:
            head = handle.read(1 << 20)
    except (OSError, InputError):
        return False
    return looks_like_jsonl(head)


def _validate_earlier_full(path: Path, document: dict[str, Any]) -> Verdict:
    """Each conversation of an earlier-format full file, checked as import checks it (the
    same split), and a sentence on how many of them import takes."""
    name = readable_name(path.name)
    results = list(split_full(document, name, path.stem))
    return _earlier_verdict(path, name, results, len(results))


def _earlier_verdict(path: Path, name: str, results: Iterable[ItemResult],
                     count: int) -> Verdict:
    """The verdict on an earlier-format full file from its conversations as split."""
    problems: list[Problem] = []
    taken = 0
    try:
        for part, record, error in results:
            taken += record is not None
            for problem in error.problems if error else ():
                problems.append(Problem(name, problem.reason,
                                        f"[{part.strip(' []')}] {problem.where}"))
    except InputError as exc:  # a large file that changed while it was read
        problems += exc.problems
    what = "an earlier-format full training file"
    note = (f"{what}, which LoRA Studio imports as {plural(taken, 'conversation')} (each "
            "checked here as import checks it)" if taken == count else
            f"{what}: LoRA Studio imports {taken:,} of its {plural(count, 'conversation')} "
            "and refuses the others for the problems below")
    return Verdict(path, "full, earlier format", problems[:MAX_PROBLEMS], note)


def _validate_large(path: Path, size: int) -> Verdict:
    """A .json too large to read whole, read as the import reads it: its header, then a
    conversation at a time (memory stays that of one conversation)."""
    name = readable_name(path.name)
    try:
        if size > MAX_FULL_BYTES:
            raise full_too_large(name, size)
        known = outline(path, name, size)
    except InputError as exc:
        if _jsonl_under_another_name(path):
            return _validate_jsonl(path)
        return Verdict(path, BROKEN, exc.problems)
    problems = _schema_problems({**known.header, "conversations": []}, FULL_SCHEMA, name)
    check = validator(CONVERSATION)
    try:
        for index, item in items(path, name, known):
            if earlier_format_conversation(item):  # every one checked as import checks it
                return _earlier_verdict(path, name, _split(path, name, known), known.total)
            if len(problems) >= MAX_PROBLEMS:
                continue  # read on: an earlier-format conversation further on decides
            if deeper_than(item, MAX_DEPTH):
                problems += too_deep(name, index, known.total).problems
                continue
            problems += [
                Problem(name, error.message,
                        json_path(["conversations", index, *error.absolute_path]))
                for error in sorted(check.iter_errors(item), key=lambda e: list(e.path))]
    except InputError as exc:  # changed while it was read
        problems += exc.problems
    return Verdict(path, "full", problems[:MAX_PROBLEMS])


def _split(path: Path, name: str, known: Outline) -> Iterator[ItemResult]:
    return conversations(path, name, known, path.stem)


def _size(path: Path) -> int:
    """The file's size, or 0 when it cannot be looked at (reading it then says why)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def is_manifest(document: object) -> bool:
    """A manifest LoRA Studio writes beside a saved copy (``app.export``)."""
    return (isinstance(document, dict) and "manifest_version" in document
            and document.get("app") == "LoRA Studio" and isinstance(document.get("files"),
                                                                     list))


def _validate_manifest(path: Path, document: dict[str, Any]) -> Verdict:
    """A manifest: every file it lists is beside it, with the size and sha256 it records
    (a copy changed or cut short since it was saved is named, with what to do)."""
    problems: list[Problem] = []
    files = [(n, entry) for n, entry in enumerate(document["files"]) if isinstance(entry, dict)]
    for n, entry in files:
        name = str(entry.get("file", ""))
        at = f"$.files[{n}]"
        saved = path.parent / name
        if not name or Path(name).name != name:
            problems.append(Problem(path.name, f"{name!r} is not a file name", at))
            continue
        owned = entry.get("dataset_entries")
        if isinstance(owned, dict):  # a shared file: only this download's own entries
            problems += _owned_entry_problems(path.name, saved, owned, at)
            continue
        try:
            size = saved.stat().st_size
            digest = sha256_of(saved) if size == entry.get("bytes") else ""
        except OSError as exc:
            problems.append(Problem(path.name, f"{name} is not beside it "
                                               f"({exc.strerror or exc}): save it again from "
                                               "LoRA Studio, or keep the manifest with it", at))
            continue
        if size != entry.get("bytes") or digest != entry.get("sha256"):
            problems.append(Problem(path.name, f"{name} changed since LoRA Studio saved it "
                                               "(its size or sha256 is not the one the "
                                               "manifest records): save it again from LoRA "
                                               f"Studio{_whole_file_note(name)}", at))
    shared = [str(entry.get("file")) for _n, entry in files
              if isinstance(entry.get("dataset_entries"), dict)]
    of_shared = (f" ({', '.join(shared)}, shared with the folder's other downloads: only "
                 "this download's own entries)" if shared else "")
    return Verdict(path, "manifest", problems,
                   note=f"checked the {plural(len(files), 'file')} it lists beside "
                        f"it{of_shared}")


def _whole_file_note(name: str) -> str:
    """A manifest from before LoRA Studio recorded its own entries of the shared
    dataset_info.json: its sha256 is of the whole file, which any later download into the
    folder changes by adding its entries. Saving again records the entries instead."""
    if name != DATASET_INFO:
        return ""
    return (" (this manifest, written by an earlier LoRA Studio, records the whole file, "
            "which every later download into this folder adds its entries to; saved again, "
            "the manifest records only this download's own entries)")


def _owned_entry_problems(manifest: str, saved: Path, owned: dict[str, Any],
                          at: str) -> list[Problem]:
    """The entries a download owns in a shared ``dataset_info.json``: each still there as
    saved (its canonical sha256), whatever later downloads added around it."""
    name = saved.name
    again = "save it again from LoRA Studio"
    try:
        document, _raw = read_json_file(saved, MAX_JSON_BYTES, JSON_LIMIT)
    except InputError as exc:
        if not saved.exists():
            return [Problem(manifest, f"{name} is not beside it: {again}, or keep the "
                                      "manifest with it", at)]
        why = exc.problems[0].reason if exc.problems else "it cannot be read"
        return [Problem(manifest, f"{name} cannot be read as saved ({why}): {again}", at)]
    if not isinstance(document, dict):
        return [Problem(manifest, f"{name} is no longer a JSON object of dataset entries, so "
                                  f"LLaMA-Factory cannot find this download's data: {again}",
                        at)]
    problems = []
    for entry_name, digest in owned.items():
        if entry_name not in document:
            problems.append(Problem(manifest, f"{name} no longer has the entry "
                                              f"'{entry_name}' LoRA Studio saved for this "
                                              "download, so LLaMA-Factory cannot find its "
                                              f"data: {again}", at))
        elif entry_digest(document[entry_name]) != digest:
            problems.append(Problem(manifest, f"{name}: the entry '{entry_name}' changed "
                                              "since LoRA Studio saved it (its canonical "
                                              "sha256 is not the one the manifest records; "
                                              f"other entries are not this download's): "
                                              f"{again}", at))
    return problems


MAX_WARNINGS_SAID = 6  # then how many more: the window's Warnings column has them all


def import_warnings_note(warnings: Sequence[Mapping[str, Any]]) -> str:
    """What the import will say of a valid file: the texts it repairs (literal escapes,
    Windows line ends, control characters), the cut-off and unanswered turns it leaves out
    of training. Without it a file "valid" here came in with warnings nobody expected."""
    if not warnings:
        return ""
    said = [warning_line(w) for w in warnings[:MAX_WARNINGS_SAID]]
    more = len(warnings) - len(said)
    tail = f"; and {more} more" if more else ""
    return (f"imported, it gets these warnings (the window's Warnings column): "
            f"{'; '.join(said)}{tail}")


def validate_path(path: Path) -> Verdict:
    """Validate one file of any of our kinds."""
    if path.suffix.lower() == ".jsonl":
        return _validate_jsonl(path)
    if (size := _size(path)) > jsonio.MAX_INPUT_BYTES:
        return _validate_large(path, size)
    try:
        document, raw = read_json_file(path, MAX_JSON_BYTES, JSON_LIMIT)
    except InputError as exc:
        if _jsonl_under_another_name(path):
            return _validate_jsonl(path)  # a JSONL named .json: check it as what it is
        return Verdict(path, BROKEN, exc.problems)
    if isinstance(document, dict) and "$schema" in document:
        return Verdict(path, "JSON Schema", _schema_file_problems(document, path.name))
    if is_manifest(document):
        return _validate_manifest(path, document)
    kind = detect_kind(document)
    if is_earlier_full(document):
        return _validate_earlier_full(path, document)
    if kind is Kind.FULL:
        problems = _schema_problems(document, FULL_SCHEMA, path.name)
        return Verdict(path, "full", problems, older_copy_note(problems))
    problems = _schema_problems(document, INDIVIDUAL_SCHEMA, path.name)
    note = ""
    if not problems:
        try:  # the same checks import makes, so both commands agree
            record = record_from_bytes(raw, readable_name(path.name))
        except InputError as exc:
            problems = exc.problems
        else:
            note = import_warnings_note(record["quality"]["warnings"])
    label = {Kind.ENRICHED: "individual (enriched)", Kind.LEGACY: "individual (legacy)"}
    if kind is Kind.UNKNOWN:
        problems = [Problem(path.name, "not a conversation file, a full training file or a "
                                       "JSONL training file (no training_pairs or "
                                       "training_file_metadata at the top level)")]
    if kind is Kind.RAW:
        problems = [Problem(path.name, "a raw conversation (turns, no training_pairs): "
                                       "it must be enriched before it can be used")]
    if kind in label and not is_json_name(path.name):
        # import refuses such a file unread, whatever it holds: say so, as import would
        problems.append(Problem(path.name, f"{NOT_JSON_FILE}; rename it to "
                                           f"{path.stem}.json to import it"))
    return Verdict(path, label.get(kind, kind.value), problems, "" if problems else note)
