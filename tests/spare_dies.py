"""A module a spare child imports ahead and dies of (``test_job_spare``): once the file
named by ``LORA_TEST_SPARE_GATE`` exists, the importing process ends with code 3, as a
spare killed after it was handed out but before it took its job would."""

import os
import time
from pathlib import Path

_gate = os.environ.get("LORA_TEST_SPARE_GATE")
if _gate:
    while not Path(_gate).exists():
        time.sleep(0.01)
    os._exit(3)
