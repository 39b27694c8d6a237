"""What the consumer's POST /process accepts (consumer/work_item.py): checked before anything is counted."""

from __future__ import annotations

import pytest

from backpressure_lab.consumer.work_item import MAX_ID_LENGTH, ItemError, item_id_of


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
