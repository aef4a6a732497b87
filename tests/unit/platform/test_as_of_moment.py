"""The `as_of` query parameter of the time-travel routes: an aware ISO 8601 time, not
after the service's clock; anything else is refused naming `as_of`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from repairline_platform.asof import as_of_moment
from repairline_rules.refusals import InvalidInput

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def test_an_aware_time_up_to_now_is_the_moment() -> None:
    assert as_of_moment("2026-11-24T18:00:00+08:00", NOW) == NOW
    assert as_of_moment("2026-11-20T09:30:00Z", NOW) == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_an_unencoded_plus_that_arrived_as_a_space_is_the_offset() -> None:
    assert as_of_moment("2026-11-24T17:00:00 08:00", NOW) == datetime(
        2026, 11, 24, 17, 0, tzinfo=CST
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-11-24T09:00:00", "offset"),
        ("yesterday", "ISO 8601"),
        ("2026-11-24T10:00:00.000001+00:00", "future"),
    ],
)
def test_anything_else_is_refused_naming_as_of(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        as_of_moment(text, NOW)
    assert refused.value.field == "as_of" and reason in refused.value.reason
