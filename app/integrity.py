"""A stored build is used only as it was written: its size and sha256 are recorded beside
it when it is built, and checked whenever it is read.

The record (``.sha256`` in the build's folder, in the format ``sha256sum -c`` reads) is
written while the files stream out, never by reading them again, and lives and dies with
the build it describes. Readers hash what they read as they read it, so checking costs no
extra pass: a copy that turns out to come from a changed file is thrown away before it
is moved into place, and the person is told which file changed and what to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.errors import LibraryError
from app.jsonio import atomic_writer

RECORD_NAME = ".sha256"
CHUNK = 1 << 20
FILE_ATTRIBUTE_HIDDEN = 2
CHANGED = ("was changed outside LoRA Studio: its contents no longer match the sha256 "
           "recorded when it was built")


class StoredBuildChanged(LibraryError):
    """A stored JSON or JSONL is missing, truncated or edited: it must not be used."""

    def __init__(self, path: Path, training_file: str, why: str) -> None:
        self.path, self.training_file, self.why = path, training_file, why
        super().__init__(
            f"the stored file {path} of '{training_file}' {why}, so it was not used. Run "
            f"`lora-studio rebuild \"{training_file}\"` (or let the window rebuild it) to "
            "write it again from the library; nothing in the library was lost.")


class HashingWriter:
    """Passes writes on to ``handle`` and hashes them on the way."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def write_record(folder: Path, digests: dict[str, str]) -> None:
    """Record the sha256 of each file (by name) of the build in ``folder``."""
    path = folder / RECORD_NAME
    with atomic_writer(path) as handle:
        handle.write("".join(f"{digest}  {name}\n"
                             for name, digest in sorted(digests.items())).encode("utf-8"))
    if sys.platform == "win32":  # a dot does not hide a file there
        ctypes.windll.kernel32.SetFileAttributesW(str(path), FILE_ATTRIBUTE_HIDDEN)


def read_record(folder: Path) -> dict[str, str]:
    """The recorded sha256 per file name; empty when there is no readable record."""
    try:
        text = (folder / RECORD_NAME).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    found = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) == 64 and name:
            found[name] = digest
    return found


def recorded_sha256(path: Path) -> str | None:
    return read_record(path.parent).get(path.name)


@dataclass(frozen=True)
class StoredFile:
    """One file of a stored build with the size and sha256 it was built with."""

    path: Path
    size: int
    sha256: str
    training_file: str

    def changed(self, why: str = CHANGED) -> StoredBuildChanged:
        return StoredBuildChanged(self.path, self.training_file, why)

    def describe(self) -> dict[str, object]:
        """For a manifest: what the file was built as (every read of it checks that)."""
        return {"file": self.path.name, "bytes": self.size, "sha256": self.sha256}

    @contextlib.contextmanager
    def open(self) -> Iterator[VerifiedReader]:
        """Read the file; reading it to its end raises ``StoredBuildChanged`` when its
        bytes are not the ones built."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise self.changed(f"cannot be read ({exc.strerror or exc})") from None
        with handle:
            yield VerifiedReader(self, handle)


def stored_file(path: Path | None, size: int, training_file: str) -> StoredFile:
    """The stored file at ``path`` with its recorded facts, after the cheap checks (it is
    there, an ordinary file, its recorded size); its bytes are checked as they are read."""
    if path is None:
        raise LibraryError(f"'{training_file}' has not been built yet")
    try:
        actual = os.stat(path)
    except OSError:
        raise StoredBuildChanged(path, training_file, "is missing") from None
    if not os.path.isfile(path):
        raise StoredBuildChanged(path, training_file, "is not an ordinary file")
    if actual.st_size != size:
        raise StoredBuildChanged(
            path, training_file, f"was changed outside LoRA Studio: it has {actual.st_size:,} "
            f"bytes, but {size:,} were written when it was built")
    digest = recorded_sha256(path)
    if digest is None:
        raise StoredBuildChanged(
            path, training_file, f"has no recorded sha256 ({path.parent / RECORD_NAME} is "
            "missing or damaged, or an older LoRA Studio built it), so it cannot be checked")
    return StoredFile(path, size, digest, training_file)


class VerifiedReader:
    """Reads a stored file once from start to end, hashing as it goes."""

    def __init__(self, stored: StoredFile, handle: IO[bytes]) -> None:
        self.stored, self.handle = stored, handle
        self._digest = hashlib.sha256()
        self._size = 0

    def _take(self, data: bytes) -> bytes:
        self._digest.update(data)
        self._size += len(data)
        if self._size > self.stored.size:
            raise self.stored.changed("grew while it was read")
        return data

    def _end(self) -> None:
        if self._size != self.stored.size or self._digest.hexdigest() != self.stored.sha256:
            raise self.stored.changed()

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.handle.read(CHUNK):
            yield self._take(chunk)
        self._end()

    def lines(self) -> Iterator[bytes]:
        for line in self.handle:
            yield self._take(line)
        self._end()
