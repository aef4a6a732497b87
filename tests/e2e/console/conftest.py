"""The console in headless Chromium against the four services on the real Kafka and
PostgreSQL: the services as processes (`System`), the console as its own process
talking to them, Debian's chromium driven by Playwright. Screenshots are saved under
`.local/test-screenshots/console/` (ignored); `REPAIRLINE_SCREENSHOTS` names another
folder (the README's three come from there)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from repairline_contracts.topics import ALL_TOPICS
from repairline_platform.kafka import delete_topics, ensure_topics
from tests.support.system import KAFKA, ROOT, System, eventually, free_port

SCREENSHOTS = Path(
    os.environ.get("REPAIRLINE_SCREENSHOTS", ROOT / ".local" / "test-screenshots" / "console")
)
ENGINEER, OTHER_ENGINEER = "eng-con-01", "eng-con-02"
# a page's own answer (a console round trip to a service) on a machine under load
expect.set_options(timeout=15_000)


@dataclass
class Console:
    url: str
    system: System
    proc: subprocess.Popen[bytes]


def _build_assets() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(ROOT / "console" / "scripts" / "setup.sh"), "assets"], check=True)


def _start_console(system: System, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {
        **os.environ,
        "REPAIRLINE_CONSOLE_PORT": str(port),
        "REPAIRLINE_CONSOLE_POLL_SECONDS": "0.5",
        **{f"REPAIRLINE_{n.upper()}_URL": s.url for n, s in system.services.items()},
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "repairline-console"), "serve"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return f"http://127.0.0.1:{port}", proc


async def _ready(url: str) -> bool:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    return await asyncio.to_thread(probe)


@pytest.fixture(scope="module")
async def console() -> AsyncIterator[Console]:
    """Intake, dispatch, billing and feedback on the water-heater pack, two engineers in
    cn-east, and the console in front of them; all on topics and databases of its own."""
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: console/scripts/setup.sh browser installs it")
    await asyncio.to_thread(_build_assets)
    prefix = f"t{uuid.uuid4().hex[:10]}."
    topics = [prefix + t for t in ALL_TOPICS]
    await ensure_topics(KAFKA, topics, partitions=6, replication=1)
    system = System(prefix, "water-heater")
    proc = None
    try:
        await asyncio.to_thread(system.start)
        system.begin_business_day()
        system.engineer(ENGINEER, ["instant_water_heater"], 1)
        system.engineer(OTHER_ENGINEER, ["small_kitchen_heater"], 2)
        log = ROOT / ".local" / "test-logs" / f"{prefix.rstrip('.')}-console.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        url, proc = _start_console(system, log)
        await eventually(lambda: _ready(url), timeout=60)
        yield Console(url, system, proc)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        system.stop()
        await system.drop()
        await delete_topics(KAFKA, topics)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=shutil.which("chromium"))
        try:
            yield chromium
        finally:
            await chromium.close()


async def signed_in(
    browser: Browser,
    console: Console,
    role: str,
    *,
    region: str = "cn-east",
    engineer_id: str | None = None,
    phone: bool = False,
    locale: str = "en",
) -> Page:
    """A page of a browser of its own, signed in on the local sign-in page."""
    viewport = {"width": 360, "height": 780} if phone else {"width": 1360, "height": 860}
    context = await browser.new_context(viewport=viewport, base_url=console.url)
    page = await context.new_page()
    await page.goto(f"/lang/{locale}")
    await page.goto("/signin")
    await page.select_option("#role", role)
    await page.select_option("#region", region)
    if engineer_id:
        await page.fill("#engineer_id", engineer_id)
    await page.click("button[type=submit]")
    await page.wait_for_selector("[data-testid=who]", state="attached")
    return page


async def screenshot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
