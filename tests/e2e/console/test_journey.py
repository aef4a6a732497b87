"""The console's journey in headless Chromium against the real services: an agent files
a ticket, the dispatcher sees it arrive on the live board, books and reschedules it with
the customer's consent, the engineer departs, arrives and completes on a phone, the
callback agent records a dissatisfied answer and sees the revisit, and every ticket page
shows the timeline with its rules. One test walks the steps in order (one set of services
for all of them); each step leaves the ticket where the next one starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.e2e.console.conftest import ENGINEER, OTHER_ENGINEER, Console, screenshot, signed_in

FOUND = 120_000  # ms a page may wait for what another service did (Kafka between, a busy machine)
JOURNEY: dict[str, Any] = {}


async def fill_request(page: Page, *, serial: str, purchase_date: str) -> None:
    await page.select_option("#f-channel", "hotline")
    await page.fill("#f-region", "cn-east")
    await page.fill("#f-customer-name", "Li Wei")
    await page.fill("#f-customer-mobile", "+86 139 0000 0000")
    await page.fill("#f-customer-address", "88 Example Road, Hangzhou")
    await page.fill("#f-product-line", "instant_water_heater")
    await page.fill("#f-product-model", "WH-30")
    await page.fill("#f-product-serial_no", serial)
    await page.fill("#f-product-purchase_date", purchase_date)
    await page.fill("#f-fault_description", "No hot water; error E3")
    await page.fill("#f-customer_wants", "repair")
    # the serial number's WAR-3 lookup (sent when the field changed) is shown above the
    # button first: a click while it lands would hit where the button was
    await page.wait_for_function("() => !document.querySelector('#intake .htmx-request')")
    await page.click("#intake button[type=submit]")


async def drawn_dissatisfied(page: Page) -> int:
    """The dissatisfied grades the chart draws for cn-east (0 while it has no bar)."""
    await page.wait_for_function("window.Chart && Chart.getChart('grades')")
    return await page.evaluate(
        """() => {
          const chart = Chart.getChart('grades');
          const at = chart.data.labels.indexOf('cn-east');
          return at < 0 ? 0 : chart.data.datasets[2].data[at];
        }"""
    )


async def step_sign_in_lands_each_role_on_its_screen_in_its_language(
    console: Console, browser: Browser
) -> None:
    page = await signed_in(browser, console, "agent", locale="zh")
    await expect(page).to_have_url(f"{console.url}/intake")
    await expect(page.locator("h1")).to_have_text("新报修")
    await page.click("a[lang=en]")
    await expect(page.locator("h1")).to_have_text("New repair request")
    await expect(page.get_by_test_id("who")).to_contain_text("agent · cn-east")
    await page.context.close()


async def step_agent_files_a_ticket_the_dispatcher_sees_it_arrive_and_reschedules_it(
    console: Console, browser: Browser
) -> None:
    system = console.system
    day = system.day.isoformat()
    board = await signed_in(browser, console, "dispatcher")
    await board.goto(f"/board?region=cn-east&day={day}")
    await expect(board.locator("[data-engineer]")).to_have_count(2)

    agent = await signed_in(browser, console, "agent")
    serial = f"SN{system.prefix[:8].upper()}"
    # INT-3 as the API validates it: a purchase after today is named in place
    await fill_request(agent, serial=serial, purchase_date="2099-01-01")
    error = agent.locator('.error[data-field="product.purchase_date"]')
    await expect(error).to_be_visible()
    purchase = agent.locator("#f-product-purchase_date")
    await expect(purchase).to_have_attribute("aria-invalid", "true")
    await fill_request(agent, serial=serial, purchase_date="2024-03-01")
    created = agent.get_by_test_id("ticket-created")
    await expect(created).to_be_visible()
    await expect(agent.get_by_test_id("triage")).to_contain_text("A visit")
    await expect(created.locator(".warning")).to_have_count(0)
    # INT-2: the numbers read to the customer
    assert (await agent.get_by_test_id("service-request-no").inner_text()).startswith("SR")
    assert (await agent.get_by_test_id("repair-order-no").inner_text()).startswith("RO-CN-EAST-")
    href = await agent.get_by_test_id("ticket-link").get_attribute("href")
    ticket = href.rsplit("/", 1)[1]
    JOURNEY["ticket"] = ticket
    await screenshot(agent, "intake-created")

    # the dispatcher's board, never reloaded, shows the job once dispatch assigned it (DSP-1)
    queued = board.locator(f'[data-testid=queue] li[data-ticket="{ticket}"]')
    await expect(queued).to_be_visible(timeout=FOUND)
    await expect(queued).to_contain_text(ENGINEER, timeout=FOUND)
    await queued.locator("summary").click()
    await queued.locator("input[name=window_start]").fill(f"{day}T10:00")
    await queued.locator("input[name=window_end]").fill(f"{day}T12:00")
    await queued.locator("button[type=submit]").click()
    block = board.locator(f'[data-engineer="{ENGINEER}"] [data-ticket="{ticket}"]')
    await expect(block).to_contain_text("10:00–12:00", timeout=FOUND)

    # DSP-1: the customer asks for the afternoon and agrees; the block moves
    reschedule = block.locator("details.reschedule")
    await reschedule.locator("summary").click()
    await reschedule.locator("input[name=window_start]").fill(f"{day}T14:00")
    await reschedule.locator("input[name=window_end]").fill(f"{day}T16:00")
    await reschedule.locator("input[name=customer_consents]").check()
    await reschedule.locator("button[type=submit]").click()
    await expect(board.get_by_test_id("rescheduled")).to_be_visible()
    await expect(block).to_contain_text("14:00–16:00", timeout=FOUND)
    await expect(block.locator(".badge")).to_have_text("↻1", timeout=FOUND)
    view = await system.board(ticket, lambda b: b["reschedules"] == 1)
    assert view["reschedule_log"][0]["accepted"] is True
    await board.mouse.move(0, 0)
    await screenshot(board, "board")
    await agent.context.close()
    await board.context.close()


async def step_engineer_departs_arrives_and_completes_with_acceptance_on_a_phone(
    console: Console, browser: Browser
) -> None:
    ticket = JOURNEY["ticket"]
    phone = await signed_in(browser, console, "engineer", engineer_id=ENGINEER, phone=True)
    await expect(phone).to_have_url(f"{console.url}/engineer")
    job = phone.locator(f'li.job[data-ticket="{ticket}"]')
    await expect(job).to_contain_text("14:00")
    await expect(job).to_contain_text("88 Example Road")
    await job.locator("[data-step=departure]").click()
    await expect(phone.get_by_test_id("done")).to_be_visible()
    await expect(job.get_by_test_id("state")).to_have_text("on the way")
    await job.locator("[data-step=arrival]").click()
    await expect(job.get_by_test_id("state")).to_have_text("on site")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 360
    await screenshot(phone, "engineer-phone")

    await job.locator("input[name=resolution]").fill("replaced the thermostat")
    await job.locator("input[name=signed_by]").fill("Li Wei")
    await job.locator("input[name=accepted]").check()
    await job.locator("[data-step=completion]").click()
    await expect(phone.get_by_test_id("done")).to_have_text("Completed.")
    await console.system.board(ticket, lambda b: b["state"] == "completed")
    await phone.context.close()


async def step_callback_agent_records_a_dissatisfied_answer_and_sees_the_revisit(
    console: Console, browser: Browser
) -> None:
    system, ticket = console.system, JOURNEY["ticket"]
    scheduled = await system.poll(
        system.feedback, f"/callbacks?status=scheduled&ticket_id={ticket}", lambda b: len(b) == 1
    )
    system.at(datetime.fromisoformat(scheduled[0]["due_at"]) + timedelta(minutes=1))
    await system.poll(system.feedback, f"/callbacks?status=due&ticket_id={ticket}", bool)

    month = datetime.fromisoformat(scheduled[0]["due_at"]).astimezone(system.zone)
    JOURNEY["month"] = f"{month:%Y-%m}"
    manager = await signed_in(browser, console, "analyst", region="")
    await manager.goto(f"/manager?month={month:%Y-%m}&by=region")
    before = await drawn_dissatisfied(manager)

    # FBK-6: a complaint taken on the hotline shows on the list with its answer-by time
    complaint = {
        "ticket_id": ticket,
        "channel": "hotline",
        "kind": "attitude",
        "description": "the engineer was rude",
    }
    filed = system.call(system.feedback, "/complaints", complaint, 201)

    page = await signed_in(browser, console, "quality")
    await expect(page).to_have_url(f"{console.url}/followup")
    await expect(page.get_by_test_id("coverage")).to_be_visible()
    listed = page.locator(f'[data-testid=complaints] tr[data-ticket="{ticket}"]')
    await expect(listed).to_contain_text("attitude")
    assert filed["answer_by"]
    call = page.locator(f'form.call[data-ticket="{ticket}"]')
    await call.locator("input[name=reached][value=yes]").check()
    await call.locator("input[name=satisfied_overall][value=no]").check()
    await call.locator("select[name=grade]").select_option("dissatisfied")
    await call.locator("input[name=reason]").fill("still no hot water")
    await call.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("recorded")).to_be_visible()

    # FBK-5: the case, and the revisit dispatch opened for it
    case = page.locator(f'[data-testid=cases] li[data-ticket="{ticket}"]')
    revisit = case.get_by_test_id("revisit-state")
    for _ in range(100):
        if await case.count() and "—" not in await revisit.inner_text():
            break
        await page.wait_for_timeout(200)
        await page.reload()
    await expect(case).to_contain_text("still no hot water")
    await expect(case.get_by_test_id("revisit-state")).not_to_have_text("—")
    await page.context.close()

    # FBK-7: the manager's grades chart now draws the dissatisfied answer
    await manager.reload()
    assert await drawn_dissatisfied(manager) == before + 1
    await screenshot(manager, "manager")
    await manager.context.close()


async def step_ticket_page_shows_the_timeline_across_contexts_with_rules(
    console: Console, browser: Browser
) -> None:
    ticket = JOURNEY["ticket"]
    page = await signed_in(browser, console, "agent")
    await page.goto(f"/tickets/{ticket}")
    timeline = page.get_by_test_id("timeline")
    for kind in ("RepairRequested", "EngineerAssigned", "RepairCompleted", "ChargeAssessed"):
        await expect(timeline.locator(f'li[data-type="{kind}"]')).not_to_have_count(0)
    # FEE-1 decided the fee; every entry names the pack and version in force
    charge = timeline.locator('li[data-type="ChargeAssessed"]').first
    await expect(charge.locator(".rule", has_text="FEE-1")).to_have_count(1)
    await expect(charge.locator(".pack")).to_contain_text("water-heater")
    await expect(timeline.locator("li.ctx-billing")).not_to_have_count(0)
    await expect(timeline.locator("li.ctx-feedback")).not_to_have_count(0)
    await screenshot(page, "ticket-timeline")
    await page.context.close()


async def step_billing_reads_each_lines_rule_on_the_money_page(
    console: Console, browser: Browser
) -> None:
    ticket = JOURNEY["ticket"]
    page = await signed_in(browser, console, "billing")
    await expect(page).to_have_url(f"{console.url}/money")
    await page.fill("input[name=ticket]", ticket)
    await page.click("form.card button[type=submit]")
    charge = page.get_by_test_id("charge")
    # out of warranty, provincial capital, on site: 30 yuan by the FEE-1 tariff
    await expect(charge.locator("h2")).to_contain_text("¥30.00")
    await expect(charge.locator("table .rule", has_text="FEE-1")).not_to_have_count(0)
    await page.context.close()


async def step_a_page_never_shows_what_the_role_may_not_see(
    console: Console, browser: Browser
) -> None:
    ticket, day = JOURNEY["ticket"], console.system.day.isoformat()
    south = await signed_in(browser, console, "dispatcher", region="cn-south")
    await south.goto(f"/board?region=cn-east&day={day}")
    await expect(south.locator("[data-engineer]")).to_have_count(0)
    await expect(south.locator(f'[data-ticket="{ticket}"]')).to_have_count(0)
    await south.goto(f"/tickets/{ticket}")
    await expect(south.get_by_test_id("notice")).to_contain_text("404")
    await south.context.close()

    # FBK-7 figures of another region are not a regional callback agent's to read
    quality = await signed_in(browser, console, "quality", region="cn-south")
    await quality.goto(f"/manager?month={JOURNEY['month']}&by=region")
    await expect(quality.get_by_test_id("figures-table")).to_be_visible()
    await expect(quality.locator('tr[data-key="cn-east"]')).to_have_count(0)
    await quality.context.close()

    other = await signed_in(browser, console, "engineer", engineer_id=OTHER_ENGINEER, phone=True)
    await expect(other.locator(f'[data-ticket="{ticket}"]')).to_have_count(0)
    await other.goto(f"/tickets/{ticket}")
    await expect(other.get_by_test_id("notice")).to_contain_text("404")
    await other.context.close()


async def test_the_console_journey_across_the_four_services(
    console: Console, browser: Browser
) -> None:
    for step in (
        step_sign_in_lands_each_role_on_its_screen_in_its_language,
        step_agent_files_a_ticket_the_dispatcher_sees_it_arrive_and_reschedules_it,
        step_engineer_departs_arrives_and_completes_with_acceptance_on_a_phone,
        step_callback_agent_records_a_dissatisfied_answer_and_sees_the_revisit,
        step_ticket_page_shows_the_timeline_across_contexts_with_rules,
        step_billing_reads_each_lines_rule_on_the_money_page,
        step_a_page_never_shows_what_the_role_may_not_see,
    ):
        await step(console, browser)
