"""The full training files of ours an import reads, and what this library has of them.

The question before an import, and ``import --recreate``, are about each such file the
import reads, chosen by name or found in a folder (one in a folder kept its records'
batches but was never made again). Two things about each are known only here, with the
library at hand: whether the library already holds it as a training file (its own saved
file imported back: the same conversations in the same order with the same settings,
which made a second, identical "Name (2)"), and whether its tokens were counted with
another tokenizer than this library counts with (a file made again here counts otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ijson  # type: ignore[import-untyped]  # no type information shipped
from sqlalchemy import select

from app.budget_fit import OverBudget
from app.cutoff import CutOffPolicy, policy_label
from app.errors import InputError, LibraryError
from app.fullfile import FORMAT_NAME
from app.fullstream import CHUNK, opened_past_bom
from app.importer import WalkCancelled, collect
from app.library import Library
from app.models import TrainingFile
from app.token_lines import DEFAULT_MAX_SEQ_LEN
from app.tokenizer_choice import TokenizerChoice, load_choice
from app.trainingfiles import member_ids
from app.wording import LENGTH_LIMIT

Progress = Callable[[int, int, str], None]
HEADER_CHUNK = 1 << 16  # bytes read at a time for the header: it is a few kilobytes
# What every full file LoRA Studio writes begins with: a conversation file of a dropped
# folder is told apart by its first bytes, not read to its header's end.
OURS_START = re.compile(rb'\s*\{\s*"training_file_metadata"\s*:')
SNIFFED = 256
LOOK_EVERY = 64  # files looked at between two progress reports and cancel checks


@dataclass(frozen=True)
class FullFileFacts:
    """What the header of one of our full training files says: enough to ask about it
    before the import, and to make the file again after it; with what this library has
    of it once ``known_to`` looked (``same_as``, ``counted_here``)."""

    path: Path
    name: str
    conversations: int
    batches: dict[str, int]  # the header's batch distribution
    cut_off_policy: str
    max_seq_len: int
    over_budget: str
    # The header's tokenizer and chat template, and how it names them ("" before counts).
    counted_by: tuple[str, str] = ("", "")
    counted_with: str = ""
    same_as: str = ""  # the library's training file that is this one already
    counted_here: str = ""  # the library's tokenizer, when it is another than the header's

    def settings_words(self) -> str:
        """"cut-off policy Keep as context, weight 0, length limit 2,048 tokens, longer
        lines end at their last whole reply that fits": the settings as Settings… names
        them."""
        longer = ("longer lines end at their last whole reply that fits"
                  if self.over_budget == OverBudget.FIT else "longer lines written whole")
        return (f"cut-off policy {policy_label(self.cut_off_policy)}, {LENGTH_LIMIT} "
                f"{self.max_seq_len:,} tokens, {longer}")

    def already_words(self) -> str:
        """That the library has it already, or ""."""
        if not self.same_as:
            return ""
        held = "" if self.same_as == self.name else f" as '{self.same_as}',"
        return (f"'{self.name}' is already in this library{held} with the same conversations "
                "and settings")

    def tokens_words(self) -> str:
        """That a file made here counts its tokens otherwise than the original, or ""."""
        if not self.counted_here:
            return ""
        return (f"its tokens are counted with {self.counted_here} here; the original was "
                f"counted with {self.counted_with}, so token totals may differ")


def read_facts(path: Path) -> FullFileFacts | None:
    """The facts of ``path`` when it is a full training file of ours whose header comes
    before its conversations (as every file LoRA Studio writes); None for anything else.
    Only the header is read: a 500 MB file answers as fast as a small one."""
    try:
        with opened_past_bom(path) as handle:
            header = _header(handle)
    except (OSError, ijson.JSONError, InputError, LibraryError, ValueError):
        return None
    if header is None or header.get("format") != FORMAT_NAME:
        return None
    try:
        found = header.get("tokens")
        tokens: dict[str, Any] = found if isinstance(found, dict) else {}
        batches = (header.get("scaffolding_distribution") or {}).get("batch") or {}
        named = tokens.get("tokenizer") and tokens.get("chat_template")
        return FullFileFacts(
            path=path, name=str(header["name"]),
            conversations=int((header.get("totals") or {}).get("conversations") or 0),
            batches={str(k): int(v) for k, v in batches.items()},
            # A file from before the policies trained every reply: "keep" is what it did.
            cut_off_policy=CutOffPolicy(header.get("cut_off_policy", CutOffPolicy.KEEP)).value,
            max_seq_len=int(tokens.get("max_seq_len") or DEFAULT_MAX_SEQ_LEN),
            over_budget=OverBudget(header.get("over_budget", OverBudget.KEEP)).value,
            counted_by=(str(tokens.get("tokenizer_sha256") or ""),
                        str(tokens.get("chat_template") or "")),
            counted_with=(f"{tokens['tokenizer']} with the {tokens['chat_template']} chat "
                          "template" if named else ""))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _header(handle: Any) -> dict[str, Any] | None:
    """``training_file_metadata``, read until the conversations begin (None: not first)."""
    start = handle.tell()
    if not handle.read(HEADER_CHUNK).lstrip().startswith(b"{"):
        return None  # an array or a scalar at the top: not ours, and never read whole
    handle.seek(start)
    builder: Any = None
    for prefix, event, value in ijson.parse(handle, buf_size=HEADER_CHUNK, use_float=True):
        if prefix == "" and event == "map_key":
            if builder is not None:
                return dict(builder.value)
            if value != "training_file_metadata":
                return None
            builder = ijson.ObjectBuilder()
        elif builder is not None and prefix != "":
            builder.event(event, value)
    return None


def conversation_ids(path: Path) -> list[str]:
    """The ids of the file's conversations, in the file's order (read a conversation at a
    time: only the ids are kept)."""
    with opened_past_bom(path) as handle:
        return [str(cid) for cid in ijson.items(handle, "conversations.item.conversation_id",
                                                buf_size=CHUNK)]


def looks_ours(path: Path) -> bool:
    """Whether ``path`` begins as a full training file of ours does (its first bytes)."""
    try:
        with opened_past_bom(path) as handle:
            return OURS_START.match(handle.read(SNIFFED)) is not None
    except (OSError, InputError, LibraryError):
        return False


def same_file_in(library: Library, facts: FullFileFacts) -> str:
    """The library's training file that holds the file's conversations in its order with
    its settings ("" when none does; the file's own name is looked at first). Only a file
    of the same size and settings has its members compared."""
    with library.session() as session:
        names = list(session.scalars(select(TrainingFile.name).where(
            TrainingFile.conversations == facts.conversations,
            TrainingFile.cut_off_policy == facts.cut_off_policy,
            TrainingFile.max_seq_len == facts.max_seq_len,
            TrainingFile.over_budget == facts.over_budget)))
    if not names:
        return ""
    try:
        wanted = conversation_ids(facts.path)
    except (OSError, ijson.JSONError, InputError, LibraryError):
        return ""
    for name in sorted(names, key=lambda name: name != facts.name):
        if member_ids(library, name) == wanted:
            return name
    return ""


def known_to(library: Library, facts: FullFileFacts,
             choice: TokenizerChoice | None = None) -> FullFileFacts:
    """``facts`` with what ``library`` has of it: the same file already, and another
    tokenizer than the header names (``choice``: the library's, read once for many)."""
    choice = choice or load_choice(library)
    other = (facts.counted_with != "" and facts.counted_by
             != (choice.tokenizer_sha256, choice.template_label))
    return replace(facts, same_as=same_file_in(library, facts),
                   counted_here=choice.describe() if other else "")


@dataclass(frozen=True)
class Found:
    """The full training files of ours among an import's files, and how many files the
    import reads in all (others than these: a batch name is asked for them)."""

    full_files: list[FullFileFacts]
    files: int


def full_files_in(library: Library, paths: Sequence[Path], progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> Found:
    """Every full training file of ours the import of ``paths`` reads, as the import
    walks them (``app.importer.collect``), each ``known_to`` the library. Raises
    ``WalkCancelled`` once ``cancelled`` says yes."""
    candidates, _ = collect(paths, cancelled=cancelled)
    choice = load_choice(library)
    found: list[FullFileFacts] = []
    for number, candidate in enumerate(candidates):
        if number % LOOK_EVERY == 0:
            if cancelled is not None and cancelled():
                raise WalkCancelled()
            if progress is not None:
                progress(number, len(candidates), candidate.path.name)
        if looks_ours(candidate.path) and (facts := read_facts(candidate.path)):
            found.append(known_to(library, facts, choice))
    return Found(found, len(candidates))
