"""What POST /process accepts: the original lab's item `{id, created_at, payload}`, checked before anything counts.

The producer sends a uuid4 string id, a wall-clock `created_at` and a string payload of up to 4 MiB (plus
`queue_latency_seconds`, which the consumer does not read); the original lab's producer sent an object payload, which
is accepted too, and so is an optional `deadline` (epoch seconds, from the producer's `item_deadline_ms`). Anything
else is a 400 naming the field, counted as failed, never as processed.
"""

from __future__ import annotations

from typing import Any

from backpressure_lab.common.echo import echo

ITEM_EXAMPLE = '{"id": "item-1", "created_at": 1700000000.0, "payload": "..."}'
MAX_ID_LENGTH = 128
"""Characters of a string id (a uuid4 has 36): the consumer remembers recent ids, so their size is bounded."""
MAX_INTEGER_ID = 2**63 - 1
MAX_TIME = 1e15
"""Seconds either side of the epoch a `created_at` may be (any finite time a clock could give)."""
ITEM_BODY_LIMIT = 8 * 1024 * 1024
"""Bytes one item may have: the producer's largest payload (payload_bytes <= 4 MiB) with room to spare."""


class ItemError(ValueError):
    """An item the consumer refuses; the message names the field and what it accepts."""


def item_id_of(item: dict[str, Any]) -> str | int:
    """The item's id, after checking the id, `created_at` and `payload`; raises ItemError naming the bad field."""
    item_id = _checked_id(item.get("id"))
    created_at = item.get("created_at", 0.0)
    if not _is_time(created_at):
        raise ItemError(f"created_at must be a number, seconds since the epoch (got {echo(created_at)})")
    payload = item.get("payload", "")
    # The original lab's producer sent an object ({"data": "x" * 1024, "metadata": {...}}); this one sends a string.
    if not isinstance(payload, str | dict):
        raise ItemError(f"payload must be a string or an object (got {echo(payload)})")
    return item_id


def _checked_id(item_id: object) -> str | int:
    if isinstance(item_id, str) and 1 <= len(item_id) <= MAX_ID_LENGTH and item_id.isprintable():
        return item_id
    if isinstance(item_id, int) and not isinstance(item_id, bool) and abs(item_id) <= MAX_INTEGER_ID:
        return item_id
    raise ItemError(
        f"id must be a string or an integer: 1 to {MAX_ID_LENGTH} printable characters, or at most 64 bits "
        f"(got {echo(item_id)})"
    )


def deadline_of(item: dict[str, Any]) -> float | None:
    """The item's deadline in wall-clock seconds, or None when it has none; raises ItemError naming the field."""
    deadline = item.get("deadline")
    if deadline is None:
        return None
    if not _is_time(deadline):
        raise ItemError(f"deadline must be a number, seconds since the epoch (got {echo(deadline)})")
    return float(deadline)


def _is_time(value: object) -> bool:
    """A number of seconds since the epoch that a clock could give. Compared, not converted: float() of a 400-digit
    integer raises, and NaN fails every comparison."""
    return isinstance(value, int | float) and not isinstance(value, bool) and -MAX_TIME <= value <= MAX_TIME
