"""Where the producer sends (producer/consumers.py): the Service, or the least busy listed consumer pod."""

from __future__ import annotations

import pytest

from backpressure_lab.producer.consumers import ConsumerEndpoints, EndpointsError, parse_endpoints

A, B, C = "http://10.0.0.1:8001", "http://10.0.0.2:8001", "http://10.0.0.3:8001"


def test_without_a_list_every_send_goes_to_the_service() -> None:
    consumers = ConsumerEndpoints("http://lab-consumer:8001/")
    assert consumers.urls == ("http://lab-consumer:8001",)
    assert {consumers.acquire() for _ in range(5)} == {"http://lab-consumer:8001"}


def test_each_send_goes_to_the_consumer_with_the_fewest_in_flight() -> None:
    consumers = ConsumerEndpoints("http://svc:8001")
    consumers.replace((A, B, C))
    first = [consumers.acquire() for _ in range(6)]
    assert sorted(first) == sorted([A, B, C] * 2)  # evenly, whatever the turn
    consumers.release(B)
    consumers.release(B)
    assert consumers.acquire() == B
    assert consumers.acquire() == B
    assert consumers.in_flight() == {A: 2, B: 2, C: 2}


def test_sends_to_a_removed_consumer_finish_without_counting_against_the_new_list() -> None:
    consumers = ConsumerEndpoints("http://svc:8001")
    consumers.replace((A, B))
    sent = [consumers.acquire() for _ in range(4)]
    consumers.replace((C,))
    for url in sent:
        consumers.release(url)
    assert consumers.in_flight() == {C: 0}
    assert consumers.acquire() == C


def test_parse_accepts_base_urls_and_an_empty_list() -> None:
    assert parse_endpoints([A + "/", B]) == (A, B)
    assert parse_endpoints([]) == ()
    assert parse_endpoints(["http://[::1]:8001", "https://lab-consumer.ns.svc:8001", "http://Consumer-0"]) == (
        "http://[::1]:8001",
        "https://lab-consumer.ns.svc:8001",
        "http://Consumer-0",
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"a": 1}, "endpoints must be a list"),
        ([1], r"endpoints\[0\] must be a base URL"),
        (["ftp://10.0.0.1"], r"endpoints\[0\] must be a base URL"),
        ([A, A], r"endpoints\[1\]: http://10.0.0.1:8001 is listed twice"),
        ([[]], r"endpoints\[0\] must be a base URL: http:// or https://.* \(got \[\]\)"),
        ([A, "http://a\ud800b:1"], r"endpoints\[1\] must be a base URL: .*\(got 'http://a\\ud800b:1'\)"),
        (["http://[::1"], r"endpoints\[0\] must be a base URL"),
        (["http://127.0.0.1:99999"], r"an optional port from 1 to 65535"),
        (["http://127.0.0.1:0"], r"endpoints\[0\] must be a base URL"),
        (["http://10.0.0.1:8001/process"], r"no path, query or user"),
        (["http://user:pw@10.0.0.1:8001"], r"endpoints\[0\] must be a base URL"),
        (["http://a b:1"], r"endpoints\[0\] must be a base URL"),
        (["http://caf\u00e9:1"], r"endpoints\[0\] must be a base URL"),
        (["http://" + "a" * 5000], r"endpoints\[0\] must be a base URL: .*\.\.\. \(5,007 characters\)"),
    ],
)
def test_parse_refuses_what_it_cannot_use(raw: object, message: str) -> None:
    with pytest.raises(EndpointsError, match=message):
        parse_endpoints(raw)
