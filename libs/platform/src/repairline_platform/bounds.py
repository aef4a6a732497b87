"""What the edge accepts, every consumer can apply: the bounded types of request bodies.

Money is fen up to `MAX_FEN`; counts stay far below 2^31; text has a maximum length and
no control characters; dates and times lie in a range that is plausible for their
meaning (a purchase or an invoice not before `EARLIEST_PURCHASE` nor after today, a
visit window not over and at most `BOOKING_HORIZON` ahead, any other moment within
`FIRST_YEAR`..`LAST_YEAR`); regions are the ones the deployment serves.

The bounds that depend on "now" read the service's clock, bound to the request by
`install` (the simulated clock in tests). Without a bound clock (an app built without
its runtime) only the fixed bounds apply. Every refusal is a 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

MAX_FEN = 1_000_000_000  # ten million yuan: more than any fee, fine, refund or hotel bill
MAX_QUANTITY = 1_000
MAX_CAPACITY = 1_000  # open jobs of one engineer
MAX_UNITS = 1_000_000  # machines under one key account
MAX_MINUTES = 7 * 24 * 60
MAX_METRES = 10_000
MAX_KM = 10_000
FIRST_YEAR, LAST_YEAR = 2000, 2099
EARLIEST_PURCHASE = date(1990, 1, 1)
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
BOOKING_HORIZON = timedelta(days=366)
KNOWN_REGIONS = ("cn-east", "cn-north", "cn-south", "cn-west")

# multi-line text keeps tab, line feed and carriage return; nothing else below 0x20
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
PERIOD = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
CONTROL = frozenset(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)])


# -- the request's clock and regions ------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """What the bounds relative to the service need: its clock's now and its regions."""

    now: datetime | None = None
    regions: frozenset[str] = frozenset()

    @property
    def today(self) -> date | None:
        return self.now.date() if self.now else None


_UNBOUND = Edge()
_edge: ContextVar[Edge | None] = ContextVar("repairline_edge", default=None)


@contextmanager
def bound(edge: Edge) -> Iterator[Edge]:
    token = _edge.set(edge)
    try:
        yield edge
    finally:
        _edge.reset(token)


def current() -> Edge:
    return _edge.get() or _UNBOUND


class EdgeBounds:
    """ASGI middleware: refuses control characters in a request's path and query (422
    naming `path` or the query parameter) and binds the service clock's now and the known
    regions for the body's bounds. The clock is the app's runtime's, read on every request."""

    def __init__(self, app: Any, regions: frozenset[str]) -> None:
        self.app = app
        self.regions = regions

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from fastapi.responses import JSONResponse
        from starlette.datastructures import QueryParams

        query = QueryParams(scope.get("query_string", b"")).multi_items()
        field = _control_in_url(scope["path"], query)
        if field is not None:
            errors = [{"field": field, "reason": "control characters are not accepted"}]
            body = {"error": "validation_failed", "errors": errors}
            return await JSONResponse(status_code=422, content=body)(scope, receive, send)
        runtime = getattr(scope["app"].state, "runtime", None) if "app" in scope else None
        clock = getattr(runtime, "clock", None)
        with bound(Edge(now=clock.now() if clock else None, regions=self.regions)):
            await self.app(scope, receive, send)


def install(app: Any, regions: tuple[str, ...] = KNOWN_REGIONS) -> None:
    """Bound every request of `app` (`EdgeBounds`); a query parameter a route does not
    declare is a 422 naming it."""
    app.add_middleware(EdgeBounds, regions=frozenset(regions))
    app.router.dependencies.append(_known_query_only())


def _known_query_only() -> Any:
    """A dependency of every route: a query parameter the route does not declare is a 422
    naming it (a misspelt filter would else be ignored and the whole list answered)."""

    known_of: dict[int, frozenset[str]] = {}  # per route, read from its signature once

    async def known_query_only(request: Request) -> None:
        if not request.scope.get("query_string"):
            return
        dependant = getattr(request.scope.get("route"), "dependant", None)
        if dependant is None:
            return
        known = known_of.get(id(dependant))
        if known is None:
            known = known_of[id(dependant)] = _query_names(dependant)
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            reason = f"unknown query parameter; known: {', '.join(sorted(known)) or 'none'}"
            raise RequestValidationError(
                [
                    {"loc": ("query", name), "msg": reason, "type": "extra_forbidden"}
                    for name in unknown
                ]
            )

    return Depends(known_query_only)


def _query_names(dependant: Any) -> frozenset[str]:
    """The query parameters a route reads: its own, a query model's fields, and its
    dependencies'."""
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names |= {f.alias or name for name, f in model.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _control_in_url(path: str, query: list[tuple[str, str]]) -> str | None:
    if CONTROL & set(unquote(path)):
        return "path"
    for name, value in query:
        if CONTROL & set(name + value):
            return name
    return None


# -- checks -------------------------------------------------------------------------------


def _written_as_text(value: Any) -> Any:
    """A date or a time comes as ISO text: a number (`0`, 1970-01-01) is refused."""
    if isinstance(value, bool | int | float):
        raise ValueError("write it as ISO 8601 text, not as a number")
    return value


def _no_later_than_today(value: date) -> date:
    if value < EARLIEST_PURCHASE:
        raise ValueError(f"earlier than {EARLIEST_PURCHASE.isoformat()} is not plausible")
    today = current().today
    if today is not None and value > today:
        raise ValueError(f"is in the future (today is {today.isoformat()})")
    return value


def _within_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be within {FIRST_YEAR}..{LAST_YEAR}")
    return value


def _moment_within_years(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"the year must be within {FIRST_YEAR}..{LAST_YEAR}")
    return value


def _window_start(value: datetime) -> datetime:
    _moment_within_years(value)
    now = current().now
    if now is not None and value > now + BOOKING_HORIZON:
        raise ValueError(f"is more than {BOOKING_HORIZON.days} days ahead")
    return value


def _window_end(value: datetime) -> datetime:
    _moment_within_years(value)
    now = current().now
    if now is not None and value <= now:
        raise ValueError(f"is in the past (now is {now.isoformat()})")
    return value


def _year_begun(value: int) -> int:
    today = current().today
    if today is not None and value > today.year:
        raise ValueError(f"has not begun (this is {today.year})")
    return value


def _known_region(value: str) -> str:
    regions = current().regions
    if regions and value not in regions:
        raise ValueError(f"unknown region; known: {', '.join(sorted(regions))}")
    return value


# -- the types ----------------------------------------------------------------------------


def text(max_length: int, *, min_length: int = 1, multi_line: bool = False) -> Any:
    """Text of at most `max_length` characters, without control characters (multi-line
    text keeps tabs and line breaks)."""
    return Annotated[
        str,
        StringConstraints(
            min_length=min_length,
            max_length=max_length,
            pattern=MULTI_LINE if multi_line else SINGLE_LINE,
        ),
    ]


Identifier = text(128)
Region = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=SINGLE_LINE),
    AfterValidator(_known_region),
    Field(description="A region the deployment serves, e.g. cn-east."),
]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description=f"Fen, at most {MAX_FEN}.")]
Period = Annotated[
    str, Field(pattern=PERIOD, description=f"`YYYY-MM`, a month of {FIRST_YEAR}..{LAST_YEAR}.")
]
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
BegunYear = Annotated[
    int,
    Field(ge=FIRST_YEAR, le=LAST_YEAR, description="A year that has begun."),
    AfterValidator(_year_begun),
]
PastDate = Annotated[
    date,
    BeforeValidator(_written_as_text),
    AfterValidator(_no_later_than_today),
    Field(description=f"From {EARLIEST_PURCHASE.isoformat()} to today (the service clock)."),
]
CalendarDate = Annotated[
    date,
    BeforeValidator(_written_as_text),
    AfterValidator(_within_years),
    Field(description=f"A day of the years {FIRST_YEAR}..{LAST_YEAR}."),
]
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_written_as_text),
    AfterValidator(_moment_within_years),
    Field(description=f"With its time zone; within the years {FIRST_YEAR}..{LAST_YEAR}."),
]
WindowStart = Annotated[
    AwareDatetime,
    BeforeValidator(_written_as_text),
    AfterValidator(_window_start),
    Field(description=f"At most {BOOKING_HORIZON.days} days ahead of now; with its time zone."),
]
WindowEnd = Annotated[
    AwareDatetime,
    BeforeValidator(_written_as_text),
    AfterValidator(_window_end),
    Field(description="After now (a window that is over cannot be booked); with its zone."),
]


class WindowIn(BaseModel):
    """A visit window with its time zone, such as 14:00-15:00 local time (DSP-2): the one
    shape of a window wherever one is asked for. `window_start` and `window_end` are still
    accepted for `start` and `end` (the names dispatch's bodies used before)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "A visit window with its time zone (DSP-2); `window_start` and"
            " `window_end` are still accepted for `start` and `end`.",
            "examples": [
                {"start": "2026-11-24T14:00:00+08:00", "end": "2026-11-24T15:00:00+08:00"}
            ],
        },
    )

    start: WindowStart = Field(validation_alias=AliasChoices("start", "window_start"))
    end: WindowEnd = Field(validation_alias=AliasChoices("end", "window_end"))


# -- the refusal, as the OpenAPI documents it ----------------------------------------------

ERROR_BODY = {
    "title": "Refusal",
    "type": "object",
    "description": "Every 422: `error` says which kind; `errors` name each field and the"
    " reason (`validation_failed`); a rule's refusal (`request_refused`) gives its"
    " `rule_id` and `reason` instead.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "examples": ["validation_failed", "request_refused"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {
                    "field": {"type": "string", "examples": ["customer.name"]},
                    "reason": {"type": "string"},
                },
            },
        },
        "rule_id": {"type": "string"},
        "reason": {"type": "string"},
    },
}


PROBLEM_BODY = {
    "title": "Problem",
    "type": "object",
    "description": "Every other 4xx: `error` says which kind (`not_found`,"
    " `illegal_transition`, `concurrent_update`, `not_caught_up`, `request_in_progress`,"
    " `unauthorized`, `forbidden`, `rate_limited`) and `detail` why; a 409 names the"
    " `current_state`; `retry_after` (seconds, also the Retry-After header) says when a"
    " retry may succeed.",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "examples": ["not_found", "illegal_transition"]},
        "detail": {"type": "string"},
        "current_state": {"type": "string"},
        "retry_after": {"type": "number"},
        "permission": {"type": "string"},
        "stream_id": {"type": "string"},
    },
}
_REFUSAL = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}
_PROBLEM = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_UNKNOWN_QUERY = "An unknown query parameter (named), or a value refused (field named)."
_ABSENT = "No such record, or none the caller may see (the two answers are the same)."
_CONFLICT = (
    "Illegal in the current state (named), changed at the same moment, not caught up yet"
    " (retry after), or the same Idempotency-Key still in progress."
)


def document_refusals(document: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx a route documents carries the body the service answers: a 422 the
    refusal naming its fields (not FastAPI's default `{"detail": [...]}`), every other
    4xx the problem. Every route documents its 422 (an unknown query parameter), one with
    a path parameter its 404, a command its 409."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["HTTPValidationError"] = ERROR_BODY
    schemas["Problem"] = PROBLEM_BODY
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            responses.setdefault("422", {"description": _UNKNOWN_QUERY})
            if any(p.get("in") == "path" for p in operation.get("parameters", ())):
                responses.setdefault("404", {"description": _ABSENT})
            if method != "get":
                responses.setdefault("409", {"description": _CONFLICT})
            for status, response in responses.items():
                if str(status).startswith("4"):
                    body = _REFUSAL if str(status) == "422" else _PROBLEM
                    response["content"] = body
    return document
