"""The build's progress names each conversation by its client, as a person knows it."""

from __future__ import annotations

from app.library import Library
from app.trainingfiles import add_conversations


def test_the_build_progress_names_the_client_not_the_id(filled_library: Library) -> None:
    rows = filled_library.summaries()
    clients = {row.persona_name for row in rows if row.persona_name}
    said: list[str] = []

    def progress(done: int, total: int, current: str) -> None:
        said.append(current)

    add_conversations(filled_library, "Named", [row.conversation_id for row in rows],
                      create=True, progress=progress)
    rendered = [text for text in said if text in clients]
    assert rendered, said  # the conversations rendered are named by their clients
    assert not any(text.startswith("fp_conversation_") for text in said), said
