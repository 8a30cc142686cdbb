"""``python -m app``: the same entry point as the ``lora-studio`` command.

Also the entry script of the PyInstaller bundle, hence ``freeze_support``: the importer's
worker processes re-launch the frozen executable. The command line is imported only after
it, so such a worker loads the per-file import code alone (``app.prepare``), not the
whole application.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from app.cli import main

    sys.exit(main())
