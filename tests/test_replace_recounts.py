"""A replaced conversation is counted again: the Tokens column and the length limit's
checks (the add review, the replace's) read the stored count, which was the old text's.
Real library, a regenerated fixture on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import LEGACY

from app.importer import import_paths
from app.library import Library
from app.token_counts import ensure_counts


def test_a_replaced_conversation_is_counted_again_not_by_its_old_text(
        library: Library, tmp_path: Path) -> None:
    """The Tokens column and the length limit's checks read the stored count: the old
    text's count kept for a much longer new one passed it as fitting."""
    import_paths(library, [LEGACY[0]])
    (cid,) = [row.conversation_id for row in library.summaries()]
    (before,) = ensure_counts(library, [cid]).values()
    document: dict[str, Any] = json.loads(LEGACY[0].read_text(encoding="utf-8"))
    for pair in document["training_pairs"]:  # regenerated: every reply much longer
        if pair.get("target_response"):
            pair["target_response"] += " We can budget for it." * 500
    longer = tmp_path / LEGACY[0].name
    longer.write_text(json.dumps(document), encoding="utf-8")

    assert import_paths(library, [longer], replace=True).replaced_ids == [cid]
    (after,) = ensure_counts(library, [cid]).values()
    assert after > before + 2000
