"""Copies of a training file for the user: as stored, or reshaped for stricter trainers.

Every variant is derived line by line from the stored JSONL, so memory stays bounded and
the variants can never disagree with the file they come from. The variants are one
registry (``FORMATS``): each entry says what it is for, which file name ending it
suggests and which function writes it, so the window, the command line and the docs all
read the same list.

Every export writes a *manifest* beside what it wrote (``<file>.manifest.json``, or
``manifest.json`` in a split's folder): the app and format versions, the training file,
its cut-off policy, the sha256 of the stored files it came from and of every file written,
the conversation ids in each file (with the seed and share of a split) and each file's own
token figures, so that a training run can be traced and repeated.

A variant that changes a line's messages (one line per reply, no session context) counts
each line it writes again, so its ``token_count`` is that of the line it sits on, and the
manifest's figures are those of the lines in that file.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import select

from app import FORMAT_VERSION, __version__
from app.build import BuildCancelled, Progress
from app.canonical import SESSION_CONTEXT_HEADING
from app.cutoff import CutOffPolicy, policy_label
from app.earlier_files import put_back_on_failure, tidy_stopped_exports
from app.errors import LibraryError
from app.exportguard import check_export_targets
from app.failures import os_advice
from app.idtext import readable_name
from app.jsonio import atomic_writer, dumps_line, sha256_of
from app.legacy_builds import LegacyReader
from app.library import Library, now_iso
from app.llamafactory_recipe import (
    check_dataset_info,
    dataset_entries,
    dataset_name,
    llamafactory_config,
    merged_dataset_info,
    owned_entries,
)
from app.mlx_recipe import chat_template_text, mlx_config
from app.models import TrainingFile
from app.recipes import (
    CHAT_TEMPLATE_FILE,
    MLX_SUFFIX,
    RecipeInput,
    axolotl_config,
    dataset_info_path,
    recipe_paths,
    trl_script,
)
from app.recovery import BOTH_CHANGED, TOKENIZER_CHANGED, owed_because
from app.saved_copies import Written as SavedFile
from app.saved_copies import record_saved, revision_of
from app.similar import fingerprint
from app.split import (
    LineFacts,
    SplitPlan,
    no_validation_sentence,
    plan_split,
    validation_size,
)
from app.stored_builds import BuildReader, rebuilds_due
from app.token_counts import library_cache
from app.token_lines import count_lines, percentile, token_summary
from app.tokenizer_choice import chosen_template, counter_for
from app.tokens import Messages, TokenCounter
from app.trainingfiles import (
    get_training_file,
    header,
    member_ids,
    read_build,
    rebuild_if_owed,
)
from app.wording import agreeing, plural


class ExportFormat(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    MESSAGES_ONLY = "jsonl-messages"  # no metadata key: OpenAI / Together style readers
    PER_REPLY = "jsonl-per-reply"  # one line per reply, its history as the prompt
    NO_SESSION_CONTEXT = "jsonl-no-context"  # system message = the prompt + client name
    SPLIT = "split"  # train.jsonl + valid.jsonl, stratified, by conversation
    SPLIT_PER_REPLY = "split-per-reply"  # the same split, one line per reply on each side


# The downloads whose lines each end on the one reply they train.
LAST_REPLY_ONLY = frozenset({ExportFormat.PER_REPLY, ExportFormat.SPLIT_PER_REPLY})
DEFAULT_VALID_FRACTION = 0.1
TRAIN_FILE, VALID_FILE = "train.jsonl", "valid.jsonl"  # a split's files, in its folder
DEFAULT_SEED = 42
MANIFEST_VERSION = 1


class ExportCancelled(BuildCancelled):
    """The user cancelled an export; no file of it was left behind."""


@dataclass(frozen=True)
class ExportOptions:
    valid_fraction: float = DEFAULT_VALID_FRACTION
    seed: int = DEFAULT_SEED


@dataclass
class Written:
    """One file an export wrote, for the manifest."""

    path: Path
    role: str  # "copy", "train" or "valid"
    conversation_ids: list[str] = field(default_factory=list)
    lines: int = 0
    token_counts: list[int] = field(default_factory=list)  # each line's tokens, in order
    counted_by: TokenCounter | None = None  # None: counts of the stored file's own build
    # dataset_info.json, shared with other downloads: the entries this one owns in it
    # (name: canonical sha256), recorded instead of the whole file's sha256
    owned: dict[str, str] | None = None


@dataclass(frozen=True)
class Source:
    """The stored build an export reads, and the hooks it reports through. Every piece is
    checked against its sha256 as it is read (``app.stored_builds``), so a damaged build
    is never used.

    Whatever reads a whole stored file through ``json_chunks`` or ``jsonl_lines`` has its
    size and sha256 taken on the way (``described``), for the manifest: a 1 GB file is
    not read a second time just to be described.
    """

    build: BuildReader | LegacyReader
    conversation_ids: list[str]  # the training file's members, in file order
    tick: Callable[[], None]  # call once per line read: progress, and raises if cancelled
    counter: TokenCounter  # the library's tokenizer and chat template
    count: Callable[[Sequence[Messages]], list[int]]  # exact tokens of rendered lines
    described: dict[str, dict[str, Any]] = field(default_factory=dict)

    def json_chunks(self) -> Iterator[bytes]:
        """The full JSON, one tick per conversation."""
        return self._described("json", self.build.json_chunks(self.tick))

    def jsonl_lines(self) -> Iterator[bytes]:
        """The JSONL's raw lines, one tick each."""
        return self._described("jsonl", _ticking(self.build.jsonl_lines(), self.tick))

    def lines(self) -> Iterator[dict[str, Any]]:
        """The JSONL's lines, parsed, one tick each."""
        for raw in self.jsonl_lines():
            yield orjson.loads(raw)

    def _described(self, part: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        digest, size = hashlib.sha256(), 0
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        self.described[part] = {"file": f"{self.build.name}.{part}", "bytes": size,
                                "sha256": digest.hexdigest()}  # read to the end: whole


def _ticking(items: Iterator[bytes], tick: Callable[[], None]) -> Iterator[bytes]:
    for item in items:
        tick()
        yield item


Writer = Callable[[Source, Path, ExportOptions], tuple[list[Written], dict[str, Any]]]


@dataclass(frozen=True)
class ExportFormatSpec:
    """One entry of the registry."""

    format: ExportFormat
    title: str  # a menu label
    description: str  # what it is for, in a sentence a person can act on
    suffix: str  # file name ending suggested after the training file's name; "" = a folder
    write: Writer

    @property
    def writes_folder(self) -> bool:
        return not self.suffix


def per_reply(line: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Split a conversation line into one line per trained reply (same metadata shape).

    Only a line's last reply is its target: every earlier assistant message carries
    ``"weight": 0`` and the last ``"weight": 1``, so a trainer that reads the weight (OpenAI,
    Axolotl with ``message_field_training: weight``) learns each reply once, not once per
    later line."""
    for reply in line["metadata"]["replies"]:
        end = reply["message_index"] + 1
        messages = [{**message, "weight": int(index == end - 1)}
                    if message["role"] == "assistant" else message
                    for index, message in enumerate(line["messages"][:end])]
        yield {"messages": messages, "metadata": {**line["metadata"], "replies": [reply]}}


def client_name(line: dict[str, Any]) -> str:
    """The client's name as the persona states it ("Jennifer Martinez - The Anxious
    Planner" → "Jennifer Martinez"), or "" when unknown."""
    persona = str(line.get("metadata", {}).get("client_persona") or "")
    return persona.partition(" - ")[0].strip()


def without_session_context(line: dict[str, Any]) -> dict[str, Any]:
    """The line with its system message cut back to the generator's own system prompt,
    plus the client's name: the replies greet the client by name, and a model that never
    saw the name would learn to invent one."""
    messages = [dict(m) for m in line["messages"]]
    prompt = messages[0]["content"].split(SESSION_CONTEXT_HEADING, 1)[0]
    name = client_name(line)
    messages[0]["content"] = f"{prompt.rstrip()}\n\nClient: {name}" if name else prompt
    return {**line, "messages": messages}


def _ids(line: dict[str, Any]) -> str:
    return str(line["metadata"]["conversation_id"])


def _token_count(line: dict[str, Any]) -> int:
    return int(line["metadata"].get("token_count") or 0)


def _write_json(source: Source, destination: Path,
                _options: ExportOptions) -> tuple[list[Written], dict[str, Any]]:
    """The stored full JSON byte for byte, each piece checked while it is copied (a
    damaged build fails before the copy is moved into place)."""
    written = Written(destination, "copy", list(source.conversation_ids))
    with atomic_writer(destination) as out:
        for chunk in source.json_chunks():
            out.write(chunk)
    return [written], {}


def _write_jsonl(source: Source, destination: Path,
                 _options: ExportOptions) -> tuple[list[Written], dict[str, Any]]:
    """The stored JSONL byte for byte; each line is read for the manifest's ids."""
    written = Written(destination, "copy")
    with atomic_writer(destination) as out:
        for raw in source.jsonl_lines():
            out.write(raw)
            line = orjson.loads(raw)
            written.conversation_ids.append(_ids(line))
            written.token_counts.append(_token_count(line))
    written.lines = len(written.conversation_ids)
    return [written], {}


RECOUNT_CHUNK = 64  # lines counted together (one batch for the tokenizer's threads)


def _reshaped(render: Callable[[dict[str, Any]], Iterator[dict[str, Any]]],
              keep_metadata: bool = True) -> Writer:
    """A writer of ``render``'s lines, each counted as it is written: its ``token_count``
    (and the manifest's figures) are those of the line itself, not of the line it came
    from. Without ``keep_metadata`` only the messages are written."""
    def write(source: Source, destination: Path,
              _options: ExportOptions) -> tuple[list[Written], dict[str, Any]]:
        written = Written(destination, "copy", counted_by=source.counter)
        pending: list[dict[str, Any]] = []

        def flush() -> None:
            counts = source.count([item["messages"] for item in pending])
            for item, count in zip(pending, counts, strict=True):
                if keep_metadata:
                    item["metadata"] = {**item["metadata"], "token_count": count}
                    out.write(dumps_line(item))
                else:
                    out.write(dumps_line({"messages": item["messages"]}))
            written.token_counts += counts
            written.lines += len(pending)
            pending.clear()

        with atomic_writer(destination) as out:
            for line in source.lines():
                written.conversation_ids.append(_ids(line))
                pending.extend(render(line))
                if len(pending) >= RECOUNT_CHUNK:
                    flush()
            flush()
        return [written], {}
    return write


def _facts(line: dict[str, Any]) -> LineFacts:
    meta = line["metadata"]
    return LineFacts(
        conversation_id=str(meta["conversation_id"]),
        arc=str(meta.get("emotional_arc_key") or ""),
        persona=str(meta.get("persona_archetype") or ""),
        topic=str(meta.get("training_topic_key") or ""),
        warnings=frozenset(filter(None, str(meta.get("warnings") or "").split(","))),
        sketch=fingerprint(line).sketch,
    )


def _split_writer(render: Callable[[dict[str, Any]], Iterator[dict[str, Any]]] | None = None
                  ) -> Writer:
    """A writer of the split: by conversation (``app.split``), each conversation's line on
    its side. With ``render`` each conversation's lines are ``render``'s (one line per
    reply), counted again, all on the side the conversation went to, so no reply's
    history is ever on the other side."""
    def write(source: Source, destination: Path,
              options: ExportOptions) -> tuple[list[Written], dict[str, Any]]:
        facts = [_facts(line) for line in source.lines()]
        plan: SplitPlan = plan_split(facts, options.valid_fraction, options.seed)
        counted_by = source.counter if render is not None else None
        train = Written(destination / TRAIN_FILE, "train", counted_by=counted_by)
        valid = Written(destination / VALID_FILE, "valid", counted_by=counted_by)
        # No line held out: no valid.jsonl (an empty JSONL does not load; ``manifest_notes``).
        sides = [train, valid] if plan.valid else [train]
        with ExitStack() as stack:
            outs = {side.role: stack.enter_context(atomic_writer(side.path)) for side in sides}
            for index, line in enumerate(source.lines()):
                side = valid if index in plan.valid else train
                side.conversation_ids.append(_ids(line))
                if render is None:
                    outs[side.role].write(dumps_line(line))
                    side.token_counts.append(_token_count(line))
                    side.lines += 1
                    continue
                items = list(render(line))
                counts = source.count([item["messages"] for item in items])
                for item, count in zip(items, counts, strict=True):
                    item["metadata"] = {**item["metadata"], "token_count": count}
                    outs[side.role].write(dumps_line(item))
                side.token_counts += counts
                side.lines += len(items)
        details = {
            "seed": options.seed,
            "valid_fraction": options.valid_fraction,
            "validation_lines_requested": plan.requested,
            "near_duplicate_groups": plan.groups,
            "flagged_lines_in_training": plan.flagged,
            "by_emotional_arc": plan.arcs,
        }
        return sides, details
    return write


FORMATS: dict[ExportFormat, ExportFormatSpec] = {spec.format: spec for spec in (
    ExportFormatSpec(
        ExportFormat.JSON, "Full JSON",
        "The stored full JSON as it is: header, consultant profile and every conversation "
        "with its annotations. For review and archives, not for trainers.",
        ".json", _write_json),
    ExportFormatSpec(
        ExportFormat.JSONL, "JSONL",
        "The stored JSONL: messages plus metadata, one line per conversation. Loads as it "
        "is in TRL, Axolotl, LLaMA-Factory, Unsloth and Hugging Face datasets.",
        ".jsonl", _write_jsonl),
    ExportFormatSpec(
        ExportFormat.MESSAGES_ONLY, "Messages only",
        "Only the messages of each line, no metadata. For OpenAI fine-tuning and other "
        "readers that refuse unknown keys.",
        ".messages.jsonl", _reshaped(lambda line: iter([line]), keep_metadata=False)),
    ExportFormatSpec(
        ExportFormat.PER_REPLY, "One line per reply",
        "One line per trained reply, ending at that reply; earlier replies are history with "
        "\"weight\": 0. For trainers that learn only the last message or read the weight "
        "(Axolotl message_field_training: weight, LLaMA-Factory mask_history). Its lines "
        "keep their metadata: OpenAI, which refuses keys it does not know, takes Messages "
        "only.",
        ".per-reply.jsonl", _reshaped(per_reply)),
    ExportFormatSpec(
        ExportFormat.NO_SESSION_CONTEXT, "Without session context",
        "The system message without the session context block (persona, arc, topic); the "
        "client's name stays. For a model that must not rely on that scaffolding.",
        ".no-context.jsonl", _reshaped(lambda line: iter([without_session_context(line)]))),
    ExportFormatSpec(
        ExportFormat.SPLIT, "Train / validation split",
        "train.jsonl and valid.jsonl in a folder: by conversation, stratified by emotional "
        "arc, flagged conversations and near-duplicates kept out of validation.",
        "", _split_writer()),
    ExportFormatSpec(
        ExportFormat.SPLIT_PER_REPLY, "Train / validation split, one line per reply",
        "The same split by conversation, with one line per trained reply on each side "
        "(earlier replies as history with \"weight\": 0). For trainers that learn only the "
        "last message, with evaluation: MLX-LM (mask_prompt), LLaMA-Factory "
        "(mask_history), Axolotl (message_field_training: weight).",
        "", _split_writer(per_reply)),
)}


def why_not_written(destination: Path, exc: OSError, writes_folder: bool = False) -> str:
    """Why a copy could not be saved, and what to do, in words about the place the person
    chose (the error itself names a temporary file beside it, or only says "File
    exists" when a folder on the way is a file). ``writes_folder``: ``destination`` is
    the folder the files go in (a split), not a file."""
    folder = destination if writes_folder else destination.parent
    in_the_way = next((place for place in (folder, *folder.parents)
                       if place.exists() and not place.is_dir()), None)
    if in_the_way is not None:
        return f"{in_the_way} is a file, not a folder. Choose a folder to save the copy in."
    if exc.errno == errno.ENOENT and not folder.is_dir():
        return (f"the folder {folder} does not exist and could not be made. Choose a "
                "folder that exists.")
    held = exc.filename2 if exc.filename2 is not None else exc.filename
    if (exc.errno in (errno.EACCES, errno.EPERM) and held is not None
            and os.path.lexists(held) and os.access(folder, os.W_OK)):
        # The folder may be written: the file in the way is held open by another program
        # (Windows), locked or read-only. Any file of the export's that it had replaced
        # is back as it was.
        return (f"{held} cannot be replaced: another program has it open, or it is "
                "locked or read-only. Close it in that program (or unlock it), or choose "
                "another name, and try again; your earlier files are as they were.")
    return os_advice(exc, str(folder)) or \
        f"{exc.strerror or exc}. Choose another folder and try again."


def manifest_path(fmt: ExportFormat, destination: Path) -> Path:
    """Where the manifest of an export to ``destination`` goes."""
    if FORMATS[fmt].writes_folder:
        return destination / "manifest.json"
    return destination.with_name(destination.name + ".manifest.json")


def export_targets(fmt: ExportFormat, destination: Path) -> list[Path]:
    """Every file an export to ``destination`` writes (recipes aside), manifest last."""
    if FORMATS[fmt].writes_folder:
        files = [destination / TRAIN_FILE, destination / VALID_FILE]
    else:
        files = [destination]
    return [*files, manifest_path(fmt, destination)]


FILE_SUFFIXES = (".json", ".jsonl")  # what a destination meant as a single file ends in


def check_split_folder(fmt: ExportFormat, destination: Path) -> None:
    """Refuse a split to a name that reads as a file (``-o train.jsonl``): the split writes
    a folder, and quietly making a folder named ``train.jsonl`` surprises whoever then
    looks for that file. A folder that already exists is taken as the person chose it."""
    if (FORMATS[fmt].writes_folder and destination.suffix.lower() in FILE_SUFFIXES
            and not destination.is_dir()):
        raise LibraryError(
            f"cannot write the split to {destination}: the split format writes a folder "
            "(train.jsonl, valid.jsonl and manifest.json inside it), and that name reads as "
            f"a file. Name a folder instead, for example {destination.with_suffix('')}.")


def _describe(path: Path) -> dict[str, Any]:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path)}


def _describe_stored(file_name: str, chunks: Iterable[bytes],
                     check: Callable[[], None]) -> dict[str, Any]:
    """Name, size and sha256 of a stored file, read through once (``check`` may cancel)."""
    digest, size = hashlib.sha256(), 0
    for count, chunk in enumerate(chunks):
        if count % 256 == 0:
            check()
        digest.update(chunk)
        size += len(chunk)
    return {"file": file_name, "bytes": size, "sha256": digest.hexdigest()}


def _write_manifest(handle: IO[bytes], document: dict[str, Any]) -> None:
    handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


class CannotWriteThere(LibraryError):
    """The place chosen for a copy refused its bytes (a full disk, no permission, a
    read-only disk…): ``why`` says so in words about that place; the window asks for
    another place, as it does when a folder refuses the probe at the choice."""

    def __init__(self, destination: Path, why: str) -> None:
        self.destination, self.why = destination, why
        super().__init__(f"cannot write to {destination}: {why}")


class RebuildFirst(LibraryError):
    """A copy refused because its file owes a rebuild that a library opened only to read
    cannot do. The message gives the command line's advice; ``reason`` is the refusal
    without it, so the window can give advice that fits a window."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"{reason}. Save the copy from LoRA Studio's window, which rebuilds it first, "
            "or run this command again once no window holds the library")


def owes_rebuild(library: Library, name: str) -> bool:
    """Whether ``name`` owes a rebuild after a change to its conversations
    (``app.stored_builds.OWED``: the rebuild after it was cancelled or dropped)."""
    with library.session() as session:
        return name.casefold() in {owed.casefold() for owed in rebuilds_due(session)}


def pay_owed_rebuild(library: Library, name: str, progress: Progress | None = None,
                     cancelled: Callable[[], bool] | None = None) -> bool:
    """Rebuild ``name`` first if it owes a rebuild, so a copy never holds what its
    conversations no longer say; True when it was rebuilt. A library opened only to read
    cannot rebuild: the export is refused, saying what to do."""
    if not owes_rebuild(library, name):
        return False
    if library.read_only:
        name = get_training_file(library, name).name  # as stored: the name may differ in case
        because = owed_because(library, [name])[name]
        why = (f"{because} and its rebuild with the new one did not finish"
               if because == TOKENIZER_CHANGED else
               f"{because}, and its rebuild did not finish" if because == BOTH_CHANGED else
               f"{because} and its rebuild did not finish")
        raise RebuildFirst(f"the training file '{name}' must be rebuilt first: {why}")
    try:
        return rebuild_if_owed(library, name, progress, cancelled) is not None
    except BuildCancelled:
        raise ExportCancelled() from None


def export(
    library: Library,
    name: str,
    fmt: ExportFormat,
    destination: Path,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    seed: int = DEFAULT_SEED,
    *,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    recipes: bool = False,
    overwrite: bool = False,
    tell: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the chosen rendering to ``destination`` (a folder for SPLIT) and its manifest
    beside it; return the files written, manifest last. With ``recipes``, a TRL script, an
    Axolotl config and a LLaMA-Factory config (``app.recipes``,
    ``app.llamafactory_recipe``) are written beside it too, with LLaMA-Factory's entries
    added to the folder's ``dataset_info.json``, and beside a split an MLX-LM config and
    its chat template (``app.mlx_recipe``); all are listed in the manifest.

    ``cancelled`` is asked once per line; a cancelled export raises ``ExportCancelled``
    and leaves none of its files behind. Never inside the library folder; over an
    existing file only with ``overwrite``.

    What an earlier export to the same folder left when it was stopped without finishing
    is tidied first (``app.earlier_files``); ``tell`` hears what was done, in a sentence
    naming each file, and, when this export fails or is cancelled, each earlier file it
    could not put back (``app.earlier_files.not_put_back``).
    """
    # "saved/../x.jsonl" is written, and named in every message, as the "x.jsonl" it is
    destination = Path(os.path.abspath(destination))
    check_split_folder(fmt, destination)
    targets = export_targets(fmt, destination)
    merged: list[Path] = []  # written into, not replaced: LLaMA-Factory's dataset_info.json
    if recipes and ExportFormat(fmt) is not ExportFormat.JSON:
        targets += recipe_paths(destination, FORMATS[ExportFormat(fmt)].writes_folder)
        merged = [_check_dataset_info(library, fmt, destination)]
    check_export_targets(library.root, targets, overwrite, manifest_path(fmt, destination))
    targets += merged
    tidy_first(targets, tell)
    pay_owed_rebuild(library, name, progress, cancelled)
    info = get_training_file(library, name)
    spec = FORMATS[ExportFormat(fmt)]
    options = ExportOptions(valid_fraction, seed)
    if spec.writes_folder:
        validation_size(2, valid_fraction)  # a bad share fails before any work
    head = header(library, name)
    policy = str(head.get("cut_off_policy", info.cut_off_policy))
    if spec.format is not ExportFormat.JSON and not head.get("totals", {}).get("jsonl_lines"):
        raise LibraryError(nothing_to_train(info.name, info.conversations, policy)
                           + " Nothing was exported.")
    if spec.format is ExportFormat.JSON:
        total = info.conversations
    else:
        total = head.get("totals", {}).get("jsonl_lines", 0) * (2 if spec.writes_folder else 1)
    seen = [0]

    def check() -> None:
        if cancelled and cancelled():
            raise ExportCancelled()

    def tick() -> None:
        seen[0] += 1
        if cancelled and cancelled():
            raise ExportCancelled()
        if progress and (seen[0] % 50 == 0 or seen[0] == total):
            progress(min(seen[0], total), total, name)

    counter = counter_for(library)
    cache = library_cache(library)

    def count(lines: Sequence[Messages]) -> list[int]:
        return count_lines(counter, lines, cache)

    max_seq_len = _max_seq_len(library, name)
    # Asked to replace a file, the export must not take it away when it fails or is
    # cancelled after replacing it (the JSONL written, its manifest refused); what it
    # wrote is taken back there too, and only what it wrote.
    with put_back_on_failure(targets, progress, check, tell):
        written: list[Written] = []
        saved: list[SavedFile] = []
        revision = revision_of(library, info.name)  # before the build: a rebuild between is seen
        try:
            with read_build(library, info.name) as build:
                source = Source(build, member_ids(library, name), tick, counter, count)
                written, details = spec.write(source, destination, options)
                _refuse_empty(info.name, info.conversations, policy, written)
                check()
                described = {
                    "json": source.described.get("json") or _describe_stored(
                        f"{info.name}.json", build.json_chunks(), check),
                    "jsonl": source.described.get("jsonl") or _describe_stored(
                        f"{info.name}.jsonl", build.jsonl_lines(), check)}
            # Each file's entry (its sha256 read once): the recipes name their cache by them.
            entries = [_file_entry(w, head, max_seq_len) for w in written]
            saved = [SavedFile(w.path, str(e["sha256"])) for w, e in zip(written, entries,
                                                                         strict=True)]
            if recipes:
                sha256 = {w.path: str(e["sha256"]) for w, e in zip(written, entries, strict=True)}
                made = _write_recipes(library, info.name, spec, destination, written, policy,
                                      head, sha256)
                written += made
                entries += [_file_entry(w, head, max_seq_len) for w in made]
            document = {
                "manifest_version": MANIFEST_VERSION,
                "app": "LoRA Studio",
                "app_version": __version__,
                "format_version": FORMAT_VERSION,
                "created_at": now_iso(),
                "training_file": info.name,
                "export_format": spec.format.value,
                "export_description": spec.description,
                "cut_off_policy": head.get("cut_off_policy", info.cut_off_policy),
                # what a line over max_seq_len became (app.budget_fit)
                "over_budget": info.over_budget,
                "source": described,
                "files": entries,
            }
            if details:
                document["split"] = details
            notes = manifest_notes(spec.format, info.name, [w.path for w in written], head)
            if notes:
                document["notes"] = notes
            manifest = manifest_path(spec.format, destination)
            with atomic_writer(manifest) as handle:
                _write_manifest(handle, document)
            if spec.writes_folder and not any(w.path.name == VALID_FILE for w in written):
                # replaced (asked) by a split without one
                (destination / VALID_FILE).unlink(missing_ok=True)
        except OSError as exc:
            raise CannotWriteThere(
                destination, why_not_written(destination, exc, spec.writes_folder)) from None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise LibraryError(
                f"the stored JSONL of '{info.name}' does not read as training lines; run "
                f"`lora-studio rebuild \"{info.name}\"` to render it again. Nothing was "
                "exported.") from None
    # the library remembers the copies, so it can say when a rebuild leaves them behind
    record_saved(library, info.name, spec.format.value, revision, described, saved)
    return ([w.path for w in written if w.role != "recipe"] + [manifest]
            + [w.path for w in written if w.role == "recipe"])


def _check_dataset_info(library: Library, fmt: ExportFormat, destination: Path) -> Path:
    """Where the export's LLaMA-Factory entries go, refused before anything is written when
    they cannot (``app.llamafactory_recipe.check_dataset_info``)."""
    writes_folder = FORMATS[ExportFormat(fmt)].writes_folder
    path = dataset_info_path(destination, writes_folder)
    if path.is_dir():
        raise LibraryError(
            f"{path} is a folder, and this download's LLaMA-Factory entries go in a file of "
            "that name. Move or rename that folder, or save the download in another folder "
            "or without trainer recipes. Nothing was exported.")
    check_export_targets(library.root, [path], overwrite=True)
    train, held_out = ((TRAIN_FILE, VALID_FILE) if writes_folder else (destination.name, None))
    check_dataset_info(path, dataset_entries(train, held_out))
    return path


def tidy_first(targets: Sequence[Path], tell: Callable[[str], None] | None) -> None:
    """Tidy what stopped exports left beside ``targets`` (``app.earlier_files``) and tell
    it. An earlier file put back among ``targets`` stops this export: the person has not
    seen it, and replacing it at once would lose it after all."""
    tidied = tidy_stopped_exports(dict.fromkeys(target.parent for target in targets))
    back = [path for path in tidied.put_back if path in targets]
    if back:
        raise LibraryError(" ".join([
            *tidied.sentences, f"Nothing was exported, so that {back[0].name} is not replaced "
            "unseen: look at it, then export again to replace it."]))
    for sentence in tidied.sentences:
        if tell:
            tell(sentence)


def export_notes(fmt: ExportFormat, written: Sequence[Path]) -> list[str]:
    """The notes of an export (``manifest_notes``) as its manifest keeps them: read back,
    not worked out again, which would read every line of the files once more (on the
    window's thread, for the saved banner). ``written``: what ``export`` returned."""
    if not written:
        return []
    destination = written[0].parent if FORMATS[fmt].writes_folder else written[0]
    manifest = manifest_path(fmt, destination)
    if not manifest.exists():
        return []
    return [str(note) for note in orjson.loads(manifest.read_bytes()).get("notes", [])]


def weight_ignored_sentence(name: str) -> str:
    """A line with ``"weight": 0`` replies (the ``weight0`` cut-off policy) trains as meant
    only where the trainer reads the key: the others train those replies, cut-off endings
    included, which the policy exists to prevent."""
    return (f"'{name}' keeps cut-off replies in its lines as context with \"weight\": 0. "
            "OpenAI, Axolotl (message_field_training: weight) and LoRA Studio's TRL script "
            "leave them untrained; LLaMA-Factory, Unsloth and MLX-LM ignore \"weight\" and "
            "would train them, cut-off endings included. For those, set the file's cut-off "
            f"policy to {policy_label(CutOffPolicy.TRIM)} (Settings… in the window, or "
            f"lora-studio set \"{name}\" --cut-off-policy trim) and save it again.")


def cut_off_trained_sentence(name: str, conversations: int) -> str:
    """A file under the ``keep`` cut-off policy trains its cut-off replies as written: said
    at each save, as the ``weight0`` policy's trainer caveat is (the person may have chosen
    it long ago, or for another file's sake)."""
    return (f"{plural(conversations, 'conversation')} of '{name}' "
            f"{agreeing(conversations, 'has', 'have')} a reply cut off mid-sentence, and its "
            f"cut-off policy ({policy_label(CutOffPolicy.KEEP)}) trains such replies as "
            "written, wherever its lines hold them: the model learns to stop so. To leave "
            "them out, set the "
            f"file's cut-off policy to {policy_label(CutOffPolicy.TRIM)} (Settings… in the "
            f"window, or lora-studio set \"{name}\" --cut-off-policy trim) and save it again.")


def _holds_weight_zero(paths: Sequence[Path]) -> bool:
    return any(path.suffix == ".jsonl" and path.exists() and b'"weight":0' in path.read_bytes()
               for path in paths)


def manifest_notes(fmt: ExportFormat, name: str, written: Sequence[Path],
                   head: Mapping[str, Any] | None = None) -> list[str]:
    """What a person must know about the files an export of ``name`` wrote, beyond their
    names: a split that held no line out wrote no valid.jsonl (``app.split``); lines with
    ``"weight": 0`` replies are not read as meant by every trainer (not said of the
    one-line-per-reply export, whose weights are for trainers that read them); a file whose
    ``head`` says it trains cut-off replies (``keep``) says how many. The manifest keeps
    these sentences (``export_notes`` reads them back for the command line and the
    window)."""
    notes = []
    if (FORMATS[fmt].writes_folder and written
            and not any(path.name == VALID_FILE for path in written)):
        notes.append(no_validation_sentence(name, readable_name(str(written[0].parent))))
    if (fmt is not ExportFormat.JSON and fmt not in LAST_REPLY_ONLY
            and _holds_weight_zero(written)):
        notes.append(weight_ignored_sentence(name))
    if fmt is not ExportFormat.JSON and head is not None and head.get("cut_off_policy") == (
            CutOffPolicy.KEEP.value):
        by_code = (head.get("quality_summary") or {}).get("warnings_by_code") or {}
        if cut := int(by_code.get("reply_cut_off", 0)):
            notes.append(cut_off_trained_sentence(name, cut))
    return notes


def nothing_to_train(name: str, conversations: int, policy: str) -> str:
    """Why a training file with no JSONL line cannot be saved for a trainer (an empty file
    is no dataset: trainers and ``datasets.load_dataset`` fail on it)."""
    trains = f"a reply its cut-off policy ({policy_label(policy)}) trains"
    held = ("it holds no conversations" if not conversations
            else f"its one conversation has no {trains.removeprefix('a ')}"
            if conversations == 1
            else f"none of its {conversations:,} conversations has {trains}")
    return (f"the training file '{name}' has no line to train on: {held}, so its JSONL is "
            "empty. Add conversations with clean replies to it; the full JSON can still be "
            "saved for review.")


def _refuse_empty(name: str, conversations: int, policy: str, written: list[Written]) -> None:
    """A JSONL export without a single line is never handed to a trainer (the header said
    there were lines: the stored build says otherwise); the caller takes its files back."""
    jsonl = [item for item in written if item.path.suffix == ".jsonl"]
    if jsonl and not sum(item.lines for item in jsonl):
        raise LibraryError(nothing_to_train(name, conversations, policy)
                           + " Nothing was exported.")


def _file_entry(written: Written, head: dict[str, Any], max_seq_len: int) -> dict[str, Any]:
    """A written file in the manifest; a JSONL file with the token figures of its own
    lines (counted by the stored file's tokenizer, or by the export's when it recounted);
    the shared dataset_info.json with the entries this download owns in it, not its
    sha256, which every later download into the folder changes with its own entries."""
    if written.owned is not None:
        return {"file": written.path.name, "role": written.role, "lines": written.lines,
                "conversation_ids": written.conversation_ids,
                "dataset_entries": written.owned}
    entry: dict[str, Any] = {**_describe(written.path), "role": written.role,
                             "lines": written.lines,
                             "conversation_ids": written.conversation_ids}
    if written.path.suffix != ".jsonl":
        return entry
    counts = written.token_counts
    if written.counted_by is not None:
        entry["tokens"] = token_summary(written.counted_by, counts, max_seq_len)
        return entry
    stored = dict(head.get("tokens") or {})
    entry["tokens"] = {**{k: stored.get(k, "") for k in
                          ("tokenizer", "tokenizer_sha256", "chat_template", "counted")},
                       "max_seq_len": max_seq_len, "total": sum(counts),
                       "max": max(counts, default=0), "p95": percentile(counts, 0.95),
                       "lines_over_max_seq_len": sum(1 for n in counts if n > max_seq_len)}
    return entry


def _max_seq_len(library: Library, name: str) -> int:
    with library.session() as session:
        value = session.scalar(select(TrainingFile.max_seq_len)
                               .where(TrainingFile.slug == name.casefold()))
    return int(value or 4096)


def _counted_with(written: Written, head: dict[str, Any]) -> str:
    """The tokenizer that counted a JSONL file's lines (its ``metadata.token_count``)."""
    if written.counted_by is not None:
        return written.counted_by.tokenizer_name
    return str((head.get("tokens") or {}).get("tokenizer", ""))


def _data_digest(written: Sequence[Written], sha256: Mapping[Path, str]) -> str:
    """One sha256 over the data files a recipe trains and evaluates with, in order (from
    each file's own sha256, as the manifest has it)."""
    digest = hashlib.sha256()
    for item in written:
        digest.update(sha256[item.path].encode("ascii"))
    return digest.hexdigest()


def _write_recipes(library: Library, name: str, spec: ExportFormatSpec, destination: Path,
                   written: list[Written], policy: str, head: dict[str, Any],
                   sha256: Mapping[Path, str]) -> list[Written]:
    data = [w for w in written if w.role in ("copy", "train")]
    held_out = [w for w in written if w.role == "valid"]
    if spec.format is ExportFormat.JSON or not data:
        return []  # the full JSON is for people, not trainers
    template = chosen_template(library)
    recipe = RecipeInput(
        training_file=name, train_file=data[0].path.name,
        eval_file=held_out[0].path.name if held_out else None,
        max_seq_len=_max_seq_len(library, name), cut_off_policy=policy,
        last_reply_only=spec.format in LAST_REPLY_ONLY,
        chat_template=template.source, chat_template_label=template.label,
        tokenizer_label=_counted_with(data[0], head),
        data_digest=_data_digest([*data, *held_out], sha256),
        chat_template_key=template.key, train_lines=data[0].lines,
        eval_lines=held_out[0].lines if held_out else 0)
    trl_path, axolotl_path, llamafactory_path, *mlx_paths = recipe_paths(
        destination, spec.writes_folder)
    texts = [(trl_path, trl_script(recipe)), (axolotl_path, axolotl_config(recipe)),
             (llamafactory_path, llamafactory_config(recipe))]
    info = dataset_info_path(destination, spec.writes_folder)
    # a split that held nothing out takes its earlier validation entry away with its file
    dropped = {} if held_out or not spec.writes_folder else {dataset_name(VALID_FILE): VALID_FILE}
    ours = dataset_entries(recipe.train_file, recipe.eval_file)
    info_text = merged_dataset_info(info, ours, dropped)
    texts.append((info, info_text.decode("utf-8")))
    for path in mlx_paths:  # a split's folder: MLX-LM reads train.jsonl and valid.jsonl
        if path.name.endswith(MLX_SUFFIX):
            texts.append((path, mlx_config(recipe)))
        elif path.name == CHAT_TEMPLATE_FILE and template.source:
            texts.append((path, chat_template_text(recipe)))
    made = []
    for path, text in texts:
        with atomic_writer(path) as handle:
            handle.write(text.encode("utf-8"))
        made.append(Written(path, "recipe", owned=owned_entries(ours) if path == info else None))
    return made
