"""Guards against a Qt binding that corrupts reference counts (PySide6 6.12.0 on 3.11).

Such a binding lets the app run for a while and then aborts the whole process during a
long import, so the check runs in a child process that may die without taking pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

app = QCoreApplication([])


class Source(QObject):
    progress = Signal(int, int, str)
    flag = Signal(bool)
    thing = Signal(object)


source = Source()
source.progress.connect(lambda *args: None)
source.flag.connect(lambda value: None)
source.thing.connect(lambda value: None)


name = "".join(["file", ".json"])  # made at run time: an ordinary, mortal object
marker = object()


def emit_all(times):
    for _ in range(times):
        source.progress.emit(1, 2, name)
        source.flag.emit(True)
        source.thing.emit(None)
        source.thing.emit(marker)


# From Python 3.12 True and None are immortal: their counts say nothing (a binding built
# for older headers moves them harmlessly), so there only the mortal objects are watched.
watched = [name, marker] + ([True, None] if sys.version_info < (3, 12) else [])
emit_all(10)  # first emits may create caches that hold a reference or two
before = [sys.getrefcount(thing) for thing in watched]
emit_all(20000)
after = [sys.getrefcount(thing) for thing in watched]
# A broken binding loses one reference per emit (tens of thousands here); allow noise.
assert all(abs(a - b) < 100 for a, b in zip(before, after)), (before, after)
print("ok")
"""


def test_signals_keep_reference_counts():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
