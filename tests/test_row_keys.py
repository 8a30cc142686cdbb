"""``Library.row_keys``: the row keys of some conversation ids in the order given, which
the settings preview, the length limit's counts and the add review read records and
digests in. Real library (the fixtures in two batches)."""

from __future__ import annotations

from app.library import Library


def test_row_keys_keep_the_order_given_each_once_and_leave_out_unknown_ids(
        two_batches: Library) -> None:
    ids = [row.conversation_id for row in two_batches.summaries()]
    by_id = two_batches.resolve_ids(ids)
    asked = [ids[-1], "no-such-conversation", ids[0], ids[-1], ids[2]]

    found = two_batches.row_keys(iter(asked))  # any iterable, read once

    assert list(found) == [ids[-1], ids[0], ids[2]]
    assert found == {cid: by_id[cid] for cid in (ids[-1], ids[0], ids[2])}
    assert list(found.values()) != sorted(found.values())  # not the table's order
    assert two_batches.row_keys([]) == {}
