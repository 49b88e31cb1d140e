"""The request path's one-write pipeline (``storage.redis_conn.send_pipelined``) on a real
Redis: raw replies in order, and a failed batch never leaves replies behind for the next."""

from __future__ import annotations

import uuid

import pytest
import redis

from storage.redis_conn import field_pairs, send_pipelined


@pytest.fixture()
def client(redis_url: str):  # type: ignore[no-untyped-def]  # a pytest fixture
    c = redis.Redis.from_url(redis_url)
    prefix = f"solace-pipelined-{uuid.uuid4().hex[:8]}"
    yield c, prefix
    for key in c.scan_iter(match=f"{prefix}:*"):
        c.delete(key)


def test_replies_come_back_raw_and_in_order(client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    c, p = client
    c.set(f"{p}:s", "v")
    c.hset(f"{p}:h", mapping={"a": "1", "b": "2"})
    c.sadd(f"{p}:set", "x", "y")
    replies = send_pipelined(c, [
        ("GET", f"{p}:s"), ("GET", f"{p}:missing"), ("HGET", f"{p}:h", "b"), ("SMEMBERS", f"{p}:set"),
        ("HGETALL", f"{p}:h"), ("EXISTS", f"{p}:s"), ("EXISTS", f"{p}:missing"),
        ("INCR", f"{p}:n"), ("EXPIRE", f"{p}:n", 61),
    ])
    assert replies[0] == b"v" and replies[1] is None and replies[2] == b"2"
    assert sorted(replies[3]) == [b"x", b"y"]
    assert dict(field_pairs(replies[4])) == {b"a": b"1", b"b": b"2"}
    assert replies[5:8] == [1, 0, 1] and replies[8] in (1, True)
    assert 0 < c.ttl(f"{p}:n") <= 61
    # the same reading from a dict (what a cluster client's pipeline gives)
    assert dict(field_pairs({b"a": b"1"})) == {b"a": b"1"}


def test_an_error_reply_raises_and_leaves_nothing_for_the_next_batch(client) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    c, p = client
    c.set(f"{p}:s", "v")
    c.set(f"{p}:t", "w")
    with pytest.raises(redis.ResponseError):
        # SMEMBERS of a string is an error reply in the middle of the batch
        send_pipelined(c, [("GET", f"{p}:s"), ("SMEMBERS", f"{p}:s"), ("GET", f"{p}:t")])
    for _ in range(3):  # the pool's connections give this batch's replies, not the last one's
        assert send_pipelined(c, [("GET", f"{p}:t"), ("GET", f"{p}:s")]) == [b"w", b"v"]
