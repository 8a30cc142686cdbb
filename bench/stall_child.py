"""One code tree's side of the GUI-stall benchmark (run by ``bench_table.py --stalls``).

    python bench/stall_child.py CODE_ROOT WORK_DIR --n 100000 --import-files 100
    python bench/stall_child.py CODE_ROOT WORK_DIR --n 0 --import-files 10000 --steps import

(the second: a 10,000-file import into a library of the 15 fixtures, as a person's first
large import; below ``READ_IN_CHILD_FROM`` rows the window re-reads them in a thread, and the
background token count of the 10,000 follows within the step.)

Puts CODE_ROOT (this checkout, or an older commit unpacked elsewhere) first on
``sys.path``, builds a library of N conversations with a 10,000-conversation training file,
opens the real main window offscreen (until its rows show), and then does what a user does
through the window's own controllers: import files, build a training file from checked
rows, rename a batch (its training files are rebuilt) and move checked rows to another
batch; then 1,000 new token counts are announced as the background count announces them
(and with ``--steps "count tokens"`` the background count of every conversation runs).
A 5 ms timer on the GUI thread measures the longest gap between its ticks from the click
until the window has settled: that gap is how long the window was frozen; beside it, the
GUI thread's own CPU time during that gap (``stall_gui_cpu_ms``), which tells the window
working from the window waiting (``--busy N`` loads the machine with N spinning processes).
``--trace`` prints where the GUI thread was during each freeze over 60 ms, and each event
it took over 30 ms to handle.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
BENCH = Path(__file__).resolve().parent
args_limit = [8]  # frames of each stack a trace prints (--trace-depth)
event_limit = [0.03]  # events a trace reports: handled in more seconds than this
step_began = [0.0]  # when the step being measured began (time.monotonic)


def start_watchdog(heartbeat: list[float], step: list[str]) -> None:
    """While a step is measured (``step[0]`` names it; empty between steps), sample every
    thread's stack every 2 ms once the GUI thread's timer is 20 ms late, and after each
    freeze of more than 60 ms print where the GUI thread was, stack by stack with how many
    samples saw it, and what the other threads were doing. A sample that came more than
    10 ms late was blocked by whoever held the interpreter lock (counted as "lock held")."""
    import threading
    from collections import Counter

    main_id = threading.main_thread().ident

    def stack(frame: Any) -> str:
        lines = []
        while frame is not None and len(lines) < args_limit[0]:
            code = frame.f_code
            lines.append(f"    {Path(code.co_filename).name}:{frame.f_lineno} {code.co_name}")
            frame = frame.f_back
        return "\n".join(reversed(lines))

    def report(beat: float, ended: float, gui: Counter[str], others: Counter[str],
               late: int, name: str) -> None:
        lines = [f"--- {ended - step_began[0]:7.3f} GUI frozen for {ended - beat:.3f} s in "
                 f"{name}: {sum(gui.values())} samples, {late} of them late (lock held)"]
        for where, count in gui.most_common(4):
            lines.append(f"  [GUI thread] x{count}\n{where}")
        for where, count in others.most_common(3):
            lines.append(f"  [other thread] x{count}\n{where}")
        print("\n".join(lines), file=sys.stderr, flush=True)

    def sampled() -> list[tuple[int, str]]:
        """Every thread's stack as text. No frame may outlive this call: a frame kept
        (the loop's last ``frame`` stayed bound until the next freeze) keeps its locals,
        and a PySide wrapper kept past its C++ object's end stays in shiboken's map of
        addresses, so a new object at that address came back as it: an event as the
        receiver of ``notify`` (TypeError), a QMenu as a QWidget (AttributeError)."""
        return [(ident, stack(frame)) for ident, frame in sys._current_frames().items()]

    def run() -> None:
        me = threading.get_ident()
        frozen_at = 0.0
        gui: Counter[str] = Counter()
        others: Counter[str] = Counter()
        late = 0
        name = ""
        while True:
            asked = time.monotonic()
            time.sleep(0.002)
            now = time.monotonic()
            beat = heartbeat[0]
            if frozen_at and beat != frozen_at:  # the freeze is over
                if beat - frozen_at > 0.06:
                    report(frozen_at, beat, gui, others, late, name)
                frozen_at, late = 0.0, 0
                gui.clear()
                others.clear()
            if not step[0] or now - beat < 0.02:
                continue
            if not frozen_at:
                frozen_at, name = beat, step[0]
            late += now - asked > 0.01
            for ident, where in sampled():
                if ident == main_id:
                    gui[where] += 1
                elif ident != me:
                    others[where] += 1

    threading.Thread(target=run, daemon=True).start()


def widget_path(receiver: Any) -> str:
    """The receiver and up to three of its parents, innermost first, by class (and object
    name where it has one): which viewport of which table a paint went to."""
    names = []
    while receiver is not None and len(names) < 4:
        name = type(receiver).__name__
        if receiver.objectName():
            name += f" {receiver.objectName()!r}"
        names.append(name)
        receiver = receiver.parent()
    return " < ".join(names)


def counted_like_a_used_library(library: Any) -> None:
    """Token counts as a library that has been open before has them: the imported seeds
    counted for real, every clone given its seed's count. Without this the window would
    count 100,000 conversations in the background for minutes during the bench (code from
    before background counting had no counts to make)."""
    try:
        from app.token_counts import ensure_counts
    except ImportError:
        return
    from sqlalchemy import text

    with library.engine.connect() as conn:
        seeds = conn.execute(text("SELECT conversation_id FROM conversations WHERE "
                                  "conversation_id NOT LIKE 'clone-%'")).scalars().all()
    ensure_counts(library, list(seeds))
    with library.engine.begin() as conn:
        names = {row[1] for row in conn.execute(text("PRAGMA table_info(conversations)"))}
        # Since the tokenizer choice lives in the library, a count is valid only with the
        # basis it was made with beside it (``token_basis``): copy both.
        copied = [name for name in ("token_count", "token_basis") if name in names]
        conn.execute(text(
            "UPDATE conversations SET " + ", ".join(
                f"{name} = (SELECT s.{name} FROM conversations s "
                "WHERE s.pk = ((conversations.pk - 1) % :seeds) + 1)" for name in copied)
            + " WHERE pk > :seeds"), {"seeds": len(seeds)})


def settled_like_a_used_library(library: Any, names: list[str]) -> None:
    """Bring a copied library to the state a library in daily use is in before any step is
    timed: the training files' fragments rendered by this code tree (a cache made by
    another tree, or before a format change, makes the first rebuild render every member:
    13 s, inside the first rename's "until settled"; a second rebuild takes 0.1 s)."""
    from app.trainingfiles import rebuild_training_files

    rebuild_training_files(library, names)


def jobs_done() -> bool:
    """No job of the window's (a removal, an undo, a rebuild) is running any more."""
    from ui import tasks

    return not tasks.running_jobs()


def near_twins_in_file(library: Any, name: str) -> None:
    """Give the members of training file ``name`` their seed's sentence sketch, so that
    they nearly repeat each other in groups, as re-generated conversations do (the clones
    of ``build_library`` have none), as in the audits' libraries: the files page's
    "Select near-duplicates" has them to select. Done before the window opens, which may
    count the file's near-duplicates at once."""
    from sqlalchemy import text

    with library.engine.begin() as conn:
        seeds = conn.execute(text("SELECT count(*) FROM conversations WHERE "
                                  "conversation_id NOT LIKE 'clone-%'")).scalar_one()
        conn.execute(text(
            "UPDATE conversations SET dialogue_sketch = (SELECT s.dialogue_sketch FROM "
            "conversations s WHERE s.pk = ((conversations.pk - 1) % :seeds) + 1) "
            "WHERE pk > :seeds AND pk IN (SELECT m.conversation_pk FROM "
            "training_file_members m JOIN training_files f USING (file_id) "
            "WHERE f.name = :name)"), {"seeds": seeds, "name": name})


def removal_and_files_steps(window: Any, library: Any, dialogs: Any,
                            results: dict[str, Any], measure: Any) -> None:
    """Edit ▸ Remove batch from library… (answered Yes) and its Edit ▸ Undo; then on the
    training files page, in "big file": Select near-duplicates, Remove from file (answered
    Yes) and its Edit ▸ Undo: each through the window's own action or button, each until
    its job has ended and the window has settled."""
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    from app.trainingfiles import member_ids

    def until(done: Any, seconds: float = 60) -> None:
        ends = time.monotonic() + seconds
        while not done() and time.monotonic() < ends:
            QApplication.processEvents()
            time.sleep(0.005)

    page = window.conversations
    window.pages.setCurrentIndex(0)
    page.set_batch_filter(None)
    batches = sorted({row.batch_id for row in library.summaries()
                      if row.batch_id.startswith("batch-")})
    page.set_batch_filter(batches[min(3, len(batches) - 1)])
    dialogs.confirms.append(True)
    before = library.count()
    results["remove batch"] = measure("remove batch", window.remove_batch_action.trigger,
                                      until=jobs_done)
    results["removed from library"] = before - library.count()
    results["undo remove batch"] = measure("undo remove batch", window.undo.action.trigger,
                                           until=jobs_done)
    page.set_batch_filter(None)
    files = window.training_files
    window.pages.setCurrentIndex(1)
    files.select_file("big file")
    # The file's details and its near-duplicates are read in workers: the step starts once
    # they are shown and nothing runs any more (the removals' rebuilds re-read them too).
    quiet_since = [0.0]

    def shown_and_quiet() -> bool:
        if not (files.near_button.isVisible() and jobs_done()
                and QThreadPool.globalInstance().activeThreadCount() == 0):
            quiet_since[0] = 0.0
            return False
        quiet_since[0] = quiet_since[0] or time.monotonic()
        return time.monotonic() - quiet_since[0] > 0.5

    until(shown_and_quiet)
    results["file members"] = len(member_ids(library, "big file"))
    results["near-duplicates found"] = len(files.members_model.near_ids())
    results["select near-duplicates"] = measure("select near-duplicates",
                                                files.near_button.click)
    if results["select near-duplicates"].get("skipped"):
        files.near_button.click()  # (what the removal removes)
    results["selected"] = len(files.selected_member_ids())
    dialogs.confirms.append(True)
    results["remove from file"] = measure("remove from file", files.remove_button.click,
                                          until=jobs_done)
    results["file after removal"] = len(member_ids(library, "big file"))
    results["undo remove from file"] = measure("undo remove from file",
                                               window.undo.action.trigger, until=jobs_done)
    results["file after undo"] = len(member_ids(library, "big file"))
    window.pages.setCurrentIndex(0)


def schema_key(code_root: Path) -> str:
    """A name for the library cache of one code tree's schema: a library made by one tree
    and opened by another would be migrated (and its token counts dropped) inside the
    setup, and a tree older than the cache could not open it at all."""
    import hashlib

    versions = sorted(p.name for p in (code_root / "app" / "migrations" / "versions").glob("*.py"))
    return "schema-" + hashlib.sha256("\n".join(versions).encode()).hexdigest()[:12]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("code_root", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--file-size", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=100,
                        help="batches the library's conversations are spread over (10 at "
                             "--n 10000: batches of 1,000, as the audits' libraries)")
    parser.add_argument("--import-files", type=int, default=100)
    parser.add_argument("--busy", type=int, default=0,
                        help="this many other processes keep a CPU busy while the steps are "
                             "measured (a loaded machine, as the audits measured on)")
    parser.add_argument("--read-in-child-from", type=int, default=None,
                        help="rows from which the window re-reads them in a child process "
                             "rather than a thread (ui.row_reader.READ_IN_CHILD_FROM), to "
                             "measure another threshold")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for this run (CPython's default: 0.005 s)")
    parser.add_argument("--trace", action="store_true",
                        help="print the GUI thread's stack whenever it is frozen > 60 ms")
    parser.add_argument("--trace-events-ms", type=float, default=30,
                        help="--trace: report each event handled in more ms than this "
                             "(0: none)")
    parser.add_argument("--trace-depth", type=int, default=8,
                        help="innermost frames of each stack a trace prints")
    parser.add_argument("--steps", default="",
                        help="comma-separated steps to measure (default: all); the window "
                             "is always opened, e.g. --steps build for a quick trace")
    parser.add_argument("--profile", action="store_true",
                        help="profile the GUI thread during each measured step (cProfile; "
                             "the 25 costliest functions by own time go to stderr)")
    parser.add_argument("--library-cache", type=Path, default=None,
                        help="a folder keeping the prepared library: copied from there when "
                             "it exists, saved there after it is made (saves minutes a run)")
    args = parser.parse_args()
    sys.path[:0] = [str(args.code_root.resolve()), str(BENCH)]
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    import shiboken6
    from _common import emit
    from _table_library import build_library
    from make_corpus import batch_folders, make_corpus
    from PySide6.QtCore import QElapsedTimer, QSettings, QThreadPool, QTimer
    from PySide6.QtWidgets import QApplication

    from app.library import Library
    from app.trainingfiles import add_conversations
    from ui.main import MainWindow
    from ui.snapshot import QuietDialogs

    class Answers(QuietDialogs):
        """Answers the window's questions from a queue (the batch names, the file name)."""

        def __init__(self) -> None:
            self.texts: deque[str] = deque()

            self.confirms: deque[bool] = deque()

        def text(self, parent: Any, title: str, label: str, default: str = "",
                 *choices: Any) -> str | None:  # (newer code offers choices too)
            return self.texts.popleft() if self.texts else default

        def confirm_destructive(self, parent: Any, title: str, question: str, action: str,
                                keep: str = "Cancel") -> bool:
            return self.confirms.popleft() if self.confirms else False

    heartbeat = [time.monotonic()]
    args_limit[0] = args.trace_depth
    event_limit[0] = args.trace_events_ms / 1000
    step = [""]
    if args.trace:
        start_watchdog(heartbeat, step)

    class StallMeter:
        """The longest gap between ticks of a 5 ms timer on the GUI thread, and the CPU
        time the GUI thread itself used during that gap (``time.thread_time`` read at each
        tick, on the GUI thread): a long gap with little CPU is the GUI thread waiting (for
        a CPU on a busy machine, or for the interpreter lock a worker thread holds), one
        with CPU close to the gap is the window working."""

        def __init__(self) -> None:
            self.clock = QElapsedTimer()
            self.timer = QTimer(interval=5)
            self.timer.timeout.connect(self._tick)
            self.longest = 0
            self.longest_cpu = 0.0  # ms of GUI-thread CPU during the longest gap
            self.last = 0
            self.last_cpu = 0.0

        def _tick(self) -> None:
            heartbeat[0] = time.monotonic()
            now = self.clock.elapsed()
            cpu = time.thread_time()
            if now - self.last > self.longest:
                self.longest = now - self.last
                self.longest_cpu = (cpu - self.last_cpu) * 1000
            self.last = now
            self.last_cpu = cpu

        def start(self) -> None:
            heartbeat[0] = time.monotonic()
            self.longest = 0
            self.longest_cpu = 0.0
            self.clock.start()
            self.last = 0
            self.last_cpu = time.thread_time()
            self.timer.start()

        def stop(self) -> tuple[int, float]:
            self._tick()
            self.timer.stop()
            return self.longest, round(self.longest_cpu, 1)

    app_class: Any = QApplication
    if args.trace and args.trace_events_ms > 0:  # (0: stacks only)
        class TimedApplication(QApplication):
            """Reports each event the GUI thread took over 30 ms to handle (by type and
            receiver) during a measured step: C++ work the stack samples cannot see."""

            depth = 0

            def notify(self, receiver: Any, event: Any) -> bool:
                TimedApplication.depth += 1
                began = time.perf_counter()
                try:
                    return super().notify(receiver, event)
                finally:
                    TimedApplication.depth -= 1
                    took = time.perf_counter() - began
                    if took > event_limit[0] and step[0]:
                        # (a DeferredDelete has deleted its receiver by now)
                        to = (widget_path(receiver) if shiboken6.isValid(receiver)
                              else "a deleted object")
                        print(f"--- {time.monotonic() - step_began[0]:7.3f} event "
                              f"{event.type().name} to {to} took {took:.3f} s (depth "
                              f"{TimedApplication.depth}) in {step[0]}",
                              file=sys.stderr, flush=True)
                    # Neither wrapper may outlive the call, even in a frame the watchdog
                    # sampled: see ``start_watchdog``'s ``sampled``.
                    del receiver, event

        app_class = TimedApplication
    app = QApplication.instance() or app_class(sys.argv[:1])
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    cache = args.library_cache and args.library_cache / (
        schema_key(args.code_root) + f"-n{args.n}-f{args.file_size}-b{args.batches}")
    if cache is not None and (cache / "ready").exists():
        shutil.copytree(cache / "library", args.work / "library")
        library = Library(args.work / "library")
        # At once when the cache was made by this tree; a minute when by an older one.
        settled_like_a_used_library(library, ["big file"])
        ids = [row.conversation_id for row in library.summaries()]
    else:
        library = build_library(args.work / "library", args.n, args.batches)
        counted_like_a_used_library(library)
        ids = [row.conversation_id for row in library.summaries()]
        add_conversations(library, "big file", ids[: args.file_size], create=True)
        settled_like_a_used_library(library, ["big file"])
        if cache is not None:
            library.close()
            shutil.rmtree(cache, ignore_errors=True)
            shutil.copytree(args.work / "library", cache / "library",
                            ignore=shutil.ignore_patterns("*.lock", "lock"))
            (cache / "ready").write_text("")
            library = Library(args.work / "library")
    near_twins_in_file(library, "big file")
    corpus = args.work / "corpus"
    make_corpus(corpus, args.import_files, seed=7)
    setup = time.perf_counter() - started

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    dialogs = Answers()
    settings = QSettings(str(args.work / "settings.ini"), QSettings.Format.IniFormat)
    windows: list[Any] = []
    meter = StallMeter()

    def open_window() -> None:
        made = MainWindow(library, dialogs, settings)
        made.resize(1400, 860)
        made.show()
        windows.append(made)

    def settled() -> bool:
        return (QThreadPool.globalInstance().activeThreadCount() == 0
                and not any(getattr(w.conversations, "loading", False) for w in windows))

    wanted = {name.strip() for name in args.steps.split(",") if name.strip()}

    def measure(name: str, action: Any, until: Any = lambda: True) -> dict[str, float]:
        if wanted and name not in wanted and name != "open window":
            return {"stall_ms": 0, "until_settled_s": 0.0, "skipped": 1}
        for _ in range(20):
            app.processEvents()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        meter.start()
        step_began[0] = time.monotonic()
        step[0] = name
        begun = time.perf_counter()
        action()
        quiet_since = None
        while True:  # settled for 300 ms in a row: every follow-up has run
            app.processEvents()
            if settled() and until():
                quiet_since = quiet_since or time.perf_counter()
                if time.perf_counter() - quiet_since > 0.3:
                    break
            else:
                quiet_since = None
            time.sleep(0.001)
        total = quiet_since - begun
        step[0] = ""
        if profiler is not None:
            import io
            import pstats

            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            pstats.Stats(profiler, stream=out).sort_stats("cumtime").print_stats("/ui/", 30)
            print(f"--- profile of {name} (GUI thread)\n{out.getvalue()}", file=sys.stderr)
        longest, cpu = meter.stop()
        return {"stall_ms": longest, "stall_gui_cpu_ms": cpu, "until_settled_s": total}

    import ui.main

    if args.read_in_child_from is not None:
        import ui.row_reader

        ui.row_reader.READ_IN_CHILD_FROM = args.read_in_child_from
    results: dict[str, Any] = {"setup_s": setup, "n": library.count(),
                               "code": str(Path(ui.main.__file__).parents[1])}
    # Nothing happening: what the machine alone (other processes, the OS) freezes the timer.
    idle_until = time.perf_counter() + 3
    results["idle 3 s"] = measure("idle 3 s", lambda: None,
                                  until=lambda: time.perf_counter() > idle_until)
    # From the window being made until its rows are shown (older code read them all while
    # making the window, before it showed: the timer could not tick during that read).
    results["open window"] = measure("open window", open_window)
    window = windows[0]
    page = window.conversations
    results["import"] = measure("import", lambda: window.importer.start(
        batch_folders(corpus), ask_batch=False))
    batches = sorted({row.batch_id for row in library.summaries()})
    batch = batches[min(42, len(batches) - 1)]  # (--n 0: the few batches there are)
    page.set_batch_filter(batch)
    page.model.check_all_shown()
    dialogs.texts.append("bench build")

    def reviewed_and_built() -> bool:
        """The build step goes on until the file is built: once the review is open (at
        once in older code, after the plan in newer), click Add as a user would."""
        review = getattr(window.creator, "review", None)  # none: older code builds at once
        if review is None or built:
            return bool(built)
        if review.isVisible():
            review.add_button.click()
        return False

    built: list[str] = []
    window.creator.built.connect(built.append)
    results["build"] = measure("build", lambda: window.creator.add_checked(None),
                               until=reviewed_and_built)
    window.pages.setCurrentIndex(0)
    page.set_batch_filter(batch)
    dialogs.texts.append(f"{batch}-renamed")
    results["rename batch"] = measure("rename batch", window.batches.rename_current)
    page.set_batch_filter(None)
    page.model.set_checked_ids(ids[:100])
    dialogs.texts.append("moved-here")
    results["move 100 checked"] = measure("move 100 checked", window.batches.move_checked)
    # New token counts for 1,000 conversations, announced as the background count does
    # (without its pause: both trees wait TOKENS_PAUSE_MS before acting on them).
    if hasattr(window.changes, "tokens_changed"):
        from sqlalchemy import text

        import ui.row_reader

        ui.row_reader.TOKENS_PAUSE_MS = 0
        with library.engine.begin() as conn:
            conn.execute(text("UPDATE conversations SET token_count = token_count + 1 "
                              "WHERE pk % 100 = 7"))
        results["token counts"] = measure("token counts", window.changes.tokens_changed.emit)
    removal_and_files_steps(window, library, dialogs, results, measure)
    # The background count of every conversation, as after an import of them all or a
    # tokenizer change (its progress announces new counts every couple of seconds), while
    # the first conversation is being read. Only
    # when asked for (--steps "count tokens"): at 100,000 it takes minutes.
    if "count tokens" in wanted and hasattr(window, "token_counts"):
        from sqlalchemy import text

        from app.token_counts import CACHE_NAME

        with library.engine.begin() as conn:
            conn.execute(text("UPDATE conversations SET token_count = 0"))
        (library.root / CACHE_NAME).unlink(missing_ok=True)
        page.select_conversation(page.model.row_at(0).conversation_id)  # a person reads one
        for _ in range(20):
            app.processEvents()
        results["count tokens"] = measure(
            "count tokens", window.token_counts.start,
            until=lambda: not window.token_counts.running
            and not window.token_counts._timer.isActive())
    results["count_after"] = library.count()
    # The GUI thread's own share of one full table reload, without any worker running:
    # before, the whole reload (read + fill); now, the swap of rows a worker has read.
    window.pages.setCurrentIndex(0)
    if hasattr(page, "_show_rows"):
        from ui.row_index import RowIndex

        index = RowIndex(library.summaries())
        shown, _mask = index.select(page.model.current_filter)
        index.counts(page.model.current_filter, shown)
        index.choosable()
        swap = lambda: page._show_rows(index)  # noqa: E731
    else:
        swap = page.reload
    results["GUI share of a reload"] = measure("GUI share of a reload", swap)
    window.close()
    library.close()
    for process in busy:
        process.kill()
        process.wait()
    results["busy"] = args.busy
    emit(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
