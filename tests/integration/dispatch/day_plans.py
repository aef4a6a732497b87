"""What the day-plan tests share: an engineer on the roster and the board's rows."""

from __future__ import annotations

from typing import Any

from tests.support.system import ServiceProcess


def put_engineer(service: ServiceProcess, engineer_id: str, n: int, *, step: float) -> None:
    """A water-heater engineer of cn-east, weekdays 08:00-18:00, his home `n` steps out."""
    body = {
        "name": engineer_id.upper(),
        "region": "cn-east",
        "skills": ["instant_water_heater"],
        "capacity": 8,
        "home": {"lat": 30.26 + step * n, "lon": 120.14 + step * n},
        "working_hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}
        ],
    }
    assert service.request("PUT", f"/engineers/{engineer_id}", body)[0] == 200


async def board(db: Any, ticket_ids: list[str]) -> dict[str, Any]:
    rows = await db.fetch(
        "select ticket_id, state, engineer_id, appointment_start from dispatch_board"
        " where ticket_id = any($1::text[])",
        ticket_ids,
    )
    return {r["ticket_id"]: r for r in rows}
