"""LoRA Studio core: formats, library store, import and training-file builds.

Nothing in this package imports Qt; the desktop UI lives in ``ui`` and depends on us,
never the other way round.
"""

__version__ = "0.1.0"
FORMAT_VERSION = "4.0.0"
