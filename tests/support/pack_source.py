"""A pack source as services hold one (`Runtime.pack_now`), over a `PackBook`, for unit
tests of command handlers; and a pack file with a later version, for tariff changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path

from repairline_platform.policy import current_policy
from repairline_rules.packs import PackBook, PolicyPack


def pack_source(book: PackBook, default: str) -> Callable[[datetime], PolicyPack]:
    """The bound ticket's pack and version at `now`, else the default pack in force."""

    def pack_at(now: datetime) -> PolicyPack:
        policy = current_policy()
        if policy is None:
            return book.opened_at(default, now)
        return book.for_ticket(policy.pack, policy.version, now)

    return pack_at


def with_version(folder: Path, pack_id: str, later: str) -> Path:
    """The built-in pack `pack_id` written to `folder` with `later` (a `[[versions]]`
    entry, TOML) appended: a network's edition with a change from a date."""
    path = folder / f"{pack_id}.toml"
    shipped = resources.files("repairline_rules").joinpath("packs", f"{pack_id}.toml")
    path.write_text(shipped.read_text("utf-8") + "\n" + later, "utf-8")
    return path


def covering(folder: Path, pack_id: str, *years: int) -> Path:
    """The built-in pack `pack_id` written to `folder` declaring `years` covered too, with
    no public holiday in them: for tests whose clocks run in a year of ordinary days."""
    path = folder / f"{pack_id}.toml"
    shipped = resources.files("repairline_rules").joinpath("packs", f"{pack_id}.toml")
    text = shipped.read_text("utf-8")
    listed = "years = [2025, 2026]"
    assert listed in text, f"{pack_id}: the covered years moved; update this helper"
    more = ", ".join(str(y) for y in years)
    path.write_text(text.replace(listed, f"years = [2025, 2026, {more}]"), "utf-8")
    return path
