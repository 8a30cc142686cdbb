"""A generated corpus of hostile files: each is refused by import and validate with a clear
reason, the library is left exactly as it was, and nothing prints a traceback.

How long refusing takes is measured by ``bench/bench_hostile.py`` beside good files, not
here; a hang fails through the suite's per-test timeout (pytest-timeout)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_corpus import (
    BIG_FILE_NAME,
    ODD_NAMES,
    UNSERIALISABLE,
    Hostile,
    conversation,
    disk_allows_big,
    dump,
    hostile_cases,
    write_corpus,
    write_odd_names,
)

from app.cli import main
from app.importer import FileVerdict, Verdict, import_paths
from app.library import Library
from app.validate import validate_path

CASES = hostile_cases()
IDS = [case.name for case in CASES]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("hostile") / "hostile-corpus"
    folder.mkdir()
    written = write_corpus(folder, CASES, big=disk_allows_big(folder.parent))
    yield written
    big = written.get(BIG_FILE_NAME)
    if big is not None:
        big.unlink()  # do not keep 200 MB around until the session ends


@pytest.fixture
def read_spy(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file whose whole content is read with ``Path.read_bytes``."""
    read: list[Path] = []
    original = Path.read_bytes

    def spy(self: Path) -> bytes:
        read.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    return read


def file_of(corpus: dict[str, Path], case: Hostile) -> Path:
    if case.name not in corpus:
        pytest.skip("less than 1 GB of free disk for the 200 MB file")
    return corpus[case.name]


def assert_names_the_problem(case: Hostile, reason: str) -> None:
    assert reason.strip(), f"{case.name}: rejected without a reason"
    for word in case.keywords:
        assert word in reason, f"{case.name}: {word!r} not in the reason {reason!r}"
    for word in case.forbidden:
        assert word not in reason, f"{case.name}: misleading {word!r} in {reason!r}"
    assert "Traceback" not in reason, reason


# --- one file at a time -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_import_rejects_each_hostile_file_with_a_clear_reason(
    library: Library, corpus: dict[str, Path], case: Hostile, read_spy: list[Path]
) -> None:
    path = file_of(corpus, case)
    report = import_paths(library, [path])
    assert len(report.verdicts) == 1, report.verdicts
    (verdict,) = report.verdicts
    assert verdict.verdict is Verdict.REJECTED, (
        f"{case.name} was {verdict.verdict.value}: {verdict.conversation_id}")
    assert_names_the_problem(case, verdict.reason)
    assert library.count() == 0
    if case.big:
        assert path not in read_spy, "the 200 MB file was read before being refused"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_validate_rejects_each_hostile_file(corpus: dict[str, Path], case: Hostile) -> None:
    path = file_of(corpus, case)
    verdict = validate_path(path)
    assert not verdict.ok, f"{case.name} was judged valid ({verdict.kind})"
    text = "\n".join(f"{p.json_path}: {p.reason}" for p in verdict.problems)
    assert all(p.reason.strip() for p in verdict.problems), text
    for word in case.validate_keywords:
        assert word in text, f"{case.name}: {word!r} not in {text!r}"
    assert "Traceback" not in text


# --- the whole corpus in one import, beside a good library --------------------------


def test_the_whole_corpus_in_one_import_leaves_the_library_as_it_was(
    library: Library, fixture_folder: Path, corpus: dict[str, Path], tmp_path: Path,
    read_spy: list[Path],
) -> None:
    assert import_paths(library, [fixture_folder]).rejected == 0
    before = library.summaries()
    before_records = {row.conversation_id: library.record(row.conversation_id)
                      for row in before}
    good = tmp_path / "good-neighbour.json"
    good.write_bytes(dump(conversation("good_neighbour")))
    folder = next(iter(corpus.values())).parent

    report = import_paths(library, [folder, good])

    verdicts: dict[str, list[FileVerdict]] = {}
    for item in report.verdicts:
        verdicts.setdefault(Path(item.path).name, []).append(item)
    assert set(verdicts) == {*corpus, good.name}
    assert all(len(v) == 1 for v in verdicts.values()), "a file got more than one verdict"
    assert verdicts[good.name][0].verdict is Verdict.IMPORTED, verdicts[good.name]
    big = corpus.get(BIG_FILE_NAME)
    assert big is None or big not in read_spy, "the 200 MB file was read"

    # Consistent counts, and the conversations that were there are untouched.
    after = library.summaries()
    assert len(after) == len(before) + report.imported
    assert after[: len(before)] == before
    for cid, record in before_records.items():
        assert library.record(cid) == record
    for row in after[len(before):]:
        assert library.record(row.conversation_id)["conversation_id"] == row.conversation_id
    assert sum(b.conversations for b in library.batches()) == len(after)

    accepted = sorted(name for name, (v,) in verdicts.items()
                      if name != good.name and v.verdict is not Verdict.REJECTED)
    assert accepted == [], f"hostile files that were not rejected: {accepted}"


def test_the_cli_reports_one_line_per_hostile_file(
    corpus: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = next(iter(corpus.values())).parent
    code = main(["--data-dir", str(tmp_path / "cli-library"), "import", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert err == ""
    lines = out.splitlines()
    summary, verdict_lines = lines[-1], lines[:-1]
    counts = re.fullmatch(
        r"(\d+) conversations? imported"
        r"(?:, (\d+) conversations? already in the library \(skipped\))?"
        r"(?:, (\d+) conversations? repeating another of this import \(skipped\))?"
        r"(?:, (\d+) files? could not be imported)?\.", summary)
    assert counts, summary
    assert len(verdict_lines) == len(corpus), "\n".join(verdict_lines)
    for path in corpus.values():
        hits = [line for line in verdict_lines if line.split(" ", 1)[1].strip()
                .startswith(f"{path}:")]
        assert len(hits) == 1, (path.name, hits)
    words = [line.split()[0] for line in verdict_lines]
    assert set(words) <= {"imported", "duplicate", "rejected"}, words
    imported, stored, repeats, rejected = (int(n or 0) for n in counts.groups())
    assert [imported, stored + repeats, rejected] == [
        words.count("imported"), words.count("duplicate"), words.count("rejected")]


# --- values the parser accepts but the library cannot store -------------------------


@pytest.mark.parametrize("case", UNSERIALISABLE, ids=[c.name for c in UNSERIALISABLE])
def test_an_unstorable_value_is_rejected_and_the_import_goes_on(
    library: Library, tmp_path: Path, case: Hostile
) -> None:
    folder = tmp_path / "unstorable"
    folder.mkdir()
    (folder / f"a-{case.name}").write_bytes(case.make())
    (folder / "b-good.json").write_bytes(dump(conversation("good_after_unstorable")))
    report = import_paths(library, [folder])  # must not raise
    by_name = {Path(v.path).name: v for v in report.verdicts}
    assert by_name["b-good.json"].verdict is Verdict.IMPORTED
    bad = by_name[f"a-{case.name}"]
    assert bad.verdict is Verdict.REJECTED
    assert_names_the_problem(case, bad.reason)
    assert library.count() == 1


def test_the_cli_survives_unstorable_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "unstorable"
    folder.mkdir()
    for case in UNSERIALISABLE:
        (folder / case.name).write_bytes(case.make())
    code = main(["--data-dir", str(tmp_path / "cli-library"), "import", str(folder)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert len(out.splitlines()) == len(UNSERIALISABLE) + 1


# --- unusual names of valid files ---------------------------------------------------


def test_valid_files_with_unusual_names_import(library: Library, tmp_path: Path) -> None:
    paths = write_odd_names(tmp_path / "odd names")
    report = import_paths(library, paths)
    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED] * len(ODD_NAMES), [
        (Path(v.path).name, v.reason) for v in report.verdicts]
    assert library.count() == len(ODD_NAMES)
    for verdict, path in zip(report.verdicts, paths, strict=True):
        record = library.record(verdict.conversation_id)
        assert record["source"]["file_name"] == path.name
        assert validate_path(path).ok


def test_the_cli_imports_unusual_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "odd names"
    paths = write_odd_names(folder)
    code = main(["--data-dir", str(tmp_path / "cli-library"), "import", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    # (the same conversation under new ids: all but the first nearly repeat another)
    assert out.splitlines()[-1] == (
        f"{len(paths)} conversations imported ({len(paths) - 1} of them nearly repeat another "
        "conversation, flagged near_duplicate: an add can leave them out).")
    for path in paths:
        assert f"imported  {path}:" in out


@pytest.mark.skipif(os.name == "nt" or sys.platform == "darwin",
                    reason="only Linux keeps file names that are not UTF-8")
def test_a_file_and_folder_named_in_latin_1_import_under_a_readable_name(
    library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name made on an older system ("café" in Latin-1) is bytes Python keeps as a lone
    surrogate: the file itself is good, so it imports, its name stored with U+FFFD."""
    root = os.fsencode(tmp_path / "drop")
    os.makedirs(root + b"/d\xe9sir")
    Path(os.fsdecode(root + b"/caf\xe9.json")).write_bytes(dump(conversation("latin_1_file")))
    Path(os.fsdecode(root + b"/d\xe9sir/x.json")).write_bytes(
        dump(conversation("latin_1_folder")))
    report = import_paths(library, [Path(os.fsdecode(root))])
    assert [v.verdict for v in report.verdicts] == [Verdict.IMPORTED] * 2, [
        (v.path, v.reason) for v in report.verdicts]
    assert library.record("latin_1_file")["source"]["file_name"] == "caf\ufffd.json"
    assert library.record("latin_1_folder")["batch_id"] == "d\ufffdsir"
    assert validate_path(Path(os.fsdecode(root + b"/caf\xe9.json"))).ok
    # The command line says so on a strict UTF-8 output too (as pytest's), plain or JSON.
    for json_lines in ([], ["--json"]):
        code = main(["--data-dir", str(tmp_path / "cli-library"), "import", *json_lines,
                     os.fsdecode(root)])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        assert "caf\ufffd.json" in out, out + err
