"""``python -m app`` and the ``lora-studio`` command: the command line.

Also the entry script of the PyInstaller bundle, hence ``freeze_support``: the importer's
worker processes re-launch the frozen executable. A spawned worker re-runs (or, for the
``lora-studio`` command's script, re-imports) the entry of its parent; the command line is
therefore imported only inside ``main``, so a worker loads the per-file import code alone
(``app.prepare``), not the whole application.
"""

import multiprocessing
import sys


def main() -> int:
    """Run the command line (``app.cli.main``) on ``sys.argv``."""
    from app.cli import main as run

    return run()


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
