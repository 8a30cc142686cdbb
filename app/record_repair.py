"""A canonical record's texts repaired as an import repairs a generator's file today
(``app.repair``): escape sequences left in as characters, Windows line ends and control
characters. The library's pass over records stored before (``app.stored_repair``) and the
import of a full training file of ours (``app.fullsplit``, whose records are canonical
already and so never went through ``app.canonical.normalise``) both use it, so a record
comes out the same whichever way it arrived.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from app.canonical import render_system_message
from app.quality import Warning_, find_warnings, summarise_quality
from app.repair import describe, has_controls, is_double_escaped, mend_text

REPAIRED = "text_repaired"

# Warnings an import derives from the dialogue's text: judged again on the repaired text.
FROM_TEXT = frozenset({"reply_cut_off", "client_cut_off", "unanswered_last_turn",
                       "no_trainable_reply"})


def needs_repair(record: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the record's texts need their escape sequences repaired, and whether they
    hold control characters to mend."""
    warnings = (record.get("quality") or {}).get("warnings") or []
    prompt = str(record.get("system_prompt") or "")
    texts = [prompt, *(str(m["content"]) for m in record["messages"] if m["role"] != "system")]
    escaped = (not any(w.get("code") == REPAIRED for w in warnings)
               and is_double_escaped(texts))
    return escaped, any(map(has_controls, texts))


def repair_record(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The record as an import with repair would have stored it, or None if it needs none."""
    escaped, controls = needs_repair(record)
    if not (escaped or controls):
        return None
    warnings = (record.get("quality") or {}).get("warnings") or []
    messages = record["messages"]
    prompt = str(record.get("system_prompt") or "")
    dialogue = [m for m in messages if m["role"] != "system"]
    memo: dict[str, tuple[str, Counter[str]]] = {}

    def fix(text: str) -> tuple[str, Counter[str]]:
        if text not in memo:
            memo[text] = mend_text(text, escaped, controls)
        return memo[text]

    repairs: list[Warning_] = []
    new_prompt, counts = fix(prompt)
    if counts:
        repairs.append(Warning_(REPAIRED, None, f"system prompt: repaired {describe(counts)}"))
    new_dialogue = []
    for message in dialogue:
        text, counts = fix(str(message["content"]))
        if counts:
            who = "reply" if message["role"] == "assistant" else "client message"
            repairs.append(Warning_(REPAIRED, message.get("turn_number"),
                                    f"{who}: repaired {describe(counts)}"))
        new_dialogue.append({**message, "content": text})
    if not repairs:
        return None
    new_messages = []
    if messages and messages[0]["role"] == "system":
        system = messages[0]
        content = str(system["content"])
        if new_prompt != prompt:  # the system message is the prompt plus the scaffolding
            content = render_system_message(new_prompt, record.get("client") or {},
                                            record.get("scaffolding") or {})
        new_messages.append({**system, "content": content})
    new_messages += new_dialogue
    kept = [Warning_(str(w["code"]), w.get("turn_number"), str(w["message"]))
            for w in warnings if w.get("code") not in FROM_TEXT]
    judged = find_warnings([], new_dialogue)
    replies = [m for m in new_dialogue if m["role"] == "assistant"]
    quality = {**(record.get("quality") or {}),
               **summarise_quality(replies, repairs + kept + judged)}
    return {**record, "system_prompt": new_prompt, "messages": new_messages,
            "quality": quality}
