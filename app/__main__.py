"""``python -m app``: the same entry point as the ``lora-studio`` command."""

import sys

from app.cli import main

sys.exit(main())
