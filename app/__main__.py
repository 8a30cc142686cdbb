"""``python -m app``: the same entry point as the ``lora-studio`` command.

Also the entry script of the PyInstaller bundle, hence ``freeze_support``: the importer's
worker processes re-launch the frozen executable.
"""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
