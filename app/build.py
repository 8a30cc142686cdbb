"""Render training files: each conversation as a fragment of the full JSON and its
JSONL line(s), and a header over all of them (``app.fragments`` has the layout).

``render_fragments`` is what the library's builds use (``app.stored_builds`` keeps the
result); ``write_training_files`` writes a whole file pair in one go, for examples, tools
and the tests' reference render. Files are written to temporary names, flushed and fsynced,
and only then moved into place, so a failure leaves whatever was there before untouched.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.budget_fit import (
    FOR_EARLIER_FILES,
    NOT_FITTED,
    OverBudget,
    budget_of,
    fit_lines,
)
from app.cutoff import DEFAULT_POLICY, CutOffPolicy
from app.file_totals import FileTotals, contribution, contribution_of_lines
from app.fragments import BETWEEN, FIRST, TAIL, TAIL_EMPTY, Fragment, head_bytes, indented
from app.fullfile import file_record, header_from_totals, shared_profile_hash
from app.jsonio import atomic_writer, dumps_line
from app.jsonl import jsonl_lines
from app.records import Digest, TrainingFileHeader, digest_of, profile_hash, summarise
from app.token_lines import (
    CHUNK,
    DEFAULT_MAX_SEQ_LEN,
    CountCache,
    count_lines,
    token_summary_of,
)
from app.tokens import TokenCounter, default_counter

Progress = Callable[[int, int, str], None]


class BuildCancelled(Exception):
    """The user cancelled; nothing was replaced."""


class StoppedByForce(BuildCancelled):
    """Cancelled, but the job's child process did not stop in time and was killed
    (``app.job_process``): a job of several steps, each written atomically, may have
    finished some of them, so "nothing was changed" may not be true. ``pid``: the child
    killed (what it left in ``app.running_work`` is its caller's to settle)."""

    def __init__(self, pid: int | None = None) -> None:
        super().__init__()
        self.pid = pid


@dataclass(frozen=True)
class BuildResult:
    json_path: Path
    jsonl_path: Path
    conversations: int
    jsonl_lines: int
    json_bytes: int
    jsonl_bytes: int
    header: TrainingFileHeader  # the training_file_metadata written at the top of the JSON
    rendered: int = 0  # conversations rendered anew (the rest were stored already)


def render_fragments(
    records: Iterable[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    name: str,
    shared_hash: str | None,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    counter: TokenCounter,
    cache: CountCache | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    fit_budget: int | None = None,
) -> Iterator[Fragment]:
    """Render each record (one per key, in order) as its full-JSON fragment and JSONL line.

    Records are tokenized ``CHUNK`` at a time (one batch for the tokenizer); the exact
    count of each line goes into the line's metadata and onto the fragment. ``fit_budget``:
    a line longer than it ends at its last whole reply that fits (``app.budget_fit``; None:
    lines are written whole). ``progress``
    hears of every conversation rendered; ``cancelled`` is asked before each.
    """
    cache = cache or CountCache()
    total = len(keys)
    done = 0
    pending = iter(records)
    while done < total:
        batch: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
        for key in keys[done:done + CHUNK]:
            if cancelled and cancelled():
                raise BuildCancelled()
            record = next(pending, None)
            if record is None:
                raise ValueError(f"{total} conversations were expected but only "
                                 f"{done + len(batch)} records came to render")
            listed = file_record(record, shared_hash)
            batch.append((key, listed, list(jsonl_lines(listed, name, cut_off_policy))))
        chats = [line["messages"] for _, _, lines in batch for line in lines]
        counted = count_lines(counter, chats, cache)
        fits = (fit_lines(counter, chats, counted, fit_budget, cache)
                if fit_budget is not None else [None] * len(chats))
        counts, fitted = iter(counted), iter(fits)
        for key, listed, lines in batch:
            tokens = []
            left_out = NOT_FITTED
            for position, line_object in enumerate(lines):
                count, fit = next(counts), next(fitted)
                if fit is not None:  # ended at its last whole reply that fits
                    line_object = lines[position] = next(jsonl_lines(
                        listed, name, cut_off_policy, end=fit.end))
                    count, left_out = fit.tokens, fit.totals
                line_object["metadata"]["token_count"] = count
                tokens.append(count)
            done += 1
            if progress:
                progress(done, total, _who(listed))
            yield Fragment(key, indented(listed, 2), b"".join(dumps_line(x) for x in lines),
                           tuple(tokens), left_out)
    if next(pending, None) is not None:
        raise ValueError(f"more records than the {total} conversations expected")


def _who(listed: Mapping[str, Any]) -> str:
    """A conversation as the build's progress names it: by its client, as a person knows
    it, its id only when it has no client name."""
    client = listed.get("client")
    name = client.get("name") if isinstance(client, Mapping) else None
    return str(name or listed.get("conversation_id", ""))


def make_header(
    name: str, digests: Sequence[Digest], tokens: Sequence[int], *, created_at: str,
    updated_at: str, jsonl_name: str, cut_off_policy: CutOffPolicy | str,
    counter: TokenCounter, max_seq_len: int,
    fitted: Sequence[tuple[int, int]] | None = None,
    over_budget: OverBudget | str = FOR_EARLIER_FILES,
) -> TrainingFileHeader:
    """The header of a build: totals from the digests, exact tokens from the lines;
    ``fitted``: per digest, what its line left out to fit the budget (``Fragment.fitted``)."""
    policy = CutOffPolicy(cut_off_policy)
    fits = fitted if fitted is not None else [NOT_FITTED] * len(digests)
    totals = FileTotals.of([*(contribution(d, policy.value, (), 0, 0, fit)
                              for d, fit in zip(digests, fits, strict=True)),
                            contribution_of_lines(tokens)])
    return header_of(name, totals, created_at=created_at, updated_at=updated_at,
                     jsonl_name=jsonl_name, cut_off_policy=policy, counter=counter,
                     max_seq_len=max_seq_len, over_budget=over_budget)


def header_of(
    name: str, totals: FileTotals, *, created_at: str, updated_at: str, jsonl_name: str,
    cut_off_policy: CutOffPolicy | str, counter: TokenCounter, max_seq_len: int,
    over_budget: OverBudget | str = FOR_EARLIER_FILES,
) -> TrainingFileHeader:
    """The header of a build from its totals (``app.file_totals``): what a library build
    makes after a change without reading the members it kept."""
    header = header_from_totals(name, totals, created_at, updated_at, jsonl_name,
                                cut_off_policy, over_budget)
    header["tokens"] = token_summary_of(counter, totals.line_tokens(), max_seq_len)
    return header


def write_training_files(
    json_path: Path,
    jsonl_path: Path,
    *,
    name: str,
    digests: Sequence[Digest],
    records: Iterable[Mapping[str, Any]],
    profile_of: Callable[[str], Any],
    created_at: str,
    updated_at: str,
    jsonl_name: str | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    counter: TokenCounter | None = None,
    cache: CountCache | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
    over_budget: OverBudget | str = FOR_EARLIER_FILES,
) -> BuildResult:
    """Render a whole training file into two files, every conversation anew.

    ``digests`` (see ``app.records.Digest``) are in file order, one per record; the header
    is made from them and from the lines' token counts. ``profile_of`` returns the
    consultant profile for a profile hash. ``jsonl_name`` is the sibling's name as the
    user will know it. The library keeps its builds as fragments instead
    (``app.stored_builds``); this writes examples, tools' output and the tests' reference.

    The conversations go to a temporary file first (the header at the top needs every
    line's tokens), then after the head into the JSON; both files appear atomically.
    """
    counter = counter or default_counter()
    shared_hash = shared_profile_hash(digests)
    shared_profile = profile_of(shared_hash) if shared_hash else None
    total = len(digests)
    tokens: list[int] = []
    fitted: list[tuple[int, int]] = []
    lines = 0
    with contextlib.ExitStack() as stack:
        jsonl_handle = stack.enter_context(atomic_writer(jsonl_path))
        json_handle = stack.enter_context(atomic_writer(json_path))
        body = stack.enter_context(tempfile.TemporaryFile(dir=json_path.parent))
        separator = FIRST
        for fragment in render_fragments(
                records, [str(i) for i in range(total)], name=name, shared_hash=shared_hash,
                cut_off_policy=cut_off_policy, counter=counter, cache=cache,
                progress=progress, cancelled=cancelled,
                fit_budget=budget_of(over_budget, max_seq_len)):
            body.write(separator + fragment.json)
            separator = BETWEEN
            jsonl_handle.write(fragment.jsonl)
            tokens.extend(fragment.tokens)
            fitted.append(fragment.fitted)
            lines += len(fragment.tokens)
        header = make_header(name, digests, tokens, created_at=created_at,
                             updated_at=updated_at, jsonl_name=jsonl_name or jsonl_path.name,
                             cut_off_policy=cut_off_policy, counter=counter,
                             max_seq_len=max_seq_len, fitted=fitted,
                             over_budget=over_budget)
        json_handle.write(head_bytes(header, shared_profile))
        body.seek(0)
        shutil.copyfileobj(body, json_handle, 1 << 20)
        json_handle.write(TAIL_EMPTY if separator is FIRST else TAIL)
    return BuildResult(json_path, jsonl_path, total, lines, json_path.stat().st_size,
                       jsonl_path.stat().st_size, header, total)


def write_records(
    json_path: Path,
    jsonl_path: Path,
    *,
    name: str,
    records: Sequence[Mapping[str, Any]],
    created_at: str,
    updated_at: str,
    cut_off_policy: CutOffPolicy | str = DEFAULT_POLICY,
    counter: TokenCounter | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
    over_budget: OverBudget | str = FOR_EARLIER_FILES,
) -> BuildResult:
    """Write a training file from records already in memory (examples, tests, tools)."""
    profiles = {profile_hash(r.get("consultant_profile")): r.get("consultant_profile")
                for r in records}
    return write_training_files(
        json_path, jsonl_path, name=name, digests=[digest_of(summarise(r)) for r in records],
        records=records, profile_of=profiles.__getitem__, created_at=created_at,
        updated_at=updated_at, cut_off_policy=cut_off_policy, counter=counter,
        max_seq_len=max_seq_len, over_budget=over_budget,
    )
