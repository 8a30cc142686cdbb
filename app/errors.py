"""Errors the user can act on: each names the file, where in it, and why."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input, phrased for a person."""

    file: str
    reason: str
    json_path: str = "$"
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        """Line and column for broken JSON, else the JSON path."""
        return f"line {self.line}, column {self.column}" if self.line else self.json_path

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.reason}"


class InputError(Exception):
    """Raised when an input file cannot be used; carries one or more problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    @classmethod
    def single(cls, file: str | Path, reason: str, json_path: str = "$") -> InputError:
        return cls([Problem(str(file), reason, json_path)])

    @property
    def reason(self) -> str:
        """The first problem without the file name, for tables that already show it."""
        first = self.problems[0]
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{first.where}: {first.reason}{more}"


class LibraryError(Exception):
    """A library-level operation was refused; the message says why."""
