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


def counter_for(root: Path) -> TokenCounter:
    """The library's counter (built once per choice and reused: loading takes ~0.3 s)."""
    choice = load_choice(root)
    if choice.tokenizer == CUSTOM_KEY:
        tokenizer_path = folder(root) / TOKENIZER_FILE
        name = choice.tokenizer_name or "your tokenizer.json"
    else:
        tokenizer_path, name = bundled_tokenizer_path(), BUNDLED_TOKENIZER_NAME
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


def choose(root: Path, *, tokenizer_file: Path | None = None, bundled_tokenizer: bool = False,
           template: str | None = None, template_file: Path | None = None) -> TokenizerChoice:
    """Change the library's choice; every file is checked before anything is replaced."""
    choice = load_choice(root)
    changes: dict[str, str] = {}
    new_tokenizer = check_tokenizer_file(tokenizer_file) if tokenizer_file else None
    new_template = read_template_file(template_file) if template_file else None
    if template is not None and template not in BUNDLED:
        raise LibraryError(f"unknown chat template '{template}': use one of "
                           f"{', '.join(BUNDLED)} or your own file")
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

