"""A training file's header numbers as one multiset that adds and subtracts exactly.

Everything the header counts (``app.fullfile.build_header`` and the ``tokens`` object) is a
function of how many times each fact occurs among the members: a sum is a count of units,
a distribution counts values, the reply scores and the lines' token counts are kept as
value → how often. So a file's totals are the sum of its members' contributions
(``contribution``), a change adds the contributions of the conversations it adds and
subtracts those of the ones it removes, and the header is made from the totals alone
(``app.fullfile.header_from_totals``). Made from scratch or by any sequence of changes,
equal totals give the same header, byte for byte: nothing here depends on the order the
members came in, and no float is ever added up before the header is made (the mean reply
score is the exact sum of the multiset, rounded once).

Stored with the build (``training_files.totals``, schema v7) with what they were made
for: the settings key, the shared profile and a guard of the member rows, so totals that
do not describe the members in the database are not used (``app.build_delta``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import orjson

from app.budget_fit import REASON as OVER_BUDGET_REASON
from app.records import Digest

# The kinds of fact counted. ("n", name) are plain sums: the count is the sum.
SCORE_INT, SCORE_FLOAT = "score_int", "score_float"  # a reply score (ints and floats apart)
TOKENS = "tokens"  # one JSONL line with this many tokens
WARNING, LEFT_OUT, TIER, ARCHETYPE, ARC, TOPIC, BATCH, PROFILE = (
    "warning", "left_out", "tier", "archetype", "arc", "topic", "batch", "profile")

Fact = tuple[str, Any]


# How a file's distributions name a missing value (docs/FORMATS.md): part of the file's
# format, so it stays words; the window shows its own mark instead (ui.wording.MISSING).
NOT_GIVEN = "(none)"


def _shown(value: Any) -> str:
    """How a distribution names a value (None is NOT_GIVEN)."""
    return NOT_GIVEN if value is None else str(value)


def contribution(digest: Digest, policy: str, line_tokens: Sequence[int], json_size: int,
                 jsonl_size: int, fitted: tuple[int, int] = (0, 0)) -> Counter[Fact]:
    """What one member adds to its file's totals under ``policy``: its digest (with the
    library's batch and review mark overlaid), its lines' token counts and its fragment's
    sizes. ``fitted``: the replies and estimated tokens its line left out to fit the token
    budget (``app.budget_fit``; its first reply always stays, so it still has a line)."""
    trained = digest["policies"][policy]
    replies_fitted, estimate_fitted = fitted
    facts: Counter[Fact] = Counter({
        ("n", "conversations"): 1,
        ("n", "messages"): digest["messages"],
        ("n", "trainable_replies"): trained["trainable_replies"] - replies_fitted,
        ("n", "jsonl_lines"): 1 if trained["trainable_replies"] else 0,
        ("n", "estimated_tokens"): trained["estimated_tokens"] - estimate_fitted,
        ("n", "human_reviewed"): 1 if digest["human_reviewed"] else 0,
        ("n", "with_warnings"): 1 if digest["warning_codes"] else 0,
        ("n", "without_trained_reply"): 0 if trained["trainable_replies"] else 1,
        ("n", "json_size"): json_size,
        ("n", "jsonl_size"): jsonl_size,
    })
    scores: Sequence[Any] = digest["reply_scores"]  # stored JSON: not only floats
    for score in scores:
        # Libraries imported before infinite numbers were refused hold null scores: skipped.
        if not isinstance(score, int | float):
            continue
        if isinstance(score, float):
            if math.isfinite(score):
                facts[(SCORE_FLOAT, score)] += 1
        else:
            facts[(SCORE_INT, int(score))] += 1
    facts.update((WARNING, code) for code in digest["warning_codes"])
    for reason, count in trained["left_out"].items():
        facts[(LEFT_OUT, reason)] += count
    facts[(LEFT_OUT, OVER_BUDGET_REASON)] += replies_fitted
    facts.update((TOKENS, count) for count in line_tokens)
    facts.update([(TIER, _shown(digest["quality_tier"])),
                  (ARCHETYPE, _shown(digest["persona_archetype"])),
                  (ARC, _shown(digest["emotional_arc_key"])),
                  (TOPIC, _shown(digest["training_topic_key"])),
                  (BATCH, _shown(digest["batch_id"])),
                  (PROFILE, digest["profile_hash"])])
    return +facts  # zero counts are not kept, so equal multisets compare equal


def contribution_of_lines(line_tokens: Iterable[int]) -> Counter[Fact]:
    """The lines' token counts alone (a reference render adds them up apart)."""
    return Counter((TOKENS, count) for count in line_tokens)


class TotalsMismatch(ValueError):
    """Subtracting a member that the totals do not hold: they are not this file's."""


@dataclass(slots=True)
class FileTotals:
    """The multiset of a file's facts (see the module's docstring)."""

    facts: Counter[Fact]

    @classmethod
    def of(cls, parts: Iterable[Counter[Fact]]) -> FileTotals:
        """The totals of a file from scratch: the sum of its members' contributions."""
        facts: Counter[Fact] = Counter()
        for part in parts:
            facts.update(part)
        return cls(+facts)

    def changed(self, added: Iterable[Counter[Fact]],
                removed: Iterable[Counter[Fact]]) -> FileTotals:
        """New totals with ``added`` members' contributions in and ``removed`` ones out."""
        facts = Counter(self.facts)
        for part in removed:
            facts.subtract(part)
        for part in added:
            facts.update(part)
        if any(count < 0 for count in facts.values()):
            raise TotalsMismatch("a removed conversation was not counted in the file")
        return FileTotals(+facts)

    def n(self, name: str) -> int:
        return self.facts.get(("n", name), 0)

    def values(self, kind: str) -> Counter[Any]:
        """Value → how often, for one kind of fact."""
        return Counter({value: count for (k, value), count in self.facts.items() if k == kind})

    def distribution(self, kind: str) -> dict[str, int]:
        """A distribution as the header lists it: most frequent first, then by name."""
        return dict(sorted(self.values(kind).items(), key=lambda item: (-item[1], item[0])))

    def by_name(self, kind: str) -> dict[str, int]:
        return dict(sorted(self.values(kind).items()))

    def score_summary(self) -> tuple[float | None, int | float | None, int | float | None]:
        """(mean rounded to 3 places, min, max) of the reply scores, or Nones."""
        scored = [(value, kind == SCORE_FLOAT, count)
                  for (kind, value), count in self.facts.items()
                  if kind in (SCORE_INT, SCORE_FLOAT)]
        if not scored:
            return None, None, None
        total = sum((Fraction(value) * count for value, _, count in scored), Fraction(0))
        count = sum(c for _, _, c in scored)
        lowest = min(scored, key=lambda item: (item[0], item[1]))[0]
        highest = max(scored, key=lambda item: (item[0], item[1]))[0]
        return round(float(total) / count, 3), lowest, highest  # = math.fsum(...) / count

    def profile_leaders(self) -> list[str]:
        """The profile hashes used by the most members (more than one: a tie)."""
        counts = self.values(PROFILE)
        if not counts:
            return []
        best = max(counts.values())
        return sorted(h for h, c in counts.items() if c == best)

    def line_tokens(self) -> list[tuple[int, int]]:
        """(tokens of a line, how many lines), shortest first."""
        return sorted(self.values(TOKENS).items())

    def to_json(self) -> list[list[Any]]:
        return sorted(([kind, value, count] for (kind, value), count in self.facts.items()),
                      key=lambda item: (item[0], str(type(item[1])), item[1]))

    @classmethod
    def from_json(cls, items: Iterable[Sequence[Any]]) -> FileTotals:
        return cls(Counter({(str(kind), value): int(count) for kind, value, count in items}))


@dataclass(frozen=True, slots=True)
class StoredTotals:
    """Totals as stored with a build, with what they were made for."""

    totals: FileTotals
    settings: str  # the settings part of the members' fragment keys
    shared_hash: str | None  # the profile the file lists once
    members: str  # the member rows' guard when they were written (stored_builds)

    def dumps(self) -> bytes:
        return orjson.dumps({"settings": self.settings, "shared_hash": self.shared_hash,
                             "members": self.members, "facts": self.totals.to_json()})

    @classmethod
    def loads(cls, data: bytes | None) -> StoredTotals | None:
        """The stored totals, or None when there are none or they do not read back."""
        if not data:
            return None
        try:
            item = orjson.loads(data)
            if not isinstance(item, dict):  # e.g. the "rebuild due" of revisions before 0003
                return None
            return cls(FileTotals.from_json(item["facts"]), str(item["settings"]),
                       item["shared_hash"], str(item["members"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
