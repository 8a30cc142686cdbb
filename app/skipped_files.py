"""Files a folder's walk passes over, told in a line a kind instead of a line a file.

A dropped folder can hold thousands of files that are not conversations (notes, JSONL
copies, images): each kind (its ending) is counted with the first few names, so the import
summary says what was left and why without burying the verdicts.

What a file browser hides is passed over without a word: names starting with a dot
(``.DS_Store``, macOS's ``._`` copies, tools' settings; hidden folders are not entered) and
the files Windows keeps hidden beside pictures (``Thumbs.db``, ``desktop.ini``). The system
writes them, nobody put them there on purpose, and a line for them on every import would
hide the lines that matter. A hidden ``.json`` file is the exception: its name says it may
be a conversation someone meant to bring in.

The walk calls ``SkippedFiles.add`` only for a file it does not read, and that costs a
look at the name's ending: a folder of 100,000 conversations pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.loader import is_json_name
from app.wording import plural

EXAMPLES = 3  # names listed for a kind; the rest are counted
HIDDEN_JSON = "hidden .json"
LINK_INSIDE = "link inside"  # a link to a folder within the one imported
NO_ENDING = ""
WINDOWS_LITTER = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})
REASONS = {
    HIDDEN_JSON: "a name starting with a dot hides a file, and hidden files are not "
                 "imported; rename a conversation file without the dot to import it",
    ".jsonl": "JSONL files are not imported: a training file's JSONL has its full JSON "
              "beside it (import the .json file of the same name), and conversations written "
              "one a line must each be saved as a .json file of its own",
    LINK_INSIDE: "each leads to a folder within the one imported, whose files are read once, "
                 "where they are; nothing to do",
}
OTHER_REASON = ("only .json files are imported; give a conversation file the .json ending "
                "to import it")


@dataclass(frozen=True)
class SkippedKind:
    """Files of one kind the walk did not read: how many, and the first few paths."""

    kind: str  # the ending in lower case (".txt"), NO_ENDING, or HIDDEN_JSON
    count: int
    examples: tuple[str, ...]

    @property
    def noun(self) -> str:
        """"3 .txt files", "1 file without an ending", "2 hidden .json files"."""
        if self.kind == NO_ENDING:
            return plural(self.count, "file") + " without an ending"
        if self.kind == LINK_INSIDE:
            return plural(self.count, "link") + " to a folder read already"
        return plural(self.count, f"{self.kind} file")

    @property
    def reason(self) -> str:
        return REASONS.get(self.kind, OTHER_REASON)

    def sentence(self, show: Callable[[str], str] = str) -> str:
        """What was skipped, why and what to do, with the examples as ``show`` writes them:
        "2 .txt files: only .json files are imported; … (a/notes.txt, a/todo.txt)"."""
        names = [show(path) for path in self.examples]
        more = self.count - len(names)
        listed = ", ".join(names) + (f" and {more:,} more" if more else "")
        return f"{self.noun}: {self.reason} ({listed})"


class SkippedFiles:
    """The walk's tally of the files it passed over, by kind."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._examples: dict[str, list[str]] = {}

    def add(self, name: str, path: str) -> None:
        """A file the walk does not read: counted under its kind, or passed over in
        silence when a file browser would hide it (see the module's docstring)."""
        if name.startswith("."):
            if not is_json_name(name) or name.startswith("._"):  # ._x.json: macOS's, not one
                return
            kind = HIDDEN_JSON
        else:
            dot = name.rfind(".")
            kind = name[dot:].lower() if dot > 0 else NO_ENDING
            if kind in (".db", ".ini") and name.lower() in WINDOWS_LITTER:
                return
        self._count(kind, path)

    def add_link_inside(self, path: str) -> None:
        """A link to a folder inside the imported one (``loop/self -> ../loop``): not a
        problem, as what it leads to is read anyway, but said, as the walk left it."""
        self._count(LINK_INSIDE, path)

    def _count(self, kind: str, path: str) -> None:
        count = self._counts.get(kind, 0)
        self._counts[kind] = count + 1
        if count < EXAMPLES:
            self._examples.setdefault(kind, []).append(path)

    def kinds(self) -> list[SkippedKind]:
        """Every kind, the most numerous first (then by ending)."""
        return [SkippedKind(kind, count, tuple(self._examples[kind]))
                for kind, count in sorted(self._counts.items(),
                                          key=lambda item: (-item[1], item[0]))]
