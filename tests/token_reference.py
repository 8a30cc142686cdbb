"""Token counts made by the ``tokenizers`` library itself, to check the app's counts against.

The text is the line rendered with a bundled chat template; the tokenizer is loaded here
from the bundled ``tokenizer.json``, with the template's markers added as special tokens
where the base model lacks them (as trainers do), and nothing else of the app's counter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tokenizers import AddedToken, Tokenizer

from app.chat_templates import Renderer, bundled_template
from app.tokens import bundled_tokenizer_path


def reference_counter(template: str = "mistral"
                      ) -> Callable[[Sequence[Mapping[str, Any]]], int]:
    chat_template = bundled_template(template)
    tokenizer = Tokenizer.from_file(str(bundled_tokenizer_path()))
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t in chat_template.special_tokens])
    renderer = Renderer(chat_template)

    def count(messages: Sequence[Mapping[str, Any]]) -> int:
        return len(tokenizer.encode(renderer.text(messages), add_special_tokens=False).ids)

    return count
