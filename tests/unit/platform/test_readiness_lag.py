"""`/readyz` reports each consumer's lag from the high watermarks its fetches returned:
before the first fetch from a partition returns (up to a second for a consumer that
fetches in bulk) the lag is not known, and is not reported as 0, which reads as caught
up."""

from __future__ import annotations

from repairline_platform.health import lag_behind

A, B = ("repairline.intake.events", 0), ("repairline.intake.events", 1)


def test_lag_is_unknown_until_every_assigned_partition_has_a_high_watermark():
    assert lag_behind({A: 120, B: None}, {A: 100}) is None
    assert lag_behind({A: None}, {}) is None


def test_lag_sums_each_partitions_records_past_its_stored_offset():
    assert lag_behind({A: 120, B: 7}, {A: 100, B: 7}) == 20
    assert lag_behind({A: 120, B: 7}, {A: 100}) == 27  # nothing stored: from offset 0
    assert lag_behind({A: 5}, {A: 9}) == 0  # stored past a watermark fetched earlier
    assert lag_behind({}, {}) == 0  # no partition assigned: nothing behind
