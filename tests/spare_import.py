"""A module a spare child imports ahead (``test_job_spare``), saying where it has got to.

With ``LORA_TEST_SPARE_READY`` set, the importing process writes its pid to that file: it
has imported what it was given and waits for its job next. With ``LORA_TEST_SPARE_GATE``
set, it waits for that file to exist, then ends with code 3, as a spare killed after it was
handed a job but before it took it would."""

import os
import time
from pathlib import Path

_ready = os.environ.get("LORA_TEST_SPARE_READY")
if _ready:
    Path(_ready + ".part").write_text(str(os.getpid()))
    Path(_ready + ".part").replace(_ready)

_gate = os.environ.get("LORA_TEST_SPARE_GATE")
if _gate:
    while not Path(_gate).exists():
        time.sleep(0.01)
    os._exit(3)
