"""The Conversations page's Tokens mark agrees with what the training files write: a
conversation whose line every file holding it ends early to fit its length limit is not
marked over (the files page shows that line within the limit), and its tooltip says where
it was shortened; a file writing the same line whole still marks it."""

from __future__ import annotations

from app.library import SHORTENED_TO_FIT
from app.trainingfiles import add_conversations, change_settings, member_rows
from ui.conversations_model import over_budget, tokens_tooltip

LIMIT = 2048


def _rows(library):
    return {row.conversation_id: row for row in library.summaries()}


def test_a_line_shortened_to_fit_is_not_marked_over(filled_library):
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, "Coaching A", ids, create=True)
    change_settings(filled_library, "Coaching A", max_seq_len=LIMIT, over_budget="fit")
    longer = [cid for cid, row in _rows(filled_library).items()
              if row.token_count > LIMIT and "Coaching A" in row.training_files]
    assert longer, "the fixtures hold lines longer than the limit"
    written = {row.conversation_id: row for row in member_rows(filled_library, "Coaching A")}
    rows = _rows(filled_library)
    for cid in longer:
        row = rows[cid]
        fits_as_written = written[cid].line_tokens <= LIMIT  # the files page's mark
        assert over_budget(row) is not fits_as_written, cid  # as the files page says
        if fits_as_written:
            assert row.token_budget == SHORTENED_TO_FIT
            tip = tokens_tooltip(row)
            assert "Longer than" not in tip
            assert ("shortened to fit in 'Coaching A': its line there ends at its last "
                    "whole reply within the length limit") in tip
    assert any(not over_budget(rows[cid]) for cid in longer)

    # The same conversations in a file that writes lines whole: marked again.
    add_conversations(filled_library, "Whole", longer, create=True)
    change_settings(filled_library, "Whole", max_seq_len=3072, over_budget="keep")
    rows = _rows(filled_library)
    for cid in longer:
        assert over_budget(rows[cid]) is (rows[cid].token_count > 3072), cid
        if rows[cid].token_count <= 3072:
            assert "within 3,072 tokens, the smallest length limit of the training files " \
                   "holding it that write its line whole" in tokens_tooltip(rows[cid])

    # summaries_of (what the table reads after an import) agrees with summaries.
    again = {row.conversation_id: row for row in filled_library.summaries_of(longer)}
    assert {cid: again[cid].token_budget for cid in longer} == \
        {cid: rows[cid].token_budget for cid in longer}
