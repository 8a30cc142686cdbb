"""The fast parse (jiter, which refuses a key written twice itself) never accepts what the
strict parser refuses, and gives the same document or the same message for every input we
have."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import BAD, ENRICHED, LEGACY
from hostile_corpus import UNSERIALISABLE, hostile_cases
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InputError
from app.jsonio import parse_json_bytes, parse_json_strict


def outcome(parse: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse(data, "f.json")
    except InputError as exc:
        return "refused", str(exc)


def same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0 here)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    return bool(left == right)


def assert_agree(data: bytes) -> None:
    fast, strict = outcome(parse_json_bytes, data), outcome(parse_json_strict, data)
    assert fast[0] == strict[0], (data[:200], fast, strict)
    if fast[0] == "ok":
        assert same(fast[1], strict[1]), data[:200]
    else:
        assert fast[1] == strict[1]


CRAFTED = [
    b'{"a": 1, "a": 2}', b'{"a" : 1, "a": 2}', b'{"a"\n:\t1, "b": {"c": 1, "c" : 2}}',
    b'{"said": "he wrote \\": here", "a": 1}', b'{"x": "\\":", "x": 1}',
    b'{"n": 18446744073709551616}', b'{"n": 18446744073709551615}', b'{"n": -9223372036854775809}',
    b'{"n": 1e400}', b'{"n": 1.5e19}', b'{"n": -0}', b'{"n": 1.0}', b'\xef\xbb\xbf{"a": 1}',
    b'{"s": "\\ud800"}', b'{"s": "\\ud83d\\ude00"}', b"", b"   ", b"[1, 2,]", b"NaN",
    b'{"a": Infinity}', b'"\xff"', b"[" * 300 + b"]" * 300, b"[" * 2000 + b"]" * 2000,
]


@pytest.mark.parametrize("data", CRAFTED, ids=range(len(CRAFTED)))
def test_crafted_inputs_agree(data: bytes) -> None:
    assert_agree(data)


def test_every_fixture_and_hostile_file_agrees() -> None:
    for path in [*ENRICHED, *LEGACY, *BAD]:
        assert_agree(path.read_bytes())
    for case in [*hostile_cases(), *UNSERIALISABLE]:
        if not case.big:
            assert_agree(case.make())


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                           allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["a", "b", "c", 'q":', "é"]), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")]),
       st.booleans())
def test_generated_documents_agree(value: Any, separators: tuple[str, str],
                                   duplicate: bool) -> None:
    text = json.dumps(value, separators=separators, ensure_ascii=False)
    if duplicate and text.startswith("{") and len(text) > 2:
        text = '{"a": 0, ' + text[1:] if '"a"' in text else text
    assert_agree(text.encode("utf-8"))
