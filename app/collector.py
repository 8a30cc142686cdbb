"""The cycle collector paused while a long piece of work makes many small objects.

Such work (a build, a count over every line of a large file) makes hundreds of thousands
of small objects that never form cycles; the collector would walk all of them, and every
other object of the process, again and again. On a worker thread each of those walks also
holds the interpreter lock the window needs: a full one took 75-100 ms of frozen window
while a 10,000-conversation file's reply openings were counted. Reference counting still
frees everything; cycles wait until the end.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cycle collection inside; the collector as it was after (work on two threads
    that both pause it leaves it on once the one that found it on is done)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
