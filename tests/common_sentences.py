"""Different dialogues that all hold the same stock sentences, made from the real enriched
fixtures: every sentence of a fixture gets one word changed (a different one in each
dialogue, so no two are near), and two stock lines are put in, whose sentence hashes are
among the smallest of almost any dialogue ("Thank you so much." in the first client
message, "I appreciate it." in the first reply): the shape of a library whose clients all
open and close alike. Used by the near-duplicate tests and ``bench/bench_near_common.py``.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from app.similar import sketch_text

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "enriched"
COMMON = ("Thank you so much.", "I appreciate it.")
COMMON_HASHES = frozenset(zlib.crc32(sketch_text(line.rstrip("."))) for line in COMMON)
TEXT_FIELDS = ("current_user_input", "target_response")
WORD = re.compile(r"[A-Za-z]{3,}")


def templates() -> list[dict[str, Any]]:
    """The real enriched fixtures, parsed."""
    return [json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(FIXTURES.glob("*.json"))]


def vocabulary(documents: Iterable[dict[str, Any]]) -> list[str]:
    """The words of the fixtures' messages, to vary sentences with."""
    words = {word for document in documents for pair in document["training_pairs"]
             for name in TEXT_FIELDS if isinstance(pair.get(name), str)
             for word in WORD.findall(pair[name])}
    return sorted(words)


def piece_hash(piece: str) -> int:
    """The sentence hash of a piece between two full stops (as ``app.similar`` makes it)."""
    return zlib.crc32(sketch_text(piece))


def vary_text(text: str, rng: random.Random, words: list[str],
              which: Callable[[str], bool] = lambda _piece: True) -> str:
    """``text`` with one word of each piece between full stops (that ``which`` picks)
    changed for a random one of ``words``."""
    pieces = text.split(".")
    for index, piece in enumerate(pieces):
        found = list(WORD.finditer(piece))
        if found and which(piece):
            chosen = rng.choice(found)
            pieces[index] = piece[:chosen.start()] + rng.choice(words) + piece[chosen.end():]
    return ".".join(pieces)


def _with_line(text: str, line: str) -> str:
    """``text`` with ``line`` as its second sentence (a sentence of its own: a full stop
    before and after it)."""
    end = text.find(". ")
    if end < 0:
        return f"{text.rstrip()}. {line}"
    return f"{text[:end + 2]}{line} {text[end + 2:]}"


def _replace_texts(document: dict[str, Any], change: Callable[[str], str]) -> None:
    """Every message text of the pairs changed by ``change``, the same text the same way
    wherever it occurs (the histories keep copying the messages they copy)."""
    done: dict[str, str] = {}

    def changed(text: str) -> str:
        if text not in done:
            done[text] = change(text)
        return done[text]

    for pair in document["training_pairs"]:
        for name in TEXT_FIELDS:
            if isinstance(pair.get(name), str) and pair[name]:
                pair[name] = changed(pair[name])
        for entry in pair.get("conversation_history") or []:
            if isinstance(entry, dict) and isinstance(entry.get("content"), str):
                entry["content"] = changed(entry["content"])


def _named(document: dict[str, Any], cid: str) -> dict[str, Any]:
    document["dataset_metadata"]["dataset_name"] = cid
    for pair in document["training_pairs"]:
        pair["conversation_id"] = cid
    return document


def stock_dialogue(template: dict[str, Any], cid: str, rng: random.Random,
                   words: list[str]) -> dict[str, Any]:
    """A dialogue of its own made from ``template``: each sentence varied, the stock lines
    put in."""
    document = _named(json.loads(json.dumps(template)), cid)
    _replace_texts(document, lambda text: vary_text(text, rng, words))
    pairs = document["training_pairs"]
    client = pairs[0]["current_user_input"]
    reply = next(pair["target_response"] for pair in pairs if pair.get("target_response"))
    lines = {client: _with_line(client, COMMON[0]), reply: _with_line(reply, COMMON[1])}
    _replace_texts(document, lambda text: lines.get(text, text))
    return document


def near_twin(document: dict[str, Any], cid: str, avoid: frozenset[int],
              rng: random.Random, words: list[str]) -> dict[str, Any]:
    """A re-generation of ``document``: the same dialogue with the sentences whose hashes
    are in ``avoid`` changed (the others, most of them, kept)."""
    twin = _named(json.loads(json.dumps(document)), cid)
    _replace_texts(twin, lambda text: vary_text(text, rng, words,
                                                lambda piece: piece_hash(piece) in avoid))
    return twin


def smallest_sentences(document: dict[str, Any], count: int) -> frozenset[int]:
    """The ``count`` smallest hashes of the document's sentences that are not stock lines
    (of the pieces inside a message: a message's first piece is hashed with its role)."""
    hashes = {piece_hash(piece) for pair in document["training_pairs"] for name in TEXT_FIELDS
              if isinstance(pair.get(name), str) for piece in pair[name].split(".")[1:]
              if piece.strip()}
    return frozenset(sorted(hashes - COMMON_HASHES)[:count])


def regeneration(document: dict[str, Any], cid: str, share: float, rng: random.Random,
                 words: list[str]) -> dict[str, Any]:
    """A re-generation of ``document`` with about ``share`` of its sentences changed."""
    again = _named(json.loads(json.dumps(document)), cid)
    _replace_texts(again, lambda text: vary_text(text, rng, words,
                                                 lambda _piece: rng.random() < share))
    return again


def write(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document['dataset_metadata']['dataset_name']}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def stock_dialogues(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` files of different dialogues sharing the stock lines, in ``folder``."""
    rng = random.Random(seed)
    sources = templates()
    words = vocabulary(sources)
    return [write(folder, stock_dialogue(sources[number % len(sources)],
                                         f"fp_conversation_stock_{seed}_{number:06d}", rng,
                                         words))
            for number in range(count)]


def file_sketch(path: Path) -> bytes:
    """The dialogue sketch the import makes of the conversation file ``path``."""
    from app.loader import load_file
    from app.similar import fingerprint

    record = load_file(path, "b")[0][1]
    assert record is not None, path
    return fingerprint(record).sketch


def written_hidden_twin(path: Path, cid: str, folder: Path, rng: random.Random,
                words: list[str]) -> Path | None:
    """A re-generation of the stock dialogue in ``path`` written as ``cid`` into
    ``folder``, the sentences behind its original's lookup keys (its smallest hashes)
    reworded: kept when it is near its original and the only lookup keys they share are
    the stock lines (hidden among the stock dialogues), else removed again (None)."""
    from app.near_in_file import lookup_keys
    from app.similar import is_near

    sketch = file_sketch(path)
    keys = frozenset(lookup_keys(sketch))
    original = json.loads(path.read_text(encoding="utf-8"))
    written = write(folder, near_twin(original, cid, keys - COMMON_HASHES, rng, words))
    theirs = file_sketch(written)
    shared = keys & set(lookup_keys(theirs))
    if shared and shared <= COMMON_HASHES and is_near(sketch, theirs):
        return written
    written.unlink()
    return None
