"""The console: server-rendered pages (Jinja2 with htmx) over the four services' APIs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from repairline_console import (
    board,
    engineer,
    followup,
    intake,
    manager,
    money,
    signin,
    ticket,
)
from repairline_console.backend import Backend
from repairline_console.settings import ConsoleSettings
from repairline_console.web import SignInRequired, User, back_to
from repairline_platform.issuer import local_environment
from repairline_platform.settings import AuthSettings
from repairline_platform.tokens import verifier_for

STATIC = Path(__file__).parent / "static"


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    if settings.console_local_signin and AuthSettings().missing():
        os.environ.update(local_environment(settings.console_auth_dir))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.backend = Backend(settings.service_urls())
        try:
            yield
        finally:
            await app.state.backend.close()

    app = FastAPI(title="repairline console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.verifier = verifier_for(AuthSettings())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (signin, intake, board, engineer, followup, manager, money, ticket):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _to_signin(request: Request, _: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": "/signin"})
        return RedirectResponse("/signin", status_code=303)

    @app.get("/")
    async def home(user: User) -> RedirectResponse:
        return back_to(user.home)

    @app.get("/healthz")
    @app.get("/readyz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
