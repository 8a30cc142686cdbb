"""A skipped duplicate as the import summary says it, in the window and on the command
line alike: by its file, whose conversation it is and where the conversation it repeats
is (its batch and file, or the file of this import it repeats); the id last."""

from __future__ import annotations

from collections.abc import Callable

from app.importer import MEANWHILE, OTHER_CONTENT, FileVerdict


def whose(verdict: FileVerdict) -> str:
    """The conversation as a person knows it: "David Chen's conversation"."""
    return f"{verdict.client}'s conversation" if verdict.client else "its conversation"


def duplicate_line(verdict: FileVerdict, short: Callable[[str], str],
                   to_replace: str = "answer Replace") -> str:
    """A skipped duplicate, said by its file and the conversation it repeats (its client,
    its batch and the file it came from, or the file of this import it repeats); the ids
    last, for whoever looks them up. ``to_replace``: how a person replaces a stored
    conversation where they read it (the window's question, the command's --replace)."""
    dialogue = verdict.repeats == "dialogue"
    if verdict.repeats == OTHER_CONTENT:
        where = short(verdict.earlier) if verdict.earlier else "another file"
        said = (f"{whose(verdict)} has the conversation id of {where}, imported earlier in "
                "this import, with different content (check which version is right; to use "
                f"this one, import it again on its own and {to_replace})")
    elif verdict.earlier is not None:
        where = f"{short(verdict.earlier)}, imported earlier in this import"
        said = (f"{whose(verdict)} has the same dialogue as {where}, under another id"
                if dialogue else f"{whose(verdict)} repeats {where}")
    elif verdict.stored_batch is not None:
        where = f"batch '{verdict.stored_batch}'" + (
            f", from {verdict.stored_file}" if verdict.stored_file else "")
        meanwhile = MEANWHILE.removeprefix(", ")  # said of the content, the id, the dialogue
        if meanwhile in verdict.reason:
            said = (f"{whose(verdict)} has the same dialogue as one {meanwhile} under "
                    f"another id ({where})" if dialogue
                    else f"{whose(verdict)} was {meanwhile} ({where})")
        else:
            said = (f"{whose(verdict)} has the same dialogue as one already in the library "
                    f"under another id ({where})" if dialogue
                    else f"{whose(verdict)} is already in the library ({where})")
    else:  # the stored copy's place could not be read (removed since): the reason says
        return f"{short(verdict.path)}: {verdict.reason}"
    return f"{short(verdict.path)}: {said}; skipped. Conversation id {verdict.conversation_id}"
