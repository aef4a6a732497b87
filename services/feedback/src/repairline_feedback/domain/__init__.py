"""Feedback's decisions, pure, over the policy pack; times are passed in.

One module per aggregate, each with its command types, its state, `decide...` and
`evolve(state, event)` / `fold(stream_id, events)`:

- `followup`: a ticket's follow-up stream (the ticket id): callbacks (FBK-1..5) and
  the yearly survey answer with its WAR-11 reward (FBK-7);
- `complaint`: one complaint (`complaint:<id>`), its answer clock (FBK-6);
- `sample`: the year's survey sample (`survey:<year>`), drawn once (FBK-7);
- `key_customer`: a key customer (`key-customer:<name>`), always called (FBK-2).
"""

from __future__ import annotations


def percent(part: int, whole: int) -> str:
    """A percentage with two decimals by integer arithmetic ("100.00"; "" for 0 of 0)."""
    if whole == 0:
        return ""
    hundredths = part * 10000 // whole
    return f"{hundredths // 100}.{hundredths % 100:02d}"
