"""CloudEvents 1.0 structured-mode JSON envelope used for every message on Kafka.

Any Kafka tool or analyst can read a message without repairline code: the value is
a plain CloudEvents JSON object, the key is the ticket id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from repairline_contracts.base import Event, event_payload
from repairline_contracts.registry import load


class MalformedMessageError(ValueError):
    """The bytes are not a CloudEvents JSON envelope this code can read."""


class Envelope(BaseModel):
    """CloudEvents attributes plus repairline's extensions (lower-case, as the spec asks).

    A tolerant reader: attributes this code does not know (a CloudEvents extension a tool
    or a newer producer added) are accepted and kept, so the stored and re-serialised
    envelope still carries them.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="Event id, unique; consumers deduplicate on it.")
    source: str = Field(description="URI reference of the publishing service, e.g. /intake.")
    type: str = Field(description="Event type, e.g. repairline.intake.RepairRequested.")
    time: datetime = Field(description="When the fact happened (timezone-aware).")
    subject: str = Field(description="Ticket id; also the Kafka key.")
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = Field(ge=1, description="Schema version of `data`.")
    region: str = Field(description="Region that owns the ticket.")
    policypack: str = Field(description="Policy pack in force, e.g. water-heater.")
    policyversion: str = Field(description="Version of that policy pack.")
    correlationid: str = Field(description="Id shared by everything one request caused.")
    causationid: str = Field(description="Id of the event or request that caused this one.")
    streamversion: int = Field(ge=1, description="Position of the event in its stream.")
    traceparent: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="W3C trace context of the span that appended the event (the CloudEvents"
        " distributed tracing extension); absent when none was open. Readers never require"
        " it, and a value they cannot parse starts a new trace.",
    )
    actor: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Audit: the subject of the caller whose request appended the event (its"
        " token's `sub`); `repairline` for the services' own reactions and timers. Absent"
        " on events recorded before callers were named.",
    )
    actorrole: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Audit: the caller's role(s) that granted the request, space-separated"
        " (e.g. `quality`); `system` for reactions and timers.",
    )
    onbehalfof: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="Audit: the person an agent or a dealer acted for, when the token names one.",
    )
    data: dict[str, Any]

    def event(self) -> Event:
        """The typed event, upcast to the current schema version."""
        return load(self.type, self.schemaversion, self.data)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Envelope:
        if raw is None:
            raise MalformedMessageError("empty message (tombstone)")
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if any(err["type"] in ("json_invalid", "json_type") for err in errors):
                raise MalformedMessageError(f"not JSON: {errors[0]['msg']}") from exc
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in errors
            )
            raise MalformedMessageError(f"not a CloudEvents envelope: {problems}") from exc


def wrap(
    event: Event,
    *,
    event_id: str,
    source: str,
    time: datetime,
    region: str,
    policy_pack: str,
    policy_version: str,
    correlation_id: str,
    causation_id: str,
    stream_version: int,
    traceparent: str | None = None,
    actor: str | None = None,
    actor_role: str | None = None,
    on_behalf_of: str | None = None,
) -> Envelope:
    """Put an event into its envelope."""
    if time.tzinfo is None:
        raise ValueError("event time must be timezone-aware")
    return Envelope(
        id=event_id,
        source=source,
        type=event.event_type,
        time=time,
        subject=event.ticket_id,
        schemaversion=event.schema_version,
        region=region,
        policypack=policy_pack,
        policyversion=policy_version,
        correlationid=correlation_id,
        causationid=causation_id,
        streamversion=stream_version,
        traceparent=traceparent,
        actor=actor,
        actorrole=actor_role,
        onbehalfof=on_behalf_of,
        data=event_payload(event),
    )
