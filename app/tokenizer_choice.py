"""Which tokenizer and chat template a library counts with, kept in the library itself.

The choice is one row of the library's database (``library_tokenizer``, with a copy of a
user's ``tokenizer.json`` and chat template), so every member of a team library counts the
same way, the window and the command line agree, and a chosen file may later move or
vanish without breaking the library. Each stored count names the basis it was made with
(``conversations.token_basis``): after a change the old counts are simply not counts any
more, never mixed with new ones. With nothing chosen, the bundled Mistral 7B v0.3
tokenizer and its [INST] template are used.

Before the choice lived in the library it was kept in a folder on each computer
(``<library folder>/tokenizer/``; for a team library, this computer's own folder for it).
The first writer to open such a library carries that choice over (``carry_over``); a
reader never writes, and counts with the old folder's choice meanwhile.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, select, update
from tokenizers import Tokenizer

from app.chat_templates import (
    BUNDLED,
    DEFAULT_TEMPLATE,
    ChatTemplate,
    ChatTemplateError,
    bundled_template,
    compile_template,
    template_from_config,
)
from app.errors import LibraryError
from app.models import Conversation, LibraryTokenizer
from app.portable import insert_for
from app.stored_builds import every_file_owes_a_rebuild
from app.tokens import (
    BUNDLED_TOKENIZER_NAME,
    TokenCounter,
    bundled_tokenizer_path,
    counter_basis,
    file_sha256,
)

if TYPE_CHECKING:
    from app.library import Library

FOLDER = "tokenizer"  # the old per-computer folder (read only to carry its choice over)
SETTINGS = "settings.json"
TOKENIZER_FILE = "tokenizer.json"
TEMPLATE_FILE = "chat_template.jinja"
BUNDLED_KEY = "bundled"
CUSTOM_KEY = "custom"
ROW = 1  # the one row of library_tokenizer
NO_COUNTS = "-"  # a counts key no count carries: none of the stored counts is valid
CHOOSE_AGAIN = "choose it again in Settings ▸ Tokenizer and chat template"


@dataclass(frozen=True)
class TokenizerChoice:
    """The library's choice, complete: what it is called and what its counts carry."""

    tokenizer: str = BUNDLED_KEY  # "bundled" or "custom" (the copy in the library)
    tokenizer_name: str = BUNDLED_TOKENIZER_NAME
    template: str = DEFAULT_TEMPLATE  # a bundled template key, or "custom"
    template_name: str = ""
    bos_token: str = ""  # for a custom template
    eos_token: str = ""
    tokenizer_sha256: str = ""
    template_source: str = ""  # a custom template's text
    basis: str = ""  # the counting basis of this choice (``TokenCounter.basis``)
    # What the library's valid counts carry in ``token_basis``: the basis once the choice is
    # stored; for an old library not carried over yet, "" (its old counts) or NO_COUNTS.
    counts_key: str = ""
    stored: bool = True  # False: not in the library yet (read from this computer's folder)

    @property
    def is_default(self) -> bool:
        return self.tokenizer == BUNDLED_KEY and self.template == DEFAULT_TEMPLATE

    @property
    def template_label(self) -> str:
        if self.template == CUSTOM_KEY:
            return self.template_name or "your template"
        return BUNDLED.get(self.template, BUNDLED[DEFAULT_TEMPLATE]).label

    def describe(self) -> str:
        """``tokenizer`` with ``template``, as sentences name the choice."""
        return f"{self.tokenizer_name} with the {self.template_label} chat template"


@functools.cache
def bundled_sha256() -> str:
    return file_sha256(bundled_tokenizer_path())


def _template(choice: TokenizerChoice) -> ChatTemplate:
    if choice.template != CUSTOM_KEY:
        return bundled_template(choice.template if choice.template in BUNDLED
                                else DEFAULT_TEMPLATE)
    return ChatTemplate(CUSTOM_KEY, choice.template_name or "your template",
                        choice.template_source, choice.bos_token, choice.eos_token)


def chosen_template(library: Library) -> ChatTemplate:
    """The chat template the library counts tokens with (the trainer recipes train with it
    too, so what is trained is what was counted)."""
    return _template(load_choice(library))


def _complete(choice: TokenizerChoice, tokenizer_json: bytes | None) -> TokenizerChoice:
    """The choice with its tokenizer's digest and its counting basis filled in."""
    sha = (hashlib.sha256(tokenizer_json).hexdigest() if choice.tokenizer == CUSTOM_KEY
           and tokenizer_json is not None else bundled_sha256())
    try:
        basis = counter_basis(sha, _template(choice))
    except ChatTemplateError as exc:
        raise LibraryError(str(exc)) from None
    return replace(choice, tokenizer_sha256=sha, basis=basis, counts_key=basis)


# --- the old per-computer folder --------------------------------------------------------


@dataclass(frozen=True)
class LegacyChoice:
    """The choice this computer kept in ``<folder>/tokenizer/`` before it moved into the
    library, with the basis the library's counts were made with then."""

    choice: TokenizerChoice
    tokenizer_json: bytes | None
    counted_with: str
    problem: str = ""  # why part of it could not be carried over ("" = all of it)


def legacy_choice(root: Path) -> LegacyChoice:
    folder = root / FOLDER
    try:
        data: Any = orjson.loads((folder / SETTINGS).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        data = {}  # none (or a damaged one): the bundled choice
    if not isinstance(data, dict):
        data = {}
    known = ("tokenizer", "tokenizer_name", "template", "template_name", "bos_token",
             "eos_token")
    choice = replace(TokenizerChoice(), **{k: str(data[k]) for k in known if k in data})  # type: ignore[arg-type]
    problems: list[str] = []
    tokenizer_json: bytes | None = None
    if choice.tokenizer == CUSTOM_KEY:
        try:
            tokenizer_json = (folder / TOKENIZER_FILE).read_bytes()
        except OSError as exc:
            problems.append(f"the tokenizer {folder / TOKENIZER_FILE} cannot be read "
                            f"({exc.strerror or exc})")
            choice = replace(choice, tokenizer=BUNDLED_KEY,
                             tokenizer_name=BUNDLED_TOKENIZER_NAME)
    if choice.template == CUSTOM_KEY:
        try:
            choice = replace(choice, template_source=(folder / TEMPLATE_FILE).read_text(
                encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"the chat template {folder / TEMPLATE_FILE} cannot be read "
                            f"({getattr(exc, 'strerror', None) or exc})")
            choice = replace(choice, template=DEFAULT_TEMPLATE, template_name="",
                             bos_token="", eos_token="")
    counted_with = str(data.get("counted_with", "")) if not problems else ""
    try:
        complete = _complete(choice, tokenizer_json)
    except LibraryError as exc:
        problems.append(str(exc))
        complete, tokenizer_json, counted_with = _complete(TokenizerChoice(), None), None, ""
    return LegacyChoice(complete, tokenizer_json, counted_with, "; ".join(problems))


# --- the choice in the library ----------------------------------------------------------

_COLUMNS = (LibraryTokenizer.tokenizer, LibraryTokenizer.tokenizer_name,
            LibraryTokenizer.template, LibraryTokenizer.template_name,
            LibraryTokenizer.bos_token, LibraryTokenizer.eos_token,
            LibraryTokenizer.tokenizer_sha256, LibraryTokenizer.template_source,
            LibraryTokenizer.basis)


def load_choice(library: Library) -> TokenizerChoice:
    """The library's choice (for an old library not carried over yet, this computer's)."""
    with library.engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(LibraryTokenizer.id == ROW)).first()
    if row is None:
        legacy = legacy_choice(library.root)
        key = "" if legacy.counted_with == legacy.choice.basis else NO_COUNTS
        return replace(legacy.choice, counts_key=key, stored=False)
    (tokenizer, tokenizer_name, template, template_name, bos, eos, sha, source,
     basis) = row
    return TokenizerChoice(tokenizer, tokenizer_name, template, template_name, bos, eos, sha,
                           source or "", basis, basis, True)


def tokenizer_json(library: Library, choice: TokenizerChoice) -> bytes | None:
    """A custom choice's tokenizer.json (None: the bundled one)."""
    if choice.tokenizer != CUSTOM_KEY:
        return None
    if not choice.stored:
        return legacy_choice(library.root).tokenizer_json
    with library.engine.connect() as conn:
        return conn.scalar(select(LibraryTokenizer.tokenizer_json)
                           .where(LibraryTokenizer.id == ROW))


def _values(choice: TokenizerChoice, tokenizer_json: bytes | None) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {"id": ROW, "tokenizer": choice.tokenizer, "tokenizer_name": choice.tokenizer_name,
            "tokenizer_sha256": choice.tokenizer_sha256, "tokenizer_json": tokenizer_json,
            "template": choice.template, "template_name": choice.template_name,
            "template_source": choice.template_source or None,
            "bos_token": choice.bos_token, "eos_token": choice.eos_token,
            "basis": choice.basis, "changed_at": now}


def store_choice(conn: Connection, choice: TokenizerChoice, tokenizer_json: bytes | None,
                 *, replace_existing: bool = True, old_counts_valid: bool = False) -> bool:
    """Write ``choice`` as the library's, in the caller's transaction; False when one was
    there already and ``replace_existing`` is off. ``old_counts_valid``: counts from before
    the choice lived in the library (``token_basis`` "") were made with it."""
    values = _values(choice, tokenizer_json)
    insert = insert_for(conn, LibraryTokenizer).values(**values)
    if replace_existing:
        insert = insert.on_conflict_do_update(
            index_elements=[LibraryTokenizer.id],
            set_={k: v for k, v in values.items() if k != "id"})
    else:
        insert = insert.on_conflict_do_nothing()
    if not conn.execute(insert).rowcount:
        return False
    if old_counts_valid:
        conn.execute(update(Conversation)
                     .where(Conversation.token_basis == "", Conversation.token_count != 0)
                     .values(token_basis=choice.basis))
    return True


def carry_over(library: Library) -> str:
    """Store this computer's old choice in a library that has none yet (the first writer to
    open it after the upgrade); the sentence to show once when it matters, else ""."""
    if library.read_only:
        return ""
    legacy = legacy_choice(library.root)
    with library.engine.begin() as conn:
        stored = store_choice(conn, legacy.choice, legacy.tokenizer_json,
                              replace_existing=False,
                              old_counts_valid=legacy.counted_with == legacy.choice.basis)
    if not stored:
        return ""  # another member carried theirs over first
    notes = []
    if legacy.problem:
        notes.append(f"Your earlier tokenizer choice could not be carried over whole "
                     f"({legacy.problem}).")
    if library.is_team and (not legacy.choice.is_default or legacy.problem):
        notes.append(f"This team library had no tokenizer choice yet: it now counts tokens "
                     f"with {legacy.choice.describe()} (this computer's choice until now), "
                     "for every member. Settings ▸ Tokenizer and chat template changes it "
                     "for everyone.")
    elif legacy.problem:
        notes.append(f"The library counts tokens with {legacy.choice.describe()}; "
                     f"{CHOOSE_AGAIN}.")
    return " ".join(notes)


_cache_lock = threading.Lock()
_counters: dict[tuple[str, ...], TokenCounter] = {}


def _load_tokenizer_bytes(tokenizer_json: bytes | None, where: str) -> Tokenizer:
    try:
        if tokenizer_json is None:
            return Tokenizer.from_file(str(bundled_tokenizer_path()))
        return Tokenizer.from_buffer(tokenizer_json)
    except Exception as exc:  # the tokenizers library raises plain Exceptions
        raise LibraryError(f"the tokenizer {where} cannot be loaded "
                           f"({str(exc).strip()[:200]}); {CHOOSE_AGAIN}") from None


def _where(library: Library, choice: TokenizerChoice) -> str:
    if choice.tokenizer != CUSTOM_KEY:
        return str(bundled_tokenizer_path())
    return f"{choice.tokenizer_name} (kept in {library.display})"


def _cached(key: tuple[str, ...], make: Any) -> TokenCounter:
    with _cache_lock:
        counter = _counters.get(key)
        if counter is None:
            try:
                counter = make()
            except ChatTemplateError as exc:
                raise LibraryError(str(exc)) from None
            _counters[key] = counter
        return counter


def _counter_key(choice: TokenizerChoice) -> tuple[str, ...]:
    return ("library", choice.tokenizer_sha256, choice.basis, choice.tokenizer_name,
            choice.template_label)


def _counter(choice: TokenizerChoice, tokenizer_json: bytes | None, where: str) -> TokenCounter:
    return TokenCounter(_load_tokenizer_bytes(tokenizer_json, where), _template(choice),
                        tokenizer_name=choice.tokenizer_name,
                        tokenizer_sha256=choice.tokenizer_sha256)


def warm_default_counter() -> None:
    """Build the default choice's counter ahead, as the spare child does while it waits
    for a job (``app.job_process.keep_spare``): loading the bundled tokenizer and compiling
    the template took most of a job's first count (an add's plan counts). Only the
    default's: another choice is kept in its library, which a waiting spare never opens."""
    choice = _complete(TokenizerChoice(), None)
    _cached(_counter_key(choice),
            lambda: _counter(choice, None, str(bundled_tokenizer_path())))


class _ChoiceChanged(Exception):
    """The tokenizer read is not the one the choice read a moment before names."""


def _matching_json(library: Library, choice: TokenizerChoice) -> bytes | None:
    """``tokenizer_json``, checked against the digest the choice records: counts are
    stored under the choice's basis, so they must be made with exactly that tokenizer."""
    data = tokenizer_json(library, choice)
    if data is not None and hashlib.sha256(data).hexdigest() != choice.tokenizer_sha256:
        raise _ChoiceChanged
    return data


def counting(library: Library) -> tuple[TokenizerChoice, TokenCounter]:
    """The library's choice and its counter, read together (a counter is built once per
    choice and reused: loading a tokenizer takes ~0.3 s). If another member changes the
    choice between the two reads, they are read again."""
    for _attempt in range(3):
        choice = load_choice(library)

        def make(choice: TokenizerChoice = choice) -> TokenCounter:
            return _counter(choice, _matching_json(library, choice), _where(library, choice))

        try:
            return choice, _cached(_counter_key(choice), make)
        except _ChoiceChanged:
            continue
    raise LibraryError(f"the tokenizer {choice.tokenizer_name} kept in {library.display} "
                       "does not match what the library records for it (damaged, or another "
                       f"member is changing it right now): try again in a moment, or "
                       f"{CHOOSE_AGAIN}")


def counter_for(library: Library) -> TokenCounter:
    """The library's counter."""
    return counting(library)[1]


def counter_with_template(library: Library, template_key: str) -> TokenCounter:
    """The library's tokenizer with one of the bundled templates (to compare templates);
    built once per tokenizer and template."""
    choice = load_choice(library)

    def make() -> TokenCounter:
        tokenizer = _load_tokenizer_bytes(tokenizer_json(library, choice),
                                          _where(library, choice))
        return TokenCounter(tokenizer, bundled_template(template_key),
                            tokenizer_name=choice.tokenizer_name,
                            tokenizer_sha256=choice.tokenizer_sha256)

    return _cached(("template", choice.tokenizer_sha256, choice.tokenizer_name, template_key),
                   make)


def check_tokenizer_file(path: Path) -> Tokenizer:
    """Load a user's ``tokenizer.json`` or say why it is not one."""
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:
        raise LibraryError(
            f"{path} is not a Hugging Face tokenizer.json ({str(exc).strip()[:200]}). Choose "
            "the tokenizer.json that comes with your base model.") from None


# What to do when a chosen template file cannot be one.
TEMPLATE_FILE_ADVICE = ("Choose the tokenizer_config.json that comes with your base model or "
                        "a .jinja chat template file, or use a bundled template.")


def read_template_file(path: Path) -> ChatTemplate:
    """A chat template from a ``tokenizer_config.json`` or a Jinja file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"{path} cannot be read: {exc.strerror or exc}; check that the "
                           "file is there and that you may read it, or choose another "
                           "template file") from None
    try:
        if path.suffix.lower() == ".json":
            try:
                config: Any = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise LibraryError(f"{path} is not valid JSON ({exc}), so no chat template "
                                   f"can be read from it. {TEMPLATE_FILE_ADVICE}") from None
            if not isinstance(config, dict):
                raise LibraryError(f"{path} is not a tokenizer_config.json (that holds a JSON "
                                   f"object). {TEMPLATE_FILE_ADVICE}")
            return template_from_config(config, path.name)
        template = ChatTemplate(CUSTOM_KEY, path.name, raw.decode("utf-8"))
        compile_template(template)
        return template
    except ChatTemplateError as exc:
        raise LibraryError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise LibraryError(f"{path} is not a UTF-8 text file, so it is not a chat "
                           f"template. {TEMPLATE_FILE_ADVICE}") from None


SAMPLE_CONVERSATION = (
    {"role": "system", "content": "You are a calm, precise financial planner."},
    {"role": "user", "content": "Should I pay off my car loan early?"},
    {"role": "assistant", "content": "First, let's look at the interest rate on the loan."},
    {"role": "user", "content": "It is 6.9 percent."},
    {"role": "assistant", "content": "Then paying it early is a good, safe return."},
)


def check_counter(counter: TokenCounter, source: str) -> None:
    """A tokenizer + template pair must render a sample conversation like ours (a system
    prompt, then client and consultant turns) and train on the consultant's replies;
    ``source`` names the file the template came from in the message."""
    try:
        shown = counter.as_trained(SAMPLE_CONVERSATION)
    except ChatTemplateError as exc:
        raise LibraryError(f"{source}: {exc}. Choose a chat template that accepts a system "
                           "message followed by user and assistant turns") from None
    except Exception as exc:  # a template may fail in ways Jinja does not classify
        raise LibraryError(f"{source}: the chat template cannot render a sample "
                           f"conversation ({str(exc).strip()[:200]})") from None
    replies = [str(m["content"]) for m in SAMPLE_CONVERSATION if m["role"] == "assistant"]
    missing = [reply for reply in replies if reply not in shown.text]
    if missing:
        raise LibraryError(f"{source}: the chat template does not write the assistant's "
                           "replies (no assistant role), so nothing would be trained")
    if not shown.trained_total:
        raise LibraryError(f"{source}: no token of the assistant's replies would be "
                           "trained with this chat template")
    if str(SAMPLE_CONVERSATION[0]["content"]) not in shown.text:
        # Mistral 7B v0.3's own template is one: it writes the system message only before
        # the last client turn, and a training line always ends on a reply.
        raise LibraryError(f"{source}: the chat template leaves the system message out of a "
                           "conversation that ends on a reply, so the system prompt (the "
                           "persona, arc and session) would never reach the trainer. Choose "
                           "a template that writes it at the start, such as the bundled "
                           "Mistral [INST] one, and train with that same template")


def candidate_counter(library: Library, *, tokenizer_file: Path | None = None,
                      bundled_tokenizer: bool = False, template: str | None = None,
                      template_file: Path | None = None) -> TokenCounter:
    """The counter a change would give, checked on a sample conversation; nothing is
    saved. Raises ``LibraryError`` naming the file and the reason."""
    return _candidate(library, tokenizer_file=tokenizer_file,
                      bundled_tokenizer=bundled_tokenizer, template=template,
                      template_file=template_file)[2]


def _candidate(library: Library, *, tokenizer_file: Path | None, bundled_tokenizer: bool,
               template: str | None, template_file: Path | None
               ) -> tuple[TokenizerChoice, bytes | None, TokenCounter]:
    """The choice a change gives (complete), its tokenizer.json, and its counter."""
    if template is not None and template not in BUNDLED:
        raise LibraryError(f"unknown chat template '{template}': use one of "
                           f"{', '.join(BUNDLED)} or your own file")
    current = load_choice(library)
    changes: dict[str, Any] = {}
    if tokenizer_file is not None:
        tokenizer = check_tokenizer_file(tokenizer_file)
        try:
            data: bytes | None = tokenizer_file.read_bytes()
        except OSError as exc:
            raise LibraryError(f"{tokenizer_file} cannot be read: {exc.strerror or exc}"
                               ) from None
        name = (f"{tokenizer_file.parent.name}/{tokenizer_file.name}"
                if tokenizer_file.parent.name else tokenizer_file.name)
        changes |= {"tokenizer": CUSTOM_KEY, "tokenizer_name": name}
    elif bundled_tokenizer or current.tokenizer != CUSTOM_KEY:
        data = None
        tokenizer = _load_tokenizer_bytes(None, str(bundled_tokenizer_path()))
        changes |= {"tokenizer": BUNDLED_KEY, "tokenizer_name": BUNDLED_TOKENIZER_NAME}
    else:
        data = tokenizer_json(library, current)
        tokenizer = _load_tokenizer_bytes(data, _where(library, current))
    if template_file is not None:
        chosen, source = read_template_file(template_file), str(template_file)
        changes |= {"template": CUSTOM_KEY, "template_name": chosen.label,
                    "template_source": chosen.source, "bos_token": chosen.bos_token,
                    "eos_token": chosen.eos_token}
    elif template is not None:
        chosen, source = bundled_template(template), f"the bundled {BUNDLED[template].label}"
        changes |= {"template": template, "template_name": "", "template_source": "",
                    "bos_token": "", "eos_token": ""}
    else:
        chosen, source = _template(current), "the chat template in use"
    choice = _complete(replace(current, **changes), data)
    try:
        counter = TokenCounter(tokenizer, chosen, tokenizer_name=choice.tokenizer_name,
                               tokenizer_sha256=choice.tokenizer_sha256)
    except ChatTemplateError as exc:
        raise LibraryError(f"{source}: {exc}") from None
    check_counter(counter, source)
    return choice, data, counter


def choose(library: Library, *, tokenizer_file: Path | None = None,
           bundled_tokenizer: bool = False, template: str | None = None,
           template_file: Path | None = None) -> TokenizerChoice:
    """Change the library's choice (for every member of a team library): every file is
    checked, and the pair must render a sample conversation, before anything is stored.
    Counts made with the old choice stay stored but no longer count (``token_basis``);
    every training file owes a rebuild with the new one, recorded with it
    (``app.stored_builds.OWED``), so a rebuild cancelled or dropped is finished later."""
    if library.read_only:
        raise LibraryError(f"{library.display} is open only for reading: its tokenizer and "
                           "chat template can be changed only where it is opened for "
                           "writing.")
    choice, data, _counter = _candidate(
        library, tokenizer_file=tokenizer_file, bundled_tokenizer=bundled_tokenizer,
        template=template, template_file=template_file)
    with library.engine.begin() as conn:
        before = conn.scalar(select(LibraryTokenizer.basis).where(LibraryTokenizer.id == ROW))
        store_choice(conn, choice, data)
        if before != choice.basis:  # their token counts and headers name the old one
            every_file_owes_a_rebuild(conn)
    return replace(choice, stored=True)
