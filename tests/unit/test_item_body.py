"""The body a send carries (producer/item_body.py): byte for byte what `json.dumps` of the item's fields gives."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.producer.item_body import ItemBodies
from backpressure_lab.producer.items import WorkItem, new_item

finite = st.floats(allow_nan=False, allow_infinity=False)


def expected(item: WorkItem, waited: float, deadline: float | None) -> bytes:
    fields = {"id": item.id, "created_at": item.created_at, "payload": item.payload, "queue_latency_seconds": waited}
    if deadline is not None:
        fields["deadline"] = deadline
    return json.dumps(fields).encode()


def item_of(item_id: str, created_at: float, payload: str) -> WorkItem:
    return WorkItem(id=item_id, created_at=created_at, enqueued_at=0.0, enqueued_at_ns=0, payload=payload)


@given(
    sends=st.lists(
        st.tuples(st.text(), finite, st.sampled_from(["", "x", "x" * 1024, '"\\\n\u00e9\ud800\U0001f600']) | st.text())
        .map(lambda fields: item_of(*fields))
        .flatmap(lambda item: st.tuples(st.just(item), finite, st.none() | finite)),
        min_size=1,
        max_size=8,
    )
)
def test_each_body_is_the_json_of_its_items_fields(sends: list[tuple[WorkItem, float, float | None]]) -> None:
    # One encoder for the whole sequence: the payload kept from one send must never leak into the next.
    bodies = ItemBodies()
    for item, waited, deadline in sends:
        assert bodies.encode(item, waited, deadline) == expected(item, waited, deadline)


def test_items_with_equal_payloads_each_get_their_own_id_and_times() -> None:
    bodies = ItemBodies()
    first, second = new_item(1024), new_item(1024)
    assert first.payload is not second.payload
    sent = [json.loads(bodies.encode(item, 0.25, None)) for item in (first, second)]
    assert [body["id"] for body in sent] == [first.id, second.id]
    assert [body["created_at"] for body in sent] == [first.created_at, second.created_at]
    assert all(body["payload"] == "x" * 1024 and body["queue_latency_seconds"] == 0.25 for body in sent)
