"""Write a synthetic corpus of enriched conversation files for the benchmarks.

Every file is a clone of one of the real enriched fixtures (``tests/fixtures/enriched``,
read by path: only the benchmarks do this, never the app) with

* a fresh conversation id (``dataset_metadata.dataset_name = fp_conversation_<uuid>``),
* rotated scaffolding (persona archetype, emotional arc, training topic: a few snake_case
  keys each) written into every pair's ``conversation_metadata`` and ``input_parameters``,
* a small text change (the opening client message gets a reference number, everywhere it
  occurs), so that no two files have the same content hash,

spread over ``batch-000`` .. ``batch-009`` sub-folders. Written pretty-printed with a
2-space indent like the generator's output. The fixtures range from 29 to 129 KB; the largest
is cut to its first seven pairs (ending on a client turn, as several real files do), which
puts the mean at about 50 KB, so 10,000 files are about 500 MB.

Usage: ``python bench/make_corpus.py OUT N [--seed S]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "enriched"
BATCHES = 10
MAX_PAIRS = 7  # the 129 KB fixture is cut to this many pairs (about 91 KB)
MANIFEST = "corpus.manifest"  # not *.json, so an import of the folder never picks it up

PERSONAS = ("anxious_planner", "pragmatic_optimist", "overwhelmed_avoider",
            "skeptical_analyst", "generous_caretaker")
ARCS = (
    ("fear_to_confidence", "Fear → Confidence"),
    ("confusion_to_clarity", "Confusion → Clarity"),
    ("shame_to_acceptance", "Shame → Acceptance"),
    ("couple_conflict_to_alignment", "Couple Conflict → Alignment"),
    ("overwhelm_to_empowerment", "Overwhelm → Empowerment"),
)
TOPICS = (
    ("eldercare_costs", "Planning for Eldercare Expenses"),
    ("mortgage_payoff_strategy", "Accelerated Mortgage Payoff"),
    ("grandparent_529", "Grandparent 529 Contributions"),
    ("retirement_readiness", "Retirement Readiness Check"),
    ("debt_consolidation", "Consolidating Consumer Debt"),
    ("emergency_fund_sizing", "Sizing an Emergency Fund"),
)


def load_templates(folder: Path = FIXTURES) -> list[bytes]:
    """The real enriched fixtures, as compact JSON bytes (parsed afresh for every clone)."""
    templates = []
    for path in sorted(folder.glob("*.json")):
        document = orjson.loads(path.read_bytes())
        document["training_pairs"] = document["training_pairs"][:MAX_PAIRS]
        document["dataset_metadata"]["total_turns"] = len(document["training_pairs"])
        templates.append(orjson.dumps(document))
    if not templates:
        raise SystemExit(f"no enriched fixtures found in {folder}")
    return templates


def _replace_text(node: Any, old: str, new: str) -> Any:
    """Replace every string value equal to ``old`` (keeps repeated client turns equal)."""
    if isinstance(node, dict):
        return {k: _replace_text(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_text(v, old, new) for v in node]
    return new if node == old else node


def clone(template: bytes, index: int, rng: random.Random,
          seed: int = 0) -> tuple[str, dict[str, Any]]:
    """One synthetic file made from a template; returns (conversation id, document).
    The opening carries the seed (from 1) so corpora of two seeds are different
    conversations, not repeats of one another; seed 0 writes what it always wrote."""
    document = orjson.loads(template)
    conversation_id = f"fp_conversation_{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    document["dataset_metadata"]["dataset_name"] = conversation_id
    persona = rng.choice(PERSONAS)
    arc_key, arc_name = rng.choice(ARCS)
    topic_key, topic_name = rng.choice(TOPICS)
    scaffolding = {
        "persona_archetype": persona,
        "emotional_arc": arc_name,
        "emotional_arc_key": arc_key,
        "training_topic": topic_name,
        "training_topic_key": topic_key,
    }
    pairs = document["training_pairs"]
    for pair in pairs:
        pair["conversation_metadata"].update(scaffolding)
    params = document.get("input_parameters")
    if isinstance(params, dict):
        params.update({
            "persona_key": persona,
            "emotional_arc_key": arc_key,
            "emotional_arc_name": arc_name,
            "training_topic_key": topic_key,
            "training_topic_name": topic_name,
        })
    opening = pairs[0]["current_user_input"]
    reference = f"{seed}-{index:06d}" if seed else f"{index:06d}"
    changed = f"{opening} (Reference {reference}.)"
    document["training_pairs"] = _replace_text(pairs, opening, changed)
    return conversation_id, document


def make_corpus(out_dir: str | Path, n: int, seed: int = 0) -> dict[str, Any]:
    """Write ``n`` files under ``out_dir/batch-NNN``; return the manifest (also written)."""
    out = Path(out_dir)
    templates = load_templates()
    rng = random.Random(seed)
    folders = [out / f"batch-{b:03d}" for b in range(BATCHES)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    for index in range(n):
        # Every batch folder gets every template (index alone would pair them up).
        template = templates[(index + index // BATCHES) % len(templates)]
        conversation_id, document = clone(template, index, rng, seed)
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2)
        path = folders[index % BATCHES] / f"{index:06d}-{conversation_id[-12:]}.json"
        path.write_bytes(data)
        total_bytes += len(data)
    manifest = {"n": n, "seed": seed, "batches": BATCHES, "bytes": total_bytes,
                "folders": [f.name for f in folders]}
    (out / MANIFEST).write_bytes(orjson.dumps(manifest))
    return manifest


def ensure_corpus(out_dir: str | Path, n: int, seed: int = 0) -> dict[str, Any]:
    """Reuse the corpus in ``out_dir`` if it was made with the same ``n`` and seed."""
    out = Path(out_dir)
    try:
        manifest = orjson.loads((out / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        manifest = None
    if manifest and manifest.get("n") == n and manifest.get("seed") == seed:
        return manifest
    if any(out.glob("batch-*/*.json")):
        raise SystemExit(f"{out} holds a different corpus; give another folder or empty it")
    return make_corpus(out, n, seed)


def batch_folders(out_dir: str | Path) -> list[Path]:
    """The corpus's batch folders (import them as separate paths: one batch each)."""
    return sorted(p for p in Path(out_dir).glob("batch-*") if p.is_dir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (created if missing)")
    parser.add_argument("n", type=int, help="number of files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    manifest = make_corpus(args.out, args.n, args.seed)
    seconds = time.perf_counter() - start
    print(f"wrote {manifest['n']} files, {manifest['bytes'] / 1e6:.1f} MB "
          f"({manifest['bytes'] / max(1, manifest['n']) / 1e3:.1f} KB per file) in "
          f"{BATCHES} batch folders under {args.out} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
