"""Read one input file from disk and turn it into canonical records: one for a conversation
file, one per conversation for a full training file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from app.canonical import check_structure, normalise
from app.errors import InputError
from app.fullsplit import is_full, split_full
from app.fullstream import MAX_FULL_BYTES, Outline, conversations, full_too_large, outline
from app.idtext import readable_name
from app.jsonio import InputTooLarge, parse_json_bytes, read_input_bytes
from app.records import ConversationRecord

NOT_JSON_FILE = "not a .json conversation file; only .json files are imported"


def is_json_name(name: str) -> bool:
    """A file name an import reads: one ending in ``.json`` (in any case). Here, with the
    reader, so that import and validate judge a file's name alike."""
    return name.lower().endswith(".json")


JSONL_REASON = ("this is a JSONL training file (one conversation per line, for trainers); "
                "import its full JSON instead, the .json file of the same name")
CONVERSATIONS_JSONL_REASON = (
    "this file holds conversation files one a line (JSONL), and a conversation is imported "
    "only from a .json file of its own: save each line as a .json file (one conversation a "
    "file), then import those")
FIRST_LINE_READ = 4 << 20  # enough for a long conversation's line; no line is parsed beyond


def jsonl_reason(path: Path) -> str:
    """Why a JSONL file is not imported, as its first line tells: a training file's lines
    come with a full JSON to import instead; conversation files written one a line (a
    generator's batch) must be saved one a file, and there is no .json of the same name."""
    try:
        with path.open("rb") as file:
            first = file.read(FIRST_LINE_READ).lstrip().partition(b"\n")[0]
        line = orjson.loads(first)
    except (OSError, orjson.JSONDecodeError):
        return JSONL_REASON
    if isinstance(line, dict) and "training_pairs" in line and "messages" not in line:
        return CONVERSATIONS_JSONL_REASON
    return JSONL_REASON


def batch_id_in(document: Any) -> str | None:
    """A batch id the generator wrote into the file, if any (it wins over the user's)."""
    if not isinstance(document, dict):
        return None
    for section in ("dataset_metadata", "input_parameters"):
        block = document.get(section)
        if isinstance(block, dict):
            for key in ("batch_id", "batch_job_id"):
                value = block.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                    return str(value)
    return None


def _unstorable(error: str) -> str:
    """Say in plain words why a parsed value cannot be written back as JSON."""
    if "Recursion" in error:
        return "values are nested too deeply (more than 250 levels) to be stored"
    if "surrogate" in error or "UTF-8" in error:
        return "holds text that is not valid Unicode (a lone surrogate escape such as \\ud800)"
    if "Integer" in error or "64-bit" in error:
        return "holds a number beyond the 64-bit range"
    return f"holds a value that cannot be stored: {error}"


def record_from_bytes(
    data: bytes, file_name: str, default_batch: str | None = None
) -> ConversationRecord:
    """Parse, check and normalise; raises ``InputError`` naming the file and the reason."""
    return record_from_document(parse_json_bytes(data, file_name), data, file_name,
                                default_batch)


def record_from_document(
    document: Any, data: bytes, file_name: str, default_batch: str | None = None
) -> ConversationRecord:
    """Check and normalise a parsed conversation file (``data``: its bytes, for the hash)."""
    return _checked_record(document, data, file_name, default_batch)[0]


def _checked_record(
    document: Any, data: bytes, file_name: str, default_batch: str | None = None
) -> tuple[ConversationRecord, bytes]:
    """``record_from_document``, and the record as JSON (proving it can be stored, and
    what the library stores unless its batch changes)."""
    facts = check_structure(document, file_name)
    record = normalise(
        document,
        file_name=file_name,
        content_sha256=hashlib.sha256(data).hexdigest(),
        batch_id=batch_id_in(document) or default_batch,
        facts=facts,
    )
    if record["stats"]["trainable_replies"] == 0:
        raise InputError.single(file_name, _no_reply_reason(document), "$.training_pairs")
    try:
        dumped = orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        raise InputError.single(file_name, _unstorable(str(exc))) from None
    return record, dumped


def _no_reply_reason(document: dict[str, Any]) -> str:
    """Why nothing in a conversation trains: empty replies, or no reply under the name the
    generator writes (a file whose fields were renamed reads as one without replies)."""
    pairs = [pair for pair in document["training_pairs"] if isinstance(pair, dict)]
    if any("target_response" in pair for pair in pairs):
        return "no consultant reply to train on: every target_response is null or empty"
    return ("no consultant reply to train on: no training pair has the key "
            "'target_response' (the consultant's reply; was it renamed?); import the file "
            "as the generator wrote it")


def load_conversation_file(path: Path, default_batch: str | None = None) -> ConversationRecord:
    return record_from_bytes(read_input_bytes(path), path.name, default_batch)


def looks_like_jsonl(data: bytes) -> bool:
    """More than one line, the first of them a JSON object of its own."""
    first, _, rest = data.strip().partition(b"\n")
    if not rest.strip():
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


# part, record, error, and the record as JSON when the loader made it (see ``_checked_record``)
Loaded = tuple[str, ConversationRecord | None, InputError | None, bytes | None]


def load_file(path: Path, default_batch: str, batch_named: bool = False,
              own_batches: bool = True) -> list[Loaded]:
    """The records of one input file, each with the part of the file it came from.

    A conversation file gives one record (part ""). A full training file gives one per
    conversation (part " [conversation i of n]"): a record of ours in the batch it names
    (unless not ``own_batches``), else in the batch the user named, else in a batch named
    after the file. A failing conversation is returned with its error, so the
    rest of the file still imports. Errors about the whole file are raised.
    """
    if path.suffix.lower() == ".jsonl":
        raise InputError.single(path.name, jsonl_reason(path))
    data = read_input_bytes(path)
    shown = Path(readable_name(path.name))  # the name as it is stored and shown
    try:
        document = parse_json_bytes(data, shown.name)
    except InputError:
        if looks_like_jsonl(data):
            raise InputError.single(shown.name, jsonl_reason(path)) from None
        raise
    if is_full(document):
        batch = default_batch if batch_named else shown.stem
        return [(part, record, error, None)
                for part, record, error in split_full(document, shown.name, batch,
                                                      own_batches)]
    record, dumped = _checked_record(document, data, shown.name, default_batch)
    return [("", record, None, dumped)]


def load_file_lazily(path: Path, default_batch: str, batch_named: bool = False,
                     stop: Callable[[], bool] | None = None,
                     own_batches: bool = True) -> Iterable[Loaded]:
    """``load_file``, except that a full training file too large to read whole is read one
    conversation at a time (``app.fullstream``): the records come as they are read, and
    ``stop`` (a cancel) is looked at between them. Errors about the whole file are raised
    here, before any record; a file that changes meanwhile raises as it is read."""
    try:
        return load_file(path, default_batch, batch_named, own_batches)
    except InputTooLarge as too_large:
        size = too_large.size
    shown = Path(readable_name(path.name))
    if size > MAX_FULL_BYTES:
        raise full_too_large(shown.name, size)
    known = outline(path, shown.name, size, stop)
    batch = default_batch if batch_named else shown.stem
    return _streamed(path, shown.name, known, batch, stop, own_batches)


def _streamed(path: Path, name: str, known: Outline, batch: str,
              stop: Callable[[], bool] | None, own_batches: bool) -> Iterator[Loaded]:
    for part, record, error in conversations(path, name, known, batch, stop, own_batches):
        yield part, record, error, None
