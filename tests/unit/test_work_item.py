"""What the consumer's POST /process accepts (consumer/work_item.py): checked before anything is counted."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.consumer.work_item import MAX_ID_LENGTH, MAX_TIME, ItemError, deadline_of, item_id_of


@pytest.mark.parametrize(
    "item",
    [
        {"id": "0b8e4f9c-4c1e-4c55-9b0e-0d6a1f0b7a11", "created_at": 1700000000.25, "payload": "x" * 65536},
        {"id": 7},
        {"id": "a" * MAX_ID_LENGTH, "created_at": 0, "queue_latency_seconds": 0.5},
        {"id": "caf\u00e9 \U0001f600"},
    ],
)
def test_items_the_producer_and_the_original_send_are_accepted(item: dict[str, object]) -> None:
    assert item_id_of(item) == item["id"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"payload": "x"}, "id must be a string or an integer"),
        ({"id": "a\ud800b"}, "id must be a string or an integer: 1 to 128 printable characters"),
        ({"id": ""}, "id must be a string or an integer"),
        ({"id": "a" * 50_000}, "(50,000 characters)"),
        ({"id": "line\nbreak"}, "id must be a string"),
        ({"id": True}, "id must be a string or an integer"),
        ({"id": 10**400}, "(401 digits)"),
        ({"id": [[]]}, "(got [[]])"),
        ({"id": "a", "created_at": "yesterday"}, "created_at must be a number"),
        ({"id": "a", "created_at": float("nan")}, "created_at must be a number"),
        ({"id": "a", "created_at": float("inf")}, "created_at must be a number"),
        ({"id": "a", "created_at": 10**400}, "created_at must be a number"),
        ({"id": "a", "created_at": None}, "created_at must be a number"),
        ({"id": "a", "payload": ["nested"]}, "payload must be a string or an object"),
    ],
)
def test_a_bad_item_is_refused_naming_the_field(item: dict[str, object], message: str) -> None:
    with pytest.raises(ItemError) as caught:
        item_id_of(item)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)


@given(json_values)
def test_a_deadline_is_a_finite_time_or_a_refusal_that_names_it(value: object) -> None:
    a_time = isinstance(value, int | float) and not isinstance(value, bool) and -MAX_TIME <= value <= MAX_TIME
    if value is None or a_time:
        deadline = deadline_of({"id": "a", "deadline": value})
        if value is None:
            assert deadline is None
        else:
            assert deadline is not None
            assert deadline == value
            assert math.isfinite(deadline)
        return
    with pytest.raises(ItemError, match=r"^deadline must be a number, seconds since the epoch"):
        deadline_of({"id": "a", "deadline": value})


def test_an_item_without_a_deadline_has_none() -> None:
    assert deadline_of({"id": "a", "created_at": 1700000000.0}) is None
