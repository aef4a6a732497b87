"""The pack routes on the services' real apps, storage opened on the real PostgreSQL
(policy loaded and clock set as at start): `GET /packs/water-heater` shows the FEE-1
table, business hours and holidays; each service answers the sections it uses."""

from __future__ import annotations

from tests.support.served import served


async def test_fee_1_intake_shows_the_water_heater_pack_whole(runtime_of):
    rt = await runtime_of("intake")
    async with served(rt) as http:
        listed = await http.get("/packs")
        answer = await http.get("/packs/water-heater")
    assert listed.status_code == 200 and answer.status_code == 200, answer.text
    water = next(p for p in listed.json()["packs"] if p["id"] == "water-heater")
    assert water["default"] is True and water["versions"][0]["in_force"] is True
    pack = answer.json()
    tariff = pack["fees"]["visit_tariff_fen"]["instant_water_heater"]["on_site"]
    assert tariff["municipality"] == {"value": 4000, "rule": "FEE-1"}
    assert pack["calendar"]["business_hours"]["sat"]["value"] == [
        {"start": "08:30", "end": "12:00"},
        {"start": "13:30", "end": "17:30"},
    ]
    assert {"2026-10-01", "2026-10-07"} <= set(pack["calendar"]["holidays"]["value"])
    assert pack["calendar"]["covered_years"]["value"] == [2025, 2026]


async def test_billing_and_feedback_answer_the_sections_they_use(runtime_of):
    for name, sections in (
        ("billing", ["warranty", "fees", "penalties", "assessment"]),
        ("feedback", ["calendar", "followup"]),
    ):
        rt = await runtime_of(name)
        async with served(rt) as http:
            answer = await http.get("/packs/pc-depot", params={"on": "2026-09-30"})
            unknown = await http.get("/packs/pc-depot", params={"version": "1999.1"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["sections"] == sections
        assert unknown.status_code == 404 and "2026.1" in unknown.json()["detail"]
