"""Hostile inputs, generated on demand from the real fixtures (nothing here is hand-kept).

``hostile_cases()`` describes every bad file (its name and the words its rejection must
use); ``write_corpus()`` writes them into a folder. The wrong-type cases are driven by the
``required`` lists of the individual v4 schema, so a new required field gets its own case.
``hold_library()`` runs another process that holds a library's writer lock.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from child_process import python_child, wait_for_marker
from conftest import ENRICHED

from app.schemas import INDIVIDUAL_SCHEMA, load_schema

BIG_FILE_BYTES = 200 * 1024 * 1024
BIG_FILE_NAME = "huge-200-mb.json"
DISK_NEEDED = 1024 * 1024 * 1024
PAIR = 1  # the training pair the pair-level cases break (a reply pair in the base fixture)


def _base_path() -> Path:
    """An enriched fixture in the current convention (odd client pairs, even reply pairs)."""
    for path in ENRICHED:
        document = json.loads(path.read_text(encoding="utf-8"))
        pairs = document.get("training_pairs") or []
        if ("input_parameters" in document and len(pairs) > 2
                and pairs[0]["target_response"] is None and pairs[PAIR]["target_response"]):
            return path
    raise AssertionError("no enriched fixture in the odd/even convention")


BASE = _base_path()


def base_document() -> dict[str, Any]:
    return json.loads(BASE.read_text(encoding="utf-8"))


def _replace_text(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {k: _replace_text(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_text(v, old, new) for v in node]
    return new if node == old else node


def with_own_dialogue(document: dict[str, Any], marker: str) -> dict[str, Any]:
    """The document with its opening client message marked (everywhere that message is
    repeated), so that its dialogue differs from every other copy's."""
    first = document["training_pairs"][0]["current_user_input"]
    return _replace_text(document, first, f"{first} (ref {marker})")


def conversation(name: str) -> dict[str, Any]:
    """A valid enriched conversation with its own id and dialogue (never a duplicate)."""
    document = with_own_dialogue(base_document(), name)
    document["dataset_metadata"]["dataset_name"] = name
    document["dataset_metadata"]["notes"] = f"generated copy {name}"
    return document


def dump(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def cut_in_the_middle(folder: Path, name: str = "cut_in_the_middle",
                      file_name: str = "cut-in-the-middle.json", pair: int = PAIR) -> Path:
    """A real conversation (``fp_conversation_`` + ``name``) whose reply in training pair
    ``pair`` stops mid-sentence, the others intact: every cut-off policy trains some of it
    and leaves some out, and it is flagged with a warning."""
    document = conversation(f"fp_conversation_{name}")
    reply = document["training_pairs"][pair]["target_response"]
    document["training_pairs"][pair]["target_response"] = reply[: reply.index(" ", 200)]
    path = folder / file_name
    path.write_bytes(dump(document))
    return path


@dataclass(frozen=True)
class Hostile:
    """One bad file: what it is called and what its rejection must say."""

    name: str
    make: Callable[[], bytes]
    keywords: tuple[str, ...]  # each must appear in the import's reason
    validate_keywords: tuple[str, ...] = ()  # each must appear in validate's problems
    forbidden: tuple[str, ...] = ()  # words that would misdescribe the problem

    @property
    def big(self) -> bool:
        return self.name == BIG_FILE_NAME


# --- the wrong-type cases, from the schema ------------------------------------------


def _resolve(schema: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    ref = fragment.get("$ref")
    if ref:
        return _resolve(schema, schema["$defs"][ref.rsplit("/", 1)[-1]])
    return fragment


OBJECT_WRONG = ("x", [], 3)  # rotated over the object fields: a string, an array, a number


def _wrong_values(schema: dict[str, Any], properties: dict[str, Any],
                  required: list[str], rotation: list[int]) -> dict[str, Any]:
    """A value of the wrong JSON type for every required field."""
    wrong: dict[str, Any] = {}
    for key in required:
        types = _resolve(schema, properties[key]).get("type")
        kinds = set(types) if isinstance(types, list) else {types}
        if kinds == {"string", "null"}:
            wrong[key] = 42
        elif kinds == {"string"}:
            wrong[key] = 5
        elif kinds == {"integer"}:
            wrong[key] = "1"
        elif kinds == {"array"}:
            wrong[key] = {}
        elif kinds == {"object"}:
            wrong[key] = OBJECT_WRONG[rotation[0] % len(OBJECT_WRONG)]
            rotation[0] += 1
        else:
            raise AssertionError(f"no wrong value known for {key}: {types}")
    return wrong


def _top_level(key: str, value: Any) -> Callable[[], bytes]:
    def make() -> bytes:
        document = conversation(f"hostile_top_{key}_{type(value).__name__}")
        document[key] = value
        return dump(document)
    return make


def _in_pair(key: str, value: Any) -> Callable[[], bytes]:
    def make() -> bytes:
        document = conversation(f"hostile_pair_{key}_{type(value).__name__}")
        document["training_pairs"][PAIR][key] = value
        return dump(document)
    return make


def wrong_type_cases() -> list[Hostile]:
    schema = load_schema(INDIVIDUAL_SCHEMA)
    pair_schema = schema["$defs"]["training_pair"]
    rotation = [0]
    top = _wrong_values(schema, schema["properties"], schema["required"], rotation)
    pair = _wrong_values(schema, pair_schema["properties"], pair_schema["required"], rotation)
    cases = [
        Hostile(f"wrong-type-top-{key}.json", _top_level(key, value), (key,), (key,),
                ("missing",))
        for key, value in top.items()
    ]
    cases.append(Hostile("wrong-type-top-training_pairs-empty.json",
                         _top_level("training_pairs", []), ("$.training_pairs",),
                         ("training_pairs",)))
    cases += [
        Hostile(f"wrong-type-pair-{key}.json", _in_pair(key, value),
                (f"$.training_pairs[{PAIR}].{key}",), (f"training_pairs[{PAIR}].{key}",))
        for key, value in pair.items()
    ]
    cases.append(Hostile("wrong-type-pair-system_prompt-null.json",
                         _in_pair("system_prompt", None),
                         (f"$.training_pairs[{PAIR}].system_prompt",),
                         (f"training_pairs[{PAIR}].system_prompt",)))
    return cases


# --- the other cases ----------------------------------------------------------------


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _truncated() -> bytes:
    data = BASE.read_bytes()
    cut = len(data) // 2
    while cut and (data[cut] & 0xC0) == 0x80:  # cut between characters
        cut -= 1
    return data[:cut]


def _truncated_inside_a_character() -> bytes:
    data = BASE.read_bytes()
    start = next((i for i in range(len(data) // 2, len(data)) if data[i] >= 0xC0), None)
    if start is None:
        start = next(i for i in range(len(data)) if data[i] >= 0xC0)
    return data[: start + 1]  # the first byte of a multi-byte character, then nothing


def _not_utf8() -> bytes:
    document = conversation("hostile_latin_1")
    document["dataset_metadata"]["notes"] = "caf@@E@@ au lait"
    return dump(document).replace(b"@@E@@", "é".encode("latin-1"))


def _utf_16() -> bytes:
    """A good conversation as Windows Notepad saves "Unicode": UTF-16 with its byte order mark."""
    return dump(conversation("hostile_utf_16")).decode("utf-8").encode("utf-16")


def _duplicate_key_in_pair() -> bytes:
    text = json.dumps(conversation("hostile_duplicate_in_pair"))
    needle = f'"turn_number": {PAIR + 1},'
    assert needle in text
    return text.replace(needle, f"{needle} {needle}", 1).encode("utf-8")


def _nan() -> bytes:
    document = conversation("hostile_nan")
    document["training_pairs"][PAIR]["training_metadata"]["quality_score"] = float("nan")
    data = json.dumps(document).encode("utf-8")
    assert b"NaN" in data
    return data


def _renamed_replies() -> bytes:
    """The reply under another name in every pair: it reads as a file without replies."""
    document = conversation("hostile_renamed_replies")
    for pair in document["training_pairs"]:
        pair["response"] = pair.pop("target_response")
    return dump(document)


def _no_replies() -> bytes:
    document = conversation("hostile_no_replies")
    document["training_pairs"] = [
        pair for pair in document["training_pairs"] if pair["target_response"] is None
    ]
    assert document["training_pairs"]
    return dump(document)


def _raw() -> bytes:
    document = base_document()
    pairs = document["training_pairs"]
    turns = []
    for pair in pairs:
        if pair["target_response"] is None:
            turns.append({"turn_number": len(turns) + 1, "role": "user",
                          "content": pair["current_user_input"]})
        else:
            turns.append({"turn_number": len(turns) + 1, "role": "assistant",
                          "content": pair["target_response"]})
    raw = {"conversation_metadata": pairs[0]["conversation_metadata"], "turns": turns}
    return dump(raw)


def _deep(opening: bytes, closing: bytes, depth: int = 1000, inner: bytes = b"1") -> bytes:
    return opening * depth + inner + closing * depth


def write_big(path: Path, size: int = BIG_FILE_BYTES) -> None:
    """A valid JSON object holding one huge string, streamed in 1 MiB chunks."""
    chunk = b"a" * (1 << 20)
    with path.open("wb") as handle:
        handle.write(b'{"training_pairs": [], "x": "')
        for _ in range(size // len(chunk)):
            handle.write(chunk)
        handle.write(b'"}\n')


PNG_START = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def hostile_cases() -> list[Hostile]:
    """Every bad file of the corpus (the 200 MB one is written by ``write_corpus``)."""
    top_level_object = ("JSON object at the top level",)
    not_a_conversation = ("not a conversation file",)
    return [
        Hostile("empty.json", _constant(b""), ("empty",), ("empty",)),
        Hostile("whitespace-only.json", _constant(b"  \n\t \r\n  "), ("empty",), ("empty",)),
        Hostile("not-json.json", _constant(b"hello"), ("not valid JSON",), ("not valid JSON",)),
        Hostile("top-level-array.json", _constant(b'[{"training_pairs": []}]'),
                (*top_level_object, "array"), not_a_conversation),
        Hostile("top-level-number.json", _constant(b"42"), (*top_level_object, "number"),
                not_a_conversation),
        Hostile("top-level-string.json", _constant(b'"str"'), (*top_level_object, "string"),
                not_a_conversation),
        Hostile("top-level-null.json", _constant(b"null"), (*top_level_object, "null"),
                not_a_conversation),
        Hostile("truncated-half.json", _truncated, ("truncated",), ("truncated",)),
        Hostile("truncated-inside-a-character.json", _truncated_inside_a_character,
                ("truncated",), ("truncated",)),
        *wrong_type_cases(),
        Hostile("latin-1-inside-a-string.json", _not_utf8, ("UTF-8", "0xe9"), ("UTF-8",)),
        Hostile("utf-16-notepad.json", _utf_16, ("UTF-16", "save it again with the encoding "
                                                 "UTF-8"), ("UTF-16",)),
        # A picture or an archive given a .json name: said as what it is, not as text to
        # save as UTF-8 (no encoding makes an image a conversation)
        Hostile("picture-renamed.json", _constant(PNG_START + bytes(range(256)) * 4),
                ("not a text file", "PNG image"), ("not a text file", "PNG image")),
        Hostile("archive-renamed.json", _constant(b"PK\x03\x04" + bytes(range(256)) * 4),
                ("not a text file", "ZIP archive"), ("not a text file",)),
        Hostile("nested-1000-arrays.json", _constant(_deep(b"[", b"]")),
                ("nested too deeply",), ("nested too deeply",)),
        Hostile("nested-1000-objects.json", _constant(_deep(b'{"a":', b"}")),
                ("nested too deeply",), ("nested too deeply",)),
        Hostile(BIG_FILE_NAME, _constant(b""), ("MB", "more than"), ()),
        Hostile("duplicate-key-top-level.json", _constant(b'{"a": 1, "a": 2}'),
                ("twice", "'a'"), ("twice",)),
        Hostile("duplicate-key-in-pair.json", _duplicate_key_in_pair,
                ("twice", "turn_number"), ("twice",)),
        Hostile("nan.json", _nan, ("NaN",), ("NaN",)),
        Hostile("no-trainable-replies.json", _no_replies, ("no consultant reply",),
                ("no consultant reply",)),
        Hostile("raw-not-enriched.json", _raw, ("raw",), ("raw",)),
        Hostile("renamed-target-response.json", _renamed_replies,
                ("no training pair has the key 'target_response'", "import the file as"),
                ("target_response",), forbidden=("null or empty",)),
    ]


def write_corpus(folder: Path, cases: list[Hostile], big: bool) -> dict[str, Path]:
    """Write every case into ``folder``; the 200 MB file only when ``big``."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for case in cases:
        path = folder / case.name
        if case.big:
            if not big:
                continue
            write_big(path)
        else:
            path.write_bytes(case.make())
        written[case.name] = path
    return written


def disk_allows_big(folder: Path) -> bool:
    return shutil.disk_usage(folder).free >= DISK_NEEDED


# --- values the parser accepts but the store cannot serialise -----------------------


def _nested_inside_a_pair() -> bytes:
    document = conversation("hostile_nested_300_in_pair")
    value: Any = "deep"
    for _ in range(300):
        value = [value]
    document["training_pairs"][PAIR]["emotional_context"]["nested"] = value
    return json.dumps(document).encode("utf-8")


def _huge_turn_number() -> bytes:
    document = conversation("hostile_huge_turn_number")
    document["training_pairs"][-1]["turn_number"] = 2**64
    return json.dumps(document).encode("utf-8")


def _lone_surrogate() -> bytes:
    document = conversation("hostile_lone_surrogate")
    document["training_pairs"][PAIR]["target_response"] += " \ud800"
    data = json.dumps(document).encode("ascii")  # the escape \ud800 is valid JSON text
    assert b"\\ud800" in data
    return data


UNSERIALISABLE = [
    Hostile("nested-300-inside-a-pair.json", _nested_inside_a_pair, ("nested",)),
    Hostile("turn-number-2-to-the-64.json", _huge_turn_number, ("turn_number",)),
    Hostile("lone-surrogate-escape.json", _lone_surrogate, ("surrogate",)),
]


# --- unusual but valid file names ---------------------------------------------------

ODD_NAMES = [
    "with spaces in the name.json",
    "é 日本.json",
    "#%&.json",
    "-file.json",
    "long-" + "x" * 190 + ".json",
]


def write_odd_names(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(ODD_NAMES):
        path = folder / name
        path.write_bytes(dump(conversation(f"odd_name_{index}")))
        paths.append(path)
    return paths


# --- another process holding a library ----------------------------------------------

HOLDER = r"""
import os, sys, time
from pathlib import Path

from app.library import Library

root, ready, release = map(Path, sys.argv[1:])
test = os.getppid()
library = Library(root)
ready.write_text("holding")
# Held until the test says so (or is gone). A deadline of its own (30 s) let go in the
# middle of a test on a busy machine: test_concurrency's held part, two new Python
# processes, took 12 s of it at a load of 7.
while not release.exists() and os.getppid() == test:
    time.sleep(0.02)
library.close()
"""


@contextlib.contextmanager
def hold_library(root: Path, scratch: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holds ``root`` open for writing until the block ends."""
    scratch.mkdir(parents=True, exist_ok=True)
    ready, release = scratch / "holder-ready", scratch / "holder-release"
    with python_child(HOLDER, str(root), str(ready), str(release)) as holder:
        try:
            wait_for_marker(holder, ready, 60, "opened the library")
            yield holder
        finally:
            release.write_text("done")
            holder.wait(timeout=30)
