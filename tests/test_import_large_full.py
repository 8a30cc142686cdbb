"""A full training file over the whole-read limit imports one conversation at a time.

The limit is lowered to 1 MB for speed; ``parse_json_bytes`` is watched so that a file
over it is never parsed whole (what made a 262 MB training file impossible to import).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import ENRICHED
from stored import stored_bytes

from app import fullstream, importer, jsonio, loader
from app.import_pool import Workers
from app.importer import Verdict, import_paths
from app.library import Library
from app.prepare import prepare
from app.trainingfiles import add_conversations, create_training_file

LIMIT = 1_000_000
USER_FULL = ENRICHED[0].parents[1] / "full" / "user-full-file-3-conversations.json"


def our_full(library: Library) -> dict[str, Any]:
    """A full training file of ours, built by the app from the fixtures."""
    ids = [row.conversation_id for row in library.summaries()]
    create_training_file(library, "Big set")
    add_conversations(library, "Big set", ids)
    return orjson.loads(stored_bytes(library, "Big set")[0])


def renamed(item: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy of a conversation under a new id (either format)."""
    item = copy.deepcopy(item)
    if "messages" in item:
        item["conversation_id"] = f"{item['conversation_id']}-copy{n}"
    else:
        meta = item["conversation_metadata"]
        meta["conversation_id"] = f"{meta.get('conversation_id')}-copy{n}"
        meta["source_file"] = f"copy{n}-{meta.get('source_file') or 'conversation.json'}"
    return item


def enlarged(document: dict[str, Any], count: int) -> dict[str, Any]:
    """``document`` with ``count`` conversations, its own repeated under new ids."""
    own = document["conversations"]
    return {**document, "conversations": [renamed(own[n % len(own)], n) for n in range(count)]}


def header_last(document: dict[str, Any]) -> dict[str, Any]:
    """The same file with its conversations first and its header after them."""
    return {"conversations": document["conversations"],
            **{k: v for k, v in document.items() if k != "conversations"}}


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def over_limit(document: dict[str, Any], folder: Path, name: str) -> Path:
    """``document`` on disk, grown by repeating its conversations to just over LIMIT."""
    count = len(document["conversations"])
    while True:
        path = write(folder / name, enlarged(document, count))
        if path.stat().st_size > LIMIT:
            return path
        count = count * 2


def _never_whole(limit: int) -> Any:
    """``parse_json_bytes`` that fails a test when given more than ``limit`` bytes."""
    whole = jsonio.parse_json_bytes

    def parse(data: bytes, file: str) -> Any:
        assert len(data) <= limit, f"{file} was parsed whole ({len(data):,} bytes)"
        return whole(data, file)
    return parse


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-read limit at LIMIT, and no file over it parsed whole."""
    monkeypatch.setattr(jsonio, "MAX_INPUT_BYTES", LIMIT)
    monkeypatch.setattr(loader, "parse_json_bytes", _never_whole(LIMIT))


def rows(path: Path) -> list[tuple[str, Any, str]]:
    return [(Path(where).name, row, reason) for where, row, reason in prepare(str(path), "b")]


def whole_rows(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, str]]:
    """The rows of ``path`` read whole, as a file under the limit is."""
    with monkeypatch.context() as patch:
        patch.setattr(jsonio, "MAX_INPUT_BYTES", 64 * 1024 * 1024)
        patch.setattr(loader, "parse_json_bytes", jsonio.parse_json_bytes)
        return rows(path)


@pytest.mark.parametrize("form", ["ours", "user's"])
def test_a_full_file_over_the_limit_gives_the_rows_a_whole_read_gives(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str,
) -> None:
    document = our_full(filled_library) if form == "ours" else orjson.loads(
        USER_FULL.read_bytes())
    path = over_limit(document, tmp_path, "big.json")
    expected = whole_rows(path, monkeypatch)
    assert len(expected) > len(document["conversations"])
    assert all(row is not None for _, row, _ in expected), expected[:1]
    monkeypatch.setattr(jsonio, "MAX_INPUT_BYTES", LIMIT)
    monkeypatch.setattr(loader, "parse_json_bytes", _never_whole(LIMIT))
    assert rows(path) == expected  # read a conversation at a time: never parsed whole


@pytest.mark.usefixtures("streamed")
def test_the_header_after_the_conversations_is_read_too(tmp_path: Path) -> None:
    document = orjson.loads(USER_FULL.read_bytes())
    (tmp_path / "after").mkdir()
    before = over_limit(document, tmp_path, "big.json")
    after = write(tmp_path / "after" / "big.json", header_last(orjson.loads(before.read_bytes())))
    assert after.read_bytes().lstrip().startswith(b'{\n  "conversations"')
    # The user's conversations take the file's shared consultant_profile: it must be read
    # even where it comes after them.
    assert not any("consultant_profile" in c for c in document["conversations"])
    first, second = rows(before), rows(after)
    assert [row for _, row, _ in first] == [row for _, row, _ in second]
    assert all(row is not None and row["profile_document"] != b"null" for _, row, _ in second)


@pytest.mark.usefixtures("streamed")
def test_a_broken_conversation_is_named_and_the_rest_imports(
    filled_library: Library, tmp_path: Path,
) -> None:
    document = enlarged(our_full(filled_library), 40)
    document["conversations"][6] = {"conversation_id": "x", "note": "not a conversation"}
    path = write(tmp_path / "big.json", document)
    while path.stat().st_size <= LIMIT:  # 40 conversations, grown by a long system prompt
        for item in document["conversations"]:
            if "messages" in item:
                item["messages"][0]["content"] += " Be kind." * 200
        path = write(path, document)
    got = rows(path)
    assert len(got) == 40
    bad = [(where, reason) for where, row, reason in got if row is None]
    assert bad == [("big.json [conversation 7 of 40]",
                    "$.conversations[6]: not a conversation: it has neither training_pairs "
                    "nor messages")]


@pytest.mark.usefixtures("streamed")
def test_a_truncated_file_is_refused_with_what_to_do(filled_library: Library,
                                                     tmp_path: Path) -> None:
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    data = path.read_bytes()
    path.write_bytes(data[:-5000])  # the end of the last conversation and the closing brackets
    [(where, row, reason)] = rows(path)
    assert row is None and where == "big.json"
    assert "the JSON ends too early (truncated file?)" in reason
    assert "copy or save the whole file again" in reason


@pytest.mark.usefixtures("streamed")
def test_a_conversation_file_over_the_limit_says_what_to_do(tmp_path: Path) -> None:
    document = orjson.loads(ENRICHED[0].read_bytes())
    document["training_pairs"] = document["training_pairs"] * (
        LIMIT // len(orjson.dumps(document["training_pairs"])) + 1)
    path = write(tmp_path / "huge.json", document)
    [(_, row, reason)] = rows(path)
    assert row is None
    assert "a single conversation file may have — is it a conversation file? Split it" in reason


@pytest.mark.usefixtures("streamed")
def test_a_large_json_of_neither_kind_is_named_so(tmp_path: Path) -> None:
    other = write(tmp_path / "other.json", {"rows": [{"text": "x" * 1000}] * 2000})
    lines = tmp_path / "lines.json"  # JSONL under a .json name
    lines.write_bytes(b"".join(orjson.dumps({"text": "x" * 1000}) + b"\n" for _ in range(2000)))
    for path in (other, lines):
        [(_, row, reason)] = rows(path)
        assert row is None
        assert "neither a conversation file nor a full training file" in reason, reason


@pytest.mark.usefixtures("streamed")
def test_the_progress_moves_within_the_file_and_cancel_stops_between_conversations(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importer, "TELL_EVERY", 4)
    tell_every = 4
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    conversations = len(orjson.loads(path.read_bytes())["conversations"])
    assert conversations > 3 * tell_every
    told: list[tuple[int, int, str]] = []
    report = import_paths(filled_library, [path], progress=lambda *a: told.append(a),
                          cancelled=lambda: len(told) >= 3, workers=1)
    assert told[:3] == [(0, 1, f"big.json [conversation {n} of {conversations}]")
                        for n in (1, tell_every + 1, 2 * tell_every + 1)]
    assert report.cancelled
    assert 2 * tell_every < len(report.verdicts) < conversations
    stored = {row.source_file for row in filled_library.summaries()}
    assert {v.file for v in report.verdicts if v.verdict is Verdict.IMPORTED} <= stored


@pytest.mark.usefixtures("streamed")
def test_a_top_level_key_written_twice_is_refused(filled_library: Library,
                                                  tmp_path: Path) -> None:
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    data = path.read_bytes()
    path.write_bytes(data[:1] + b'\n  "consultant_profile": null,' + data[1:])
    [(_, row, reason)] = rows(path)
    assert row is None
    assert reason == ("$: the key 'consultant_profile' appears twice at the top of the file; "
                      "remove one of them")


def test_a_file_over_the_largest_full_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: nothing is written, nothing would be read
        handle.truncate(9 * 1024 ** 3)
    [(_, row, reason)] = rows(path)
    assert row is None
    assert reason == ("$: the file is 9,664 MB, more than the 8,590 MB a full training file "
                      "may have; build smaller training files and import those")


@pytest.mark.usefixtures("streamed")
def test_a_file_that_grows_after_it_was_counted_imports_nothing_and_says_so(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = our_full(filled_library)
    path = over_limit(document, tmp_path, "big.json")
    counted = len(orjson.loads(path.read_bytes())["conversations"])
    stored_before = filled_library.count()
    real_outline = loader.outline

    def outline_then_grown(*args: Any, **kwargs: Any) -> Any:
        known = real_outline(*args, **kwargs)
        write(path, enlarged(document, counted + 5))  # another program writes it meanwhile
        return known

    monkeypatch.setattr(loader, "outline", outline_then_grown)
    report = import_paths(filled_library, [path], workers=1)
    assert filled_library.count() == stored_before  # nothing of it, not its first count
    [verdict] = report.verdicts
    assert verdict.verdict is Verdict.REJECTED and verdict.file == str(path)
    assert verdict.reason == (
        f"$: the file changed after its {counted:,} conversations were counted and before "
        "they were read (is another program still writing it?); nothing of it was "
        "imported: import it again once nothing writes to it")
    assert not report.cancelled


@pytest.mark.usefixtures("streamed")
def test_a_file_that_changes_while_it_is_read_keeps_what_was_read_and_says_so(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    counted = len(orjson.loads(path.read_bytes())["conversations"])
    real_split = fullstream.split_item

    def split_while_written(item: Any, index: int, *args: Any) -> Any:
        if index == 2:  # another program appends to the file as it is read
            with path.open("ab") as handle:
                handle.write(b"\n")
        return real_split(item, index, *args)

    monkeypatch.setattr(fullstream, "split_item", split_while_written)
    report = import_paths(filled_library, [path], workers=1)
    *read, last = report.verdicts
    assert len(read) == counted and all(v.verdict is not Verdict.REJECTED for v in read)
    assert last.verdict is Verdict.REJECTED and last.file == str(path)
    assert last.reason == (
        "$: the file changed while it was read (is another program still writing it?): "
        f"only its first {counted:,} conversations were read, as they were then, and have "
        "their own lines here; import it again once nothing writes to it (what is already "
        "in the library is then skipped)")


@pytest.mark.usefixtures("streamed")
def test_a_cancel_after_the_last_conversation_was_read_is_no_cancel(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importer, "TELL_EVERY", 1)
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    conversations = len(orjson.loads(path.read_bytes())["conversations"])
    told: list[str] = []
    last = f"big.json [conversation {conversations} of {conversations}]"
    with Library(tmp_path / "fresh") as fresh:
        report = import_paths(fresh, [path], progress=lambda *a: told.append(a[2]),
                              cancelled=lambda: last in told, workers=1)
        stored = {row.conversation_id for row in fresh.summaries()}
    assert last in told  # Cancel was pressed as the last conversation was read
    assert len(report.verdicts) == conversations
    assert not report.cancelled
    assert "cancelled" not in report.summary()
    assert report.verdicts[-1].verdict is not Verdict.REJECTED
    imported = {v.conversation_id for v in report.verdicts if v.verdict is Verdict.IMPORTED}
    assert imported and imported == stored  # the last chunk was stored as well


@pytest.mark.usefixtures("streamed")
def test_a_cancel_before_the_last_conversation_was_read_is_said(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importer, "TELL_EVERY", 1)
    path = over_limit(our_full(filled_library), tmp_path, "big.json")
    conversations = len(orjson.loads(path.read_bytes())["conversations"])
    told: list[str] = []
    before_last = f"big.json [conversation {conversations - 1} of {conversations}]"
    report = import_paths(filled_library, [path], progress=lambda *a: told.append(a[2]),
                          cancelled=lambda: before_last in told, workers=1)
    assert len(report.verdicts) == conversations - 1
    assert report.cancelled
    assert report.summary().endswith(
        "before the import was cancelled: the large file it was reading was not read to its "
        "end; import the same files or folders again to finish (those already in are skipped "
        "as duplicates).")


def _pool_starts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call of ``Workers.start`` started worker processes (it still does)."""
    starts: list[bool] = []
    real = Workers.start

    def start(self: Workers) -> None:
        real(self)
        starts.append(self.started)
    monkeypatch.setattr(Workers, "start", start)
    return starts


@pytest.mark.usefixtures("streamed")
@pytest.mark.parametrize("threshold", [LIMIT, 1])
def test_a_big_file_among_small_ones_starts_no_workers_for_itself(
    filled_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int,
) -> None:
    """Its bytes are the parent's work, not the workers': they count for nothing toward
    the pool; the small files' own bytes still do (a threshold of 1 byte)."""
    big = over_limit(our_full(filled_library), tmp_path, "big.json")
    small = [ENRICHED[0], ENRICHED[1]]
    assert sum(p.stat().st_size for p in small) < LIMIT < big.stat().st_size
    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", threshold)
    starts = _pool_starts(monkeypatch)
    with Library(tmp_path / "fresh") as fresh:
        report = import_paths(fresh, [big, *small], workers=2)
    assert report.rejected == 0 and not report.cancelled
    assert {v.file for v in report.verdicts} == {str(big), *map(str, small)}
    assert any(starts) is (threshold == 1)


def test_our_own_full_file_is_not_called_the_older_v3_format(filled_library: Library,
                                                             tmp_path: Path) -> None:
    """Its conversations first came from v3 files and were converted then; the full file
    is ours (v4): re-imported into a new library, nothing says it was in the v3 format."""
    document = our_full(filled_library)
    path = tmp_path / "December set.json"
    path.write_bytes(orjson.dumps(document))
    fresh = Library(tmp_path / "fresh")
    try:
        report = import_paths(fresh, [path], workers=1)
    finally:
        fresh.close()
    assert report.imported == len(document["conversations"])
    assert any(v.older_format for v in report.verdicts), "some were v3 files once"
    assert report.older_format_files == []
    assert "v3" not in report.summary()
