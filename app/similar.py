"""Dialogue fingerprints: exact duplicates by content, and near-duplicates.

Two files can hold the same conversation under different ids, or with one space changed.
The *dialogue* (the client and consultant messages, whitespace collapsed; the system prompt
and annotations do not count) is hashed into ``dialogue_sha256``: equal hashes mean the
same conversation, whatever its id.

Near-duplicates (a conversation re-generated with a few sentences changed) are found with a
*bottom-k sketch* of the dialogue's sentences: each sentence (a non-empty piece between full
stops, in its *sketch form*) is hashed (CRC-32) and the 64 smallest hashes are kept. The
sketch form (``sketch_text``) is the dialogue in Unicode NFKC (an ellipsis is three full
stops), casefolded, with whitespace and every punctuation mark but the full stop taken out:
a re-generation that only changes quote or dash style, capitals or the spacing around
punctuation gives the same sentences, so it is near (it would otherwise escape the sketch
whole, as such an edit touches most sentences). The dialogue hash keeps the exact text
(whitespace aside): such a copy is near, not the same conversation, and stays importable.
Libraries sketched before are sketched again once (``app.stored_sketches``).

The share of sentences two dialogues have in common (their Jaccard similarity) is estimated
from their sketches alone (Broder's bottom-k estimator). To find candidates without
comparing against every stored conversation, the smallest hashes of each sketch are indexed
(``dialogue_keys``, one representative conversation per hash): two dialogues that share
most sentences almost always share one of their smallest hashes.

A hash that many sketches hold (more than ``COMMON_BUCKET``) is a *common sentence*: a stock
line ("Thank you so much.") that thousands of different dialogues say, whose hash may be
among their smallest. Compared pair by pair under it, every dialogue would be compared with
every other. The split's ``groups`` and a training file's check (``app.near_in_file``)
compare under it only a few, and the ones that share more of the sentences that are not
common. The import's one representative per hash makes such a hash find one conversation,
the first stored with it: when that one is not near, the import asks a training file's
index of the library (``app.fingerprints.StoredNear``), so a re-generation whose only
smallest hashes in common with its original are common sentences is flagged at import too.
(``app.stored_near``'s one-time pass still looks at the representatives alone.)

Two dialogues are *near* (``is_near``) when they share most sentences, or when most of the
shorter one's sentences are in the other (a copy cut short, or re-generated with fewer
turns, trains the same replies twice though the longer one's extra turns keep the share
over both low). The shorter one's smallest hashes are among the longer one's, but not
always among its few smallest: eight are indexed, so that a copy of about a quarter of a
conversation or more shares some with it (the split, which has every sketch at hand, looks
up all of them instead).

Everything here runs in C-level string and hash calls; it adds well under a millisecond per
conversation to an import (the sketch form costs a few C-level passes over the text:
``sketch_text``).

Why not a library: ``datasketch`` (MinHash LSH) would need numpy and many hash permutations
per sentence, several times the cost of this and a heavy addition to the desktop bundle;
the bottom-k sketch is one sort.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
import zlib
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

SKETCH_SIZE = 64  # sentence hashes kept per dialogue
INDEXED = 8  # of which this many smallest are indexed for candidate lookup
BUCKETED = 4  # of which this many smallest put a line in a split's buckets (``groups``)
CONTAINMENT_SAMPLE = 8  # fewest hashes in the range two sketches share to estimate from
COMMON_BUCKET = 16  # a hash opening more sketches than this is a common sentence
NEAR = 0.7  # estimated share of sentences (over both, or of the shorter one) from which
# two dialogues are "near"
NEAR_DUPLICATE = "near_duplicate"  # the warning code
NEAR_TEXT = "very similar to conversation"  # how its line in a row's warnings text starts


@dataclass(frozen=True)
class Fingerprint:
    dialogue_sha256: str
    sketch: bytes  # up to SKETCH_SIZE unsigned 32-bit sentence hashes, ascending

    @property
    def keys(self) -> list[int]:
        return unpack(self.sketch)[:INDEXED]


WHITESPACE = b" \t\n\r\x0b\x0c"


def _dialogue(messages: Iterable[Mapping[str, Any]]) -> str:
    return "".join(f"\0{m['role']}\0{m['content']}" for m in messages if m["role"] != "system")


def _normalised(messages: Iterable[Mapping[str, Any]]) -> bytes:
    """The dialogue as bytes with all whitespace taken out (one C call, no word list):
    texts that differ only in spacing or line breaks give the same bytes. What the
    dialogue hash is made of (changing it would change stored verdicts)."""
    return _without_whitespace(_dialogue(messages))


def _without_whitespace(dialogue: str) -> bytes:
    return dialogue.encode("utf-8").translate(None, WHITESPACE)


SENTENCE_END = "."
# Non-ASCII characters of the sketch form's blocks taken out (punctuation of every kind:
# quotes, apostrophes, dashes, guillemets, inverted marks; spaces and invisible format
# characters) or made a full stop (the ideographic one). Listed by Unicode category over
# the blocks that hold such marks, once at import (under a millisecond, where a scan of all
# of Unicode would take a tenth of a second). Fullwidth forms and ellipses need no row:
# NFKC makes them ASCII.
_BLOCKS = ((0x80, 0x250), (0x2000, 0x2070), (0x2E00, 0x2E80), (0x3000, 0x3040),
           (0xFE10, 0xFE70), (0xFF00, 0xFF70))
_APOSTROPHE_LETTERS = "\u02b9\u02bb\u02bc\u02bd"  # modifier letters written as apostrophes


def _taken_out(char: str) -> bool:
    """Punctuation (but the full stop), the backtick written as a quote, whitespace and
    invisible format characters; not symbols (a currency sign or an arrow says something)."""
    category = unicodedata.category(char)
    return char != SENTENCE_END and (category[0] in "PZ" or category == "Cf"
                                     or char.isspace() or char == "`")


_WIDE = {char.encode("utf-8"): b"" for start, end in _BLOCKS
         for char in map(chr, range(start, end)) if _taken_out(char)} | {
    char.encode("utf-8"): b"" for char in _APOSTROPHE_LETTERS} | {
    "\u3002".encode("utf-8"): SENTENCE_END.encode()}
# ASCII: capitals made small and, in the same pass, what ``_taken_out`` says taken out.
_LOWER = bytes.maketrans(string.ascii_uppercase.encode(), string.ascii_lowercase.encode())
_ASCII_OUT = bytes(code for code in range(128) if _taken_out(chr(code)))
_ASCII = bytes(range(128))
_NFKC_STABLE: dict[str, bool] = {}  # non-ASCII character met -> ``_stable``


def _stable(char: str) -> bool:
    """Whether NFKC leaves ``char`` as it is wherever it stands: it has no decomposition
    of any kind and is not one that may be reordered or composed with the character
    before it (a mark, a Hangul vowel or final jamo). Worked out once per character."""
    found = _NFKC_STABLE.get(char)
    if found is None:
        found = _NFKC_STABLE[char] = not (
            unicodedata.decomposition(char) or unicodedata.category(char)[0] == "M"
            or "\u1160" <= char <= "\u11ff")
    return found


def _non_ascii(data: bytes) -> set[str]:
    """The non-ASCII characters of UTF-8 ``data`` (its ASCII bytes deleted in one pass)."""
    return set(data.translate(None, _ASCII).decode("utf-8"))


def sketch_text(text: str) -> bytes:
    """``text`` in its sketch form, as UTF-8: NFKC, casefolded, without whitespace or any
    punctuation but the full stop. The ASCII is done in one ``bytes.translate``; only the
    few non-ASCII characters present are looked at one by one, and NFKC or casefolding
    runs over the whole text only when one of them needs it."""
    data = text.encode("utf-8")
    if not data.isascii():
        present = _non_ascii(data)
        if not all(map(_stable, present)):
            text = unicodedata.normalize("NFKC", text)
            data = text.encode("utf-8")
            present = _non_ascii(data)
        if any(char.casefold() != char for char in present):
            data = text.casefold().encode("utf-8")
        # (casefolding leaves punctuation as it is; UTF-8 cannot match a character's bytes
        # anywhere but at that character)
        for char in present:
            wide = char.encode("utf-8")
            if wide in _WIDE:
                data = data.replace(wide, _WIDE[wide])
    return data.translate(_LOWER, _ASCII_OUT)


def fingerprint(record: Mapping[str, Any]) -> Fingerprint:
    """The dialogue hash and sentence sketch of a canonical record."""
    dialogue = _dialogue(record["messages"])
    # Not the empty pieces (after the final full stop, inside an ellipsis): no sentence,
    # and hashed they gave 0, which would lead almost every sketch and be shared by any
    # two dialogues ending on a full stop.
    hashes = sorted(set(map(zlib.crc32, filter(None, sketch_text(dialogue).split(b".")))))
    return Fingerprint(hashlib.sha256(_without_whitespace(dialogue)).hexdigest(),
                       array("I", hashes[:SKETCH_SIZE]).tobytes())


def unpack(sketch: bytes) -> list[int]:
    values = array("I")
    values.frombytes(sketch)
    return values.tolist()


def similarity(a: bytes, b: bytes) -> float:
    """Estimated share of sentences two dialogues have in common (0 to 1)."""
    return set_similarity(set(unpack(a)), set(unpack(b)))


def set_similarity(first: set[int], second: set[int]) -> float:
    """``similarity`` of two sketches already unpacked into sets."""
    union = sorted(first | second)[:SKETCH_SIZE]
    if not union:
        return 0.0
    return len((first & second).intersection(union)) / len(union)


def containment(a: bytes, b: bytes) -> float:
    """Estimated share of the smaller dialogue's sentences that the other one holds too
    (0 to 1). A conversation cut short, or re-generated with fewer turns, scores high here
    while ``similarity`` (shared over both) stays low: the longer one's extra turns count
    against it there."""
    first, second = unpack(a), unpack(b)
    return _containment(first, second, len(set(first) & set(second)))


def _containment(first: list[int], second: list[int], common: int) -> float:
    """``containment`` of two unpacked (ascending) sketches that share ``common`` hashes."""
    if not common:
        return 0.0
    # A full sketch holds every hash of its dialogue up to its largest one (a shorter sketch
    # holds them all): count each side's sample only in the range both cover. A shared
    # hash is in both sketches, so it is within that range.
    limit = min(first[-1] if len(first) >= SKETCH_SIZE else 0xFFFFFFFF,
                second[-1] if len(second) >= SKETCH_SIZE else 0xFFFFFFFF)
    smaller = min(bisect_right(first, limit), bisect_right(second, limit))
    # Too few hashes in the range say nothing (a few common sentences would pass).
    return common / smaller if smaller >= CONTAINMENT_SAMPLE else 0.0


Unpacked = tuple[list[int], set[int]]  # a sketch's hashes, ascending and as a set


def _unpacked(sketch: bytes) -> Unpacked:
    values = unpack(sketch)
    return values, set(values)


def _shares(mine: Unpacked, theirs: Unpacked) -> tuple[float, bool]:
    """The shorter one's share in the other (``containment``), and whether the share over
    both can reach ``NEAR`` at all: that estimate is at most common / (its sample size), so
    what cannot be near skips the costlier ``set_similarity``."""
    common = len(mine[1] & theirs[1])
    return (_containment(mine[0], theirs[0], common),
            common >= NEAR * min(SKETCH_SIZE, len(mine[1]) + len(theirs[1]) - common))


def is_near(a: bytes, b: bytes) -> bool:
    """Whether two dialogues are near: they share most sentences (``similarity``), or most
    of the shorter one's sentences are in the longer one (``containment``: a copy cut
    short, whose replies would be trained twice, or scored by validation after training on
    them word for word). The one test of the import's flag, the add review and the split."""
    return _near(_unpacked(a), _unpacked(b)) is not None


def _near(mine: Unpacked, theirs: Unpacked) -> tuple[float, float] | None:
    """(similarity, containment) of two dialogues that are near (``is_near``), else None."""
    contained, may_be_similar = _shares(mine, theirs)
    if contained < NEAR and not may_be_similar:
        return None
    similar = set_similarity(mine[1], theirs[1])
    return (similar, contained) if similar >= NEAR or contained >= NEAR else None


@dataclass(frozen=True)
class Match:
    conversation_id: str
    similarity: float
    containment: float = 0.0  # of the shorter one's sentences, in the other


def closeness(match: Match) -> tuple[float, float]:
    """How close a match is, to sort by: the share over both first (a conversation nearly
    repeated as a whole before one that holds a shorter copy)."""
    return match.similarity, match.containment


def best_match(sketch: bytes, candidates: Iterable[tuple[str, bytes]],
               sets: dict[bytes, Unpacked] | None = None) -> Match | None:
    """The closest near candidate, if any (the first of equals). ``sets`` keeps sketches
    already unpacked (a chunk of an import compares against the same few many times)."""
    return max(near_matches(sketch, candidates, sets), key=closeness, default=None)


def near_matches(sketch: bytes, candidates: Iterable[tuple[str, bytes]],
                 sets: dict[bytes, Unpacked] | None = None) -> list[Match]:
    """Every near candidate (``is_near``), in the candidates' order."""
    return list(_near_ones(sketch, candidates, sets))


def any_near(sketch: bytes, candidates: Iterable[tuple[str, bytes]],
             sets: dict[bytes, Unpacked] | None = None) -> bool:
    """Whether any candidate is near (``is_near``): stops at the first one, where
    ``near_matches`` compares with all (thousands, in a library of one template's
    re-generations)."""
    return first_near(sketch, candidates, sets) is not None


def first_near(sketch: bytes, candidates: Iterable[tuple[str, bytes]],
               sets: dict[bytes, Unpacked] | None = None) -> Match | None:
    """The first near candidate (``is_near``), in the candidates' order, or None: what
    ``any_near`` asks, with the one it found (to name it to the person)."""
    return next(iter(_near_ones(sketch, candidates, sets)), None)


def _near_ones(sketch: bytes, candidates: Iterable[tuple[str, bytes]],
               sets: dict[bytes, Unpacked] | None) -> Iterable[Match]:
    memo = sets if sets is not None else {}

    def unpacked(value: bytes) -> Unpacked:
        found = memo.get(value)
        if found is None:
            found = memo[value] = _unpacked(value)
        return found

    mine = unpacked(sketch)
    for cid, other in candidates:
        scores = _near(mine, unpacked(other))
        if scores is not None:
            yield Match(cid, *scores)


def warning_text(match: Match) -> str:
    if match.similarity >= NEAR:
        return (f"{NEAR_TEXT} {match.conversation_id} (about "
                f"{round(match.similarity * 100)} % of their sentences are the same)")
    return (f"{NEAR_TEXT} {match.conversation_id} (about "
            f"{round(match.containment * 100)} % of the shorter one's sentences are in the "
            "other: a copy cut short trains its replies twice)")


def own_warnings(codes: Iterable[str]) -> tuple[str, ...]:
    """A row's warning codes without the library's near-duplicate flag: the quality warnings
    of the conversation's own record, the ones a training file's header counts and its
    JSONL lines carry. "Warnings" means these wherever a count is shown."""
    return tuple(code for code in codes if code != NEAR_DUPLICATE)


def groups(sketches: Sequence[tuple[str, bytes]]) -> list[list[str]]:
    """Conversations linked by near-duplicate pairs (``is_near``), as groups
    (singletons included), in the order given; used to keep near-duplicates on one side
    of a split."""
    parent = list(range(len(sketches)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_key: dict[int, list[int]] = {}
    for index, (_cid, sketch) in enumerate(sketches):
        for key in unpack(sketch)[:BUCKETED]:
            by_key.setdefault(key, []).append(index)
    for members in by_key.values():
        for position, index in enumerate(members[1:], start=1):
            # compare with a few earlier members of the bucket until one is close enough
            for earlier in members[max(0, position - 8) : position]:
                if root(earlier) == root(index):
                    break
                if is_near(sketches[earlier][1], sketches[index][1]):
                    parent[root(index)] = root(earlier)
                    break
    # A copy cut short shares its own smallest hashes with the longer dialogue, but those
    # are not always among the longer one's smallest few: look them up from every hash of
    # each sketch. Two of them found make a pair worth comparing; a hash that opens many
    # sketches is a common sentence, not a sign of a copy.
    # (Only hashes some sketch indexes can find anything: one set intersection and one
    # Counter a sketch, not a Counter update for each of its 64 hashes.)
    indexed = by_key.keys()
    for index, (_cid, sketch) in enumerate(sketches):
        hits = Counter(chain.from_iterable(
            members for members in map(by_key.__getitem__, indexed & set(unpack(sketch)))
            if len(members) <= COMMON_BUCKET))
        for other, count in sorted(hits.items()):
            if count >= 2 and root(other) != root(index) and is_near(
                    sketches[other][1], sketch):
                parent[root(index)] = root(other)
    found: dict[int, list[str]] = {}
    for index, (cid, _sketch) in enumerate(sketches):
        found.setdefault(root(index), []).append(cid)
    return list(found.values())
