"""The console's desks in headless Chromium against the real services: the agent sees the
warranty of a serial number as he types it (WAR-3), the next free windows of a visit
(DSP-2), the open ticket a duplicate request names, and finds the ticket by the
customer's phone or the serial number; the dispatcher releases a job from the board to
his queue (DSP-1) and watches an SLA countdown turn amber and red as the services' clock
moves (DSP-3), its alerts grouped by kind; the manager's on-time chart counts a visit.
One test walks the steps in order on one set of services; the clock only moves forward."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.e2e.console.conftest import ENGINEER, Console, screenshot, signed_in
from tests.e2e.console.test_journey import fill_request

FOUND = 120_000  # ms a page may wait for what another service did (Kafka between)
DESK: dict[str, Any] = {}


async def look_up(page: Page, serial: str) -> None:
    await page.fill("#f-product-serial_no", serial)
    await page.get_by_test_id("lookup-serial").click()


async def step_agent_sees_the_warranty_free_windows_and_the_duplicate(
    console: Console, browser: Browser
) -> None:
    system = console.system
    serial = f"SD{system.prefix[:8].upper()}"
    sold_on = system.day - timedelta(days=100)
    system.ok(
        system.intake,
        "PUT",
        f"/sales-records/{serial}",
        {"product_line": "instant_water_heater", "model": "WH-30", "sold_on": sold_on.isoformat()},
    )
    agent = await signed_in(browser, console, "agent")
    # WAR-3: the maker's sale of the unit, and the warranty it gives today
    await look_up(agent, serial)
    until = sold_on.replace(year=sold_on.year + 1) - timedelta(days=1)
    await expect(agent.get_by_test_id("warranty-until")).to_contain_text(
        f"In warranty until {until.isoformat()}"
    )
    await expect(agent.get_by_test_id("sale-record")).to_contain_text(sold_on.isoformat())
    await look_up(agent, f"{serial}-NONE")
    await expect(agent.get_by_test_id("no-record")).to_be_visible()

    # a visit: the next free windows of the region for the product line (DSP-2)
    await fill_request(agent, serial=serial, purchase_date="2024-03-01")
    await expect(agent.get_by_test_id("triage")).to_contain_text("A visit")
    windows = agent.get_by_test_id("free-window")
    await expect(windows.first).to_be_visible()
    assert 1 <= await windows.count() <= 5
    href = await agent.get_by_test_id("ticket-link").get_attribute("href")
    ticket = href.rsplit("/", 1)[1]
    DESK["ticket"], DESK["serial"] = ticket, serial
    await screenshot(agent, "intake-free-windows")

    # the same unit again: refused, and the open ticket named with its numbers
    await agent.goto("/intake")
    await fill_request(agent, serial=serial, purchase_date="2024-03-01")
    await expect(agent.get_by_test_id("duplicate")).to_be_visible()
    await expect(agent.get_by_test_id("duplicate-of")).to_have_attribute(
        "href", f"/tickets/{ticket}"
    )
    await agent.context.close()


async def step_agent_finds_the_ticket_by_phone_in_any_spelling_or_by_serial(
    console: Console, browser: Browser
) -> None:
    ticket, serial = DESK["ticket"], DESK["serial"]
    agent = await signed_in(browser, console, "agent")
    results = agent.get_by_test_id("search-results")
    for by, query in [("phone", "139-0000-0000"), ("serial", serial)]:
        await agent.select_option("#search-by", by)
        await agent.fill("#search-query", query)
        await agent.get_by_test_id("search").click()
        await expect(results.locator(f'li[data-ticket="{ticket}"]')).to_be_visible()
    await expect(results.locator("li[data-ticket]")).to_have_count(1)  # by serial: one unit
    await agent.select_option("#search-by", "phone")
    await agent.fill("#search-query", "138 1111 2222")
    await agent.get_by_test_id("search").click()
    await expect(results).to_contain_text("No ticket found.")
    await agent.context.close()


async def step_dispatcher_releases_a_booked_job_from_the_board_to_his_queue(
    console: Console, browser: Browser
) -> None:
    system, ticket = console.system, DESK["ticket"]
    await system.board(ticket, lambda b: b["state"] == "assigned")
    system.cmd(f"/tickets/{ticket}/appointment", system.slot("10:00", "12:00"))
    board = await signed_in(browser, console, "dispatcher")
    await board.goto(f"/board?region=cn-east&day={system.day.isoformat()}")
    block = board.locator(f'[data-engineer="{ENGINEER}"] [data-ticket="{ticket}"]')
    await expect(block).to_contain_text("10:00–12:00", timeout=FOUND)
    release = block.locator("details.release")
    await release.locator("summary").click()
    await release.locator("input[name=reason]").fill("customer wants a senior engineer")
    await release.locator("button[type=submit]").click()
    await expect(block).to_have_count(0, timeout=FOUND)
    queued = board.locator(f'[data-testid=queue] li[data-ticket="{ticket}"]')
    await expect(queued).to_contain_text("released by the dispatcher", timeout=FOUND)
    await expect(queued).to_contain_text("customer wants a senior engineer")
    view = await system.board(ticket, lambda b: b["state"] == "waiting_for_engineer")
    assert view["engineer_id"] is None
    await board.context.close()


async def step_manager_sees_the_on_time_chart_count_a_visit(
    console: Console, browser: Browser
) -> None:
    system = console.system
    created = system.create(system.body("instant_water_heater"))
    ticket = created["ticket_id"]
    await system.board(ticket, lambda b: b["state"] == "assigned")
    manager = await signed_in(browser, console, "analyst", region="")
    await manager.goto(f"/manager?month={system.day:%Y-%m}&region=cn-east")
    before = await drawn_on_time(manager)
    system.cmd(f"/tickets/{ticket}/appointment", system.slot("08:30", "09:30"))
    system.cmd(f"/tickets/{ticket}/departure", {})
    system.cmd(f"/tickets/{ticket}/arrival", {})  # 07:30: before the window ends
    week = system.day - timedelta(days=system.day.weekday())
    row = manager.locator(f'[data-testid=weeks-table] tr[data-key="cn-east {week.isoformat()}"]')
    await manager.reload()
    await expect(row.get_by_test_id("on-time")).to_have_text(str(before + 1), timeout=FOUND)
    assert await drawn_on_time(manager) == before + 1
    await screenshot(manager, "manager-on-time")
    await manager.context.close()


async def drawn_on_time(page: Page) -> int:
    """The on-time visits the chart draws, all weeks together (0 while it has no bar)."""
    await page.wait_for_function("window.Chart && Chart.getChart('ontime')")
    return await page.evaluate(
        "() => Chart.getChart('ontime').data.datasets[0].data.reduce((a, b) => a + b, 0)"
    )


async def step_an_sla_countdown_turns_amber_then_red_as_the_services_clock_moves(
    console: Console, browser: Browser
) -> None:
    system = console.system
    # DSP-3: the visit commitment runs where the region has a service point
    point = {"name": "Hangzhou West", "region": "cn-east", "city_tier": "provincial_capital"}
    system.ok(system.dispatch, "PUT", "/service-points/sp-desk", point)
    created = system.create(system.body("instant_water_heater"))
    ticket = created["ticket_id"]
    view = await system.board(ticket, lambda b: b["state"] == "assigned")
    day = system.day.isoformat()
    status, rows = system.dispatch.request("GET", f"/board?day={day}&region=cn-east")
    assert status == 200, rows
    [row] = [r for r in rows if r["ticket_id"] == ticket]
    visit_by = datetime.fromisoformat(row["visit_by"])
    assert view["engineer_id"] == ENGINEER
    board = await signed_in(browser, console, "dispatcher")
    await board.goto(f"/board?region=cn-east&day={day}")
    countdown = board.locator(f'[data-testid=queue] li[data-ticket="{ticket}"] .sla')
    await expect(countdown).to_have_class(re.compile(r"\bsla-green\b"), timeout=FOUND)
    # DSP-3: within two hours of the deadline the board turns amber, never reloaded
    system.at(visit_by - timedelta(minutes=90))
    await expect(countdown).to_have_class(re.compile(r"\bsla-amber\b"), timeout=FOUND)
    await expect(countdown).to_have_text(re.compile(r"^1h[0-5][0-9]$"))
    # past it: red, and dispatch's own alerts of the kind appear in their group
    system.at(visit_by + timedelta(minutes=5))
    await expect(countdown).to_have_class(re.compile(r"\bsla-red\b"), timeout=FOUND)
    breached = board.locator("[data-kind=sla_breached]")
    await expect(breached.locator(f'a[href="/tickets/{ticket}"]')).to_be_visible(timeout=FOUND)
    near = board.locator("[data-kind=sla_approaching]")
    await expect(near.locator(f'a[href="/tickets/{ticket}"]')).to_be_visible(timeout=FOUND)
    await board.mouse.move(0, 0)
    await screenshot(board, "board-sla-red")
    await board.context.close()


async def test_the_desks_of_the_agent_the_dispatcher_and_the_manager(
    console: Console, browser: Browser
) -> None:
    await step_agent_sees_the_warranty_free_windows_and_the_duplicate(console, browser)
    await step_agent_finds_the_ticket_by_phone_in_any_spelling_or_by_serial(console, browser)
    await step_dispatcher_releases_a_booked_job_from_the_board_to_his_queue(console, browser)
    await step_manager_sees_the_on_time_chart_count_a_visit(console, browser)
    await step_an_sla_countdown_turns_amber_then_red_as_the_services_clock_moves(console, browser)
