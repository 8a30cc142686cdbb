"""``lora-studio validate`` on large full training files: read a conversation at a time
(this checkout) beside read whole (the limits raised, and another checkout's code as it
is), in one run: wall time and the peak memory of the process.

The files: a full training file the app builds from the bench corpus (``--n`` files, about
164 MB for 10,000), and the same conversations repeated to ``--gb`` GB (no need for new
ids: validate checks each conversation, it does not compare them). Each validation runs
in a child process of its own; its peak memory is its own (VmHWM), not the largest of it
and the process that started it (``ru_maxrss``).

Usage::

    python bench/bench_validate_large.py [--n 10000] [--gb 1] [--runs 1]
        [--baseline-commit main] [--whole-large]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    ROOT,
    Timer,
    emit,
    fmt,
    machine,
    median,
    peak_rss_mb,
    print_machine,
    run_child,
    unpack_commit,
    use_code,
)

WORK = Path(tempfile.gettempdir()) / "lora-studio-bench-validate-large"


def repeated(source: Path, target: Path, size: int) -> Path:
    """``source``'s conversations repeated until the file is ``size`` bytes or more,
    written a conversation at a time (never held whole)."""
    if target.exists() and target.stat().st_size >= size:
        return target
    import ijson
    import orjson

    from app.fullstream import outline

    header = outline(source, source.name, source.stat().st_size).header
    part = target.with_suffix(".part")
    with part.open("wb") as out:
        out.write(orjson.dumps(header)[:-1] + b',"conversations":[')
        first = True
        while out.tell() < size:
            with source.open("rb") as handle:
                for item in ijson.items(handle, "conversations.item", use_float=True):
                    out.write((b"" if first else b",") + orjson.dumps(item))
                    first = False
        out.write(b"]}")
    part.replace(target)
    return target


def child(code: str, mode: str, path: str) -> None:
    use_code(Path(code))
    from app import jsonio, validate

    if mode == "whole":  # the limits raised, the file read whole as before
        jsonio.MAX_INPUT_BYTES = 1 << 40
        validate.MAX_JSON_BYTES = 1 << 40
    with Timer() as timer:
        verdict = validate.validate_path(Path(path))
    emit({"seconds": timer.seconds, "peak_mb": peak_rss_mb(), "ok": verdict.ok,
          "kind": verdict.kind,
          "first": verdict.problems[0].reason[:90] if verdict.problems else ""})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--baseline-commit", default="main")
    parser.add_argument("--whole-large", action="store_true",
                        help="also read the large file whole (needs many GB of memory)")
    args = parser.parse_args(argv)
    from bench_big_among_small import big_full  # the same full file as that bench

    WORK.mkdir(parents=True, exist_ok=True)
    full = big_full(args.n)
    large = repeated(full, WORK / f"full-{args.gb:g}GB.json", int(args.gb * 1e9))
    baseline = unpack_commit(args.baseline_commit, WORK / "baseline")
    now = ROOT
    print_machine(machine())
    steps: list[tuple[str, Path, str, str]] = [
        ("now, a conversation at a time", now, "streamed", str(full)),
        ("now, read whole (limits raised)", now, "whole", str(full)),
        (f"{args.baseline_commit} as it is", baseline, "streamed", str(full)),
        ("now, a conversation at a time", now, "streamed", str(large)),
        (f"{args.baseline_commit} as it is", baseline, "streamed", str(large)),
    ]
    if args.whole_large:
        steps.append(("now, read whole (limits raised)", now, "whole", str(large)))
    results: dict[int, list[dict[str, Any]]] = {n: [] for n in range(len(steps))}
    for _ in range(args.runs):
        for n, (_label, code, mode, path) in enumerate(steps):
            results[n].append(run_child([__file__, "--child", str(code), mode, path]))
    print(f"{'file':>8}  {'how':34} {'wall s':>7} {'peak MB':>8}  verdict")
    for n, (label, _code, _mode, path) in enumerate(steps):
        runs = results[n]
        size = Path(path).stat().st_size / 1e6
        verdict = ("valid" if runs[0]["ok"] else "INVALID") + f" [{runs[0]['kind']}]"
        if runs[0]["first"]:
            verdict += f" {runs[0]['first']}…"
        print(f"{size:>6,.0f}MB  {label:34} {fmt(median([r['seconds'] for r in runs]), '.1f'):>7}"
              f" {fmt(median([r['peak_mb'] for r in runs]), '.0f'):>8}  {verdict}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
