"""Settings ▸ Tokenizer and chat template: a user's tokenizer.json and chat template are
checked before they are accepted, saved for the command line too, and every count and the
as-trained view follow the new choice."""

from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import open_window
from held_jobs import held_rebuild
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from stored import stored_bytes

from app.chat_templates import BUNDLED, bundled_template
from app.jsonl import jsonl_lines
from app.library import Library
from app.recovery import finish_interrupted_work
from app.token_counts import ensure_counts
from app.tokenizer_choice import choose, counter_for, load_choice
from app.tokens import TokenCounter, bundled_tokenizer_path
from app.trainingfiles import add_conversations, header
from ui import rebuild_flow
from ui.tasks import jobs_of
from ui.tokenizer_settings import TokenizerDialog

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "chat_templates"


class PickNothing:
    """File pickers are never opened in these tests: paths are typed in."""

    def open_files(self, parent: Any, title: str, filters: str) -> list[Path]:
        return []


def model_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A base model's folder: the bundled tokenizer.json under the model's name, and a
    tokenizer_config.json whose chat_template is ChatML (as many models ship it)."""
    folder = tmp_path / "MyModel-7B"
    folder.mkdir()
    tokenizer = folder / "tokenizer.json"
    shutil.copy(bundled_tokenizer_path(), tokenizer)
    template = re.sub(r"\{%-? *(end)?generation *-?%\}", "",
                      (TEMPLATES / "chatml.jinja").read_text(encoding="utf-8"))
    config = folder / "tokenizer_config.json"
    config.write_text(json.dumps({"chat_template": template, "bos_token": "<s>",
                                  "eos_token": {"content": "<|im_end|>"}}), encoding="utf-8")
    return tokenizer, config


def make_dialog(qtbot: Any, library: Library) -> TokenizerDialog:
    dialog = TokenizerDialog(library, PickNothing())  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, dialog)
    return dialog


def settle(qtbot: Any, dialog: TokenizerDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.checking, timeout=30_000)


def test_it_shows_the_bundled_choice_and_checks_it(qtbot: Any, library: Library) -> None:
    dialog = make_dialog(qtbot, library)
    assert "Mistral 7B v0.3 (bundled)" in dialog.in_use.text()
    assert "Mistral [INST]" in dialog.in_use.text()
    assert dialog.bundled_tokenizer.isChecked() and dialog.bundled_template.isChecked()
    assert dialog.problem == "" and dialog.use_button.isEnabled()
    assert dialog.sample.toPlainText().startswith("<s>[INST] You are a calm")
    dialog.set_bundled_template("llama3")
    settle(qtbot, dialog)
    assert dialog.sample.toPlainText().startswith("<|begin_of_text|>")


def test_a_valid_tokenizer_and_config_are_accepted_and_used(qtbot: Any, filled_library: Library,
                                                           tmp_path: Path) -> None:
    tokenizer, config = model_folder(tmp_path)
    dialog = make_dialog(qtbot, filled_library)
    dialog.set_tokenizer_file(tokenizer)
    dialog.set_template_file(config)
    settle(qtbot, dialog)
    assert dialog.problem == "", dialog.status.text()
    assert "tokenizer.json with tokenizer_config.json" in dialog.status.text()
    assert dialog.sample.toPlainText().startswith("<|im_start|>system\n")
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        dialog.use_button.click()
    choice = load_choice(filled_library)
    assert choice.tokenizer == "custom" and choice.tokenizer_name == "MyModel-7B/tokenizer.json"
    assert choice.template == "custom" and choice.template_name == "tokenizer_config.json"
    assert choice.eos_token == "<|im_end|>"
    # The command line and the counts use the same choice.
    counter = counter_for(filled_library)
    some = next(row.conversation_id for row in filled_library.summaries()
                if row.trainable_replies)
    (line,) = [item["messages"] for item in jsonl_lines(filled_library.record(some), "t")]
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in line)
    assert counter.text(line) == text
    assert ensure_counts(filled_library, [some])[some] == counter.count_text(text)


@pytest.mark.parametrize(("content", "words"), [
    ('{"not": "a tokenizer"}', "is not a Hugging Face tokenizer.json"),
    ("{ this is not json", "is not a Hugging Face tokenizer.json"),
])
def test_a_broken_tokenizer_is_refused_by_name(qtbot: Any, library: Library, tmp_path: Path,
                                               content: str, words: str) -> None:
    bad = tmp_path / "Broken" / "tokenizer.json"
    bad.parent.mkdir()
    bad.write_text(content, encoding="utf-8")
    dialog = make_dialog(qtbot, library)
    dialog.set_tokenizer_file(bad)
    settle(qtbot, dialog)
    assert str(bad) in dialog.problem and words in dialog.problem
    assert dialog.status.text() == dialog.problem
    assert "Traceback" not in dialog.problem
    assert not dialog.use_button.isEnabled()
    dialog.accept()  # even forced, nothing is saved
    assert dialog.result() == 0 and load_choice(library).tokenizer == "bundled"


@pytest.mark.parametrize(("name", "source", "words"), [
    ("no-assistant.jinja",
     "{% for m in messages %}{% if m.role != 'assistant' %}{{ m.content }}\n{% endif %}"
     "{% endfor %}", "does not write the assistant's replies"),
    ("no-system.jinja",
     "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}"
     "{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}",
     "System role not supported"),
    ("broken.jinja", "{% for m in messages %}{{ m.content }", "is not valid Jinja"),
    # As Mistral 7B v0.3's own template does: the system message only before the last
    # client turn, which a training line (it ends on a reply) never has.
    ("system-on-last-turn.jinja",
     "{% set rest = messages[1:] %}{% for m in rest %}{% if m.role == 'user' %}[INST] "
     "{% if loop.last %}{{ messages[0].content }}\n\n{% endif %}{{ m.content }}[/INST]"
     "{% else %} {{ m.content }}</s>{% endif %}{% endfor %}",
     "leaves the system message out"),
])
def test_a_template_that_cannot_train_our_conversations_is_refused(
        qtbot: Any, library: Library, tmp_path: Path, name: str, source: str,
        words: str) -> None:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    dialog = make_dialog(qtbot, library)
    dialog.set_template_file(path)
    settle(qtbot, dialog)
    assert words in dialog.problem and name in dialog.problem
    assert not dialog.use_button.isEnabled()
    assert load_choice(library).template == "mistral"


def test_a_config_without_a_template_is_refused(qtbot: Any, library: Library,
                                                tmp_path: Path) -> None:
    config = tmp_path / "tokenizer_config.json"
    config.write_text('{"bos_token": "<s>"}', encoding="utf-8")
    dialog = make_dialog(qtbot, library)
    dialog.set_template_file(config)
    settle(qtbot, dialog)
    assert str(config) in dialog.problem and "has no chat_template" in dialog.problem


@pytest.mark.parametrize(("content", "words"), [
    (b'{"chat_template": "{{ m }}",', "is not valid JSON ("),
    (b'["not", "a", "config"]', "is not a tokenizer_config.json (that holds a JSON object)."),
])
def test_a_config_that_cannot_be_read_names_it_and_says_what_to_choose(
        qtbot: Any, library: Library, tmp_path: Path, content: bytes, words: str) -> None:
    config = tmp_path / "MyModel" / "tokenizer_config.json"
    config.parent.mkdir()
    config.write_bytes(content)
    dialog = make_dialog(qtbot, library)
    dialog.set_template_file(config)
    settle(qtbot, dialog)
    assert dialog.problem.startswith(f"{config} {words}")
    assert dialog.problem.endswith(
        "Choose the tokenizer_config.json that comes with your base model or a .jinja chat "
        "template file, or use a bundled template.")
    assert not dialog.use_button.isEnabled()
    assert load_choice(library).template == "mistral"


def test_choosing_an_own_file_without_one_asks_for_it(qtbot: Any, library: Library) -> None:
    dialog = make_dialog(qtbot, library)
    dialog.own_tokenizer.setChecked(True)
    settle(qtbot, dialog)
    assert "Choose your base model's tokenizer.json" in dialog.problem
    assert not dialog.use_button.isEnabled()


def test_a_new_template_recounts_and_the_view_follows(qtbot: Any, filled_library: Library,
                                                      tmp_path: Path) -> None:
    from ui.main import MainWindow
    from ui.snapshot import QuietDialogs

    window = MainWindow(filled_library, QuietDialogs(),
                        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    page = window.conversations
    qtbot.waitUntil(lambda: not window.token_counts.running
                    and any(row.token_count > 0 for row in page.rows()), timeout=60_000)
    some = next(row.conversation_id for row in page.rows() if row.token_count > 0)
    page.select_conversation(some)
    window.as_trained_action.trigger()
    preview_window = window.as_trained_window
    assert preview_window is not None
    qtbot.waitUntil(lambda: preview_window.preview is not None, timeout=20_000)
    assert preview_window.text.toPlainText().startswith("<s>[INST]")

    def choose_chatml() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, TokenizerDialog) and w.isVisible())
        dialog.set_bundled_template("chatml")
        qtbot.waitUntil(lambda: not dialog.checking and dialog.use_button.isEnabled(),
                        timeout=30_000)
        dialog.use_button.click()

    QTimer.singleShot(0, choose_chatml)
    window.tokenizer_action.trigger()
    assert load_choice(filled_library).template == "chatml"
    chatml = TokenCounter.from_file(bundled_tokenizer_path(), bundled_template("chatml"))
    (line,) = [item["messages"] for item in jsonl_lines(filled_library.record(some), "t")]
    expected = chatml.count(line)

    def recounted() -> bool:
        row = next(r for r in page.rows() if r.conversation_id == some)
        return not window.token_counts.running and row.token_count == expected

    qtbot.waitUntil(recounted, timeout=60_000)
    qtbot.waitUntil(lambda: preview_window.text.toPlainText().startswith("<|im_start|>"),
                    timeout=20_000)
    assert preview_window.preview is not None and preview_window.preview.total == expected
    assert preview_window.template_combo.itemText(0) == f"{BUNDLED['chatml'].label} (the library's)"


def test_a_tokenizer_change_rebuilds_every_training_file_with_it(
        qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path) -> None:
    """After Settings ▸ Tokenizer saves a new choice, each training file's header and its
    lines' ``token_count`` are made again with it (not left naming the old tokenizer)."""
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    add_conversations(filled_library, "tok-file", ids[:3], create=True)
    before = header(filled_library, "tok-file")["tokens"]
    assert before["chat_template"] == bundled_template("mistral").label
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    choose(filled_library, template="chatml")
    window.after_tokenizer_change()
    qtbot.waitUntil(lambda: header(filled_library, "tok-file")["tokens"]["chat_template"]
                    == bundled_template("chatml").label, timeout=60_000)
    counter = counter_for(filled_library)
    jsonl = stored_bytes(filled_library, "tok-file")[1]
    for line in map(json.loads, jsonl.decode("utf-8").splitlines()):
        assert line["metadata"]["token_count"] == counter.count(line["messages"])
    qtbot.waitUntil(lambda: "rebuilt with it" in window.statusBar().currentMessage(),
                    timeout=30_000)


def test_a_cancelled_rebuild_after_a_tokenizer_change_is_finished_at_the_next_open(
        qtbot: Any, filled_library: Library, dialogs: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, nothing recorded that the files owed it: they kept the old tokenizer's
    counts and header until some later change to them."""
    ids = [row.conversation_id for row in filled_library.summaries() if row.trainable_replies]
    add_conversations(filled_library, "tok-file", ids[:3], create=True)
    gate = tmp_path / "gate"
    monkeypatch.setattr(rebuild_flow, "rebuild_training_files",
                        functools.partial(held_rebuild, gate=str(gate)))
    window = open_window(qtbot, filled_library, dialogs, tmp_path)
    choose(filled_library, template="chatml")
    with qtbot.waitSignal(window.changes.training_files_changed, timeout=60_000):
        window.after_tokenizer_change()
        qtbot.waitUntil(Path(f"{gate}.held").exists, timeout=60_000)  # the child is in
        (task,) = jobs_of(window)
        task.cancel()
    assert dialogs.warnings == [(
        "Training files not rebuilt",
        "The rebuild was cancelled.\nThe new tokenizer is saved; a training file that was "
        "not rebuilt keeps the token counts of the old one until LoRA Studio rebuilds it "
        "the next time it opens this library.")]
    assert header(filled_library, "tok-file")["tokens"]["chat_template"] \
        == bundled_template("mistral").label
    window.token_counts.stop()
    assert finish_interrupted_work(filled_library) == [
        "rebuilt the training file 'tok-file', whose rebuild after the tokenizer changed did "
        "not finish"]
    assert header(filled_library, "tok-file")["tokens"]["chat_template"] \
        == bundled_template("chatml").label
