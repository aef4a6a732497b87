"""Checking a pack file before it ships, and what it changes.

``check`` validates every version of a file (the pack models: types, required values,
non-negative money, holidays inside the covered years, ...) and then the invariants
that span sections: the callback hour of FBK-2 inside business hours, DSP-3's
central-city visit no longer than the visit elsewhere, DSP-7's lateness notices
ordered, each version's effective date inside its calendar's covered years. (A
working-time allowance always has business hours to count by: the calendar's workdays
and hours are required.) Every problem is listed as ``<file>: <dotted.field>: <problem>``.

``changes`` compares two versions value by value (the readable rendering of
``packview``): each changed value with its old and new value and its rule id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repairline_rules.packs import (
    PackError,
    PolicyPack,
    pack_versions_of,
    read_pack_file,
)
from repairline_rules.packview import render_pack

Problem = tuple[str, str, str]


@dataclass(frozen=True)
class Checked:
    """A pack file checked: its versions (when they load) and every problem found."""

    source: str
    versions: tuple[PolicyPack, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(ref: str | Path) -> Checked:
    """Every problem of a pack file: the models' first, then the invariants."""
    try:
        source, data = read_pack_file(ref)
        versions = pack_versions_of(source, data)
    except PackError as error:
        source = error.problems[0][0] if error.problems else str(ref)
        return Checked(source, (), _first_of_each(error.problems))
    problems: list[Problem] = []
    for n, pack in enumerate(versions):
        where = f"versions.{n - 1}." if n else ""
        problems.extend((source, where + field, text) for field, text in invariants(pack))
    return Checked(source, versions, _first_of_each(problems))


_VERSION_PREFIX = re.compile(r"^versions\.[0-9]+\.")


def _first_of_each(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """Each problem once: a later version inheriting a bad value repeats its problem."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for source, field, text in problems:
        key = (_VERSION_PREFIX.sub("", field), text)
        if key not in seen:
            seen.add(key)
            kept.append((source, field, text))
    return tuple(kept)


def invariants(pack: PolicyPack) -> Iterator[tuple[str, str]]:
    """(field, problem) for each rule of one version that spans its sections."""
    yield from _central_city_sooner(pack)
    yield from _callback_hour_is_open(pack)
    yield from _lateness_ordered(pack)
    yield from _effective_date_covered(pack)


def _central_city_sooner(pack: PolicyPack) -> Iterator[tuple[str, str]]:
    response = pack.dispatch.response
    visit, central = response.visit, response.visit_central_city
    if visit is None or central is None or visit.unit != central.unit:
        return
    if central.amount > visit.amount:
        yield (
            "dispatch.response.visit_central_city",
            f"{central.amount} {central.unit} is longer than the visit window everywhere"
            f" else ({visit.amount} {visit.unit})",
        )


def _callback_hour_is_open(pack: PolicyPack) -> Iterator[tuple[str, str]]:
    after = pack.followup.after_service
    if after.rule != "next_working_day" or after.at is None:
        return
    hour, minute = (int(part) for part in after.at.split(":"))
    minute += hour * 60
    if not any(r.start_minute <= minute < r.end_minute for r in pack.calendar.hours):
        hours = ", ".join(f"{r.start}-{r.end}" for r in pack.calendar.hours)
        yield "followup.after_service.at", f"{after.at} is outside business hours ({hours})"


def _lateness_ordered(pack: PolicyPack) -> Iterator[tuple[str, str]]:
    late = pack.dispatch.lateness
    if late.running_late_notice_max_minutes > late.running_late_max_minutes:
        yield (
            "dispatch.lateness.running_late_notice_max_minutes",
            f"{late.running_late_notice_max_minutes} exceeds running_late_max_minutes"
            f" ({late.running_late_max_minutes}): a notice cannot precede more lateness"
            " than running late allows",
        )
    if late.within_half_day_notice_minutes > late.beyond_half_day_notice_minutes:
        yield (
            "dispatch.lateness.within_half_day_notice_minutes",
            f"{late.within_half_day_notice_minutes} exceeds beyond_half_day_notice_minutes"
            f" ({late.beyond_half_day_notice_minutes}): a longer delay is told earlier",
        )


def _effective_date_covered(pack: PolicyPack) -> Iterator[tuple[str, str]]:
    day = pack.effective_from
    if day is not None and day.year not in pack.calendar.years:
        covered = ", ".join(map(str, pack.calendar.years))
        yield (
            "effective_from",
            f"{day} is outside the calendar's covered years ({covered}): add {day.year}'s"
            " holidays and the year to calendar.years",
        )


@dataclass(frozen=True)
class Change:
    """One value that differs between two versions."""

    field: str
    old: Any
    new: Any
    rule: str | None

    def line(self) -> str:
        rule = f" ({self.rule})" if self.rule else ""
        if _scalars(self.old) and _scalars(self.new):  # dates, days, years: what came and went
            added = [item for item in self.new if item not in self.old]
            removed = [item for item in self.old if item not in self.new]
            if added or removed:
                parts = [f"+{_text(added)}"] if added else []
                parts += [f"-{_text(removed)}"] if removed else []
                return f"{self.field}: {' '.join(parts)}{rule}"
        return f"{self.field}: {_text(self.old)} -> {_text(self.new)}{rule}"


_ABSENT = object()


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(item, dict | list) for item in value)


def _text(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any, str | None]]:
    if isinstance(node, dict) and set(node) == {"value", "rule"}:
        yield path, node["value"], node["rule"]
    elif isinstance(node, dict):
        for key, item in node.items():
            if key != "rules":
                yield from _leaves(item, f"{path}.{key}" if path else key)


def changes(old: PolicyPack, new: PolicyPack) -> list[Change]:
    """Every value that differs from ``old`` to ``new`` (identity and labels aside)."""
    before = {path: (value, rule) for path, value, rule in _leaves(_sections(old))}
    after = {path: (value, rule) for path, value, rule in _leaves(_sections(new))}
    found = []
    for path in [*before, *(p for p in after if p not in before)]:
        old_value, old_rule = before.get(path, (_ABSENT, None))
        new_value, new_rule = after.get(path, (_ABSENT, None))
        if old_value != new_value:
            found.append(Change(path, old_value, new_value, new_rule or old_rule))
    return found


def _sections(pack: PolicyPack) -> dict[str, Any]:
    rendered = render_pack(pack)
    return {section: rendered[section] for section in rendered["sections"]}
