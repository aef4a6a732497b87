"""OpenTelemetry traces carried on the CloudEvents `traceparent` extension.

One trace runs from the HTTP request that caused a fact, through the event store and
the relay, to every consumer that reacts to it: the command path stores the current
`traceparent` in the envelope it appends, the relay publishes within a span continued
from it, and a consumer handles each event within a span continued from it. Log lines
written inside a span carry its `trace_id` and `span_id` (`add_trace_ids`).

Ids are made even when nothing is exported. Export is off by default and configured by
the standard variables: `OTEL_TRACES_EXPORTER=otlp` (or an `OTEL_EXPORTER_OTLP_ENDPOINT` /
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns on the OTLP/HTTP exporter, which reads its
own `OTEL_EXPORTER_OTLP_*` settings; `OTEL_SDK_DISABLED=true` turns tracing off;
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER` are honoured.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"


def export_enabled(env: Mapping[str, str]) -> bool:
    """Whether the OTLP exporter is asked for by the standard variables (off by default)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {e.strip() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    if exporters:
        return "otlp" in exporters
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def make_provider(
    service: str,
    env: Mapping[str, str] | None = None,
    processors: tuple[SpanProcessor, ...] = (),
) -> TracerProvider | None:
    """A tracer provider for the service, or None when `OTEL_SDK_DISABLED=true`.

    `processors` are added as given (tests pass an in-memory exporter's); the OTLP
    exporter is added only when the environment asks for it.
    """
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    name = env.get("OTEL_SERVICE_NAME") or f"repairline-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    for processor in processors:
        provider.add_span_processor(processor)
    if export_enabled(env):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class Tracing:
    """The spans of one service; without a provider every call is a cheap no-op."""

    def __init__(self, service: str, provider: TracerProvider | None) -> None:
        self.service = service
        self.provider = provider
        self._tracer = (provider or trace.NoOpTracerProvider()).get_tracer("repairline")

    @contextmanager
    def span(
        self,
        name: str,
        *,
        traceparent: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[Span]:
        """A span continuing `traceparent` (a new trace when absent or malformed).

        Inside it `current_traceparent()` names this span, and log lines carry its ids.
        """
        parent = _PROPAGATOR.extract({TRACEPARENT: traceparent}) if traceparent else None
        with self._tracer.start_as_current_span(
            name, context=parent, kind=kind, attributes=dict(attributes or {})
        ) as span:
            yield span

    def server_span(self, method: str, path: str, headers: Mapping[str, str]):
        """The span of an HTTP request, continuing the caller's `traceparent` header."""
        return self.span(
            f"{method} {path}",
            traceparent=headers.get(TRACEPARENT),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )

    def publish_span(self, topic: str, envelope_traceparent: str | None):
        """The relay's span for one published event, a child of the span that appended it."""
        return self.span(
            f"publish {topic}",
            traceparent=envelope_traceparent,
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
        )

    def consume_span(self, consumer: str, event_type: str, envelope_traceparent: str | None):
        """A consumer's span for one event, a child of the span that appended it."""
        return self.span(
            f"consume {event_type}",
            traceparent=envelope_traceparent,
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.consumer.group.name": consumer},
        )

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def ids_only(service: str) -> Tracing:
    """Spans that make and continue trace ids but are never exported (no service's own)."""
    return Tracing(service, make_provider(service, {}))


_handling: ContextVar[Tracing | None] = ContextVar("repairline_tracing", default=None)
_UNCONFIGURED = ids_only("repairline")


@contextmanager
def handling(
    tracing: Tracing | None, consumer: str = "", envelopes: Iterable[Any] = ()
) -> Iterator[None]:
    """A consumer's handler at work on a batch: reactions inside open their spans with
    `tracing`; a batch whose events were all appended in one span is handled in a span
    continued from it, its ids on every log line of the handler."""
    token = _handling.set(tracing)
    parents = {getattr(e, TRACEPARENT, None) for e in envelopes}
    try:
        if tracing is None or len(parents) != 1 or None in parents:
            yield
            return
        parent = parents.pop()
        with (
            tracing.span(f"handle {consumer}", traceparent=parent, kind=SpanKind.CONSUMER),
            bound_trace_ids(),  # entered inside the span: its ids
        ):
            yield
    finally:
        _handling.reset(token)


@contextmanager
def reaction(event_type: str, envelope_traceparent: str | None) -> Iterator[None]:
    """A reaction to one event: a span continued from the event's `traceparent`, its ids
    bound to the log lines, so what the reaction appends stays in the caller's trace."""
    tracing = _handling.get() or _UNCONFIGURED
    with (
        tracing.span(
            f"react {event_type}", traceparent=envelope_traceparent, kind=SpanKind.CONSUMER
        ),
        bound_trace_ids(),
    ):
        yield


def log_applied(tracing: Tracing, consumer: str, envelopes: Iterable[Any], log: Any) -> None:
    """One log line per applied event, in a span continued from the event's `traceparent`.

    The line names the ticket (the envelope's subject) and carries the trace id of the
    request that caused the event, so a ticket's trace can be followed through the logs.
    """
    for envelope in envelopes:
        traceparent = getattr(envelope, TRACEPARENT, None)
        with tracing.consume_span(consumer, envelope.type, traceparent):
            log.info(
                "event applied",
                consumer=consumer,
                ticket_id=envelope.subject,
                event_type=envelope.type,
                event_id=envelope.id,
                **trace_ids(current_traceparent()),
            )


def configure(service: str, env: Mapping[str, str] | None = None) -> Tracing:
    """The service's tracing from the standard `OTEL_*` variables."""
    return Tracing(service, make_provider(service, env))


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, for an outgoing event; None outside one."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def trace_ids(traceparent: str | None) -> dict[str, str]:
    """`trace_id` and `span_id` named by a traceparent value ({} when malformed)."""
    if not traceparent:
        return {}
    context = trace.get_current_span(_PROPAGATOR.extract({TRACEPARENT: traceparent}))
    return _ids(context.get_span_context())


def _ids(ctx: trace.SpanContext) -> dict[str, str]:
    if not ctx.is_valid:
        return {}
    return {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}


def add_trace_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current span's ids on every log line written inside it."""
    for key, value in _ids(trace.get_current_span().get_span_context()).items():
        event_dict.setdefault(key, value)
    return event_dict


@contextmanager
def bound_trace_ids() -> Iterator[None]:
    """Bind the current span's ids into structlog's context (for loggers without the processor)."""
    with structlog.contextvars.bound_contextvars(
        **_ids(trace.get_current_span().get_span_context())
    ):
        yield


class HttpTracingMiddleware:
    """ASGI middleware: a server span per request, answered in the `traceparent` header."""

    def __init__(self, app: Any, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with self.tracing.server_span(scope["method"], scope["path"], headers) as span:

            async def send_traceparent(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    value = current_traceparent()
                    if value:
                        message.setdefault("headers", [])
                        message["headers"] = [
                            *message["headers"],
                            (TRACEPARENT.encode(), value.encode()),
                        ]
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            try:
                with bound_trace_ids():
                    await self.app(scope, receive, send_traceparent)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:  # name the span by the route template, not the raw path
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute("http.route", route)


def install(app: Any, service: str, env: Mapping[str, str] | None = None) -> Tracing:
    """Tracing for a service's FastAPI app: a span per request; returns the Tracing to share."""
    tracing = configure(service, env)
    app.add_middleware(HttpTracingMiddleware, tracing=tracing)
    app.state.tracing = tracing
    return tracing
