"""The broker and database helpers, by their earlier module name; `tests.support.system`
holds them."""

from __future__ import annotations

from tests.support.system import (
    KAFKA,
    PG,
    ROOT,
    ServiceProcess,
    connect,
    drop_database,
    envelope_bytes,
    eventually,
    free_port,
    produce,
    read_topic,
)

__all__ = [
    "KAFKA",
    "PG",
    "ROOT",
    "ServiceProcess",
    "connect",
    "drop_database",
    "envelope_bytes",
    "eventually",
    "free_port",
    "produce",
    "read_topic",
]
