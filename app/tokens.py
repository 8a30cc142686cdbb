"""Exact token counts of what a trainer sees: the conversation rendered with a chat template.

The tokenizer is a Hugging Face ``tokenizer.json`` read by the ``tokenizers`` library (the
same Rust code trainers use through ``transformers``), never an estimate. A bundled
tokenizer (Mistral 7B v0.3, Apache-2.0) makes counts work offline on first start.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer

from app.bundle import resources_dir
from app.chat_templates import (
    DEFAULT_TEMPLATE,
    ChatTemplate,
    Rendered,
    Renderer,
    bundled_template,
)

BUNDLED_TOKENIZER_DIR = "tokenizers/mistral-7b-v0.3"
BUNDLED_TOKENIZER_NAME = "Mistral 7B v0.3 (bundled)"

Messages = Sequence[Mapping[str, Any]]


def bundled_tokenizer_path() -> Path:
    return resources_dir() / BUNDLED_TOKENIZER_DIR / "tokenizer.json"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def default_counter() -> TokenCounter:
    """The bundled tokenizer with its own template: what a library counts with by default."""
    return TokenCounter.from_file(bundled_tokenizer_path(), bundled_template(DEFAULT_TEMPLATE),
                                  BUNDLED_TOKENIZER_NAME)


@dataclass(frozen=True)
class TurnTokens:
    """One message's share of the rendered line."""

    message_index: int
    role: str
    start: int  # character span in the rendered text: the turn's template markup included
    end: int
    tokens: int
    trained_tokens: int


@dataclass
class AsTrained:
    """A line as the trainer sees it: text, tokens, which tokens carry the loss, per turn."""

    text: str
    offsets: list[tuple[int, int]]  # character span of each token in ``text``
    token_texts: list[str]
    trained: list[bool]  # per token: does it carry the loss?
    turns: list[TurnTokens] = field(default_factory=list)
    uses_generation_blocks: bool = True
    ids: list[int] = field(default_factory=list)  # per token: its id in the tokenizer
    # (message index, start, end) of each message's own text in ``text``; the rest of the
    # text is the chat template's markup
    contents: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.trained)

    @property
    def trained_total(self) -> int:
        return sum(self.trained)

    def trained_spans(self) -> list[tuple[int, int]]:
        """Character spans of trained text, neighbouring tokens merged."""
        spans: list[tuple[int, int]] = []
        for (start, end), flag in zip(self.offsets, self.trained, strict=True):
            if not flag or end <= start:
                continue
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        return spans


def counter_basis(tokenizer_sha256: str, template: ChatTemplate) -> str:
    """What a count depends on (the tokenizer's bytes and the template), as a short key:
    counts made with different bases are never mixed (known without loading anything)."""
    basis = "\0".join((tokenizer_sha256, template.source, template.bos_token,
                       template.eos_token, *template.special_tokens))
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


class TokenCounter:
    """A tokenizer plus a chat template: counts and explains rendered conversations."""

    def __init__(self, tokenizer: Tokenizer, template: ChatTemplate, *, tokenizer_name: str,
                 tokenizer_sha256: str) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.tokenizer_name = tokenizer_name
        self.tokenizer_sha256 = tokenizer_sha256
        missing = [t for t in template.special_tokens if tokenizer.token_to_id(t) is None]
        if missing:  # as trainers do when a template's markers are new to the base model
            tokenizer.add_special_tokens(
                [AddedToken(t, special=True, normalized=False) for t in missing])
        self.added_tokens = tuple(missing)
        self.renderer = Renderer(template)
        self._special_ids = {
            token_id for token_id, added in tokenizer.get_added_tokens_decoder().items()
            if added.special}
        self.basis = counter_basis(tokenizer_sha256, template)

    @classmethod
    def from_file(cls, path: Path, template: ChatTemplate, name: str | None = None
                  ) -> TokenCounter:
        return cls(Tokenizer.from_file(str(path)), template, tokenizer_name=name or path.name,
                   tokenizer_sha256=file_sha256(path))

    def describe(self) -> dict[str, Any]:
        """What the header says about how tokens were counted."""
        return {
            "tokenizer": self.tokenizer_name,
            "tokenizer_sha256": self.tokenizer_sha256,
            "chat_template": self.template.label,
        }

    def text(self, messages: Messages) -> str:
        return self.renderer.text(messages)

    def count_text(self, text: str) -> int:
        return len(self._encode(text).ids)

    def _encode(self, text: str) -> Any:
        """One text's encoding. Through the batch call: ``encode`` holds Python's global
        lock while it works, so a worker thread tokenizing a long line froze the window
        (4 s for a 3 MB reply); the batch call lets go of it, with the same tokens."""
        return self.tokenizer.encode_batch([text], add_special_tokens=False)[0]

    def count(self, messages: Messages) -> int:
        """Tokens of one rendered line (the template writes BOS itself, so nothing is added)."""
        return self.count_text(self.text(messages))

    def count_many(self, lines: Sequence[Messages]) -> list[int]:
        """Tokens of many lines at once."""
        return self.count_texts([self.text(messages) for messages in lines])

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of rendered texts (the tokenizer spreads a batch over the cores)."""
        if not texts:
            return []
        encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        return [len(e.ids) for e in encode(list(texts), add_special_tokens=False)]

    def as_trained(self, messages: Messages) -> AsTrained:
        """Render one line and mark every token the loss is computed on.

        An assistant message with ``"weight": 0`` (the ``weight0`` cut-off policy) is
        context, as in OpenAI fine-tuning and Axolotl's ``message_field_training``: none of
        its tokens is trained, its end-of-turn token included."""
        rendered = self.renderer.render(messages)
        encoding = self._encode(rendered.text)
        offsets = [(int(start), int(end)) for start, end in encoding.offsets]
        roles = [str(m["role"]) for m in messages]
        untrained = {i for i, m in enumerate(messages)
                     if roles[i] == "assistant" and _weight(m) == 0}
        by_blocks = bool(rendered.trained)
        if by_blocks:
            blocks = _blocks_of_trained_messages(rendered, untrained)
            trained = _overlapping(offsets, blocks)
        else:
            trained = self._trained_without_blocks(rendered, roles, untrained, offsets,
                                                   encoding.ids)
        result = AsTrained(rendered.text, offsets, list(encoding.tokens), trained,
                           uses_generation_blocks=by_blocks, ids=list(encoding.ids),
                           contents=list(rendered.messages))
        result.turns = _turns(rendered, roles, offsets, trained)
        return result

    def _trained_without_blocks(self, rendered: Rendered, roles: list[str],
                                untrained: set[int], offsets: list[tuple[int, int]],
                                ids: list[int]) -> list[bool]:
        """A template without ``{% generation %}``: the assistant texts, each followed by
        the special token that ends its turn, as trainers train on the end-of-turn token."""
        spans = [(start, end) for index, start, end in rendered.messages
                 if roles[index] == "assistant" and index not in untrained]
        inside = _overlapping(offsets, spans)
        return [flag or (i > 0 and inside[i - 1] and ids[i] in self._special_ids)
                for i, flag in enumerate(inside)]


def _weight(message: Mapping[str, Any]) -> float:
    """A message's training weight: 1 unless it says otherwise (``"weight": 0``)."""
    value = message.get("weight", 1)
    return float(value) if isinstance(value, int | float) else 1.0


def _blocks_of_trained_messages(rendered: Rendered, untrained: set[int]
                                ) -> list[tuple[int, int]]:
    """The ``{% generation %}`` blocks, less those holding an untrained message's content."""
    if not untrained:
        return rendered.trained
    context = [(start, end) for index, start, end in rendered.messages if index in untrained]
    return [(b_start, b_end) for b_start, b_end in rendered.trained
            if not any(b_start <= start and end <= b_end for start, end in context)]


def _overlapping(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
                 ) -> list[bool]:
    """Per token (offsets in text order): does it overlap one of ``spans``? One pass over
    both, as tokens and spans both run left to right (a line has thousands of tokens)."""
    ordered = sorted(spans)
    flags = []
    first = 0  # spans before this one end before the current token starts
    for start, end in offsets:
        while first < len(ordered) and ordered[first][1] <= start:
            first += 1
        hit = False
        for s_start, s_end in ordered[first:]:
            if s_start >= end:
                break
            if start < s_end:
                hit = True
                break
        flags.append(hit)
    return flags


def _turns(rendered: Rendered, roles: list[str], offsets: list[tuple[int, int]],
           trained: list[bool]) -> list[TurnTokens]:
    """Split the tokens into turns in rendered order: each turn runs from the end of the
    previous one to the end of its own content (or of its trained block), so the template's
    markup before a message counts with that message and the last turn takes the rest."""
    bounds: list[tuple[int, int, int]] = []  # (message index, start, end) in characters
    previous = 0
    for position, (index, _start, end) in enumerate(rendered.messages):
        for t_start, t_end in rendered.trained:
            if t_start <= end <= t_end:
                end = t_end
        if position == len(rendered.messages) - 1:
            end = len(rendered.text)
        bounds.append((index, previous, max(end, previous)))
        previous = max(end, previous)
    turns = []
    token = 0
    for index, start, end in bounds:
        count = trained_count = 0
        while token < len(offsets) and (offsets[token][0] < end or offsets[token][1] <= start):
            count += 1
            trained_count += trained[token]
            token += 1
        turns.append(TurnTokens(index, roles[index], start, end, count, trained_count))
    if turns and token < len(offsets):  # tokens past the last boundary: the last turn's
        last = turns[-1]
        extra = trained[token:]
        turns[-1] = TurnTokens(last.message_index, last.role, last.start, last.end,
                               last.tokens + len(extra), last.trained_tokens + sum(extra))
    return turns
