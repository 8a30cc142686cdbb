"""The tokenizer choice lives in the library (``app.tokenizer_choice``): every member of a
team library counts with the same tokenizer and template, a change by one is seen by the
others, and counts made with different choices are never mixed. Libraries from before
(the choice kept in a folder on each computer) carry that computer's choice over once,
when first opened for writing; a reader never writes.

On a library folder and a real PostgreSQL team library (``backend``)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import orjson
import pytest
from old_libraries import back_to_baseline, make_v5_library
from sqlalchemy import select, update
from token_reference import reference_counter

from app import migrations, tokenizer_choice
from app.errors import LibraryError
from app.importer import import_paths
from app.library import ConversationRow, Library
from app.location import LibraryLocation
from app.models import Conversation, LibraryTokenizer
from app.paths import DATABASE_NAME
from app.token_counts import _store, ensure_counts, uncounted
from app.token_lines import conversation_lines
from app.tokenizer_choice import (
    FOLDER,
    SETTINGS,
    choose,
    counter_for,
    counting,
    load_choice,
)
from app.tokens import bundled_tokenizer_path

ON_BOTH = pytest.mark.usefixtures("backend")


def reference_counts(library: Library, template: str) -> dict[str, int]:
    """Each conversation's longest line, counted by the ``tokenizers`` library itself."""
    count = reference_counter(template)
    return {row.conversation_id: max(
        (count(m) for m in conversation_lines(library.record(row.conversation_id))),
        default=-1) for row in library.summaries()}


def other_member(library: Library) -> Library:
    """A second handle on the same library, as another member has it: a team library is
    opened for writing by everyone; a library folder has one writer, others read."""
    return Library(library.location, read_only=not library.is_team)


def stored_bases(library: Library) -> set[str]:
    with library.engine.connect() as conn:
        return set(conn.scalars(select(Conversation.token_basis)
                                .where(Conversation.token_count != 0)))


def rows_read_by_id(library: Library) -> list[ConversationRow]:
    """The table rows as an import's patch reads them (``summaries_of``): they must show
    the same counts as a full read."""
    return library.summaries_of(row.conversation_id for row in library.summaries())


@ON_BOTH
def test_a_new_library_stores_the_bundled_choice(library: Library) -> None:
    choice = load_choice(library)
    assert choice.stored and choice.is_default
    assert choice.basis == counter_for(library).basis
    assert library.tokenizer_notice == ""  # nothing to say: nothing was chosen before


@ON_BOTH
def test_one_members_change_is_seen_by_the_other_and_counts_never_mix(
        filled_library: Library) -> None:
    mistral = reference_counts(filled_library, "mistral")
    assert ensure_counts(filled_library) == mistral
    with other_member(filled_library) as member:
        # The other member counts with the same choice and sees the counts as made.
        assert load_choice(member) == load_choice(filled_library)
        assert uncounted(member) == 0
        assert {r.conversation_id: r.token_count for r in member.summaries()} == mistral

        old_basis = counter_for(filled_library).basis
        choose(filled_library, template="chatml")

        # The other member's next read follows, without reopening anything.
        seen = load_choice(member)
        assert seen.template == "chatml" and seen.basis != old_basis
        assert counter_for(member).template.key == "chatml"
        # Mistral counts are no counts of ChatML: none is shown, all are to be made.
        assert uncounted(member) == member.count()
        assert {r.token_count for r in member.summaries()} == {0}
        assert rows_read_by_id(member) == list(member.summaries())  # the import patch's read

        # A count made with the old choice arriving late (a member's background count
        # that started before the change) is stored as what it is, and still not mixed.
        late = {row.pk: 77 for row in member.summaries()}
        _store(filled_library, late, old_basis)
        assert {r.token_count for r in member.summaries()} == {0}

        chatml = reference_counts(filled_library, "chatml")
        assert chatml != mistral
        counter = member if member.is_team else filled_library  # who may write counts
        assert ensure_counts(counter) == chatml
        assert {r.conversation_id: r.token_count for r in filled_library.summaries()} \
            == {r.conversation_id: r.token_count for r in member.summaries()} == chatml
        assert stored_bases(filled_library) == {seen.basis}
        assert rows_read_by_id(member) == list(member.summaries())
        assert uncounted(filled_library) == uncounted(member) == 0


def test_a_members_own_tokenizer_travels_in_the_team_library(
        pg_url: str, tmp_path: Path, fixture_folder: Path) -> None:
    """The chosen tokenizer.json is kept in the library: another member (another folder
    on another computer, here the file deleted) counts with it."""
    mine = tmp_path / "MyModel" / "tokenizer.json"
    mine.parent.mkdir()
    shutil.copy(bundled_tokenizer_path(), mine)
    with Library.open(pg_url) as library:
        import_paths(library, [fixture_folder])
        choose(library, tokenizer_file=mine, template="chatml")
        shutil.rmtree(mine.parent)
        shutil.rmtree(library.root)  # this computer's folder for it: nothing in it counts
        tokenizer_choice._counters.clear()  # nor anything this process loaded before
        with Library.open(pg_url) as member:
            choice, counter = counting(member)
            assert choice.tokenizer == "custom"
            assert choice.tokenizer_name == "MyModel/tokenizer.json"
            assert choice.tokenizer_sha256 == hashlib.sha256(
                bundled_tokenizer_path().read_bytes()).hexdigest()
            some = next(r.conversation_id for r in member.summaries() if r.trainable_replies)
            lines = conversation_lines(member.record(some))
            assert counter.count(lines[0]) == reference_counter("chatml")(lines[0])


@ON_BOTH
def test_a_stored_tokenizer_unlike_its_record_is_never_counted_with(
        library: Library, tmp_path: Path) -> None:
    """Counts are stored under the choice's basis: a tokenizer.json that is not the one
    the choice records (replaced between two reads, or damaged) is refused, by name."""
    mine = tmp_path / "MyModel" / "tokenizer.json"
    mine.parent.mkdir()
    shutil.copy(bundled_tokenizer_path(), mine)
    choose(library, tokenizer_file=mine)
    tokenizer_choice._counters.clear()
    other = orjson.loads(mine.read_bytes())
    other["added_tokens"] = []  # a different tokenizer.json, still a valid one
    with library.engine.begin() as conn:
        conn.execute(update(LibraryTokenizer).values(tokenizer_json=orjson.dumps(other)))
    with pytest.raises(LibraryError, match="does not match what the library records"):
        counting(library)


def test_a_reader_cannot_change_the_choice(library: Library) -> None:
    with Library(library.location, read_only=True) as reader, \
            pytest.raises(LibraryError, match="open only for reading"):
        choose(reader, template="chatml")
    assert load_choice(library).template == "mistral"


# --- libraries from before the choice lived in them ------------------------------------


def keep_old_choice(folder: Path, template: str, counted_with: str) -> None:
    """This computer's choice as LoRA Studio kept it before (``<folder>/tokenizer/``)."""
    (folder / FOLDER).mkdir(parents=True, exist_ok=True)
    (folder / FOLDER / SETTINGS).write_bytes(orjson.dumps({
        "tokenizer": "bundled", "tokenizer_name": "Mistral 7B v0.3 (bundled)",
        "template": template, "template_name": "", "bos_token": "", "eos_token": "",
        "counted_with": counted_with}))


def _revision(library: Library) -> str | None:
    with library.engine.connect() as conn:
        return migrations.current_revision(conn)


def _database_sha(location: LibraryLocation) -> str:
    return hashlib.sha256((location.folder / DATABASE_NAME).read_bytes()).hexdigest()


@ON_BOTH
@pytest.mark.parametrize("counts_were_made_with_it", [True, False])
def test_a_baseline_library_carries_this_computers_choice_over_once(
        filled_library: Library, counts_were_made_with_it: bool) -> None:
    choose(filled_library, template="chatml")
    chatml = ensure_counts(filled_library)
    basis = counter_for(filled_library).basis
    location = filled_library.location
    filled_library.close()
    back_to_baseline(location)  # a library of revision 0001 (schema v7), counts kept
    keep_old_choice(location.folder, "chatml",
                    basis if counts_were_made_with_it else "0123456789abcdef")

    if location.is_team:
        with pytest.raises(LibraryError, match="open it once for writing"):
            Library(location, read_only=True)
    else:  # a reader reads an upgraded copy and counts with the old folder's choice
        before = _database_sha(location)
        with Library(location, read_only=True) as reader:
            choice = load_choice(reader)
            assert not choice.stored and choice.template == "chatml"
            assert reader.tokenizer_notice == ""
            assert uncounted(reader) == (0 if counts_were_made_with_it else reader.count())
        assert _database_sha(location) == before  # never written

    with Library(location) as library:
        assert _revision(library) == migrations.HEAD
        choice = load_choice(library)
        assert choice.stored and choice.template == "chatml" and choice.basis == basis
        if counts_were_made_with_it:  # kept, and now they say what made them
            assert uncounted(library) == 0
            assert {r.conversation_id: r.token_count for r in library.summaries()} == chatml
        else:  # made with something else: counted again, never shown as ChatML counts
            assert uncounted(library) == library.count()
            assert ensure_counts(library) == chatml
        if library.is_team:  # it matters: the team now counts with this computer's choice
            assert "for every member" in library.tokenizer_notice
            assert "ChatML" in library.tokenizer_notice
        else:
            assert library.tokenizer_notice == ""
    keep_old_choice(location.folder, "llama3", "")  # this computer's folder changes later:
    with Library(location) as again:  # the library keeps its own choice, said nothing
        assert load_choice(again).template == "chatml" and again.tokenizer_notice == ""


def test_the_v5_fixture_library_keeps_its_choice_and_its_counts(tmp_path: Path) -> None:
    """A real library from LoRA Studio v5 (tests/data/library-v5) with counts made with
    the bundled tokenizer and its own template, as its tokenizer folder says."""
    root = make_v5_library(tmp_path / "v5")
    settings = orjson.loads((root / FOLDER / SETTINGS).read_bytes())
    with Library(root) as library:
        assert _revision(library) == migrations.HEAD
        choice = load_choice(library)
        assert choice.stored and choice.is_default
        assert choice.basis == settings["counted_with"] == counter_for(library).basis
        rows = {r.conversation_id: r.token_count for r in library.summaries()}
        assert rows["financial_planning_emotional_intelligence_conversation_1"] == 1294
        assert uncounted(library) == 1  # the one the v5 library had not counted
        assert ensure_counts(library) == reference_counts(library, "mistral")


def test_a_damaged_old_choice_falls_back_to_the_bundled_one_and_says_so(
        pg_url: str) -> None:
    with Library.open(pg_url) as library:
        location = library.location
    back_to_baseline(location)
    folder = location.folder / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS).write_bytes(orjson.dumps({
        "tokenizer": "custom", "tokenizer_name": "Gone/tokenizer.json",
        "template": "llama3", "counted_with": "whatever"}))
    with Library(location) as library:  # the tokenizer.json copy is missing
        choice = load_choice(library)
        assert choice.tokenizer == "bundled" and choice.template == "llama3"
        assert "tokenizer.json cannot be read" in library.tokenizer_notice
        assert "for every member" in library.tokenizer_notice
        assert "Traceback" not in library.tokenizer_notice


# --- copy-library ------------------------------------------------------------------------


def test_copy_library_takes_the_choice_and_its_counts_along(
        filled_library: Library, pg_url: str) -> None:
    from app.copy_library import copy_library

    choose(filled_library, template="llama3")
    counts = ensure_counts(filled_library)
    root = filled_library.root
    filled_library.close()
    with Library(root, read_only=True) as source, Library.open(pg_url) as target:
        copy_library(source, target)
        choice = load_choice(target)
        assert choice.stored and choice.template == "llama3"
        assert uncounted(target) == 0
        assert {r.conversation_id: r.token_count for r in target.summaries()} == counts
        with target.engine.connect() as conn:
            assert conn.scalar(select(LibraryTokenizer.basis)) == choice.basis


def test_the_command_line_uses_and_sets_the_libraries_choice(
        filled_library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main as cli_main

    location = str(filled_library.location.folder)
    choose(filled_library, template="chatml")
    filled_library.close()
    assert cli_main(["--library", location, "tokens"]) == 0
    assert "chat template: ChatML" in capsys.readouterr().out
    assert cli_main(["--library", location, "tokens", "--template", "llama3"]) == 0
    assert "chat template: Llama 3" in capsys.readouterr().out
    with Library(Path(location), read_only=True) as reader:
        assert load_choice(reader).template == "llama3" and uncounted(reader) == 0
