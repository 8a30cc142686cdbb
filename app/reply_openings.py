"""How a training file's trained replies open and end: the verbal tics a LoRA amplifies.

One generator has habits ("First, …", "I love that …", a closing question). A LoRA trained
on thousands of its conversations learns them as the way to answer, and opens every reply
the same way. This counts them over exactly what the file's JSONL trains: its stored lines
(``app.stored_builds``), so the cut-off policy, the replies left out to fit the length
limit and the weight-0 context are as the trainer reads them; which replies those are is
never worked out again here.

An *opening* is a reply's first words, case folded, without punctuation or markdown: two
by default, one or three on request (``WORD_CHOICES``). Two, because the tics mostly live
in the first two words ("I love that …" is "i love", "Okay, first …" is "okay first") and
a third word splits one habit into small groups that hide it; one word shows a habit
whose second word varies ("First, let's …", "First, I'm …", "First: thank …" are all
"first"), three the exact phrase. Each opening keeps its most common longer form, to show
how it goes on. A reply that starts with the client's first name ("David, I …") counts it
as ``[name]``: the habit, not the client.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import select

from app.collector import collector_paused
from app.errors import LibraryError
from app.export import owes_rebuild
from app.library import Library
from app.models import Conversation, Member
from app.trainingfiles import get_training_file, read_build

OPENING_WORDS = 2  # the default length of an opening, in words
WORD_CHOICES = (1, 2, 3)
LONGER_WORDS = 4  # the longer form shown beside an opening
DEFAULT_TOP = 10
NAME = "[name]"  # a reply opening on the client's first name
# A word: letters or digits, with inner apostrophes ("let's", "i'm") and a number's
# separators ("40,000", "3.5"); markdown marks, punctuation and dashes ("first—take") fall
# between words.
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+|(?<=\d)[.,]\d+)*")
# What may follow a closing question mark: markdown, quotes, brackets, white space.
_TRAILING = " \t\r\n*_`\"'\u201d\u2019)]"

WHY = ("A LoRA learns a generator's habits as the way to answer: if many replies open with "
       "the same words, or end on a question, the model will open (or end) nearly every "
       "reply that way. Remove some of these conversations from the file, or generate "
       "them again with varied prompts, before training.")


def words_of(text: str, count: int) -> list[str]:
    """The first ``count`` words of ``text``, case folded (markdown and punctuation
    dropped, curly apostrophes made straight)."""
    return [match.group().casefold().replace("\u2019", "'")
            for match in islice(_WORD.finditer(text), count)]


def opening_of(text: str, client: str | None = None, count: int = OPENING_WORDS) -> str:
    """A reply's opening: its first ``count`` words, the first name of ``client`` (the
    client's name) as ``[name]``; "" for a reply with no word."""
    return " ".join(_leading(text, _first_name(client), count))


def _leading(text: str, first_name: str | None, count: int) -> list[str]:
    words = words_of(text, count)
    if words and first_name and words[0] == first_name:
        words[0] = NAME
    return words


def _first_name(name: str | None) -> str | None:
    words = words_of(name or "", 1)
    return words[0] if words else None


def ends_on_question(text: str) -> bool:
    """The reply's last mark, past markdown and quotes, is a question mark."""
    return text.rstrip(_TRAILING).endswith("?")


@dataclass(frozen=True)
class Opening:
    """One opening: how many trained replies start so, and in which conversations."""

    words: str
    replies: int
    conversations: tuple[str, ...]  # file order, each once
    longer: str  # its most common longer form ("i love that you")


@dataclass(frozen=True)
class Openings:
    """A file's trained replies: their most common openings (per opening length in words)
    and how many end on a question; the same for the first reply of each conversation,
    where tics are strongest."""

    replies: int
    questions: int  # trained replies ending on a question
    first_replies: int  # conversations whose first reply is trained
    by_words: Mapping[int, tuple[Opening, ...]]  # words -> the most common openings
    first_by_words: Mapping[int, tuple[Opening, ...]]

    def top(self, words: int = OPENING_WORDS, first: bool = False) -> tuple[Opening, ...]:
        """The most common openings of ``words`` words, of every trained reply or only of
        the first replies."""
        return (self.first_by_words if first else self.by_words).get(words, ())

    def share(self, count: int, first: bool = False) -> float:
        """``count`` as a share (0-1) of the trained replies (or of the first replies)."""
        whole = self.first_replies if first else self.replies
        return count / whole if whole else 0.0


# A counted reply: its first ``LONGER_WORDS`` words and its conversation's number.
_Counted = tuple[tuple[str, ...], int]


def _top(replies: list[_Counted], words: int, limit: int,
         conversations: list[str]) -> tuple[Opening, ...]:
    """The ``limit`` most common openings of ``words`` words among ``replies`` (ties in
    the order of their words), each with its conversations and its most common longer
    form. Counted in one pass, then the chosen ones' details in another: a tally per
    opening of every reply was half the time of a 10,000-conversation file."""
    counts = Counter(key[:words] for key, _number in replies)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], " ".join(item[0])))[:limit]
    slots = {key: slot for slot, (key, _count) in enumerate(ordered)}
    holding: list[list[int]] = [[] for _ in ordered]
    longer: list[Counter[tuple[str, ...]]] = [Counter() for _ in ordered]
    for key, number in replies:
        slot = slots.get(key[:words])
        if slot is None:
            continue
        longer[slot][key] += 1
        seen = holding[slot]
        if not seen or seen[-1] != number:
            seen.append(number)
    return tuple(Opening(" ".join(key), count, tuple(conversations[n] for n in holding[slot]),
                         " ".join(longer[slot].most_common(1)[0][0]))
                 for slot, (key, count) in enumerate(ordered))


def trained_replies(line: Mapping[str, Any]) -> tuple[list[str], bool]:
    """A JSONL line's trained replies (a ``weight`` 0 reply is context) and whether the
    first of them is the conversation's first reply."""
    replies = [message for message in line.get("messages") or ()
               if message.get("role") == "assistant"]
    trained = [str(message.get("content") or "") for message in replies
               if message.get("weight", 1) != 0]
    return trained, bool(replies) and replies[0].get("weight", 1) != 0


def count_openings(lines: Iterable[Mapping[str, Any]], top: int = DEFAULT_TOP,
                   names: Mapping[str, str | None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Openings:
    """Count the openings of the trained replies of ``lines`` (parsed JSONL lines, their
    ``metadata.conversation_id`` naming the conversation). ``names``: each conversation's
    client name, whose first word counts as ``[name]``. ``cancelled`` is asked now and
    then; when it says so, counting stops with ``OpeningsCancelled``."""
    every: list[_Counted] = []
    first: list[_Counted] = []
    conversations: list[str] = []
    questions = 0
    names = names or {}
    for number, line in enumerate(lines):
        if cancelled is not None and number % 256 == 0 and cancelled():
            raise OpeningsCancelled()
        conversation = str((line.get("metadata") or {}).get("conversation_id") or "")
        conversations.append(conversation)
        texts, first_trained = trained_replies(line)
        client = _first_name(names.get(conversation))
        for position, text in enumerate(texts):
            counted = (tuple(_leading(text, client, LONGER_WORDS)), number)
            every.append(counted)
            if position == 0 and first_trained:
                first.append(counted)
            questions += ends_on_question(text)
    return Openings(len(every), questions, len(first),
                    {words: _top(every, words, top, conversations) for words in WORD_CHOICES},
                    {words: _top(first, words, top, conversations) for words in WORD_CHOICES})


def client_names(library: Library, name: str) -> dict[str, str | None]:
    """Each member's client name, by conversation id (one query; the member rows the
    page lists also parse each line's token counts, a third of the count's time)."""
    file_id = get_training_file(library, name).file_id
    with library.session() as session:
        return {cid: persona for cid, persona in session.execute(
            select(Conversation.conversation_id, Conversation.persona_name)
            .join(Member, Member.conversation_pk == Conversation.pk)
            .where(Member.file_id == file_id))}


class OpeningsCancelled(Exception):
    """The count was stopped (another file was chosen)."""


@dataclass(frozen=True)
class FileOpenings:
    """A training file's openings, and whether they were counted from a build it is due to
    replace (its conversations changed and the rebuild did not finish)."""

    name: str
    openings: Openings
    owes_rebuild: bool


def file_openings(library: Library, name: str, top: int = DEFAULT_TOP,
                  cancelled: Callable[[], bool] | None = None) -> FileOpenings:
    """Count ``name``'s openings from its stored JSONL lines (reads only: safe on a worker
    thread). Raises ``LibraryError`` for a file that is gone, not built, or damaged."""
    names = client_names(library, name)
    owed = owes_rebuild(library, name)
    with collector_paused(), read_build(library, name) as reader:
        real_name = reader.name
        try:
            openings = count_openings((orjson.loads(line) for line in reader.jsonl_lines()),
                                      top, names, cancelled)
        except orjson.JSONDecodeError as exc:
            raise LibraryError(f"a line of the training file '{real_name}' is not JSON "
                               f"({exc}); rebuild the file") from None
    return FileOpenings(real_name, openings, owed)
