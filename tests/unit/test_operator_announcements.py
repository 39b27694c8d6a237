"""Pure: an announcement is posted with the first status write that shows it, waits while none does, and is dropped
only when its pod is gone (no write will ever show it)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backpressure_lab.operator.announcements import Announcement, due
from backpressure_lab.operator.apply import CURRENT, FAILED, NOT_READY
from backpressure_lab.operator.status import Event

PODS = ["lab-producer-0", "lab-consumer-0", "lab-consumer-1"]
BECAME_READY = Event("Normal", "Applied", "lab-producer-0 became ready: reports the desired settings")


def test_a_became_ready_event_waits_for_a_status_that_shows_the_pod_current() -> None:
    """The CI after session 10: a drift check that probed the pod just before it became ready wrote it NotReady,
    and posted the became-ready event with that write."""
    pending = [Announcement(BECAME_READY, current_pod="lab-producer-0")]
    not_ready = [{"name": "lab-producer-0", "phase": NOT_READY, "generation": 1}]
    current = [{"name": "lab-producer-0", "phase": CURRENT, "generation": 1}]
    assert due(pending, not_ready, {"lab-producer-0"}).post == []
    assert due(pending, not_ready, {"lab-producer-0"}).drop == []
    assert due(pending, current, {"lab-producer-0"}).post == pending


def test_an_announcement_about_a_pod_that_is_gone_is_dropped() -> None:
    pending = [Announcement(BECAME_READY, current_pod="lab-producer-0")]
    assert due(pending, [], set()).drop == pending


records = st.lists(
    st.fixed_dictionaries({"name": st.sampled_from(PODS), "phase": st.sampled_from([CURRENT, FAILED, NOT_READY])}),
    max_size=4,
)
announcements = st.lists(
    st.builds(Announcement, st.just(BECAME_READY), st.one_of(st.none(), st.sampled_from(PODS))), max_size=6
)


@given(announcements, records, st.sets(st.sampled_from(PODS)))
def test_each_announcement_is_posted_dropped_or_kept_by_what_the_status_shows(
    pending: list[Announcement], shown: list[dict[str, str]], present: set[str]
) -> None:
    result = due(pending, shown, present)
    current = {record["name"] for record in shown if record["phase"] == CURRENT}
    for announcement in pending:
        posted = any(announcement is a for a in result.post)
        dropped = any(announcement is a for a in result.drop)
        assert not (posted and dropped)
        assert posted == (announcement.current_pod is None or announcement.current_pod in current)
        assert dropped == (not posted and announcement.current_pod not in present)
    assert [a for a in pending if any(a is p for p in result.post)] == result.post, "posted in announcement order"
