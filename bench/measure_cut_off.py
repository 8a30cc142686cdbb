"""What each cut-off policy keeps, measured on real conversations.

For the test fixtures (``tests/fixtures/enriched`` and ``legacy``, the user's real files)
and for a synthetic corpus made by ``make_corpus.py`` from the enriched fixtures, counts:
replies, cut-off replies, conversations whose very first reply is cut off, and per policy
(``app.cutoff``) how many clean replies are trained, how many cut-off replies are trained
(should be 0), how many clean replies are lost, and how many lines the JSONL gets; then the
same for a stress variant of the corpus (``informal``) whose clients leave out full stops and
whose replies are sometimes cut at a dash, the endings the cut-off rule must tell apart.

Usage: ``python bench/measure_cut_off.py [--corpus-n 500]``
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cut_off_rule import looks_cut_off  # noqa: E402
from app.cutoff import CutOffPolicy, trained_view  # noqa: E402
from app.loader import record_from_bytes  # noqa: E402
from bench.make_corpus import clone, load_templates  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def fixture_records() -> list[dict[str, Any]]:
    paths = sorted((FIXTURES / "enriched").glob("*.json")) + sorted(
        (FIXTURES / "legacy").glob("*.json"))
    return [record_from_bytes(p.read_bytes(), p.name) for p in paths]


def corpus_records(n: int) -> list[dict[str, Any]]:
    templates = load_templates()
    rng = random.Random(0)
    records = []
    for index in range(n):
        template = templates[(index + index // 10) % len(templates)]
        _cid, document = clone(template, index, rng)
        records.append(record_from_bytes(orjson.dumps(document), f"{index}.json"))
    return records


def informal(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stress variant of ``records``: clients drop a final full stop (as informal
    writers do) and every 12th reply not already cut stops at an em dash mid-sentence."""
    varied = []
    replies = 0
    for record in records:
        messages = []
        for message in record["messages"]:
            text = message["content"].rstrip()
            if message["role"] == "user" and text.endswith("."):
                text = text[:-1]
            elif message["role"] == "assistant" and not text.endswith("\\"):
                replies += 1
                if replies % 12 == 0:
                    text = text[: text.index(" ", len(text) // 2)] + "—"
            else:
                text = message["content"]
            messages.append({**message, "content": text})
        varied.append({**record, "messages": messages})
    return varied


def measure(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    records = list(records)
    replies = [m for r in records for m in r["messages"] if m["role"] == "assistant"]
    cut = [m for m in replies if looks_cut_off(m["content"])]
    first_cut = sum(1 for r in records
                    if looks_cut_off(next(m for m in r["messages"]
                                          if m["role"] == "assistant")["content"]))
    clients = [m for r in records for m in r["messages"] if m["role"] == "user"]
    result: dict[str, Any] = {
        "conversations": len(records), "replies": len(replies), "cut_off_replies": len(cut),
        "first_reply_cut_off": first_cut, "client_messages": len(clients),
        "cut_off_client_messages": sum(1 for m in clients if looks_cut_off(m["content"], "user")),
        "clean_replies": len(replies) - len(cut), "policies": {},
    }
    for policy in CutOffPolicy:
        trained_clean = trained_cut = lines = 0
        for record in records:
            view = trained_view(record, policy)
            lines += bool(view.trained_replies)
            for message, trained in zip(view.messages, view.trained, strict=True):
                if trained:
                    if looks_cut_off(message["content"]):
                        trained_cut += 1
                    else:
                        trained_clean += 1
        result["policies"][policy.value] = {
            "lines": lines, "clean_trained": trained_clean, "cut_off_trained": trained_cut,
            "clean_lost": result["clean_replies"] - trained_clean,
        }
    return result


def show(name: str, found: dict[str, Any]) -> None:
    print(f"\n{name}: {found['conversations']} conversations, {found['replies']} replies "
          f"({found['cut_off_replies']} cut off = "
          f"{100 * found['cut_off_replies'] / max(1, found['replies']):.1f} %), "
          f"{found['first_reply_cut_off']} with the first reply cut off "
          f"({100 * found['first_reply_cut_off'] / max(1, found['conversations']):.1f} %), "
          f"{found['cut_off_client_messages']} of {found['client_messages']} client "
          "messages cut off")
    print(f"  {'policy':<8} {'lines':>6} {'clean trained':>14} {'cut-off trained':>16} "
          f"{'clean lost':>11}")
    for policy, row in found["policies"].items():
        share = 100 * row["clean_trained"] / max(1, found["clean_replies"])
        print(f"  {policy:<8} {row['lines']:>6} {row['clean_trained']:>8} ({share:4.1f} %) "
              f"{row['cut_off_trained']:>16} {row['clean_lost']:>11}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-n", type=int, default=500)
    args = parser.parse_args(argv)
    show("fixtures (tests/fixtures/enriched + legacy)", measure(fixture_records()))
    corpus = corpus_records(args.corpus_n)
    show(f"synthetic corpus (make_corpus.py, n={args.corpus_n})", measure(corpus))
    show("the same corpus, informal clients and replies cut at a dash (informal())",
         measure(informal(corpus)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
