"""Chat templates: render a conversation exactly as a trainer does, and say what is trained.

Templates are Jinja, as in a model's ``tokenizer_config.json``, rendered in a sandbox with
the same conventions as Hugging Face's ``apply_chat_template`` (``trim_blocks``,
``lstrip_blocks``, ``raise_exception``, ``{% generation %}`` blocks that mark the part of an
assistant turn that carries the loss). Three templates ship with the app; a user's own
template is read from its ``tokenizer_config.json`` or a ``.jinja`` file.

To know where each message and each trained block landed in the rendered text, the
template is rendered a second time with invisible private-use markers around every
message's content and every ``generation`` block; removing the markers again must give the
plain rendering character for character, otherwise the positions are found by searching.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.bundle import resources_dir

MESSAGE_OPEN, MESSAGE_CLOSE = "\ue000", "\ue001"
TRAINED_OPEN, TRAINED_CLOSE = "\ue002", "\ue003"
INDEX_BASE = 0xF0000  # message i is tagged with chr(INDEX_BASE + i) after MESSAGE_OPEN
MARKERS = frozenset((MESSAGE_OPEN, MESSAGE_CLOSE, TRAINED_OPEN, TRAINED_CLOSE))


class ChatTemplateError(Exception):
    """A template that cannot be read or rendered; the message says which and why."""


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template and the special tokens it writes."""

    key: str  # "chatml", "llama3", "mistral" or "custom"
    label: str
    source: str  # the Jinja text
    bos_token: str = ""
    eos_token: str = ""
    # Marker tokens a trainer adds to a tokenizer that lacks them (one token each).
    special_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundledTemplate:
    label: str
    file: str
    bos_token: str
    eos_token: str
    special_tokens: tuple[str, ...]


BUNDLED: dict[str, BundledTemplate] = {
    "mistral": BundledTemplate("Mistral [INST]", "mistral.jinja", "<s>", "</s>",
                               ("<s>", "</s>", "[INST]", "[/INST]")),
    "chatml": BundledTemplate("ChatML", "chatml.jinja", "", "<|im_end|>",
                              ("<|im_start|>", "<|im_end|>")),
    "llama3": BundledTemplate("Llama 3", "llama3.jinja", "<|begin_of_text|>", "<|eot_id|>",
                              ("<|begin_of_text|>", "<|start_header_id|>",
                               "<|end_header_id|>", "<|eot_id|>")),
}
DEFAULT_TEMPLATE = "mistral"


def bundled_template(key: str) -> ChatTemplate:
    spec = BUNDLED.get(key)
    if spec is None:
        raise ChatTemplateError(f"there is no bundled chat template '{key}'; "
                                f"choose one of {', '.join(BUNDLED)}")
    source = (resources_dir() / "chat_templates" / spec.file).read_text(encoding="utf-8")
    return ChatTemplate(key, spec.label, source, spec.bos_token, spec.eos_token,
                        spec.special_tokens)


def _token_text(value: Any) -> str:
    """``bos_token`` and friends are a string or ``{"content": ...}`` in tokenizer configs."""
    if isinstance(value, Mapping):
        value = value.get("content")
    return value if isinstance(value, str) else ""


def template_from_config(config: Mapping[str, Any], label: str) -> ChatTemplate:
    """The chat template of a ``tokenizer_config.json`` (its default one if it has several)."""
    raw = config.get("chat_template")
    if isinstance(raw, list):
        named = {item.get("name"): item.get("template") for item in raw
                 if isinstance(item, Mapping)}
        raw = named.get("default") or next(iter(named.values()), None)
    if not isinstance(raw, str) or not raw.strip():
        raise ChatTemplateError(
            f"{label} has no chat_template (a base model's tokenizer_config.json often has "
            "none): choose the tokenizer_config.json of the instruct or chat model, a .jinja "
            "template file, or one of the bundled templates")
    template = ChatTemplate("custom", label, raw, _token_text(config.get("bos_token")),
                            _token_text(config.get("eos_token")))
    compile_template(template)
    return template


class GenerationExtension(Extension):
    """``{% generation %}…{% endgeneration %}``: the trained part of an assistant turn."""

    tags = {"generation"}  # noqa: RUF012 (Jinja's own class attribute)

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        if not self.environment.globals.get("_mark_trained"):
            # Nothing to mark: the body in a scope of its own (what it sets stays inside,
            # as in a call block) without a macro call per turn, a sixth of a render.
            return nodes.Scope(body).set_lineno(lineno)
        call = self.call_method("_mark", [])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _mark(self, caller: Any) -> str:
        return f"{TRAINED_OPEN}{caller()}{TRAINED_CLOSE}"


def _raise(message: str) -> None:
    raise ChatTemplateError(f"the chat template refused the conversation: {message}")


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _environment(mark: bool) -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True,
        extensions=[GenerationExtension, "jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    env.globals["_mark_trained"] = mark
    return env


_PLAIN = _environment(False)
_MARKING = _environment(True)


def compile_template(template: ChatTemplate) -> tuple[jinja2.Template, jinja2.Template]:
    """The template compiled twice: plain, and marking the trained blocks."""
    try:
        return _PLAIN.from_string(template.source), _MARKING.from_string(template.source)
    except jinja2.TemplateSyntaxError as exc:
        raise ChatTemplateError(
            f"the chat template {template.label} is not valid Jinja (line {exc.lineno}: "
            f"{exc.message})") from None


@dataclass
class Rendered:
    """A rendered conversation and where its parts are in ``text`` (character offsets)."""

    text: str
    # (message index, start, end) of each message's content, in rendered order.
    messages: list[tuple[int, int, int]] = field(default_factory=list)
    # (start, end) of each {% generation %} block; empty when the template has none.
    trained: list[tuple[int, int]] = field(default_factory=list)


def _render(compiled: jinja2.Template, template: ChatTemplate,
            messages: Sequence[Mapping[str, Any]]) -> str:
    try:
        return compiled.render(messages=messages, bos_token=template.bos_token,
                               eos_token=template.eos_token, add_generation_prompt=False)
    except ChatTemplateError:
        raise
    except jinja2.TemplateError as exc:
        raise ChatTemplateError(
            f"the chat template {template.label} failed: {exc}") from None


class Renderer:
    """Renders conversations with one template (compiled once)."""

    def __init__(self, template: ChatTemplate) -> None:
        self.template = template
        self._plain, self._marking = compile_template(template)

    def text(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """What the trainer tokenizes."""
        return self.text_of(self.inputs(messages))

    def inputs(self, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """All a render reads of ``messages``: their roles and contents, cleaned."""
        return _clean(messages)

    def text_of(self, inputs: list[dict[str, Any]]) -> str:
        """``text`` of messages already made ``inputs``."""
        return _render(self._plain, self.template, inputs)

    @property
    def reads_the_clock(self) -> bool:
        """Whether the text can change with the date (``strftime_now``): then the same
        inputs do not always render the same text."""
        return "strftime_now" in self.template.source

    def render(self, messages: Sequence[Mapping[str, Any]]) -> Rendered:
        """The text plus the positions of every message and every trained block."""
        clean = _clean(messages)
        plain = _render(self._plain, self.template, clean)
        tagged = [{**m, "content": f"{MESSAGE_OPEN}{chr(INDEX_BASE + i)}{m['content']}"
                                    f"{MESSAGE_CLOSE}"}
                  for i, m in enumerate(clean)]
        result = _strip_markers(_render(self._marking, self.template, tagged))
        if result.text == plain and len(result.messages) == len(clean):
            return result
        # The template changed the content (trimmed it, say): find the texts instead.
        trained = _strip_markers(_render(self._marking, self.template, clean)).trained
        return Rendered(plain, _search(plain, clean), trained)


_RENDER_VERSION: list[bytes] = []


def render_version() -> bytes:
    """A fingerprint of what turns inputs into text besides the template: this module's
    source (or, in a bundle without sources, the app's version) and Jinja's version. A
    count known by its inputs (``app.token_lines``) is one of this version only."""
    if not _RENDER_VERSION:
        from app import __version__

        digest = hashlib.sha256(f"{__version__}\0{jinja2.__version__}".encode())
        with contextlib.suppress(OSError):  # a bundle: the app's version stands in
            digest.update(Path(__file__).read_bytes())
        _RENDER_VERSION.append(digest.digest()[:16])
    return _RENDER_VERSION[0]


def _clean(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as plain role/content dicts, with our marker characters removed."""
    def scrub(text: str) -> str:
        if (MESSAGE_OPEN in text or MESSAGE_CLOSE in text or TRAINED_OPEN in text
                or TRAINED_CLOSE in text):  # four plain scans: faster than a regex or any()
            return "".join(ch for ch in text if ch not in MARKERS)
        return text
    return [{"role": m["role"], "content": scrub(str(m["content"]))} for m in messages]


_MARKER = re.compile(f"{MESSAGE_OPEN}.?|[{MESSAGE_CLOSE}{TRAINED_OPEN}{TRAINED_CLOSE}]",
                     re.DOTALL)


def _strip_markers(marked: str) -> Rendered:
    """The text without markers, and where each marked part landed in it (only the
    markers are visited: a line is tens of thousands of characters)."""
    pieces: list[str] = []
    length = 0
    position = 0
    open_messages: list[tuple[int, int]] = []
    open_trained: list[int] = []
    result = Rendered("")
    for match in _MARKER.finditer(marked):
        piece = marked[position:match.start()]
        pieces.append(piece)
        length += len(piece)
        position = match.end()
        token = match.group()
        kept = ""  # a marker that opens or closes nothing stays as text
        if token[0] == MESSAGE_OPEN:
            if len(token) == 2:
                open_messages.append((ord(token[1]) - INDEX_BASE, length))
            else:
                kept = token
        elif token == MESSAGE_CLOSE:
            if open_messages:
                index, start = open_messages.pop()
                result.messages.append((index, start, length))
            else:
                kept = token
        elif token == TRAINED_OPEN:
            open_trained.append(length)
        elif open_trained:
            result.trained.append((open_trained.pop(), length))
        else:
            kept = token
        pieces.append(kept)
        length += len(kept)
    pieces.append(marked[position:])
    result.text = "".join(pieces)
    result.messages.sort(key=lambda item: item[1])
    result.trained.sort()
    return result


def _search(text: str, messages: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, int]]:
    """Positions of message texts found in order (stripped, as templates often trim)."""
    found = []
    cursor = 0
    for index, message in enumerate(messages):
        needle = str(message["content"]).strip()
        at = text.find(needle, cursor) if needle else -1
        if at < 0:
            at = text.find(needle) if needle else -1
        if at >= 0:
            found.append((index, at, at + len(needle)))
            cursor = at + len(needle)
    return sorted(found, key=lambda item: item[1])
