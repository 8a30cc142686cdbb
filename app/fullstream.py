"""Import a full training file too large to read whole, one conversation at a time.

A file over ``MAX_INPUT_BYTES`` (64 MiB) is not read into memory: a 500 MB file parsed
whole is several GB of Python objects. It is read twice with ijson (its C back end):

1. the outline: every top-level value except the conversations (the header and the
   shared ``consultant_profile``, before or after the array), and how many conversations
   there are, so that each is named "[conversation 7 of 40]" as the whole-file path names
   it. This pass also proves the JSON is whole: a truncated or broken file is refused
   before anything is imported, named with where it breaks and what to do;
2. the conversations, one at a time, each checked and normalised exactly as
   ``app.fullsplit.split_full`` does for a file read whole (``split_item``).

What a streamed conversation does not get of ``app.jsonio.parse_json_bytes``'s strict
rules, and why: a key written twice inside a conversation is not refused (ijson keeps
the last value, and telling would mean walking every parse event in Python, which would
cost more than the whole import of the conversation); a lone surrogate escape
(``\\ud800``) is read as "?" rather than kept. Still refused: a number that overflows to
infinity or beyond 64 bits, NaN and Infinity, text that is not UTF-8, nesting deeper than
``MAX_DEPTH`` (per conversation), and a top-level key written twice.

A file that changes between or during the passes (another program still writing it) is
told, never imported as if whole: changed before the conversations are read, nothing of it
is imported; changed while they are read, the ones read so far are kept (each is whole and
checked; the import stores them chunk by chunk, as it must to hold no more than a chunk of
a file of hundreds of thousands of conversations) and the sentence says so and what to do.
Importing the file again then skips what is already stored.

A file that is not a full training file (no ``training_file_metadata`` and
``conversations`` array at its top level) is refused with a sentence saying what it
looks like and what to do.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

import ijson  # type: ignore[import-untyped]  # no type information shipped

from app import jsonio
from app.errors import InputError
from app.fullsplit import ItemResult, split_item
from app.jsonio import MAX_DEPTH, cannot_be_read, deeper_than, open_regular

# Larger than this, a full training file is not read at all: 8 GB is about 230,000
# conversations of ours, more than any training run of this user's takes.
MAX_FULL_BYTES: Final = 8 * 1024 ** 3
CHUNK: Final = 1 << 20  # bytes ijson reads at a time
BOM: Final = b"\xef\xbb\xbf"
# Top-level keys of a single conversation file (enriched, legacy or raw), never of a full one.
CONVERSATION_KEYS: Final = frozenset({"training_pairs", "turns", "dataset_metadata",
                                      "input_parameters"})
ITEM_STARTS: Final = frozenset({"start_map", "start_array", "string", "number", "boolean",
                                "null"})
Stop = Callable[[], bool]  # says yes once the import was cancelled


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def conversation_too_large(name: str, size: int) -> InputError:
    """A conversation file over the limit: no generator writes one that large."""
    return InputError.single(
        name, f"the file is {_mb(size)}, more than the {_mb(jsonio.MAX_INPUT_BYTES)} a single "
        "conversation file may have — is it a conversation file? Split it into one file "
        "per conversation, or import the full training file it came from instead")


def full_too_large(name: str, size: int) -> InputError:
    """A file over ``MAX_FULL_BYTES``: refused unread."""
    return InputError.single(
        name, f"the file is {_mb(size)}, more than the {_mb(MAX_FULL_BYTES)} a full training "
        "file may have; build smaller training files and import those")


def neither_too_large(name: str, size: int) -> InputError:
    """A large .json that is neither a conversation file nor a full training file."""
    return InputError.single(
        name, f"the file is {_mb(size)} and is neither a conversation file nor a full "
        "training file (it has no 'training_file_metadata' and 'conversations' at its top "
        "level); only those are imported: choose the conversation files or the full "
        "training file instead")


def _broken(name: str, error: Exception, at: int, seen: int) -> InputError:
    """Where the JSON breaks, in words, with what to do."""
    text = str(error)
    if "premature EOF" in text:
        return InputError.single(
            name, f"the JSON ends too early (truncated file?) after {seen:,} complete "
            f"conversations, at byte {at:,}; copy or save the whole file again, then import "
            "it again")
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return InputError.single(
        name, f"not valid JSON at conversation {seen + 1:,} of the file or just after it, "
        f"before byte {at:,} ({first}); correct the file at that place or save it again, "
        "then import it again")  # (the reader reads ahead: ``at`` is where it had got to)


Stamp = tuple[int, int, int]  # a file's size, last change (ns) and identity, as counted


class Outline(NamedTuple):
    """What the first pass learns of a full training file."""

    header: dict[str, Any]  # every top-level value except the conversations
    total: int  # how many conversations
    stamp: Stamp = (0, 0, 0)  # the file as it was counted: the second pass reads that file


def _stamp(handle: IO[bytes]) -> Stamp:
    """What tells that a file changed, cheaply: another program writing it changes its
    size or time, one saving it anew its identity."""
    status = os.fstat(handle.fileno())
    return status.st_size, status.st_mtime_ns, status.st_ino


def _changed_before_read(name: str, total: int) -> InputError:
    return InputError.single(
        name, f"the file changed after its {total:,} conversations were counted and before "
        "they were read (is another program still writing it?); nothing of it was imported: "
        "import it again once nothing writes to it")


def _changed_while_read(name: str, read: int) -> InputError:
    return InputError.single(
        name, f"the file changed while it was read (is another program still writing it?): "
        f"only its first {read:,} conversations were read, as they were then, and have "
        "their own lines here; import it again once nothing writes to it (what is already "
        "in the library is then skipped)")


@contextlib.contextmanager
def opened_past_bom(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for reading, past a UTF-8 byte-order mark (which Python's parser
    accepts on the whole-file path, and yajl does not)."""
    with open_regular(path) as handle:
        if handle.read(len(BOM)) != BOM:
            handle.seek(0)
        yield handle


def outline(path: Path, name: str, size: int, stop: Stop | None = None) -> Outline:
    """Read the header and count the conversations; ``InputError`` for a file that is not a
    full training file, or whose JSON is broken (named with where, and what to do)."""
    header: dict[str, Any] = {}
    key: str | None = None
    builder: Any = None
    count = 0
    array = False
    events = 0
    try:
        with opened_past_bom(path) as handle:
            stamp = _stamp(handle)
            parser = ijson.parse(handle, buf_size=CHUNK, use_float=True)
            try:
                for prefix, event, value in parser:
                    if key == "conversations" and prefix != "":
                        if prefix == "conversations.item":
                            if event in ITEM_STARTS:
                                count += 1
                                if stop is not None and count % 64 == 0 and stop():
                                    return Outline(header, count, stamp)
                        elif prefix == "conversations" and event == "start_array":
                            array = True
                        elif not array:
                            raise InputError.single(name, "'conversations' must be an array",
                                                    "$.conversations")
                        continue
                    if prefix == "":
                        if event == "map_key":
                            _keep(header, key, builder)
                            key, builder = value, None
                            if key in CONVERSATION_KEYS:
                                raise conversation_too_large(name, size)
                            if key in header or (key == "conversations" and array):
                                raise InputError.single(
                                    name, f"the key '{key}' appears twice at the top of the "
                                    "file; remove one of them")
                            if key != "conversations":
                                builder = ijson.ObjectBuilder()
                        elif event == "end_map":
                            _keep(header, key, builder)
                            key, builder = None, None
                        elif event != "start_map":
                            raise neither_too_large(name, size)
                        continue
                    builder.event(event, value)
                    events += 1
                    if events > jsonio.MAX_INPUT_BYTES // 8 and key != "conversations":
                        raise neither_too_large(name, size)  # no header is this large
            except ijson.JSONError as exc:
                if not array:  # broken before any conversation: not a full file (JSONL?)
                    raise neither_too_large(name, size) from None
                raise _broken(name, exc, handle.tell(), max(count - 1, 0)) from None
            if _stamp(handle) != stamp:
                raise InputError.single(
                    name, "the file changed while its conversations were counted (is "
                    "another program still writing it?); nothing of it was imported: import "
                    "it again once nothing writes to it")
    except OSError as exc:
        raise InputError.single(name, cannot_be_read(exc)) from None
    if "training_file_metadata" not in header or not array:
        raise neither_too_large(name, size)
    if not count:
        raise InputError.single(name, "the training file holds no conversations",
                                "$.conversations")
    return Outline(header, count, stamp)


def _keep(header: dict[str, Any], key: str | None, builder: Any) -> None:
    """The top-level value just read, kept in ``header`` (the conversations are not)."""
    if key is not None and builder is not None:
        header[key] = builder.value


def items(path: Path, name: str, known: Outline, stop: Stop | None = None
          ) -> Iterator[tuple[int, Any]]:
    """The second pass: each conversation as parsed, with its index, one at a time (what
    the import and ``validate`` both read). ``stop`` is looked at between conversations.
    A file changed since it was counted is refused before its first conversation; one
    that changes while it is read, after the conversations read so far (see the module
    docstring)."""
    index = -1
    grew = False
    try:
        with opened_past_bom(path) as handle:
            if _stamp(handle) != known.stamp:
                raise _changed_before_read(name, known.total)
            parsed = ijson.items(handle, "conversations.item", buf_size=CHUNK, use_float=True)
            try:
                for index, item in enumerate(parsed):
                    if index >= known.total:
                        grew = True
                        break
                    if stop is not None and stop():
                        return
                    yield index, item
            except ijson.JSONError as exc:
                raise _broken(name, exc, handle.tell(), index + 1) from None
            if grew or index + 1 < known.total or _stamp(handle) != known.stamp:
                raise _changed_while_read(name, min(index + 1, known.total))
    except OSError as exc:
        raise InputError.single(name, cannot_be_read(exc)) from None


def too_deep(name: str, index: int, total: int) -> InputError:
    """A conversation nested deeper than any is (``MAX_DEPTH``), named by its place."""
    part = f" [conversation {index + 1} of {total}]"
    return InputError.single(name + part, "the JSON is nested too deeply to be a conversation",
                             f"$.conversations[{index}]")


def conversations(path: Path, name: str, known: Outline, batch_id: str,
                  stop: Stop | None = None, own_batches: bool = True) -> Iterator[ItemResult]:
    """Each conversation's part and record (or error), one at a time (``items``)."""
    shared = known.header.get("consultant_profile")
    for index, item in items(path, name, known, stop):
        if deeper_than(item, MAX_DEPTH):
            yield f" [conversation {index + 1} of {known.total}]", None, too_deep(
                name, index, known.total)
            continue
        yield split_item(item, index, known.total, shared, name, batch_id, own_batches)
