"""What a replace of changed conversations is said with, in the window and on the command
line alike: who the changed conversations are (client · batch · new file: what differs),
which training files a replace rebuilds, and what the new versions brought into them.

The window's question and status and ``lora-studio import`` build their sentences from
these, so both say the same thing the same way (``app.replace_checks`` finds the facts).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from app.importer import FileVerdict
from app.labels import display_name
from app.replace_checks import Stored, Worse
from app.wording import LENGTH_LIMIT, agreeing, and_list, plural

NO_CLIENT = "(no client name)"


def client_of(stored: Stored | None) -> str:
    """A changed conversation's client as the table shows it, or that it has none."""
    return stored.client if stored is not None and stored.client else NO_CLIENT


def described(cid: str, stored: Mapping[str, Stored], differs: Mapping[str, str]) -> str:
    """A changed conversation as the Replace question names it, without its file: client
    · batch, and what differs when its new file could be read again."""
    found = stored.get(cid)
    where = f"{client_of(found)} · batch '{found.batch}'" if found is not None else cid
    return where + (f": {differs[cid]}" if cid in differs else "")


def changed_lines(changed: Sequence[FileVerdict], stored: Mapping[str, Stored],
                  differs: Mapping[str, str]) -> list[str]:
    """Each changed conversation as the table shows it: client · batch · the new file,
    and what differs when the new file could be read again (``differs``)."""
    lines = []
    for verdict in changed:
        cid = verdict.conversation_id or ""
        found = stored.get(cid)
        where = f"batch '{found.batch}'" if found is not None else cid
        how = f": {differs[cid]}" if cid in differs else ""
        lines.append(f"  • {client_of(found)} · {where} · {Path(verdict.path).name}{how}")
    return lines


def rebuilds_sentence(holding: list[tuple[str, int]], in_no_file: int, total: int,
                      listed: int | None = None) -> str:
    """Which training files a replace rebuilds and how many of the replaced ones each
    holds: "Replacing rebuilds 'Coaching A' (6 of them) and 'Coaching B' (4)". With
    ``listed``, the first that many files by name, then how many more."""
    if not holding:
        return ("No training file holds them: replacing rebuilds none." if total > 1
                else "No training file holds it: replacing rebuilds none.")
    def held(first: bool, n: int) -> str:
        if total == 1:
            return ""
        if n == total:
            return f" (all {n:,})"
        return f" ({n:,} of them)" if first else f" ({n:,})"

    files = [f"'{name}'{held(i == 0, n)}" for i, (name, n) in enumerate(holding)]
    if listed is not None and len(files) > listed:
        more = len(files) - listed
        files = [*files[:listed], plural(more, "more training file")]
    text = f"Replacing rebuilds {and_list(files)}"
    if in_no_file:
        text += (f"; {in_no_file:,} {agreeing(in_no_file, 'is', 'are')} in no training "
                 "file")
    return text + "."


def _where(counts: list[tuple[str, int]]) -> str:
    if len(counts) == 1:
        return f"'{counts[0][0]}'"
    return and_list([f"'{name}' ({k:,})" for name, k in counts])


def _harmful_codes(worse: list[Worse]) -> str:
    """The harmful warnings the new versions brought in, by name."""
    codes = {code for w in worse for found in w.harmful.values() for code in found}
    return and_list([display_name(c) for c in sorted(codes, key=display_name)])


# Each check of ``Worse``, by its field, with what a finding of it says: how many found
# (``k``) and what it found, then the training files where (``_where``).
FINDINGS: tuple[tuple[str, Callable[[int, list[Worse]], str]], ...] = (
    ("harmful", lambda k, worse: f"{k:,} now {agreeing(k, 'has', 'have')} a warning that "
     f"would harm training ({_harmful_codes(worse)}) in"),
    ("over_limit", lambda k, _worse: f"{k:,} {agreeing(k, 'is', 'are')} now over the "
     f"{LENGTH_LIMIT} of"),
    ("near", lambda k, _worse: f"{k:,} now nearly {agreeing(k, 'repeats', 'repeat')} "
     "another conversation in"),
)


def worse_findings(worse: list[Worse]) -> list[tuple[str, list[str]]]:
    """What the new versions brought into the training files, a clause a check with the
    conversations it found: "6 now have a warning that would harm training (History
    Mismatch) in 'Coaching A' (6) and 'Coaching B' (4)", "1 is now over the length limit
    of 'Coaching B'"; none when clean."""
    parts = []
    for check, said in FINDINGS:
        found: list[tuple[str, Collection[str]]] = [
            (w.name, getattr(w, check)) for w in worse if getattr(w, check)]
        if found:
            ids = {cid for _name, held in found for cid in held}
            counts = [(name, len(held)) for name, held in found]
            parts.append((f"{said(len(ids), worse)} {_where(counts)}", sorted(ids)))
    return parts


REVIEWERS_NAMED = 3  # reviewers a sentence about review marks names


def _reviewers(taken: Mapping[str, str]) -> str:
    """Who had marked them: "Elena QA", "Elena QA and Sam", "A, B, C and 2 more"."""
    names = sorted(set(taken.values()))
    shown = names[:REVIEWERS_NAMED]
    if len(names) > REVIEWERS_NAMED:
        shown.append(f"{len(names) - REVIEWERS_NAMED:,} more")
    return and_list(shown)


def marks_question(taken: Mapping[str, str], total: int) -> str:
    """What a replace does to the review marks of the changed conversations whose new text
    differs (``app.replace_checks.marks_taken``), said before it: "2 of them were marked
    reviewed (by Elena QA): replacing takes their marks away, as their new text was not
    reviewed." "" when none is marked."""
    k = len(taken)
    if not k:
        return ""
    who = f"marked reviewed (by {_reviewers(taken)})"
    their = agreeing(k, "its", "their")
    first = f"It was {who}" if total == 1 else f"{k:,} of them {agreeing(k, 'was', 'were')} {who}"
    return (f"{first}: replacing takes {their} {agreeing(k, 'mark', 'marks')} away, as "
            f"{their} new text was not reviewed.")


def marks_taken_words(taken: Mapping[str, str]) -> str:
    """The review marks a replace took away (``ImportReport.marks_taken``), said after it:
    "1 review mark (by Elena QA) taken away: its new text was not reviewed". "" when none."""
    k = len(taken)
    if not k:
        return ""
    return (f"{plural(k, 'review mark')} (by {_reviewers(taken)}) taken away: "
            f"{agreeing(k, 'its', 'their')} new text was not reviewed")
