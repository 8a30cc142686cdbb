"""Batch ids sort as people count, whatever the numbers' widths."""

from __future__ import annotations

import random

from ui.wording import natural_key


def test_numbers_sort_by_value_not_by_their_first_digit() -> None:
    names = ["batch-10", "batch-2", "Batch-1", "batch-100", "batch-9", "batch-2a", "batch-2-10",
             "batch-2-9"]
    assert sorted(names, key=natural_key) == [
        "Batch-1", "batch-2", "batch-2-9", "batch-2-10", "batch-2a", "batch-9", "batch-10",
        "batch-100"]


def test_any_two_numbers_in_the_same_place_compare_as_numbers() -> None:
    draw = random.Random(7)
    values = sorted({draw.randrange(10 ** draw.randrange(1, 31)) for _ in range(300)})
    draw.shuffle(values)
    names = [f"run-{v}-set" for v in values]
    assert sorted(names, key=natural_key) == [f"run-{v}-set" for v in sorted(values)]


def test_leading_zeros_do_not_change_the_place() -> None:
    assert natural_key("batch-007") == natural_key("batch-7")
    assert sorted(["batch-010", "batch-9"], key=natural_key) == ["batch-9", "batch-010"]
