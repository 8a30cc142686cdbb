"""The GUI-stall bench's ``--trace`` (``bench/stall_child.py``) runs to its result.

With events timed (``--trace-events-ms`` > 0, its default) it failed while the window
opened: the watchdog kept the last stack frame it sampled until the next freeze, so the
PySide wrappers in it (``notify``'s receiver and event) outlived their C++ objects, and a
new object at the same address came back as one of them (an event handed to ``notify`` as
its receiver, a QMenu as a QWidget).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from child_process import run_bounded

ROOT = Path(__file__).resolve().parent.parent

# In a child (the watchdog's thread never ends): a frame the watchdog sampled while it
# held an object, and whether that object outlives the frame's return.
KEPT_AFTER_SAMPLING = """
import sys, time, weakref
sys.path.insert(0, sys.argv[1])
from stall_child import start_watchdog

class Held:
    pass

def hold():
    held = Held()
    time.sleep(0.3)  # the GUI thread is "frozen" here: the watchdog samples this frame
    return weakref.ref(held)

step = ["held"]
start_watchdog([time.monotonic() - 1.0], step)
ref = hold()
step[0] = ""  # the step is over: no more samples
# A sample under way as hold() returned holds the frame until it ends (the watchdog's
# thread may wait for a core on a loaded machine): only a frame kept on is the fault.
deadline = time.monotonic() + 60
while ref() is not None and time.monotonic() < deadline:
    time.sleep(0.01)
print("kept" if ref() is not None else "freed")
"""


def test_the_watchdog_keeps_no_sampled_frame_alive(tmp_path: Path) -> None:
    """What a sampled frame held (in the window: a PySide wrapper) ends with its call."""
    code, out, err = run_bounded([sys.executable, "-c", KEPT_AFTER_SAMPLING,
                                  str(ROOT / "bench")], 120, "the watchdog check")
    assert code == 0, err
    assert out.split() == ["freed"]


def test_a_trace_with_event_times_prints_and_ends_with_the_result(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "bench" / "stall_child.py"), str(ROOT),
               str(tmp_path / "work"), "--n", "2000", "--file-size", "200",
               "--import-files", "2", "--trace", "--trace-events-ms", "1",
               "--steps", "count tokens"]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    code, out, err = run_bounded(command, 600, "the stall bench with --trace")
    assert code == 0, err[-4000:]
    assert "Error" not in err, err[-4000:]
    assert " event " in err  # events over 1 ms are reported
    (result,) = [line for line in out.splitlines() if line.startswith("BENCH-RESULT ")]
    assert json.loads(result.removeprefix("BENCH-RESULT "))["count tokens"]["stall_ms"] >= 0


def test_each_step_says_the_gui_threads_own_cpu_in_its_longest_stall(tmp_path: Path) -> None:
    """A stall with little GUI-thread CPU is the window waiting (the machine, a worker
    holding the interpreter lock), not working. Also: an import into a library of the
    fixtures alone (``--n 0``), as a person's first large import is measured."""
    command = [sys.executable, str(ROOT / "bench" / "stall_child.py"), str(ROOT),
               str(tmp_path / "work"), "--n", "0", "--file-size", "5",
               "--import-files", "30", "--steps", "import"]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    code, out, err = run_bounded(command, 600, "the stall bench")
    assert code == 0, err[-4000:]
    (line,) = [line for line in out.splitlines() if line.startswith("BENCH-RESULT ")]
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    assert result["count_after"] == result["n"] + 30
    for step in ("open window", "import"):
        stall, cpu = result[step]["stall_ms"], result[step]["stall_gui_cpu_ms"]
        assert 0 <= cpu <= stall + 1, (step, stall, cpu)  # (the gap is in whole ms)


def test_the_removal_steps_remove_and_undo_through_the_window(tmp_path: Path) -> None:
    """Remove batch (answered Yes) and its Undo; Select near-duplicates in a file whose
    members are re-generations of each other, Remove from file and its Undo: the library
    and the file are whole again after each Undo."""
    steps = ("remove batch", "undo remove batch", "select near-duplicates",
             "remove from file", "undo remove from file")
    command = [sys.executable, str(ROOT / "bench" / "stall_child.py"), str(ROOT),
               str(tmp_path / "work"), "--n", "1000", "--file-size", "300", "--batches", "10",
               "--import-files", "1", "--steps", ",".join(steps)]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    code, out, err = run_bounded(command, 600, "the stall bench's removal steps")
    assert code == 0, err[-4000:]
    (line,) = [line for line in out.splitlines() if line.startswith("BENCH-RESULT ")]
    result = json.loads(line.removeprefix("BENCH-RESULT "))
    assert result["count_after"] == result["n"] == 1000
    assert 90 <= result["removed from library"] <= 110  # a tenth of the library
    members = result["file members"]
    assert members > 200
    assert result["near-duplicates found"] > members * 0.8  # re-generations of 15 originals
    assert result["selected"] == result["near-duplicates found"]
    assert result["file after removal"] == members - result["selected"]
    assert result["file after undo"] == members
    for step in steps:
        assert result[step]["stall_ms"] >= 0 and "skipped" not in result[step], step
