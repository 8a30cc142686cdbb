"""Every export variant carries each line's own token count, and its manifest the figures
of its own lines (counted by the tokenizers library itself for the check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from token_reference import reference_counter

from app.cutoff import CutOffPolicy
from app.export import ExportFormat, export
from app.library import Library
from app.token_lines import percentile
from app.trainingfiles import add_conversations, set_max_seq_len

VARIANTS = [ExportFormat.JSONL, ExportFormat.MESSAGES_ONLY, ExportFormat.PER_REPLY,
            ExportFormat.NO_SESSION_CONTEXT, ExportFormat.SPLIT]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


@pytest.fixture(params=[CutOffPolicy.TRIM, CutOffPolicy.WEIGHT0], ids=lambda p: p.value)
def built(request: pytest.FixtureRequest, filled_library: Library) -> tuple[Library, str]:
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    add_conversations(filled_library, "T", ids, create=True, cut_off_policy=request.param)
    set_max_seq_len(filled_library, "T", 1500)  # some lines over, some under
    return filled_library, "T"


@pytest.mark.parametrize("fmt", VARIANTS, ids=lambda f: f.value)
def test_each_line_and_each_manifest_counts_its_own_text(
        built: tuple[Library, str], tmp_path: Path, fmt: ExportFormat) -> None:
    library, name = built
    count = reference_counter("mistral")
    target = tmp_path / ("out" if fmt is ExportFormat.SPLIT else f"out.{fmt.value}.jsonl")
    paths = export(library, name, fmt, target, 0.2)
    manifest = orjson.loads(paths[-1].read_bytes())
    data_files = [p for p in paths[:-1] if p.suffix == ".jsonl"]
    assert data_files and len(manifest["files"]) == len(data_files)
    for path, entry in zip(data_files, manifest["files"], strict=True):
        lines = _lines(path)
        expected = [count(line["messages"]) for line in lines]
        if fmt is not ExportFormat.MESSAGES_ONLY:
            assert [line["metadata"]["token_count"] for line in lines] == expected
        tokens = entry["tokens"]
        assert tokens["total"] == sum(expected)
        assert tokens["max"] == max(expected, default=0)
        assert tokens["p95"] == percentile(expected, 0.95)
        assert tokens["max_seq_len"] == 1500
        assert tokens["lines_over_max_seq_len"] == sum(1 for n in expected if n > 1500)
        assert tokens["tokenizer"] == "Mistral 7B v0.3 (bundled)"
        assert tokens["chat_template"] == "Mistral [INST]"


def test_per_reply_and_no_context_lines_are_shorter_than_the_line_they_come_from(
        built: tuple[Library, str], tmp_path: Path) -> None:
    """The bug this guards against: the source line's count copied onto every variant."""
    library, name = built
    whole = {line["metadata"]["conversation_id"]: line["metadata"]["token_count"]
             for line in _lines(export(library, name, ExportFormat.JSONL,
                                       tmp_path / "a.jsonl")[0])}
    for fmt in (ExportFormat.PER_REPLY, ExportFormat.NO_SESSION_CONTEXT):
        lines = _lines(export(library, name, fmt, tmp_path / f"{fmt.value}.jsonl")[0])
        smaller = [line for line in lines if line["metadata"]["token_count"]
                   < whole[line["metadata"]["conversation_id"]]]
        assert smaller, fmt
        assert all(line["metadata"]["token_count"] <= whole[line["metadata"][
            "conversation_id"]] for line in lines), fmt
