"""`GET /packs` and `GET /packs/{pack_id}`: the policy packs a service runs, readable.

Every service answers them (registered with the platform's own routes); a service
declares which sections of a pack it answers (`ServiceSpec.pack_sections`, default all).
The rendering is `repairline_rules.packview`: every value with its rule id.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from repairline_platform import bounds
from repairline_platform.http import NotFound
from repairline_rules import refusals
from repairline_rules.packs import COMPOSED_VERSION, UnknownPack
from repairline_rules.packview import pack_index, render_pack

PackId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="A pack id, such as `water-heater` (`GET /packs` lists them).",
    ),
]
Version = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=COMPOSED_VERSION.pattern,
        description="A version label, such as `2026.1` or `2026.1+2026.2` (as events name"
        " it); not with `on`.",
    ),
]
On = Annotated[
    bounds.CalendarDate | None,
    Query(
        description="The version in force on this day, in the pack's time zone (`YYYY-MM-DD`);"
        " not with `version`. Neither: in force today on the service clock."
    ),
]


def add_routes(router: APIRouter, rt: Any, may: Any) -> None:
    """The two read routes over `rt.packs` (a PackBook), behind `may("packs.read")`."""

    @router.get(
        "/packs",
        tags=["packs"],
        dependencies=[may("packs.read")],
        summary="The policy packs and versions this service runs",
    )
    async def packs() -> dict[str, Any]:
        """Each pack: id, name, time zone, whether it decides tickets no route matches
        (`default`), the years its calendar covers, and its versions with their effective
        dates (the one in force today marked)."""
        now = rt.clock.now()
        today = {
            pack_id: now.astimezone(rt.packs.versions(pack_id)[0].zone).date()
            for pack_id in rt.packs.ids()
        }
        return {
            "default": rt.routing.default,
            "sections": list(rt.spec.pack_sections),
            "packs": pack_index(rt.packs, rt.routing.default, today),
        }

    @router.get(
        "/packs/{pack_id}",
        tags=["packs"],
        dependencies=[may("packs.read")],
        summary="One version of a policy pack, every value with its rule id",
    )
    async def pack(pack_id: PackId, version: Version = None, on: On = None) -> dict[str, Any]:
        """The sections of the pack this service answers (`sections`); each value is
        `{"value": ..., "rule": "<rule id>"}`, each time allowance says whether it counts
        `clock_time` or `working_time`. 404 names the packs or versions known."""
        if version is not None and on is not None:
            raise refusals.InvalidInput("on", "give either version or on, not both")
        try:
            chosen = _choose(rt, pack_id, version, on)
        except UnknownPack as exc:
            raise NotFound(str(exc)) from exc
        return render_pack(chosen, rt.spec.pack_sections)


def _choose(rt: Any, pack_id: str, version: str | None, on: date | None) -> Any:
    if version is not None:
        return rt.packs.version(pack_id, version)
    if on is not None:
        return rt.packs.in_force(pack_id, on)
    return rt.packs.opened_at(pack_id, rt.clock.now())
