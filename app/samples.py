"""The sample conversations that ship with the app, told apart from the user's own.

Samples are recognised by content (the SHA-256 of each sample file, which the importer
stores for every conversation), so renaming or moving their batch does not hide them and a
user's own file is never taken for one.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from sqlalchemy import select

from app.bundle import resources_dir
from app.library import Library
from app.models import Conversation


def samples_dir() -> Path:
    return resources_dir() / "samples"


@cache
def sample_hashes(folder: Path | None = None) -> frozenset[str]:
    """The content fingerprints of the sample files."""
    root = folder or samples_dir()
    if not root.is_dir():
        return frozenset()
    return frozenset(hashlib.sha256(path.read_bytes()).hexdigest()
                     for path in sorted(root.rglob("*.json")))


def sample_ids(library: Library) -> list[str]:
    """Ids of the sample conversations in the library, in import order."""
    hashes = sorted(sample_hashes())
    if not hashes:
        return []
    with library.session() as session:
        return list(session.scalars(
            select(Conversation.conversation_id)
            .where(Conversation.content_sha256.in_(hashes)).order_by(Conversation.pk)))
