"""Which tokenizer and chat template a library counts with, kept in the library folder.

The choice lives in ``<library>/tokenizer/`` (``settings.json`` plus copies of the user's
``tokenizer.json`` and chat template), so the window and the command line count the same
way and a chosen file may later move or vanish without breaking the library. With nothing
chosen, the bundled Mistral 7B v0.3 tokenizer and its [INST] template are used.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
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
from app.jsonio import atomic_writer
from app.tokens import (
    BUNDLED_TOKENIZER_NAME,
    TokenCounter,
    bundled_tokenizer_path,
    file_sha256,
)

FOLDER = "tokenizer"
SETTINGS = "settings.json"
TOKENIZER_FILE = "tokenizer.json"
TEMPLATE_FILE = "chat_template.jinja"
BUNDLED_KEY = "bundled"
CUSTOM_KEY = "custom"


@dataclass(frozen=True)
class TokenizerChoice:
    tokenizer: str = BUNDLED_KEY  # "bundled" or "custom" (the copy in the folder)
    tokenizer_name: str = BUNDLED_TOKENIZER_NAME
    template: str = DEFAULT_TEMPLATE  # a bundled template key, or "custom"
    template_name: str = ""
    bos_token: str = ""  # for a custom template
    eos_token: str = ""
    counted_with: str = ""  # the counter basis that conversations.token_count was made with


def folder(root: Path) -> Path:
    return root / FOLDER


def load_choice(root: Path) -> TokenizerChoice:
    path = folder(root) / SETTINGS
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return TokenizerChoice()
    except (OSError, orjson.JSONDecodeError):
        return TokenizerChoice()  # a damaged settings file falls back to the bundled choice
    known = TokenizerChoice.__dataclass_fields__
    return TokenizerChoice(**{k: str(v) for k, v in data.items() if k in known})


def save_choice(root: Path, choice: TokenizerChoice) -> None:
    path = folder(root) / SETTINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as handle:
        handle.write(orjson.dumps(asdict(choice), option=orjson.OPT_INDENT_2))


def _template(root: Path, choice: TokenizerChoice) -> ChatTemplate:
    if choice.template != CUSTOM_KEY:
        return bundled_template(choice.template if choice.template in BUNDLED
                                else DEFAULT_TEMPLATE)
    path = folder(root) / TEMPLATE_FILE
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LibraryError(f"the chosen chat template {path} cannot be read ({exc}); choose "
                           "it again in Settings ▸ Tokenizer and chat template") from None
    return ChatTemplate(CUSTOM_KEY, choice.template_name or "your template", source,
                        choice.bos_token, choice.eos_token)


_cache_lock = threading.Lock()
_counters: dict[tuple[str, ...], TokenCounter] = {}


def tokenizer_in_use(root: Path, choice: TokenizerChoice | None = None) -> tuple[Path, str]:
    """The tokenizer.json a library counts with, and the name it is shown under."""
    choice = choice or load_choice(root)
    if choice.tokenizer == CUSTOM_KEY:
        return folder(root) / TOKENIZER_FILE, choice.tokenizer_name or "your tokenizer.json"
    return bundled_tokenizer_path(), BUNDLED_TOKENIZER_NAME


def counter_for(root: Path) -> TokenCounter:
    """The library's counter (built once per choice and reused: loading takes ~0.3 s)."""
    choice = load_choice(root)
    tokenizer_path, name = tokenizer_in_use(root, choice)
    try:
        stamp = str(tokenizer_path.stat().st_mtime_ns)
        template_path = folder(root) / TEMPLATE_FILE
        if choice.template == CUSTOM_KEY and template_path.exists():
            stamp += f":{template_path.stat().st_mtime_ns}"
    except OSError as exc:
        raise LibraryError(f"the tokenizer {tokenizer_path} cannot be read ({exc}); choose "
                           "it again in Settings ▸ Tokenizer and chat template") from None
    key = (str(tokenizer_path), stamp, *(str(v) for v in asdict(choice).values()
                                         if v != choice.counted_with))
    with _cache_lock:
        counter = _counters.get(key)
        if counter is None:
            try:
                counter = TokenCounter.from_file(tokenizer_path, _template(root, choice), name)
            except ChatTemplateError as exc:
                raise LibraryError(str(exc)) from None
            except Exception as exc:  # the tokenizers library raises plain Exceptions
                raise LibraryError(f"the tokenizer {tokenizer_path} cannot be loaded: {exc}"
                                   ) from None
            _counters[key] = counter
        return counter


def counter_with_template(root: Path, template_key: str) -> TokenCounter:
    """The library's tokenizer with one of the bundled templates (to compare templates);
    built once per tokenizer and template."""
    tokenizer_path, name = tokenizer_in_use(root)
    try:
        key = (str(tokenizer_path), str(tokenizer_path.stat().st_mtime_ns), template_key)
    except OSError as exc:
        raise LibraryError(f"the tokenizer {tokenizer_path} cannot be read ({exc}); choose "
                           "it again in Settings ▸ Tokenizer and chat template") from None
    with _cache_lock:
        counter = _counters.get(key)
        if counter is None:
            try:
                counter = TokenCounter.from_file(tokenizer_path, bundled_template(template_key),
                                                 name)
            except ChatTemplateError as exc:
                raise LibraryError(str(exc)) from None
            _counters[key] = counter
        return counter


def check_tokenizer_file(path: Path) -> Tokenizer:
    """Load a user's ``tokenizer.json`` or say why it is not one."""
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:
        raise LibraryError(
            f"{path} is not a Hugging Face tokenizer.json ({str(exc).strip()[:200]}). Choose "
            "the tokenizer.json that comes with your base model.") from None


def read_template_file(path: Path) -> ChatTemplate:
    """A chat template from a ``tokenizer_config.json`` or a Jinja file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            try:
                config: Any = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise LibraryError(f"{path} is not valid JSON: {exc}") from None
            if not isinstance(config, dict):
                raise LibraryError(f"{path} is not a tokenizer_config.json")
            return template_from_config(config, path.name)
        template = ChatTemplate(CUSTOM_KEY, path.name, raw.decode("utf-8"))
        compile_template(template)
        return template
    except ChatTemplateError as exc:
        raise LibraryError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise LibraryError(f"{path} is not a UTF-8 text file") from None


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


def candidate_counter(root: Path, *, tokenizer_file: Path | None = None,
                      bundled_tokenizer: bool = False, template: str | None = None,
                      template_file: Path | None = None) -> TokenCounter:
    """The counter a change would give, checked on a sample conversation; nothing is
    saved. Raises ``LibraryError`` naming the file and the reason."""
    if template is not None and template not in BUNDLED:
        raise LibraryError(f"unknown chat template '{template}': use one of "
                           f"{', '.join(BUNDLED)} or your own file")
    choice = load_choice(root)
    if tokenizer_file is not None:
        tokenizer = check_tokenizer_file(tokenizer_file)
        path, name = tokenizer_file, tokenizer_file.name
    else:
        path, name = _tokenizer_file(root, choice, bundled_tokenizer)
        tokenizer = _load_tokenizer(path)
    if template_file is not None:
        chosen, source = read_template_file(template_file), str(template_file)
    elif template is not None:
        chosen, source = bundled_template(template), f"the bundled {BUNDLED[template].label}"
    else:
        chosen, source = _template(root, choice), "the chat template in use"
    try:
        counter = TokenCounter(tokenizer, chosen, tokenizer_name=name,
                               tokenizer_sha256=file_sha256(path))
    except ChatTemplateError as exc:
        raise LibraryError(f"{source}: {exc}") from None
    check_counter(counter, source)
    return counter


def _tokenizer_file(root: Path, choice: TokenizerChoice, bundled: bool) -> tuple[Path, str]:
    if bundled:
        return bundled_tokenizer_path(), BUNDLED_TOKENIZER_NAME
    return tokenizer_in_use(root, choice)


def _load_tokenizer(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:
        raise LibraryError(f"the tokenizer {path} cannot be loaded ({str(exc).strip()[:200]});"
                           " choose it again in Settings ▸ Tokenizer and chat template"
                           ) from None


def choose(root: Path, *, tokenizer_file: Path | None = None, bundled_tokenizer: bool = False,
           template: str | None = None, template_file: Path | None = None) -> TokenizerChoice:
    """Change the library's choice; every file is checked (and the pair must render a sample
    conversation) before anything is replaced."""
    candidate_counter(root, tokenizer_file=tokenizer_file, bundled_tokenizer=bundled_tokenizer,
                      template=template, template_file=template_file)
    choice = load_choice(root)
    changes: dict[str, str] = {}
    new_tokenizer = check_tokenizer_file(tokenizer_file) if tokenizer_file else None
    new_template = read_template_file(template_file) if template_file else None
    target = folder(root)
    target.mkdir(parents=True, exist_ok=True)
    if new_tokenizer is not None and tokenizer_file is not None:
        with atomic_writer(target / TOKENIZER_FILE) as handle:
            handle.write(tokenizer_file.read_bytes())
        changes |= {"tokenizer": CUSTOM_KEY, "tokenizer_name": tokenizer_file.parent.name
                    + "/" + tokenizer_file.name if tokenizer_file.parent.name
                    else tokenizer_file.name}
    elif bundled_tokenizer:
        changes |= {"tokenizer": BUNDLED_KEY, "tokenizer_name": BUNDLED_TOKENIZER_NAME}
        with contextlib.suppress(OSError):
            (target / TOKENIZER_FILE).unlink()
    if new_template is not None:
        with atomic_writer(target / TEMPLATE_FILE) as handle:
            handle.write(new_template.source.encode("utf-8"))
        changes |= {"template": CUSTOM_KEY, "template_name": new_template.label,
                    "bos_token": new_template.bos_token, "eos_token": new_template.eos_token}
    elif template is not None:
        changes |= {"template": template, "template_name": "", "bos_token": "",
                    "eos_token": ""}
    updated = TokenizerChoice(**(asdict(choice) | changes))
    save_choice(root, updated)
    return updated

