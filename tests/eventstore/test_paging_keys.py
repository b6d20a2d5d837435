"""Sort keys of times: fixed-width UTC text, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agentplane.eventstore.paging import sort_key

PLUS_TWO = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC),  # no fraction: isoformat would drop it
        datetime(2026, 3, 2, 1, 0, 0, 5, tzinfo=PLUS_TWO),  # the day before in UTC
        datetime(2026, 3, 2, 10, 0, 0, 7),  # naive: taken as UTC
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),  # strftime leaves %Y unpadded
    ],
)
def test_a_time_keys_as_strftime_writes_it_in_utc(at: datetime) -> None:
    utc = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert sort_key(at) == expected
    assert sort_key(at.isoformat()) == expected


def test_keys_order_as_times() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    times = [start + timedelta(microseconds=n * 999_983) for n in range(500)]
    shuffled = times[::7] + times[1::7] + times[2::7] + times[3::7] + times[4::7] + times[5::7]
    shuffled += times[6::7]
    assert sorted(shuffled, key=sort_key) == times
    assert sort_key(None) == ""
