"""Pure parts of evolving events and sorting failures: tolerant reads, error classes,
start positions, the size limit at the HTTP edge, library logging."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from repairline_contracts.envelope import Envelope
from repairline_contracts.intake import RepairRequested
from repairline_contracts.registry import NewerVersionError, is_newer_version, load
from repairline_platform.consumer import BEGINNING, NOW, start_position, summarise_validation
from repairline_platform.db import is_transient
from repairline_platform.eventstore import ConcurrencyError, EventTooLarge
from repairline_platform.http import install_error_handlers
from repairline_platform.logging import configure_logging, get_stdlib_logger
from tests.support.factories import repair_requested
from tests.support.system import envelope_bytes

REQUESTED = RepairRequested.event_type


def test_unknown_data_fields_are_ignored_at_any_depth_and_the_data_is_kept():
    data = json.loads(envelope_bytes(repair_requested()))["data"]
    data["preferred_language"] = "zh"
    data["customer"]["wechat_id"] = "wx-1"

    event = load(REQUESTED, 1, data)

    assert isinstance(event, RepairRequested)
    assert data["customer"]["wechat_id"] == "wx-1"  # the caller's data untouched


def test_a_missing_field_is_still_an_error_naming_it_without_the_input():
    data = json.loads(envelope_bytes(repair_requested()))["data"]
    del data["region"]
    data["fault_description"] = ["x" * 10_000]
    with pytest.raises(ValidationError) as invalid:
        load(REQUESTED, 1, data)
    summary = summarise_validation(invalid.value)
    assert "region: Field required" in summary
    assert "x" * 100 not in summary


def test_a_newer_schema_version_of_a_known_type_is_held_not_unknown():
    assert is_newer_version(REQUESTED, 2) and not is_newer_version(REQUESTED, 1)
    assert not is_newer_version("repairline.intake.Teleported", 9)
    with pytest.raises(NewerVersionError, match="newer than this code"):
        load(REQUESTED, 2, {})


def test_unknown_cloudevents_attributes_are_read_and_kept_in_the_envelope():
    body = json.loads(envelope_bytes(repair_requested()))
    body["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    envelope = Envelope.from_bytes(json.dumps(body).encode())

    assert json.loads(envelope.to_bytes())["traceparent"] == body["traceparent"]
    assert isinstance(envelope.event(), RepairRequested)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (asyncpg.exceptions.DeadlockDetectedError(""), True),
        (asyncpg.exceptions.SerializationError(""), True),
        (asyncpg.exceptions.LockNotAvailableError(""), True),
        (asyncpg.exceptions.QueryCanceledError(""), True),
        (asyncpg.exceptions.TooManyConnectionsError(""), True),
        (asyncpg.exceptions.AdminShutdownError(""), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError(""), True),
        (ConcurrencyError("moved"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (asyncpg.exceptions.InterfaceError("another operation is in progress"), False),
        (asyncpg.exceptions.UndefinedTableError(""), False),
        (asyncpg.exceptions.NotNullViolationError(""), False),
        (ValueError("refused"), False),
        (KeyError("x"), False),
    ],
)
def test_failures_are_sorted_by_sqlstate_and_exception_type(error: Exception, transient: bool):
    assert is_transient(error) is transient


def test_a_concurrency_error_raised_from_a_unique_violation_is_transient():
    try:
        try:
            raise asyncpg.exceptions.UniqueViolationError("")
        except asyncpg.exceptions.UniqueViolationError as exc:
            raise ConcurrencyError("stream moved") from exc
    except ConcurrencyError as exc:
        assert is_transient(exc)


class _Projection:
    name = "view"
    tables = ("view",)


class _Reaction:
    name = "react"


class _Declared:
    name = "declared"
    start_from = datetime(2026, 11, 1, tzinfo=UTC)


class _Naive:
    name = "naive"
    start_from = datetime(2026, 11, 1)  # noqa: DTZ001 - refused below


def test_projections_start_at_the_beginning_reactions_now_unless_declared():
    assert start_position(_Projection()) == BEGINNING  # type: ignore[arg-type]
    assert start_position(_Reaction()) == NOW  # type: ignore[arg-type]
    assert start_position(_Declared()) == datetime(2026, 11, 1, tzinfo=UTC)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        start_position(_Naive())  # type: ignore[arg-type]


def test_an_event_too_large_is_a_422_at_the_http_edge():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/statements")
    async def statement() -> None:
        raise EventTooLarge("repairline.billing.SettlementStatement", 2_000_000)

    response = TestClient(app).post("/statements")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "event" and "at most" in error["reason"]


def test_library_logging_is_json_at_warning_level_and_redacted(capsys):
    configure_logging("tests", fmt="json")
    library = get_stdlib_logger("repairline.broker")  # the logger FastStream is given
    library.info("consumed message %s", "noise")
    library.warning("rebalance in progress", extra={"customer_mobile": "13900000000"})

    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert [line["event"] for line in lines] == ["rebalance in progress"]
    assert lines[0]["level"] == "warning" and lines[0]["logger"] == "repairline.broker"
    assert "13900000000" not in err
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_repairline", False)]:
        root.removeHandler(handler)


def test_a_long_list_is_paged_within_the_byte_budget_in_order():
    from repairline_contracts.base import pages
    from repairline_contracts.billing import SettlementLine

    lines = [
        SettlementLine(
            kind="fee",
            ref_id=f"inv-{i}",
            ticket_id=f"t-{i}",
            amount_fen=3000,
            rule_id="FEE-1",
            description="on-site repair " * 10,
        )
        for i in range(5000)
    ]
    paged = pages(lines, max_bytes=64 * 1024)

    assert [line for page in paged for line in page] == lines
    assert len(paged) > 1
    assert all(
        len("[" + ",".join(line.model_dump_json() for line in page) + "]") <= 64 * 1024
        for page in paged
    )
    assert pages([]) == [()]
