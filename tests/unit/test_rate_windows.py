"""The moving windows behind every rate limit, and whose address a failed authentication is."""

from __future__ import annotations

from agentplane.gateway.auth_throttle import client_address
from agentplane.gateway.client_certificates import FORWARDING_SECRET_HEADER
from agentplane.gateway.rate_windows import Limit, MovingWindows

T0 = 1_700_000_000.0
FREE = Limit(per_minute=60, burst=10)


def test_counts_from_another_replica_are_recorded_beyond_the_limit() -> None:
    windows = MovingWindows()
    assert all(windows.admit("ws:a", FREE, T0 + i * 0.2).allowed for i in range(5))
    # Another replica admitted 58 in the meantime: recorded whole, although 5 + 58 > 60.
    windows.record("ws:a", 58, T0 + 2.0)
    assert windows.count("ws:a", T0 + 2.0) == 63
    refused = windows.admit("ws:a", FREE, T0 + 3.0)
    assert not refused.allowed and refused.remaining == 0
    # Free again once the count is below 60: four of the five own requests (T0 .. T0 + 0.6)
    # must leave the window, not just the oldest.
    assert refused.reset_at == T0 + 0.6 + 60
    assert refused.retry_after == 58
    assert not windows.admit("ws:a", FREE, T0 + 60.5).allowed
    assert windows.admit("ws:a", FREE, T0 + 60.61).allowed


def test_burst_is_a_moving_second_and_refusals_cost_nothing() -> None:
    windows = MovingWindows()
    assert all(windows.admit("k", FREE, T0 + 0.5 + i * 0.01).allowed for i in range(10))
    refused = windows.admit("k", FREE, T0 + 1.2)
    assert not refused.allowed
    assert refused.retry_after == 1 and refused.remaining == 50
    # A second after the first of the ten (not at a whole second boundary) one fits again.
    assert windows.admit("k", FREE, T0 + 1.505).allowed
    assert windows.count("k", T0 + 1.505) == 11


def test_frees_at_only_when_over_the_limit() -> None:
    windows = MovingWindows()
    limit = Limit(per_minute=3, burst=3)
    assert windows.frees_at("authfail:1.2.3.4", limit, T0) is None
    for i in range(3):
        windows.record("authfail:1.2.3.4", 1, T0 + i)
    assert windows.frees_at("authfail:1.2.3.4", limit, T0 + 5) == T0 + 60
    assert windows.frees_at("authfail:1.2.3.4", limit, T0 + 60.5) is None


def test_idle_keys_are_forgotten() -> None:
    windows = MovingWindows()
    for n in range(100):
        windows.admit(f"agent:{n}", FREE, T0)
    assert len(windows) == 100
    windows.admit("agent:new", FREE, T0 + 61)
    assert len(windows) == 1


def test_client_address_trusts_x_forwarded_for_only_with_the_forwarding_secret() -> None:
    forwarded = (b"x-forwarded-for", b"203.0.113.7")
    scope = {"client": ("127.0.0.1", 5000), "headers": [forwarded]}
    assert client_address(scope, "s3cret") == "127.0.0.1"
    scope["headers"] = [forwarded, (FORWARDING_SECRET_HEADER.encode(), b"wrong")]
    assert client_address(scope, "s3cret") == "127.0.0.1"
    scope["headers"] = [forwarded, (FORWARDING_SECRET_HEADER.encode(), b"s3cret")]
    assert client_address(scope, "s3cret") == "203.0.113.7"


def test_a_late_batch_is_counted_when_it_was_admitted() -> None:
    windows = MovingWindows()
    windows.admit("k", FREE, T0 + 1.0)
    # Heard of later, admitted earlier by another replica: it leaves the window first.
    windows.record("k", 9, T0 + 0.5)
    assert not windows.admit("k", FREE, T0 + 1.2).allowed
    assert windows.admit("k", FREE, T0 + 1.51).allowed


def test_a_batch_older_than_a_second_counts_in_the_minute_only() -> None:
    windows = MovingWindows()
    assert windows.admit("k", FREE, T0 + 5.0).allowed
    windows.record("k", 9, T0 + 3.0)  # another replica's, heard late
    verdict = windows.admit("k", FREE, T0 + 5.01)
    # The burst holds 1 of 10 (the nine are two seconds old); the minute all eleven.
    assert verdict.allowed and verdict.remaining == 60 - 11
