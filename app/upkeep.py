"""One-time passes over stored data, and the record that they ran.

When a new version learns to store something better (repaired text, say), conversations
stored by older versions get the same treatment once. Which passes a library has had is
kept in ``upkeep.json`` in the library folder, so a pass runs once rather than at every
start; a new library has had them all (nothing in it is old). The passes themselves are
idempotent, so a lost record only costs one more look at the stored records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import orjson

from app.build import BuildCancelled
from app.jsonio import atomic_writer
from app.key_parts import in_parts

T = TypeVar("T")
FILE_NAME = "upkeep.json"
TEXT_REPAIR = "text_repair"
CUT_OFF_RULE = "cut_off_rule"  # stored cut-off judgements made again (app.stored_cut_offs)
SENTENCE_SKETCHES = "sentence_sketches"  # stored sketches made as today's import makes
# them (app.stored_sketches: version 1 without the empty piece, 2 of the sentences' sketch
# form, app.similar.sketch_text)
SHORTER_COPIES = "shorter_copies"  # stored shorter copies flagged (app.stored_near)
LINE_WHITESPACE = "line_whitespace"  # files rebuilt without whitespace around messages
# Each pass and the version of it a library must have had (raise one to run it again:
# CUT_OFF_RULE whenever app.cut_off_rule decides differently, SHORTER_COPIES whenever
# app.similar.is_near, INDEXED or the sketch does: version 2 after SENTENCE_SKETCHES, whose
# sketches share no empty piece and index one more sentence, 3 after SENTENCE_SKETCHES
# version 2, whose sketch form finds copies differing in punctuation; LINE_WHITESPACE version 2
# makes the token estimates again, which version 1 left counting the untrimmed text;
# TEXT_REPAIR version 2 mends Windows line ends and control characters too; SHORTER_COPIES
# version 4 because the release before the stored fingerprints were filled first (558ecd6)
# ran version 3 over a v3/v4 library that had none, and recorded it done). In the order
# they run.
PASSES = {TEXT_REPAIR: 2, CUT_OFF_RULE: 1, SENTENCE_SKETCHES: 2, SHORTER_COPIES: 4,
          LINE_WHITESPACE: 2}


def in_chunks(pks: Sequence[T], progress: Callable[[int, int, str], None] | None = None,
              cancelled: Callable[[], bool] | None = None, step: int = 0, steps: int = 1
              ) -> Iterator[Sequence[T]]:
    """A pass's walk over stored conversations: ``pks`` a part at a time
    (``app.key_parts.in_parts``, one transaction each), asking ``cancelled`` before each
    (``BuildCancelled``) and saying how far it got (``step`` of ``steps`` walks over
    them)."""
    done = 0
    for part in in_parts(pks):
        if cancelled and cancelled():
            raise BuildCancelled()
        if progress:
            progress(step * len(pks) + done, steps * len(pks), "")
        yield part
        done += len(part)


def _path(root: Path) -> Path:
    return root / FILE_NAME


def done(root: Path) -> dict[str, int]:
    try:
        data = orjson.loads(_path(root).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, int)}


def due(root: Path) -> list[str]:
    """The passes this library has not had (at their current version)."""
    had = done(root)
    return [name for name, version in PASSES.items() if had.get(name, 0) < version]


def record(root: Path, names: list[str] | None = None) -> None:
    """Say that ``names`` (all passes by default) ran; a writer's business."""
    had = done(root)
    for name in names if names is not None else list(PASSES):
        had[name] = PASSES[name]
    with atomic_writer(_path(root)) as handle:
        handle.write(orjson.dumps(had, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
