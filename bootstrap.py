"""Set up a private virtual environment, then start LoRA Studio or run its tests.

One script for Linux, macOS and Windows, so that the README's two commands need
nothing but Python 3.11+ (no make, no shell tricks):

    python bootstrap.py start      # install (first time only) and open the app
    python bootstrap.py test       # install (first time only), then ruff, mypy and pytest

Dependencies are reinstalled only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".bootstrap-stamp"


def venv_python() -> Path:
    """Return the interpreter inside the project's virtual environment."""
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def ensure_environment(extras: str) -> Path:
    """Create the venv and install the project in editable mode when needed.

    The stamp records what was installed for which pyproject.toml: ``start`` is content with
    any install of the current project, ``test`` also needs the test tools.
    """
    python = venv_python()
    if not python.exists():
        print(f"Creating virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    project = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = STAMP.read_text(encoding="utf-8").split() if STAMP.exists() else []
    have = set(stamp[1:]) if stamp[:1] == [project] else None
    if have is None or (extras and extras not in have):
        print("Installing LoRA Studio and its dependencies ...", flush=True)
        subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        target = f".[{extras}]" if extras else "."
        subprocess.check_call(
            [str(python), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT
        )
        installed = (have or set()) | ({extras} if extras else set())
        STAMP.write_text(" ".join([project, *sorted(installed)]), encoding="utf-8")
    return python


def run_step(command: list[str], **options: object) -> int:
    """Run one step and wait for its end. Ctrl+C in the terminal reaches the step too: the
    app closes as its window's close does (cancelling its work first) and pytest prints
    what it has, so this script waits for that instead of killing the step at once and
    printing a traceback of its own; then it ends, running no further step."""
    process = subprocess.Popen(command, **options)  # type: ignore[call-overload]
    interrupted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupted.append(signum))
    try:
        code = int(process.wait())
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        sys.exit(code or 128 + signal.SIGINT)
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "start":
        python = ensure_environment("")
        return run_step([str(python), "-m", "app", *rest], cwd=ROOT)
    python = ensure_environment("test")
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    # Every step runs even when an earlier one fails, so one run shows every problem.
    lint = run_step([str(python), "-m", "ruff", "check", "."], cwd=ROOT, env=env)
    types = run_step([str(python), "-m", "mypy"], cwd=ROOT, env=env)
    tests = run_step([str(python), "-m", "pytest", *rest], cwd=ROOT, env=env)
    return tests or types or lint


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
