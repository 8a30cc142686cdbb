"""Trainer recipes from the window: the Download menu's choice writes the TRL script and the
Axolotl config beside a JSONL copy or a split, as ``lora-studio export --recipes`` does, asks
before replacing recipes already there, and is remembered by the window."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from conftest import open_window
from PySide6.QtCore import QSettings
from scripted_dialogs import ScriptedDialogs

from app.trainingfiles import add_conversations, create_training_file

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WAIT_MS = 15_000


@pytest.fixture
def demo(page, filled_library) -> str:
    create_training_file(filled_library, "Demo", cut_off_policy="keep")
    add_conversations(filled_library, "Demo",
                      [row.conversation_id for row in filled_library.summaries()])
    page.refresh()
    return "Demo"


def manifest_files(manifest: Path) -> list[str]:
    return [entry["file"] for entry in orjson.loads(manifest.read_bytes())["files"]]


def test_the_choice_is_in_the_download_menu_and_off_at_first(page) -> None:
    assert page.recipes_action in page.download_menu.actions()
    assert page.recipes_action.isCheckable() and not page.recipes_action.isChecked()
    assert "TRL" in page.recipes_action.text() and "Axolotl" in page.recipes_action.text()


def test_a_jsonl_copy_gets_its_recipes_when_asked(qtbot, demo, page, dialogs, tmp_path) -> None:
    target = tmp_path / "out" / "Demo.jsonl"
    target.parent.mkdir()
    dialogs.save_paths.append(target)
    page.recipes_action.setChecked(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as saved:
        page.file_actions["jsonl"].trigger()

    assert not dialogs.warnings
    script = target.with_name("Demo.jsonl.trl.py")
    config = target.with_name("Demo.jsonl.axolotl.yml")
    assert script.is_file() and config.is_file()
    assert "Demo.jsonl" in script.read_text(encoding="utf-8")
    compile(script.read_text(encoding="utf-8"), str(script), "exec")  # a script Python takes
    assert script.name in saved.args[0] and config.name in saved.args[0]
    manifest = next(target.parent.glob("*manifest*"))
    assert {script.name, config.name} <= set(manifest_files(manifest))


def test_without_the_choice_no_recipe_is_written(qtbot, demo, page, dialogs, tmp_path) -> None:
    target = tmp_path / "Demo.jsonl"
    dialogs.save_paths.append(target)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["jsonl"].trigger()

    assert target.is_file()
    assert not list(tmp_path.glob("*.trl.py")) and not list(tmp_path.glob("*.axolotl.yml"))


def test_the_full_json_never_gets_recipes(qtbot, demo, page, dialogs, tmp_path) -> None:
    target = tmp_path / "Demo.json"
    dialogs.save_paths.append(target)
    page.recipes_action.setChecked(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["json"].trigger()

    assert target.is_file() and not dialogs.warnings
    assert not list(tmp_path.glob("*.trl.py")) and not list(tmp_path.glob("*.axolotl.yml"))


def test_a_split_gets_recipes_that_evaluate_on_valid(qtbot, demo, page, dialogs,
                                                     tmp_path) -> None:
    folder = tmp_path / "split"
    dialogs.folders.append(folder)
    dialogs.texts.append("0.2")
    page.recipes_action.setChecked(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["split"].trigger()

    assert not dialogs.warnings
    script = (folder / "train.trl.py").read_text(encoding="utf-8")
    assert "valid.jsonl" in script and "train.jsonl" in script
    assert "valid.jsonl" in (folder / "train.axolotl.yml").read_text(encoding="utf-8")


def test_recipes_already_there_are_named_before_they_are_replaced(qtbot, demo, page, dialogs,
                                                                  tmp_path) -> None:
    target = tmp_path / "Demo.jsonl"
    script = tmp_path / "Demo.jsonl.trl.py"
    script.write_text("# my own edits\n", encoding="utf-8")
    dialogs.save_paths.append(target)
    dialogs.confirms.append(False)  # keep them
    page.recipes_action.setChecked(True)

    page.file_actions["jsonl"].trigger()

    kind, _title, question = dialogs.asked[-1]
    assert kind == "confirm_destructive" and "Demo.jsonl.trl.py" in question
    assert script.read_text(encoding="utf-8") == "# my own edits\n"
    assert not target.exists()


def test_the_window_remembers_the_choice(qtbot, filled_library, tmp_path) -> None:
    window = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    assert not window.training_files.recipes_action.isChecked()
    window.training_files.recipes_action.setChecked(True)
    window.save_settings()
    window.close()

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("training_files/recipes") in (True, "true")
    again = open_window(qtbot, filled_library, ScriptedDialogs(), tmp_path, show=False)
    assert again.training_files.recipes_action.isChecked()


def test_a_split_gets_llamafactory_and_mlx_files_and_keeps_the_person_s_entries(
        qtbot, demo, page, dialogs, tmp_path) -> None:
    """The menu's choice names every trainer it writes for; a dataset_info.json already in
    the folder is added to, not among the files the person is asked to replace."""
    assert "LLaMA-Factory" in page.recipes_action.text() and "MLX-LM" in \
        page.recipes_action.text()
    assert "dataset_info.json" in page.recipes_action.toolTip()
    folder = tmp_path / "split"
    folder.mkdir()
    info = folder / "dataset_info.json"
    info.write_text('{"mine": {"file_name": "mine.jsonl"}}', encoding="utf-8")
    dialogs.folders.append(folder)
    dialogs.texts.append("0.2")
    page.recipes_action.setChecked(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS) as saved:
        page.file_actions["split"].trigger()

    assert not dialogs.warnings
    assert [kind for kind, *_ in dialogs.asked] == ["folder", "text"]  # nothing to replace
    entries = orjson.loads(info.read_bytes())
    assert list(entries) == ["mine", "train", "valid"]
    for name in ("train.llamafactory.yaml", "train.mlx.yaml", "chat_template.jinja"):
        assert (folder / name).is_file()
        assert name in saved.args[0]
    assert "dataset_info.json" in manifest_files(folder / "manifest.json")


def test_the_split_with_one_line_per_reply_is_in_the_menu_with_its_recipes(
        qtbot, demo, page, dialogs, tmp_path) -> None:
    """MLX-LM trains only each line's last reply and reads only a folder's train.jsonl and
    valid.jsonl: the split with one line per reply is the download its config is right
    for."""
    folder = tmp_path / "per-reply"
    dialogs.folders.append(folder)
    dialogs.texts.append("0.2")
    page.recipes_action.setChecked(True)

    with qtbot.waitSignal(page.status, timeout=WAIT_MS):
        page.file_actions["split_per_reply"].trigger()

    assert not dialogs.warnings
    lines = [orjson.loads(raw) for raw in (folder / "train.jsonl").read_bytes().splitlines()]
    assert lines and all(line["messages"][-1]["weight"] == 1 for line in lines)
    assert "Each line ends on the one reply it trains" in (
        folder / "train.mlx.yaml").read_text(encoding="utf-8")
    assert orjson.loads((folder / "manifest.json").read_bytes())["export_format"] == (
        "split-per-reply")


def test_two_downloads_with_recipes_in_one_folder_both_stay_valid(
        qtbot, demo, page, dialogs, tmp_path, capsys) -> None:
    """audit57 H1: the JSONL, then the messages only, saved with recipes into one folder.
    The second adds its entry to the folder's dataset_info.json; the first's manifest
    must not call that change its own (it said "INVALID … changed since LoRA Studio saved
    it", and saving it again broke the second's)."""
    from app.cli import main

    folder = tmp_path / "out"
    folder.mkdir()
    page.recipes_action.setChecked(True)
    for key, name in (("jsonl", "Demo.jsonl"), ("messages", "Demo-messages.jsonl")):
        dialogs.save_paths.append(folder / name)
        with qtbot.waitSignal(page.status, timeout=WAIT_MS):
            page.file_actions[key].trigger()
    assert not dialogs.warnings
    entries = orjson.loads((folder / "dataset_info.json").read_bytes())
    assert list(entries) == ["Demo", "Demo-messages"]

    capsys.readouterr()
    assert main(["validate", str(folder)]) == 0
    verdicts = [line for line in capsys.readouterr().out.splitlines()
                if line.endswith("[manifest]")]
    assert verdicts == [f"valid    {folder / name}  [manifest]" for name in
                        ("Demo-messages.jsonl.manifest.json", "Demo.jsonl.manifest.json")]
