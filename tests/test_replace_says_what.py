"""Re-importing regenerated files (same conversation id, other text) from the window: the
one Replace question names the clients, batches and training files it rebuilds; after the
replace the status and the import summary say what the new versions brought into those
files (the add review's checks); and the summary never says "the stored version stays"
once the person answered Replace. Real library, real fixtures with regenerated copies on
disk, the real window."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from conftest import ENRICHED, LEGACY, open_window

from app import replace_checks
from app.library import Library
from app.trainingfiles import add_conversations, member_ids
from ui.import_flow import sections_text

WAIT_MS = 60000
Document = dict[str, Any]


def conversation_id(path: Path) -> str:
    document = json.loads(path.read_text(encoding="utf-8"))
    if "dataset_metadata" in document:
        return str(document["dataset_metadata"]["dataset_name"])
    (cid,) = [r for r in [document.get("conversation_id")] if r]
    return str(cid)


def regenerated(path: Path, folder: Path, edit: Callable[[Document], None]) -> Path:
    """``path`` written again into ``folder`` (a redelivery) after ``edit``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    folder.mkdir(exist_ok=True)
    target = folder / f"regen-{path.name}"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def first_reply_rewritten(document: Document) -> None:
    """One reply regenerated, the later turns' history left as it was (what made History
    Mismatch appear in the audit)."""
    for pair in document.get("training_pairs") or []:
        if pair.get("target_response"):
            pair["target_response"] = ("Let us slow down and look at the numbers together, "
                                       "one account at a time, before deciding anything.")
            return
    raise AssertionError("no reply to rewrite")


def two_files(library: Library) -> tuple[list[str], list[str]]:
    """'Coaching A' with the enriched conversations that train, 'Coaching B' with some of
    them and the first legacy ones; the members of each."""
    enriched = [r.conversation_id for r in library.summaries("enriched-batch")]
    legacy = [r.conversation_id for r in library.summaries("legacy-batch")]
    add_conversations(library, "Coaching A", enriched, create=True)
    a = member_ids(library, "Coaching A")
    add_conversations(library, "Coaching B", [*a[:1], *legacy[:3]], create=True)
    return a, member_ids(library, "Coaching B")


def import_in_window(qtbot, window, dialogs, paths: list[Path], replace: bool) -> str:
    """Import ``paths`` from the window's menu, answering the Replace question; the
    question asked."""
    dialogs.opened.append(paths)
    dialogs.texts.append("")  # each folder its own batch
    dialogs.confirms.append(replace)
    signal = window.importer.replacer.replaced if replace else window.importer.finished
    with qtbot.waitSignal(signal, timeout=WAIT_MS):
        window.import_files_action.trigger()
    (question,) = [q for kind, title, q in dialogs.asked
                   if title == "Replace changed conversations"]
    return question


def test_the_question_names_clients_batches_and_the_files_it_rebuilds(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    library = two_batches  # the fixtures in two batches, as two deliveries
    a, b = two_files(library)
    redelivery = tmp_path / "redelivery"
    paths = [regenerated(p, redelivery, first_reply_rewritten) for p in [*ENRICHED, *LEGACY]]
    changed = [conversation_id(p) for p in paths]
    window = open_window(qtbot, library, dialogs, tmp_path)

    question = import_in_window(qtbot, window, dialogs, paths, replace=False)

    lines = question.splitlines()
    assert lines[0] == (f"{len(changed)} conversations in this import are already in the "
                        "library with different content:")
    # more than ten: one line a batch, with how many and whose they are
    assert "  • batch 'legacy-batch': 9 (David Chen, Jennifer Park and Marcus Thompson)" in lines
    assert ("  • batch 'enriched-batch': 6 (David Chen, Jennifer Martinez and Marcus Chen)"
            in lines)
    assert not any("fp_conversation" in line or ".json" in line for line in lines)
    in_none = len(changed) - len(set(a) | set(b))
    assert (f"Replacing rebuilds 'Coaching A' ({len(a)} of them) and 'Coaching B' "
            f"({len(b)}); {in_none} are in no training file.") in lines
    assert "Cancel keeps the stored versions." in lines


def test_a_few_are_named_one_by_one_as_the_table_shows_them(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    library = two_batches  # the fixtures in two batches, as two deliveries
    a, _b = two_files(library)
    one = next(p for p in ENRICHED if p.name == "enriched-2.json")
    assert conversation_id(one) in a
    path = regenerated(one, tmp_path / "redelivery", first_reply_rewritten)
    window = open_window(qtbot, library, dialogs, tmp_path)

    question = import_in_window(qtbot, window, dialogs, [path], replace=False)

    assert question.splitlines()[1:3] == [
        "  • Jennifer Martinez · batch 'enriched-batch' · regen-enriched-2.json: 1 reply "
        "changed (turn 2)", ""]
    assert "Replacing rebuilds 'Coaching A'." in question
    assert ("Replace the stored version with this one? It keeps its batch and its place in "
            "training files.") in question


def test_what_differs_is_said_in_a_few_words(qtbot, two_batches: Library, dialogs,
                                             tmp_path: Path) -> None:
    """Read from the new file and the stored record: replies and client messages changed,
    with their turns, and messages more or fewer."""
    def shortened_and_rewritten(document: Document) -> None:
        first_reply_rewritten(document)
        document["training_pairs"].pop()

    def scored_again(document: Document) -> None:  # the same messages, another score
        pair = document["training_pairs"][0]
        pair["training_metadata"]["quality_score"] = 1

    library = two_batches  # the fixtures in two batches, as two deliveries
    redelivery = tmp_path / "redelivery"
    paths = [regenerated(LEGACY[0], redelivery, shortened_and_rewritten),
             regenerated(LEGACY[1], redelivery, scored_again)]
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append(paths)
    dialogs.texts.append("")
    dialogs.confirms.append(False)
    with qtbot.waitSignal(window.importer.finished, timeout=WAIT_MS):
        window.import_files_action.trigger()
    lines = dialogs.asked[-1][2].splitlines()
    assert lines[1:3] == [
        f"  • Marcus Thompson · batch 'legacy-batch' · {paths[0].name}: 1 reply changed "
        "(turn 1); 2 messages fewer",
        f"  • Marcus Thompson · batch 'legacy-batch' · {paths[1].name}: only details other "
        "than the messages differ"]
    assert "No training file holds them: replacing rebuilds none." in lines


class FindingCopies(NamedTuple):
    paths: list[Path]  # the regenerated copies
    mismatch: list[str]  # the ids whose first reply was rewritten (History Mismatch later)
    near_id: str  # the one given another member's dialogue (a near-duplicate in it)
    long_id: str  # the one whose replies are all far over the length limit


def finding_copies(a: list[str], b: list[str], redelivery: Path) -> FindingCopies:
    """Regenerated copies of members of 'Coaching A' (``a``) and 'Coaching B' (``b``) that
    bring in what the add review's checks find: replies rewritten (a harmful warning), one
    given another member's dialogue (a near-duplicate), one with every reply far too long
    (over the length limit)."""
    by_name = {p.name: p for p in ENRICHED}
    twin = json.loads(by_name["enriched-1.json"].read_text(encoding="utf-8"))

    def copies_enriched_1(document: Document) -> None:  # its id, another's dialogue
        kept = document["dataset_metadata"]["dataset_name"]
        document.clear()
        document.update(json.loads(json.dumps(twin)))
        document["dataset_metadata"]["dataset_name"] = kept

    def every_reply_too_long(document: Document) -> None:  # the first trained one too
        for pair in document["training_pairs"]:
            if pair.get("target_response"):
                pair["target_response"] += " We can budget for it." * 2500

    mismatch = [p for p in ENRICHED if conversation_id(p) in a
                and p.name not in ("enriched-1.json", "enriched-2.json")]
    long_one = next(p for p in LEGACY if conversation_id(p) in b)
    paths = [regenerated(p, redelivery, first_reply_rewritten) for p in mismatch]
    paths.append(regenerated(by_name["enriched-2.json"], redelivery, copies_enriched_1))
    paths.append(regenerated(long_one, redelivery, every_reply_too_long))
    near_id = conversation_id(by_name["enriched-2.json"])
    assert near_id in a and len(mismatch) >= 2
    return FindingCopies(paths, sorted(conversation_id(p) for p in mismatch), near_id,
                         conversation_id(long_one))


def test_after_the_replace_the_status_and_summary_say_what_the_new_versions_brought(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The add review's checks, asked of the replaced members: a new harmful warning, a
    line now over the file's length limit, one that now nearly repeats another member."""
    library = two_batches  # the fixtures in two batches, as two deliveries
    a, b = two_files(library)
    paths, mismatch, _near_id, _long_id = finding_copies(a, b, tmp_path / "redelivery")
    window = open_window(qtbot, library, dialogs, tmp_path)

    with qtbot.waitSignal(window.importer.replacer.status, timeout=WAIT_MS) as status:
        import_in_window(qtbot, window, dialogs, paths, replace=True)

    in_b = sum(1 for cid in mismatch if cid in b)
    where = f"'Coaching A' ({len(mismatch)}) and 'Coaching B' ({in_b})" if in_b \
        else "'Coaching A'"
    findings = (f"Of the replaced conversations, {len(mismatch)} now have a warning that "
                f"would harm training (History Mismatch) in {where}; 1 is now over the "
                "length limit of 'Coaching B'; 1 now nearly repeats another conversation "
                "in 'Coaching A': the LoRA Training JSON Files page lists them with each "
                "file's conversations.")
    assert status.args[0] == (f"Replaced {len(paths)} conversations; rebuilt 'Coaching A', "
                              f"'Coaching B'. {findings}")
    summary = window.importer.last_summary
    assert summary is not None and summary.findings.text() == findings
    assert summary.findings.isVisibleTo(summary)
    assert f"{len(paths)} conversations replaced the stored versions" in summary.text()


def test_a_replace_that_brings_nothing_new_says_nothing_more(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    """The last reply rewritten: no later turn's history copies it, nothing warns."""
    def last_reply_rewritten(document: Document) -> None:
        pair = max((p for p in document["training_pairs"] if p.get("target_response")),
                   key=lambda p: p["turn_number"])
        pair["target_response"] = "Then we meet again next month and look at it together."

    library = two_batches  # the fixtures in two batches, as two deliveries
    _a, b = two_files(library)
    one = next(p for p in LEGACY if conversation_id(p) in b)
    path = regenerated(one, tmp_path / "redelivery", last_reply_rewritten)
    window = open_window(qtbot, library, dialogs, tmp_path)

    with qtbot.waitSignal(window.importer.replacer.status, timeout=WAIT_MS) as status:
        import_in_window(qtbot, window, dialogs, [path], replace=True)

    assert status.args[0] == "Replaced 1 conversation; rebuilt 'Coaching B'"
    assert not window.importer.last_summary.findings.isVisibleTo(window.importer.last_summary)


def test_once_replace_is_answered_the_summary_says_they_are_being_replaced(
        qtbot, two_batches: Library, dialogs, tmp_path: Path, monkeypatch) -> None:
    """Not "changed (not replaced)" with a line each saying the stored version stays,
    while the rebuild runs: one heading, said once, then "Replaced" when done."""
    library = two_batches  # the fixtures in two batches, as two deliveries
    two_files(library)
    entered, go_on = threading.Event(), threading.Event()
    real_rebuild = replace_checks.rebuild_training_files

    def held(*args: Any, **kwargs: Any) -> list[str]:
        entered.set()
        go_on.wait(WAIT_MS / 1000)
        return real_rebuild(*args, **kwargs)

    monkeypatch.setattr(replace_checks, "rebuild_training_files", held)
    redelivery = tmp_path / "redelivery"
    paths = [regenerated(p, redelivery, first_reply_rewritten) for p in ENRICHED[:4]]
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append(paths)
    dialogs.texts.append("")
    while_asked: list[str] = []
    ask = dialogs.confirm_destructive

    def summary_while_asked(*args: object, **kwargs: object) -> bool:
        while_asked.append(sections_text(window.importer.last_summary.sections.sections))
        return ask(*args, **kwargs)

    dialogs.confirm_destructive = summary_while_asked
    dialogs.confirms.append(True)
    window.import_files_action.trigger()
    qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)

    summary = window.importer.last_summary
    assert while_asked[0].splitlines()[:2] == [
        "Changed (not replaced yet): 4 conversations",
        "  Already in the library with different content: the stored versions stay unless "
        "you answer Replace to the question about changed conversations."]
    during = sections_text(summary.sections.sections)
    assert during.splitlines()[:3] == [
        "Changed (being replaced): 4 conversations",
        "  You answered Replace: these versions are replacing the stored ones, and the "
        "training files that hold them are being rebuilt. This summary says when it is "
        "done.",
        # each as the question named it (audit57 O4: "conversation fp_conversation_…")
        f"  redelivery/{paths[0].name}: David Chen · batch 'enriched-batch': 1 reply changed "
        "(turn 2)"]
    assert "stays" not in during and "not replaced" not in summary.headline.text()
    assert "4 conversations changed (being replaced)" in summary.headline.text()

    with qtbot.waitSignal(window.importer.replacer.replaced, timeout=WAIT_MS):
        go_on.set()
    assert sections_text(summary.sections.sections).startswith(
        "4 conversations replaced the stored versions")
    assert "4 conversations replaced" in summary.headline.text()


def test_keeping_the_stored_versions_says_how_to_replace_them_once(
        qtbot, two_batches: Library, dialogs, tmp_path: Path) -> None:
    library = two_batches  # the fixtures in two batches, as two deliveries
    redelivery = tmp_path / "redelivery"
    paths = [regenerated(p, redelivery, first_reply_rewritten) for p in ENRICHED[:3]]
    window = open_window(qtbot, library, dialogs, tmp_path)

    import_in_window(qtbot, window, dialogs, paths, replace=False)

    text = sections_text(window.importer.last_summary.sections.sections)
    assert text.splitlines()[:2] == [
        "Changed (kept as stored): 3 conversations",
        "  Already in the library with different content: you kept the stored versions (to "
        "use these, import the files again and answer Replace)."]
    assert text.count("answer Replace") == 1
    # each named as the question named it, not by its id (audit57 O4)
    stored = {row.conversation_id: row for row in library.summaries()}
    for path in paths:
        row = stored[conversation_id(path)]
        assert (f"  redelivery/{path.name}: {row.persona_name} · batch '{row.batch_id}': 1 "
                "reply changed (turn 2)") in text.splitlines()



def test_the_files_rebuilt_are_counted_in_words() -> None:
    from ui.replace_flow import rebuilds_sentence

    assert rebuilds_sentence([("Coaching A", 4)], 0, 4) == (
        "Replacing rebuilds 'Coaching A' (all 4).")
    assert rebuilds_sentence([("Coaching A", 6), ("Coaching B", 4)], 10, 20) == (
        "Replacing rebuilds 'Coaching A' (6 of them) and 'Coaching B' (4); 10 are in no "
        "training file.")
    assert rebuilds_sentence([("Coaching A", 1)], 0, 1) == "Replacing rebuilds 'Coaching A'."
    assert rebuilds_sentence([], 2, 2) == "No training file holds them: replacing rebuilds none."


def test_a_replace_cancelled_before_it_replaced_leaves_the_summary_saying_kept(
        qtbot, two_batches: Library, dialogs, tmp_path: Path, monkeypatch) -> None:
    """Cancel during the checks of the stored versions: nothing is replaced, and the
    summary no longer says "being replaced"."""
    from ui.tasks import jobs_of

    library = two_batches  # the fixtures in two batches, as two deliveries
    two_files(library)
    entered = threading.Event()
    real_checks = replace_checks.checks_by_file

    def held(library_: Library, ids: Any, names: Any, progress: Any = None,
             cancelled: Any = None, read: Any = None) -> Any:
        entered.set()
        while not cancelled():
            threading.Event().wait(0.01)
        return real_checks(library_, ids, names, progress, cancelled, read)  # sees the cancel

    monkeypatch.setattr(replace_checks, "checks_by_file", held)
    paths = [regenerated(p, tmp_path / "redelivery", first_reply_rewritten)
             for p in ENRICHED[1:3]]
    window = open_window(qtbot, library, dialogs, tmp_path)
    dialogs.opened.append(paths)
    dialogs.texts.append("")
    dialogs.confirms.append(True)
    window.import_files_action.trigger()
    qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
    summary = window.importer.last_summary
    assert sections_text(summary.sections.sections).startswith(
        "Changed (being replaced): 2 conversations")

    (task,) = jobs_of(window)
    task.cancel()
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=WAIT_MS)
    assert dialogs.warnings[-1][0] == "Conversations not replaced"
    assert sections_text(summary.sections.sections).startswith(
        "Changed (kept as stored): 2 conversations")
    assert "being replaced" not in summary.headline.text()
    assert all("Let us slow down" not in str(library.record(conversation_id(p)))
               for p in ENRICHED[1:3])
