"""HTTP edges: errors are values with the field and the reason."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field

from repairline_platform.eventstore import ConcurrencyError
from repairline_platform.logging import get_logger
from repairline_platform.ratelimit import RateLimited
from repairline_rules import refusals
from repairline_rules.calendar import HolidaysNotPublished

log = get_logger(__name__)

RETRY_AFTER_SECONDS = 2

TicketVersion = Annotated[
    int | None,
    Field(
        ge=1,
        le=2_147_483_647,
        description="The ticket's `version` intake last answered: until this service has seen"
        " it, a command that depends on it is a 409 `not_caught_up` with `retry_after`.",
    ),
]
"""A command's dependency on another context's fact: the intake version its caller knows."""


class Conflict(Exception):
    """An illegal transition: answered 409 naming the current state."""

    def __init__(self, message: str, *, current_state: str) -> None:
        super().__init__(message)
        self.message = message
        self.current_state = current_state


class NotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def unavailable_answer(exc: Exception, detail: str) -> JSONResponse:
    """A 503 saying when to retry: a dependency is down for a moment."""
    log.warning("a dependency is unavailable", error=type(exc).__name__)
    return JSONResponse(
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        content={
            "error": "service_unavailable",
            "detail": detail,
            "retry_after": RETRY_AFTER_SECONDS,
        },
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e.get("loc", ()))), "reason": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        return JSONResponse(
            status_code=422, content={"error": "validation_failed", "errors": errors}
        )

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            content={
                "error": "illegal_transition",
                "detail": exc.message,
                "current_state": exc.current_state,
            },
        )

    @app.exception_handler(ConcurrencyError)
    async def _concurrent(_: Request, exc: ConcurrencyError) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            content={
                "error": "concurrent_update",
                "detail": f"{exc}; someone changed it at the same moment: read it and try again",
                "current_state": "changed",
            },
        )

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"error": "not_found", "detail": exc.message})

    @app.exception_handler(refusals.IllegalTransition)
    async def _illegal(_: Request, exc: refusals.IllegalTransition) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            content={
                "error": "illegal_transition",
                "detail": exc.message,
                "current_state": exc.state,
            },
        )

    @app.exception_handler(refusals.NotCaughtUp)
    async def _not_caught_up(_: Request, exc: refusals.NotCaughtUp) -> JSONResponse:
        return JSONResponse(
            status_code=409,
            headers={"Retry-After": str(exc.retry_after)},
            content={
                "error": "not_caught_up",
                "detail": f"{exc.message}; not caught up yet, retry",
                "current_state": exc.state,
                "retry_after": exc.retry_after,
            },
        )

    @app.exception_handler(refusals.NotFound)
    async def _absent(_: Request, exc: refusals.NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"error": "not_found", "detail": exc.message})

    @app.exception_handler(refusals.InvalidInput)
    async def _invalid_input(_: Request, exc: refusals.InvalidInput) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "error": "validation_failed",
                "errors": [{"field": exc.field, "reason": exc.reason}],
            },
        )

    @app.exception_handler(refusals.Refused)
    async def _refused(_: Request, exc: refusals.Refused) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "error": "request_refused",
                "rule_id": exc.rule_id,
                "reason": exc.message,
                **exc.details,
            },
        )

    @app.exception_handler(HolidaysNotPublished)
    async def _uncovered(_: Request, exc: HolidaysNotPublished) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={
                "error": "holidays_not_published",
                "detail": str(exc),
                "pack_id": exc.pack_id,
                "year": exc.year,
                "covered_years": list(exc.covered),
            },
        )

    @app.exception_handler(RateLimited)
    async def _too_many(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
            content={
                "error": "rate_limited",
                "detail": f"too many requests from this client; retry after {exc.retry_after} s",
                "retry_after": exc.retry_after,
            },
        )

    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.CannotConnectNowError)
    @app.exception_handler(asyncpg.TooManyConnectionsError)
    @app.exception_handler(asyncpg.ConnectionDoesNotExistError)
    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return unavailable_answer(
            exc, "the database is unreachable for a moment; nothing was recorded"
        )

    @app.exception_handler(asyncpg.InterfaceError)
    async def _connection_lost(request: Request, exc: Exception) -> JSONResponse:
        """The database went away while the request held a connection (a restart): whether
        its commit landed is unknown, so the caller retries with its Idempotency-Key."""
        if "connection is closed" not in str(exc):
            return await _internal(request, exc)
        return unavailable_answer(
            exc,
            "the database connection was lost during the request; retry it"
            " with the same Idempotency-Key",
        )

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", error=type(exc).__name__, exc_info=exc)
        return JSONResponse(
            status_code=500,
            content={"error": "internal_error", "detail": "the request failed; see the logs"},
        )
