"""Work another LoRA Studio is doing in the library right now, said to whoever lists it.

A listing command reads the library while a window or another command may be writing it:
during an import, ``lora-studio batches`` printed a batch's count part-way ("batch-000	1000"
of the import's 10,000) without a word. An import and a build keep a record in the library
folder for as long as they run, locked by their process (``app.running_work``); a record
whose lock is held is work running now, and a listing says so on stderr, its output as it
was.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.running_work import Record, read_record, records

# What each kind of build does to its training file, as the sentence says it.
BUILDS = {"create": "being made", "add": "being added to", "settings": "being rebuilt with "
          "new settings"}


def running_elsewhere(root: Path) -> list[Record]:
    """The records of work other processes are doing in the library folder ``root`` now,
    oldest first; none for a record still being written (it says nothing yet)."""
    found: list[Record] = []
    for _written, path, held in records(root):
        record = read_record(path) if held else None
        if record is not None and record.get("pid") != os.getpid():
            found.append(record)
    return found


def running_sentence(record: Record, may_change: str, until_it_ends: bool = True) -> str:
    """What the work of ``record`` is, whose it is, and what of a listing it may change
    (until it ends, unless ``may_change`` says when itself)."""
    process = f"in another LoRA Studio (process {record.get('pid', '?')})"
    if record.get("kind") == "build":
        doing = BUILDS.get(str(record.get("change")), "being built")
        what = f"the training file '{record.get('name', '')}' is {doing} {process}"
    else:
        what = f"an import is running {process}"
    return f"{what}: {may_change}" + (" until it ends" if until_it_ends else "")
