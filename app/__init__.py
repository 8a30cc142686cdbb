"""LoRA Studio core: formats, library store, import and training-file builds.

Nothing in this package imports Qt; the desktop UI lives in ``ui`` and depends on us,
never the other way round.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    # pyproject.toml is the one place the version is written; an install (editable or the
    # bundle's copied metadata) carries it here.
    __version__ = version("lora-studio")
except PackageNotFoundError:  # a bare source tree that was never installed
    __version__ = "0+unknown"
FORMAT_VERSION = "4.0.0"
