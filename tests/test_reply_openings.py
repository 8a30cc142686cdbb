"""Reply openings (``app.reply_openings``): counted over exactly the replies a training
file's JSONL trains, on the real fixtures, and the ``openings`` command that prints them."""

from __future__ import annotations

import json

import orjson
import pytest
from conftest import FIRST_REPLY_CUT, addable

from app.cli import main
from app.export import ExportFormat, export
from app.library import Library
from app.reply_openings import (
    NAME,
    count_openings,
    ends_on_question,
    file_openings,
    opening_of,
    trained_replies,
)
from app.trainingfiles import add_conversations, change_settings, header


def _ids(library: Library) -> list[str]:
    return [row.conversation_id for row in library.summaries()]


@pytest.fixture
def trimmed(filled_library: Library) -> Library:
    """The fixtures in a file of the default settings (trim, lines fitted to 4,096)."""
    add_conversations(filled_library, "All", addable(_ids(filled_library)), create=True)
    return filled_library


def test_an_opening_is_its_first_words_without_case_markdown_or_punctuation() -> None:
    assert opening_of("**First**, let's pause and breathe.") == "first let's"
    assert opening_of("First—take a breath.", count=3) == "first take a"
    assert opening_of("I\u2019m so glad") == "i'm so"  # a curly apostrophe is one word's
    assert opening_of("  > ### Okay, *first*: the fact", count=3) == "okay first the"
    # the client's first name is the habit of naming the client, not the client
    assert opening_of("Jennifer, I'm so glad", "Jennifer Walsh") == f"{NAME} i'm"
    assert opening_of("Jennifer, I'm so glad", "David Chen") == "jennifer i'm"
    assert opening_of("$40,000 is 3.5% of it", count=4) == "40,000 is 3.5 of"
    assert opening_of("— …") == ""


def test_a_reply_ends_on_a_question_past_markdown_and_quotes() -> None:
    assert ends_on_question("Does that feel doable?")
    assert ends_on_question("What would **that** look like?**  \n")
    assert ends_on_question("You asked \u201cwhy me?\u201d")
    assert not ends_on_question("Is it? It is.")
    assert not ends_on_question("")


def test_a_weight_0_reply_is_context_not_counted() -> None:
    line = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                         {"role": "assistant", "content": "First, cut of", "weight": 0},
                         {"role": "user", "content": "u"},
                         {"role": "assistant", "content": "I love that?", "weight": 1}],
            "metadata": {"conversation_id": "c"}}
    assert trained_replies(line) == (["I love that?"], False)
    counted = count_openings([line])
    assert (counted.replies, counted.questions, counted.first_replies) == (1, 1, 0)
    assert [item.words for item in counted.top()] == ["i love"]
    assert counted.top(first=True) == ()


def test_the_fixtures_tics_are_counted_over_the_trained_replies(trimmed: Library) -> None:
    """What the data review found by hand in these files (report-data55 F3): most first
    replies open with "First", "I love that" opens many replies, most end on a question."""
    found = file_openings(trimmed, "all")  # (names are case-insensitive)
    counted = found.openings
    totals = header(trimmed, "All")["totals"]
    assert found.name == "All" and not found.owes_rebuild
    assert counted.replies == totals["trainable_replies"] == 46
    assert counted.first_replies == totals["jsonl_lines"] == 13
    assert counted.questions == 28
    first_word = {item.words: item for item in counted.top(1, first=True)}
    assert first_word["first"].replies == 8  # the ninth opens "Okay, first"
    assert counted.share(first_word["first"].replies, first=True) == pytest.approx(8 / 13)
    top = counted.top()[0]
    assert (top.words, top.replies, top.longer) == ("i love", 8, "i love that you")
    assert len(top.conversations) == 6 == len(set(top.conversations))
    # its conversations are the ones whose trained replies open so, in file order
    lines = _exported_lines(trimmed, "All")
    holding = [line["metadata"]["conversation_id"] for line in lines
               if any(opening_of(m["content"]) == "i love" for m in line["messages"]
                      if m["role"] == "assistant")]
    assert list(top.conversations) == holding


def _exported_lines(library: Library, name: str) -> list[dict[str, object]]:
    out = library.root.parent / "exported.jsonl"
    export(library, name, ExportFormat.JSONL, out, overwrite=True)
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def test_replies_left_out_to_fit_or_by_the_cut_off_policy_are_not_counted(
        trimmed: Library) -> None:
    before = file_openings(trimmed, "All").openings
    info = change_settings(trimmed, "All", max_seq_len=2_500)  # more lines end early
    after = file_openings(trimmed, "All").openings
    assert after.replies == info.trainable_replies == before.replies - 1
    # a file that trains every reply, cut off or not, has the two cut-off conversations too
    add_conversations(trimmed, "Every reply", _ids(trimmed), create=True, cut_off_policy="keep")
    every = file_openings(trimmed, "Every reply").openings
    assert every.replies == header(trimmed, "Every reply")["totals"]["trainable_replies"]
    assert every.first_replies == 13 + len(FIRST_REPLY_CUT)
    assert every.replies > before.replies


def test_the_openings_command_prints_and_writes_json(trimmed: Library,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    where = str(trimmed.root)
    assert main(["--library", where, "openings", "All", "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "'All': 46 trained replies; 28 (61%) end on a question."
    assert out[1] == "Most common openings (2 words) of every trained reply (46):"
    assert out[2].split() == ["8", "17%", "i", "love", "…", "(most", "often", '"i',
                              "love", "that", 'you";', "6", "conversations)"]
    assert len(out) == 1 + 2 * (1 + 3)
    assert main(["--library", where, "openings", "All", "--words", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["trained_replies"], data["ending_on_question"], data["first_replies"],
            data["words"]) == (46, 28, 13, 1)
    first = data["first_reply_openings"][0]
    assert (first["opening"], first["replies"], round(first["share"], 2)) == ("first", 8, 0.62)
    assert len(first["conversations"]) == 8
    assert main(["--library", where, "openings", "Nope"]) == 1
    assert "there is no training file named 'Nope'" in capsys.readouterr().err


def test_the_command_says_when_the_file_owes_a_rebuild(trimmed: Library,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    from app.stored_builds import every_file_owes_a_rebuild

    with trimmed.session() as session:
        every_file_owes_a_rebuild(session)
        session.commit()
    assert main(["--library", str(trimmed.root), "openings", "All"]) == 0
    assert "owes a rebuild" in capsys.readouterr().err
