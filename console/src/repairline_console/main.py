"""`repairline-console serve`: serve the console (http://127.0.0.1:8100/ by default)."""

from __future__ import annotations

import argparse

import uvicorn

from repairline_console.app import create_app
from repairline_console.settings import ConsoleSettings


def cli() -> None:
    parser = argparse.ArgumentParser(prog="repairline-console")
    parser.add_argument("command", choices=["serve"])
    parser.parse_args()
    settings = ConsoleSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.console_host,
        port=settings.console_port,
        log_level="warning",
    )
