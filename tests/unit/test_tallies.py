"""Every way an item leaves the producer is a named count, and the identity over them holds."""

from __future__ import annotations

from backpressure_lab.common.metrics import new_registry
from backpressure_lab.producer.metrics import ProducerMetrics
from backpressure_lab.producer.tallies import ENDINGS, Tallies, Tally, unaccounted


def test_each_tally_feeds_status_and_its_own_counter() -> None:
    registry = new_registry()
    tallies = Tallies(ProducerMetrics(registry))
    for number, tally in enumerate(Tally, start=1):
        tallies.add(tally, number)
    status = tallies.as_status()
    for number, tally in enumerate(Tally, start=1):
        assert status[tally.value] == number
        samples = [s for m in registry.collect() for s in m.samples if s.name.endswith("_total") and s.value == number]
        assert samples, f"no counter shows {tally} = {number}"


def test_the_identity_counts_queued_and_delivering_items_and_every_ending() -> None:
    counts = {str(t): 0.0 for t in Tally} | {"produced": 20, "sent": 5, "dropped": 1, "expired": 2, "evicted": 3,
                                             "cleared": 4, "rejected": 99}  # fmt: skip
    assert unaccounted(counts, queued=3, in_delivery=2) == 0
    assert unaccounted(counts, queued=2, in_delivery=2) == 1  # an item gone without a count
    assert Tally.REJECTED not in ENDINGS  # a refused item was never admitted; an evicted one counts in both
