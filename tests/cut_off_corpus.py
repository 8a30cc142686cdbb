"""Real conversations with the endings the cut-off rule must tell apart, made on demand
from the fixtures: a client who stops writing end marks, a reply the generator cut at a
dash. ``tests/data/library-before-cut-rule`` was imported from exactly these files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import ENRICHED
from hostile_corpus import _replace_text, conversation, dump

INFORMAL = "fp_conversation_informal_clients"
DASH_CUT = "fp_conversation_cut_at_a_dash"
DASH_CUT_PAIR = 3  # the training pair whose reply (the second) stops at a dash


def informal_clients(folder: Path) -> Path:
    """The base fixture under its own id, every client message after the first without its
    end mark ("Or is there some middle ground I'm not seeing"): finished, informal."""
    document = conversation(INFORMAL)
    inputs = list(dict.fromkeys(p["current_user_input"] for p in document["training_pairs"]))
    for text in inputs[1:]:
        document = _replace_text(document, text, text.rstrip()[:-1])
    return _write(folder, "informal-clients.json", document)


def cut_at_a_dash(folder: Path) -> Path:
    """enriched-2 under its own id, its second reply stopped at an em dash mid-sentence
    ("…and that's exactly—"), the way the generator cuts replies; the others intact."""
    document: dict[str, Any] = json.loads(ENRICHED[2].read_text(encoding="utf-8"))
    document["dataset_metadata"]["dataset_name"] = DASH_CUT
    reply = document["training_pairs"][DASH_CUT_PAIR]["target_response"]
    document = _replace_text(document, reply, reply[: reply.index(" ", 200)] + "—")
    return _write(folder, "cut-at-a-dash.json", document)


def _write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(dump(document))
    return path
