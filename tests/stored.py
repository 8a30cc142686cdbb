"""A training file's stored build as the files a person downloads (assembled by the app's
own reader, ``app.stored_builds.BuildReader``, sha256 checks included)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.library import Library
from app.trainingfiles import read_build


def stored_bytes(library: Library, name: str) -> tuple[bytes, bytes]:
    """The full JSON and the JSONL of ``name``, byte for byte."""
    with read_build(library, name) as build:
        return b"".join(build.json_chunks()), b"".join(build.jsonl_lines())


@dataclass(frozen=True)
class StoredFiles:
    json_path: Path
    jsonl_path: Path


def stored_files(library: Library, name: str) -> StoredFiles:
    """``name``'s two files written beside the library folder (never inside it), under
    the training file's own name, for checks that read files (validators, datasets)."""
    json_bytes, jsonl_bytes = stored_bytes(library, name)
    folder = library.root.parent / "stored-copies"
    folder.mkdir(exist_ok=True)
    files = StoredFiles(folder / f"{name}.json", folder / f"{name}.jsonl")
    files.json_path.write_bytes(json_bytes)
    files.jsonl_path.write_bytes(jsonl_bytes)
    return files
