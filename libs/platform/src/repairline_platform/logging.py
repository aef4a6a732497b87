"""structlog configuration: JSON in production, bound with ticket, event and correlation ids,
and with the trace and span ids of the current span.

Customer phone numbers and addresses never reach a log line: the redaction processor
drops any field whose name says it holds one, wherever it was bound.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from repairline_platform.tracing import add_trace_ids

_PERSONAL_KEYS = ("phone", "mobile", "address", "customer")


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if any(marker in key.lower() for marker in _PERSONAL_KEYS) and key != "event":
            event_dict[key] = "[redacted]"
    return event_dict


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured
    (a test runner or a daemon may replace the stream after start)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _CurrentStderr()


def configure_logging(service: str, *, fmt: str = "json", level: str = "INFO") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,  # inside a span: its trace_id and span_id
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_STDERR),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    _route_stdlib_logging(renderer)


def _route_stdlib_logging(renderer: Any) -> None:
    """Libraries' own logging (FastStream, aiokafka, uvicorn) in the same format, at warning
    level, redacted like ours."""
    handler = logging.StreamHandler(_STDERR)  # type: ignore[arg-type]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                add_trace_ids,
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _redact,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_repairline", False):
            root.removeHandler(old)
    handler._repairline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python's warnings as log lines too, not bare text


def get_stdlib_logger(name: str) -> logging.Logger:
    """A library's logger kept at warning level (its per-message info lines are noise)."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    logger.propagate = True  # to the JSON handler on the root logger
    return logger


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
