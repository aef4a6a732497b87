"""A policy pack as people read it: every value with the rule id it feeds.

``render_pack`` answers one version of a pack as JSON-ready data, section by section
(``calendar``, ``warranty`` (with the three guarantees), ``fees``, ``dispatch``,
``penalties``, ``followup``, ``assessment``). Every value is a leaf
``{"value": <value>, "rule": "<rule id>"}``; an absent value (``null``) is a rule the
network does not apply. A time allowance's value is ``{"amount", "unit", "counts"}``,
``counts`` saying ``clock_time`` (every real minute) or ``working_time`` (business
hours only, by the pack's calendar). Each section also lists its ``rules``.
``pack_index`` answers the packs and versions of a book.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from fnmatch import fnmatchcase
from typing import Any

from repairline_rules.packs import WEEKDAYS, PackBook, PolicyPack

SECTIONS: tuple[str, ...] = (
    "calendar",
    "warranty",
    "fees",
    "dispatch",
    "penalties",
    "followup",
    "assessment",
)
# other top-level tables of the pack a section answers inside it
_PARTS: Mapping[str, tuple[str, ...]] = {"warranty": ("guarantees",)}

# dotted field (``*`` for any key) -> the rule it feeds; the first match wins
RULE_OF: tuple[tuple[str, str], ...] = (
    ("calendar.workdays", "DSP-2"),
    ("calendar.business_hours*", "DSP-2"),
    ("calendar.*", "DSP-3"),
    ("warranty.products.*.free_on_site_months", "WAR-2"),
    ("warranty.products.*", "WAR-1"),
    ("warranty.*_supply_voltage_v", "WAR-4"),
    ("warranty.repair_works_days", "WAR-10"),
    ("warranty.repeat_fault_free_months", "WAR-10"),
    ("warranty.extension_months", "WAR-11"),
    ("guarantees.return_days", "WAR-6"),
    ("guarantees.exchange_days", "WAR-7"),
    ("guarantees.failed_repairs_for_exchange", "WAR-8"),
    ("guarantees.parts_wait_days", "WAR-9"),
    ("guarantees", "WAR-6"),
    ("fees.visit_tariff_fen.*", "FEE-1"),
    ("fees.parts.*", "FEE-1"),
    ("fees.distance*", "FEE-2"),
    ("fees.wiring*", "FEE-3"),
    ("fees.overcharge_fine_multiplier", "FEE-5"),
    ("fees.settlement_days", "FEE-6"),
    ("fees.travel_allowance*", "FEE-7"),
    ("fees.contract*", "FEE-8"),
    ("dispatch.confirm_visit_minutes", "INT-6"),
    ("dispatch.depot_inspection_minutes", "INT-7"),
    ("dispatch.early_arrival_*", "DSP-6"),
    ("dispatch.phone_ahead_minutes", "DSP-6"),
    ("dispatch.appointment_min_lead_days", "DSP-2"),
    ("dispatch.unreachable_*", "DSP-8"),
    ("dispatch.installation_test_run_minutes", "DSP-12"),
    ("dispatch.response.*", "DSP-3"),
    ("dispatch.lateness.*", "DSP-7"),
    ("dispatch.not_found.*", "DSP-9"),
    ("penalties.payee", "PEN-1"),
    ("penalties.complaint*", "PEN-1"),
    ("penalties.form_*", "PEN-2"),
    ("penalties.visit_unrecorded_fen", "PEN-3"),
    ("penalties.remote_unrecorded_fen", "PEN-4"),
    ("penalties.implementation_form_*", "PEN-5"),
    ("penalties.unreachable_*", "PEN-6"),
    ("followup.after_guidance", "FBK-1"),
    ("followup.after_service*", "FBK-2"),
    ("followup.retry_after", "FBK-3"),
    ("followup.max_attempts", "FBK-3"),
    ("followup.dissatisfied_*", "FBK-5"),
    ("followup.complaint_answer", "FBK-6"),
    ("assessment.*", "PEN-8"),
)
# rules that count on the calendar besides those its values are labelled with
_CALENDAR_USERS = ("DSP-2", "DSP-3", "FBK-2", "FBK-3", "FBK-6")
_WORKING_UNITS = frozenset({"working_hours", "working_days"})


class UnknownSection(ValueError):
    """A section name that is not one of ``SECTIONS``."""


def rule_of(path: str) -> str | None:
    """The rule id a dotted pack field feeds (``fees.visit_tariff_fen.x.on_site``)."""
    for pattern, rule in RULE_OF:
        if fnmatchcase(path, pattern):
            return rule
    return None


def check_sections(sections: Iterable[str]) -> tuple[str, ...]:
    """``sections`` in the canonical order; UnknownSection naming the known ones."""
    chosen = tuple(sections)
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        raise UnknownSection(f"unknown pack sections {unknown}; known: {', '.join(SECTIONS)}")
    return tuple(s for s in SECTIONS if s in chosen)


def render_pack(pack: PolicyPack, sections: Iterable[str] = SECTIONS) -> dict[str, Any]:
    """One version of a pack, whole or the sections named, each value with its rule."""
    chosen = check_sections(sections)
    data = pack.model_dump(mode="json")
    data["calendar"] = _calendar(pack)
    out: dict[str, Any] = {
        "id": pack.id,
        "name": pack.name,
        "version": pack.version,
        "effective_from": _iso(pack.effective_from),
        "open_tickets": list(pack.open_tickets),
        "timezone": pack.timezone,
        "covered_years": sorted(pack.calendar.years),
        "sections": list(chosen),
    }
    for section in chosen:
        body = dict(_render(data[section], section))
        for extra in _PARTS.get(section, ()):
            body[extra] = _render(data.get(extra), extra)
        body["rules"] = _rules_in(body, section)
        out[section] = body
    return out


def _calendar(pack: PolicyPack) -> dict[str, Any]:
    spec = pack.calendar

    def spans(ranges: Iterable[Any]) -> list[dict[str, str]]:
        return [{"start": r.start, "end": r.end} for r in ranges]

    hours = {
        day: spans(spec.hours_by_day.get(day, spec.hours)) if day in spec.workdays else []
        for day in WEEKDAYS
    }
    return {
        "timezone": pack.timezone,
        "workdays": list(spec.workdays),
        "business_hours": hours,
        "makeup_workday_hours": spans(spec.hours),
        "holidays": [d.isoformat() for d in spec.holidays],
        "makeup_workdays": [d.isoformat() for d in spec.makeup_workdays],
        "covered_years": sorted(spec.years),
    }


def _is_window(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"amount", "unit"}


def _leaf(value: Any, path: str) -> dict[str, Any]:
    if _is_window(value):
        counts = "working_time" if value["unit"] in _WORKING_UNITS else "clock_time"
        value = {**value, "counts": counts}
    return {"value": value, "rule": rule_of(path)}


def _render(value: Any, path: str) -> Any:
    if isinstance(value, dict) and not _is_window(value):
        return {key: _render(item, f"{path}.{key}") for key, item in value.items()}
    return _leaf(value, path)


def _rules_in(body: Any, section: str) -> list[str]:
    found: set[str] = set(_CALENDAR_USERS) if section == "calendar" else set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "rule" in node and "value" in node:
                if node["rule"]:
                    found.add(node["rule"])
                return
            for item in node.values():
                walk(item)

    walk(body)
    return sorted(found, key=_rule_key)


_FAMILIES = ("INT", "WAR", "DSP", "FEE", "PEN", "FBK")


def _rule_key(rule: str) -> tuple[int, int]:
    family, _, number = rule.partition("-")
    return (_FAMILIES.index(family), int(number))


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def pack_index(book: PackBook, default: str, today: Mapping[str, date]) -> list[dict[str, Any]]:
    """Each pack of the book: id, name, time zone, whether it is the default, covered
    years, and its versions with their effective dates (the one in force on ``today``,
    the day in each pack's zone, marked)."""
    out = []
    for pack_id in book.ids():
        versions = book.versions(pack_id)
        first = versions[0]
        in_force = book.in_force(pack_id, today[pack_id]).version
        out.append(
            {
                "id": pack_id,
                "name": first.name,
                "timezone": first.timezone,
                "default": pack_id == default,
                "covered_years": sorted({y for v in versions for y in v.calendar.years}),
                "versions": [
                    {
                        "version": v.version,
                        "effective_from": _iso(v.effective_from),
                        "open_tickets": list(v.open_tickets),
                        "covered_years": sorted(v.calendar.years),
                        "in_force": v.version == in_force,
                    }
                    for v in versions
                ],
            }
        )
    return out
