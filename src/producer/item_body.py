"""The JSON body a send carries: the item's fields as the original lab sent them, its queue wait and, where the
setting asks for one, its deadline.

The body is composed from each value's JSON text, the very text `json.dumps` of the same dict gives (a test holds the
two to each other), without the dict and the encoder object `json.dumps` makes per call. The payload's text is kept
while consecutive items carry an equal payload, as the generator's filler does: its kilobyte is escaped once, not once
per send (equality is checked, a string comparison, never assumed).
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as json_string

from backpressure_lab.producer.items import WorkItem


class ItemBodies:
    def __init__(self) -> None:
        self._payload = ""
        self._payload_json = json_string("")

    def encode(self, item: WorkItem, waited: float, deadline: float | None) -> bytes:
        """`waited` and `deadline` are clock readings and differences, always finite: `repr` is their JSON."""
        payload = item.payload
        if payload != self._payload:
            self._payload, self._payload_json = payload, json_string(payload)
        text = (
            f'{{"id": {json_string(item.id)}, "created_at": {item.created_at!r}, "payload": {self._payload_json}, '
            f'"queue_latency_seconds": {waited!r}'
        )
        if deadline is not None:
            text += f', "deadline": {deadline!r}'
        return (text + "}").encode()
