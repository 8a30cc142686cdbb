"""The Settings… dialog's forecast (``app.settings_preview``) is what the rebuild then
gives: the same trained replies, lines shortened, lines still over the limit and
conversations without a line, on the real fixtures for each policy, limit and choice."""

from __future__ import annotations

import pytest

from app.budget_fit import REASON
from app.settings_preview import settings_effect
from app.trainingfiles import add_conversations, change_settings, header

NAME = "Coaching A"


@pytest.mark.parametrize(("policy", "limit", "fit"), [
    ("trim", 4096, "fit"), ("weight0", 256, "keep"), ("weight0", 256, "fit"),
    ("keep", 128, "fit"), ("trim", 512, "keep"), ("trim", 2048, "fit"), ("weight0", 1536, "fit")])
def test_the_forecast_is_what_the_rebuild_gives(filled_library, policy, limit, fit):
    ids = [row.conversation_id for row in filled_library.summaries()]
    add_conversations(filled_library, NAME, ids, create=True)
    forecast = settings_effect(filled_library, NAME, policy, limit, fit)
    change_settings(filled_library, NAME, cut_off_policy=policy, max_seq_len=limit,
                    over_budget=fit)
    head = header(filled_library, NAME)
    quality = head["quality_summary"]
    lines = head["totals"]["jsonl_lines"]
    assert forecast.trained_replies == head["totals"]["trainable_replies"]
    assert forecast.over == head["tokens"]["lines_over_max_seq_len"]
    fitted = quality.get("replies_left_out_by_reason", {}).get(REASON, 0)
    assert forecast.fitted_replies == fitted
    assert (forecast.shortened > 0) == (fitted > 0) and forecast.shortened <= fitted
    assert forecast.no_line == head["totals"]["conversations"] - lines
    assert forecast.no_line == quality["conversations_without_trained_reply"]
