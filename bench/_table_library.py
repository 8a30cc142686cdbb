"""Build a large library fast for the table benchmarks: the real fixtures imported once,
then their rows cloned in SQL with fresh ids, batches and scaffolding.

Imports ``app`` only inside the function, so a benchmark child can put another code tree
(an older commit) first on ``sys.path`` before calling it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
# Each key with the name a real file gives it: a clone keeping its source's name under
# another key made the Arc chooser list one name twice (audit59 F4).
ARCS = {"fear_to_confidence": "Fear → Confidence",
        "confusion_to_clarity": "Confusion → Clarity",
        "shame_to_acceptance": "Shame → Acceptance",
        "couple_conflict_to_alignment": "Couple Conflict → Alignment",
        "overwhelm_to_empowerment": "Overwhelm → Empowerment"}
TOPICS = {"eldercare_costs": "Planning for Eldercare Expenses",
          "grandparent_529": "Grandparent 529 Contributions",
          "mortgage_payoff_strategy": "Accelerated Mortgage Payoff",
          "emergency_fund_building": "Building an Emergency Fund",
          "retirement_catch_up": "Catching Up on Retirement Savings",
          "student_loan_payoff": "Student Loan Payoff Strategy"}


def build_library(root: Path, n: int, batches: int = 100) -> Any:
    """A library of ``n`` conversations in ``batches`` batches (``batch-000`` …
    ``batch-099`` by default; 10 of 1,000 each at 10,000, as a person's batch folders)."""
    from sqlalchemy import text

    from app.importer import import_paths
    from app.library import Library

    library = Library(root)
    import_paths(library, [FIXTURES / "enriched", FIXTURES / "legacy"])
    seeds = library.count()
    with library.engine.connect() as conn:  # every column the schema has (it grows)
        names = [row[1] for row in conn.execute(text("PRAGMA table_info(conversations)"))]
    fresh = {"pk", "conversation_id", "batch_id", "content_sha256", "dialogue_sha256"}
    columns = ", ".join(name for name in names if name not in fresh)
    with library.engine.begin() as conn:
        for b in range(batches):
            conn.execute(text("INSERT OR IGNORE INTO batches VALUES (:b, '2026-01-01T00:00:00Z')"),
                         {"b": f"batch-{b:03d}"})
        conn.execute(text(
            f"INSERT INTO conversations (conversation_id, batch_id, content_sha256, {columns}) "
            "WITH RECURSIVE copies(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM copies "
            "WHERE k < :copies) "
            "SELECT 'clone-' || k || '-' || c.pk, "
            "'batch-' || printf('%03d', (k * 17 + c.pk) % :batches), 'hash-' || k || '-' || c.pk, "
            f"{columns} FROM conversations c, copies LIMIT :extra"),
            {"copies": n // max(seeds, 1) + 1, "extra": max(n - seeds, 0), "batches": batches})
        conn.execute(text(
            "INSERT INTO conversation_documents (pk, document) "
            "SELECT c.pk, d.document FROM conversations c JOIN conversation_documents d "
            "ON d.pk = ((c.pk - 1) % :seeds) + 1 WHERE c.pk > :seeds"), {"seeds": seeds})
        if {"dialogue_sha256", "dialogue_sketch"} <= set(names):
            # Each clone its own dialogue and no sentence hashes: 100,000 copies of 15
            # dialogues would make every imported file a near-duplicate of thousands (no
            # library in use looks like that), and clones without a fingerprint would make
            # the first import fill 100,000 of them (``fingerprints.fill_missing``).
            conn.execute(text("UPDATE conversations SET dialogue_sha256 = 'clone-' || pk, "
                              "dialogue_sketch = X'' WHERE pk > :seeds"), {"seeds": seeds})
        for i, (arc, arc_name) in enumerate(ARCS.items()):
            conn.execute(text("UPDATE conversations SET emotional_arc_key = :arc, "
                              "emotional_arc = :name WHERE pk % 5 = :i"),
                         {"arc": arc, "name": arc_name, "i": i})
        for i, (topic, topic_name) in enumerate(TOPICS.items()):
            conn.execute(text("UPDATE conversations SET training_topic_key = :t, "
                              "training_topic = :name WHERE pk % 6 = :i"),
                         {"t": topic, "name": topic_name, "i": i})
    return library
