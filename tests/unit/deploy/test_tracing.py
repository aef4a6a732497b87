"""Traces carried on `traceparent`, recorded by an in-memory span exporter."""

from __future__ import annotations

import httpx
import structlog
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from repairline_platform import tracing
from repairline_platform.tracing import Tracing, make_provider

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def recording(service: str = "intake") -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = make_provider(service, {}, (SimpleSpanProcessor(exporter),))
    return Tracing(service, provider), exporter


def test_export_is_off_unless_the_standard_variables_ask_for_it() -> None:
    assert not tracing.export_enabled({})
    assert tracing.export_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.export_enabled({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.export_enabled(
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    )
    assert not tracing.export_enabled({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})


def test_disabled_sdk_gives_no_provider_and_spans_that_cost_nothing() -> None:
    off = tracing.configure("intake", {"OTEL_SDK_DISABLED": "true"})
    assert off.provider is None
    with off.span("x"):
        assert tracing.current_traceparent() is None


def test_the_service_name_comes_from_otel_service_name_or_the_service() -> None:
    named = make_provider("intake", {"OTEL_SERVICE_NAME": "intake-cn-east"})
    assert named is not None
    assert named.resource.attributes["service.name"] == "intake-cn-east"
    default = make_provider("intake", {})
    assert default is not None
    assert default.resource.attributes["service.name"] == "repairline-intake"


def test_an_event_appended_in_a_request_carries_that_requests_trace_to_its_consumer() -> None:
    intake, intake_spans = recording("intake")
    dispatch, dispatch_spans = recording("dispatch")
    with intake.server_span("POST", "/tickets", {"traceparent": CALLER}):
        outgoing = tracing.current_traceparent()  # what the envelope carries
    assert outgoing is not None and CALLER_TRACE in outgoing
    with intake.publish_span("repairline.intake.events", outgoing):
        pass
    with dispatch.consume_span("dispatch.requests", "repairline.intake.RepairRequested", outgoing):
        ids = tracing.trace_ids(tracing.current_traceparent())
    assert ids["trace_id"] == CALLER_TRACE
    server, publish = intake_spans.get_finished_spans()
    (consume,) = dispatch_spans.get_finished_spans()
    assert server.kind == SpanKind.SERVER and publish.kind == SpanKind.PRODUCER
    assert consume.kind == SpanKind.CONSUMER
    assert {s.context.trace_id for s in (server, publish, consume)} == {int(CALLER_TRACE, 16)}
    assert publish.parent.span_id == server.context.span_id
    assert consume.parent.span_id == server.context.span_id


def test_a_missing_or_malformed_traceparent_starts_a_new_trace() -> None:
    t, exporter = recording()
    for value in (None, "not-a-traceparent", "00-" + "0" * 32 + "-" + "0" * 16 + "-01"):
        with t.span("consume", traceparent=value):
            assert tracing.current_traceparent() is not None
    traces = {s.context.trace_id for s in exporter.get_finished_spans()}
    assert len(traces) == 3
    assert all(s.parent is None for s in exporter.get_finished_spans())


def test_trace_ids_read_a_traceparent_value() -> None:
    assert tracing.trace_ids(CALLER) == {"trace_id": CALLER_TRACE, "span_id": "00f067aa0ba902b7"}
    assert tracing.trace_ids("garbage") == {}
    assert tracing.trace_ids(None) == {}


def test_log_lines_inside_a_span_carry_its_trace_id() -> None:
    t, _ = recording()
    with t.span("consume", traceparent=CALLER):
        inside = tracing.add_trace_ids(None, "info", {"event": "applied"})
    outside = tracing.add_trace_ids(None, "info", {"event": "applied"})
    assert inside["trace_id"] == CALLER_TRACE
    assert "trace_id" not in outside


async def test_a_request_answers_its_traceparent_and_binds_the_trace_for_its_log_lines() -> None:
    app = FastAPI()
    seen: dict[str, object] = {}

    @app.post("/tickets/{ticket_id}/arrival")
    async def arrival(ticket_id: str) -> dict[str, str]:
        seen.update(structlog.contextvars.get_contextvars())
        return {"ticket_id": ticket_id}

    exporter = InMemorySpanExporter()
    t = Tracing("dispatch", make_provider("dispatch", {}, (SimpleSpanProcessor(exporter),)))
    app.add_middleware(tracing.HttpTracingMiddleware, tracing=t)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        answer = await http.post("/tickets/T1/arrival", headers={"traceparent": CALLER})
    assert answer.status_code == 200
    assert CALLER_TRACE in answer.headers["traceparent"]
    assert seen["trace_id"] == CALLER_TRACE
    (span,) = exporter.get_finished_spans()
    assert span.name == "POST /tickets/{ticket_id}/arrival"
    assert span.attributes["http.response.status_code"] == 200


def test_each_applied_event_is_logged_with_its_ticket_and_the_callers_trace() -> None:
    from dataclasses import dataclass

    @dataclass
    class Env:
        type: str
        subject: str
        id: str
        traceparent: str | None

    class Log:
        def __init__(self) -> None:
            self.lines: list[dict[str, object]] = []

        def info(self, event: str, **fields: object) -> None:
            self.lines.append({"event": event, **fields})

    dispatch, spans = recording("dispatch")
    log = Log()
    tracing.log_applied(
        dispatch,
        "dispatch.assignment",
        [Env("repairline.intake.RepairRequested", "T1", "e1", CALLER), Env("x", "T2", "e2", None)],
        log,
    )
    first, second = log.lines
    assert first["ticket_id"] == "T1" and first["trace_id"] == CALLER_TRACE
    assert second["ticket_id"] == "T2" and second["trace_id"] != CALLER_TRACE
    assert [s.kind for s in spans.get_finished_spans()] == [SpanKind.CONSUMER] * 2
