"""Exact token counts: the rendered chat template, counted by the real tokenizer library."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import jinja2
import orjson
import pytest
from conftest import ENRICHED, LEGACY
from sqlalchemy import select
from stored import stored_files
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

from app.build import write_records
from app.chat_templates import BUNDLED, ChatTemplate, bundled_template
from app.cli import main as cli_main
from app.errors import LibraryError
from app.jsonl import jsonl_lines
from app.library import Library
from app.loader import load_conversation_file
from app.models import Conversation
from app.schemas import JSONL_SCHEMA, load_schema
from app.token_counts import count_missing, ensure_counts, over_budget, uncounted
from app.token_lines import percentile
from app.tokenizer_choice import choose, counter_for, load_choice
from app.tokens import TokenCounter, bundled_tokenizer_path, default_counter
from app.trainingfiles import add_conversations, header, set_max_seq_len

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "chat_templates"


def records() -> list[dict[str, Any]]:
    return [load_conversation_file(p, "b") for p in ENRICHED + LEGACY]


def line_messages() -> list[list[dict[str, Any]]]:
    return [line["messages"] for r in records() for line in jsonl_lines(r, "t")]


def independent_count(template_key: str, messages: list[dict[str, Any]]) -> tuple[str, int]:
    """Render with plain Jinja (as transformers does) and count with a fresh tokenizer."""
    spec = BUNDLED[template_key]
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True,
                             extensions=["jinja2.ext.loopcontrols"])
    source = (TEMPLATES / spec.file).read_text(encoding="utf-8")
    source = re.sub(r"\{%-? *(end)?generation *-?%\}", "", source)
    text = env.from_string(source).render(messages=messages, bos_token=spec.bos_token,
                                          eos_token=spec.eos_token)
    tokenizer = Tokenizer.from_file(str(bundled_tokenizer_path()))
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in spec.special_tokens
                                  if tokenizer.token_to_id(t) is None])
    return text, len(tokenizer.encode(text, add_special_tokens=False).ids)


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_counts_equal_the_tokenizer_librarys_own_count(key: str) -> None:
    counter = TokenCounter.from_file(bundled_tokenizer_path(), bundled_template(key))
    lines = line_messages()
    counts = counter.count_many(lines)
    for messages, count in zip(lines, counts, strict=True):
        text, expected = independent_count(key, messages)
        assert counter.text(messages) == text
        assert count == expected == counter.count(messages)
        assert 200 < count < 10_000  # real conversations: hundreds to thousands of tokens


def test_markers_are_single_tokens_and_every_message_is_rendered() -> None:
    counter = default_counter()
    messages = line_messages()[0]
    text = counter.text(messages)
    assert text.startswith("<s>[INST] " + messages[0]["content"][:40])
    for message in messages:
        assert message["content"] in text
    ids = counter.tokenizer.encode(text, add_special_tokens=False).ids
    users = sum(1 for m in messages if m["role"] == "user")
    assert ids.count(counter.tokenizer.token_to_id("[INST]")) == users
    assert ids.count(counter.tokenizer.token_to_id("</s>")) == sum(
        1 for m in messages if m["role"] == "assistant")


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.95) == 0
    assert percentile([7], 0.95) == 7
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3


def test_every_jsonl_line_and_the_header_carry_exact_counts(tmp_path: Path) -> None:
    recs = records()
    result = write_records(tmp_path / "f.json", tmp_path / "f.jsonl", name="f", records=recs,
                           created_at="2026-01-01T00:00:00Z",
                           updated_at="2026-01-01T00:00:00Z", max_seq_len=2000)
    lines = [orjson.loads(raw) for raw in (tmp_path / "f.jsonl").read_bytes().splitlines()]
    counter = default_counter()
    counts = [line["metadata"]["token_count"] for line in lines]
    assert counts == [independent_count("mistral", line["messages"])[1] for line in lines]
    assert counts == [counter.count(line["messages"]) for line in lines]
    tokens = orjson.loads((tmp_path / "f.json").read_bytes())["training_file_metadata"]["tokens"]
    assert tokens == result.header["tokens"]
    assert tokens["tokenizer"] == "Mistral 7B v0.3 (bundled)"
    assert tokens["chat_template"] == "Mistral [INST]"
    assert re.fullmatch(r"[0-9a-f]{64}", tokens["tokenizer_sha256"])
    assert tokens["total"] == sum(counts)
    assert tokens["max"] == max(counts)
    assert tokens["p95"] == sorted(counts)[-1 if len(counts) < 20 else int(0.95 * len(counts))]
    assert tokens["max_seq_len"] == 2000
    assert tokens["lines_over_max_seq_len"] == sum(1 for n in counts if n > 2000) > 0
    import jsonschema
    line_schema = load_schema(JSONL_SCHEMA)
    for line in lines:
        jsonschema.validate(line, line_schema)


def test_library_counts_fill_in_and_match_the_build(filled_library: Library) -> None:
    with closing(sqlite3.connect(filled_library.db_path)) as conn:
        assert {n for (n,) in conn.execute("SELECT token_count FROM conversations")} == {0}
    counts = ensure_counts(filled_library)
    with closing(sqlite3.connect(filled_library.db_path)) as conn:
        stored = dict(conn.execute("SELECT conversation_id, token_count FROM conversations"))
    assert stored == counts
    with_replies = [row.conversation_id for row in filled_library.summaries()
                    if row.trainable_replies]
    # Lines written whole, so each is the conversation's line the library counted.
    info = add_conversations(filled_library, "T", with_replies, create=True,
                             over_budget="keep")
    for raw in stored_files(filled_library, info.name).jsonl_path.read_bytes().splitlines():
        meta = orjson.loads(raw)["metadata"]
        assert meta["token_count"] == counts[meta["conversation_id"]] > 0
    rows = {row.conversation_id: row for row in filled_library.summaries()}
    assert all(rows[cid].token_count == counts[cid] for cid in with_replies)


def test_a_new_template_recounts_everything(filled_library: Library) -> None:
    before = ensure_counts(filled_library)
    choose(filled_library, template="chatml")
    after = ensure_counts(filled_library)
    choice = load_choice(filled_library)
    assert choice.stored and choice.basis == counter_for(filled_library).basis
    with filled_library.engine.connect() as conn:  # every count names what made it
        assert set(conn.scalars(select(Conversation.token_basis))) == {choice.basis}
    changed = [cid for cid in before if before[cid] and after[cid] != before[cid]]
    assert changed  # ChatML writes different markup around every message
    chatml = TokenCounter.from_file(bundled_tokenizer_path(), bundled_template("chatml"))
    some = next(cid for cid in changed)
    lines = [line["messages"] for line in jsonl_lines(filled_library.record(some), "t")]
    assert after[some] == chatml.count(lines[0])


def test_over_budget_names_the_conversations_a_trainer_would_cut(
        filled_library: Library) -> None:
    counts = ensure_counts(filled_library)
    ids = [cid for cid, n in counts.items() if n]
    add_conversations(filled_library, "T", ids[:2], create=True)
    limit = sorted(counts[cid] for cid in ids)[len(ids) // 2]
    set_max_seq_len(filled_library, "T", limit)
    expected = [cid for cid in ids if counts[cid] > limit]
    assert expected and over_budget(filled_library, "T", ids) == expected
    assert over_budget(filled_library, None, ids) == [c for c in ids if counts[c] > 4096]
    assert header(filled_library, "T")["tokens"]["max_seq_len"] == limit
    with pytest.raises(LibraryError, match="between"):
        set_max_seq_len(filled_library, "T", 3)


def tiny_tokenizer(path: Path) -> Path:
    """A word-level tokenizer: one token per word or punctuation run, ChatML markers special."""
    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "the": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    tokenizer.save(str(path))
    return path


def test_a_users_own_tokenizer_and_template_are_used(filled_library: Library,
                                                      tmp_path: Path) -> None:
    model_dir = tmp_path / "MyModel-7B"
    model_dir.mkdir()
    path = tiny_tokenizer(model_dir / "tokenizer.json")
    config = model_dir / "tokenizer_config.json"
    chatml = (TEMPLATES / "chatml.jinja").read_text(encoding="utf-8")
    config.write_text(json.dumps({"chat_template": re.sub(
        r"\{%-? *(end)?generation *-?%\}", "", chatml), "eos_token": "<|im_end|>"}))
    choose(filled_library, tokenizer_file=path, template_file=config)
    path.unlink()  # the library keeps its own copy
    counter = counter_for(filled_library)
    assert counter.tokenizer_name == "MyModel-7B/tokenizer.json"
    assert counter.template.label == "tokenizer_config.json"
    counts = ensure_counts(filled_library)
    some = next(cid for cid, n in counts.items() if n)
    (messages,) = [line["messages"] for line in jsonl_lines(filled_library.record(some), "t")]
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    words = re.findall(r"\w+|[^\w\s]+", text.replace("<|im_start|>", " ").replace(
        "<|im_end|>", " "))
    assert counts[some] == len(words) + 2 * len(messages)
    info = add_conversations(filled_library, "Mine", [some], create=True)
    assert header(filled_library, info.name)["tokens"]["tokenizer"] == "MyModel-7B/tokenizer.json"
    # No generation blocks in this template: the assistant texts and their end token train.
    shown = counter.as_trained(messages)
    assert not shown.uses_generation_blocks
    trained = [tok for tok, flag in zip(shown.token_texts, shown.trained, strict=True) if flag]
    replies = [m["content"] for m in messages if m["role"] == "assistant"]
    assert trained.count("<|im_end|>") == len(replies)
    assert len(trained) == sum(len(re.findall(r"\w+|[^\w\s]+", r)) for r in replies) + len(
        replies)


def test_a_file_that_is_not_a_tokenizer_is_refused_by_name(filled_library: Library,
                                                           tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"not": "a tokenizer"}')
    with pytest.raises(LibraryError, match=re.escape(str(bad))):
        choose(filled_library, tokenizer_file=bad)
    config = tmp_path / "tokenizer_config.json"
    config.write_text('{"bos_token": "<s>"}')
    with pytest.raises(LibraryError, match="has no chat_template") as refused:
        choose(filled_library, template_file=config)
    assert str(refused.value).endswith(  # and what to do
        "choose the tokenizer_config.json of the instruct or chat model, a .jinja template "
        "file, or one of the bundled templates")
    gone = tmp_path / "gone.jinja"
    with pytest.raises(LibraryError, match=re.escape(str(gone))) as unreadable:
        choose(filled_library, template_file=gone)
    assert "or choose another template file" in str(unreadable.value)
    assert load_choice(filled_library).tokenizer == "bundled"


@pytest.mark.parametrize("key", sorted(BUNDLED))
def test_as_trained_marks_exactly_the_replies(key: str) -> None:
    counter = TokenCounter.from_file(bundled_tokenizer_path(), bundled_template(key))
    messages = line_messages()[1]
    shown = counter.as_trained(messages)
    assert shown.uses_generation_blocks
    assert shown.total == counter.count(messages)
    assert sum(t.tokens for t in shown.turns) == shown.total
    assert [t.message_index for t in shown.turns] == list(range(len(messages)))
    assert all(t.trained_tokens == 0 for t in shown.turns if t.role != "assistant")
    spans = shown.trained_spans()
    replies = [m["content"] for m in messages if m["role"] == "assistant"]
    assert len(spans) == len(replies)
    eos = counter.template.eos_token
    for (start, end), reply in zip(spans, replies, strict=True):
        assert shown.text[start:end].strip() == reply.strip() + eos
    assert shown.trained_total == sum(t.trained_tokens for t in shown.turns) > 0


def test_a_line_counted_before_is_found_by_its_inputs_without_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build counts again what the import counted: the cache knows the line by its
    inputs (basis, render code, roles and contents), so the template is not run again;
    one that reads the date is, every time."""
    from app.chat_templates import Renderer
    from app.token_lines import CountCache, count_lines

    counter = default_counter()
    lines = line_messages()
    expected = [counter.count(messages) for messages in lines]
    assert count_lines(counter, lines, CountCache(tmp_path / "counts.sqlite3")) == expected
    dated = TokenCounter.from_file(bundled_tokenizer_path(), ChatTemplate(
        "custom", "dated.jinja",
        "{{ strftime_now('%Y') }}{% for m in messages %}{{ m['content'] }}{% endfor %}"))
    count_lines(dated, lines, CountCache(tmp_path / "counts.sqlite3"))
    rendered: list[str] = []
    original = Renderer.text_of

    def watched(self: Renderer, inputs: list[dict[str, Any]]) -> str:
        rendered.append(self.template.label)
        return original(self, inputs)

    monkeypatch.setattr(Renderer, "text_of", watched)
    again = CountCache(tmp_path / "counts.sqlite3")  # as a later process reads it
    assert count_lines(counter, lines, again) == expected
    assert rendered == []
    changed = [[*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + "!"}]
               for messages in lines[:1]]
    count_lines(counter, changed, again)
    assert rendered == [counter.template.label]
    count_lines(dated, lines, again)
    assert rendered.count("dated.jinja") == len(lines)


def test_what_a_generation_block_sets_stays_inside_it_when_counting() -> None:
    """The text counted (no marks) is the marked render's text: a ``set`` inside a
    generation block stays inside it, as in the call block the marking render makes."""
    from app.chat_templates import Renderer

    source = ("{% set tag = 'out' %}{% set seen = namespace(n=0) %}{% for m in messages %}"
              "{% if m['role'] == 'assistant' %}{% generation %}{% set tag = 'in' %}"
              "{% set seen.n = seen.n + 1 %}{{ m['content'] }}/{{ tag }}/{{ loop.index }}"
              "{% endgeneration %}{{ tag }}{% else %}{{ m['content'] }}{% endif %}"
              "{% endfor %}|{{ tag }}|{{ seen.n }}")
    renderer = Renderer(ChatTemplate("custom", "scoped.jinja", source))
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                {"role": "user", "content": "r"}, {"role": "assistant", "content": "b"}]
    assert renderer.text(messages) == "qa/in/2outrb/in/4out|out|2"
    assert renderer.render(messages).text == renderer.text(messages)


def test_a_template_that_raises_is_a_clear_error() -> None:
    template = ChatTemplate("custom", "strict.jinja",
                            "{{ raise_exception('only one message please') }}")
    counter = TokenCounter.from_file(bundled_tokenizer_path(), template)
    from app.chat_templates import ChatTemplateError
    with pytest.raises(ChatTemplateError, match="only one message please"):
        counter.count([{"role": "user", "content": "hi"}])


def test_cli_conversations_json_and_tokens(filled_library: Library, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = str(filled_library.root)
    filled_library.close()
    assert cli_main(["--data-dir", root, "conversations", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all("token_count" in row for row in rows)
    assert any(row["token_count"] > 1000 for row in rows)
    assert cli_main(["--data-dir", root, "tokens", "--template", "llama3"]) == 0
    out = capsys.readouterr().out
    assert "chat template: Llama 3" in out
    with Library(Path(root)) as library:
        counts = ensure_counts(library)
    llama = TokenCounter.from_file(bundled_tokenizer_path(), bundled_template("llama3"))
    by_id = {row["conversation_id"]: row["token_count"] for row in rows}
    changed = [cid for cid, n in counts.items() if n and n != by_id[cid]]
    assert changed
    assert llama.count_many([]) == []


def test_a_cancel_after_the_last_count_stopped_nothing(filled_library: Library) -> None:
    """The window's count is cancelled when another is asked for; a cancel that arrives
    once every conversation is counted must not make the finished pass read as stopped."""
    todo = uncounted(filled_library)
    assert todo == filled_library.count()
    finished: list[bool] = []

    def progress(done: int, total: int, _current: str) -> None:
        if done and done == total:
            finished.append(True)

    counted, stopped = count_missing(filled_library, progress, lambda: bool(finished))
    assert (counted, stopped) == (todo, False)
    assert uncounted(filled_library) == 0


def test_a_cancel_before_the_end_says_how_many_were_counted(filled_library: Library) -> None:
    todo = uncounted(filled_library)
    counted, stopped = count_missing(filled_library, None, lambda: True)
    assert stopped and counted == todo - uncounted(filled_library) < todo
