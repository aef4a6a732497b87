from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from repairline_contracts import registry, schemas
from repairline_contracts.envelope import Envelope, MalformedMessageError, wrap
from repairline_contracts.intake import RepairRequested
from repairline_contracts.registry import UnknownEventError
from tests.support.factories import repair_requested


def _envelope(event=None) -> Envelope:
    event = event or repair_requested()
    return wrap(
        event,
        event_id=str(uuid.uuid4()),
        source="/intake",
        time=datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
        region="cn-east",
        policy_pack="water-heater",
        policy_version="2026.1",
        correlation_id="corr",
        causation_id="cause",
        stream_version=1,
    )


def test_an_event_survives_the_round_trip_through_its_envelope():
    event = repair_requested()
    env = Envelope.from_bytes(_envelope(event).to_bytes())
    assert env.event() == event
    assert env.subject == event.ticket_id
    assert env.type == "repairline.intake.RepairRequested"
    assert env.schemaversion == 1


def test_the_envelope_is_plain_cloudevents_json_with_lowercase_extensions():
    body = json.loads(_envelope().to_bytes())
    assert body["specversion"] == "1.0"
    assert body["datacontenttype"] == "application/json"
    for attribute in body:
        assert attribute.isalnum() and attribute.islower()


def test_naive_event_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        wrap(
            repair_requested(),
            event_id="x",
            source="/intake",
            time=datetime(2026, 5, 1, 9, 30),  # noqa: DTZ001
            region="r",
            policy_pack="p",
            policy_version="1",
            correlation_id="c",
            causation_id="c",
            stream_version=1,
        )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "tombstone"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a CloudEvents envelope"),
        (b'{"specversion": "0.3"}', "specversion"),
    ],
)
def test_unreadable_bytes_raise_a_clear_malformed_message_error(raw, message):
    with pytest.raises(MalformedMessageError, match=message):
        Envelope.from_bytes(raw)


def test_an_unknown_type_or_a_future_version_is_refused():
    data = _envelope().data
    with pytest.raises(UnknownEventError, match="unknown event type"):
        registry.load("repairline.intake.Nope", 1, data)
    with pytest.raises(UnknownEventError, match="newer than this code"):
        registry.load(RepairRequested.event_type, 2, data)


def test_an_old_version_is_upcast_to_the_current_model(monkeypatch):
    current = _envelope().data
    version_1 = {k: v for k, v in current.items() if k != "fault_description"}
    version_1["fault"] = current["fault_description"]
    monkeypatch.setattr(RepairRequested, "schema_version", 2)
    with pytest.raises(UnknownEventError, match="no upcaster"):
        registry.load(RepairRequested.event_type, 1, version_1)

    def rename(data):
        data = dict(data)
        data["fault_description"] = data.pop("fault")
        return data

    monkeypatch.setitem(registry.UPCASTERS, (RepairRequested.event_type, 1), rename)
    event = registry.load(RepairRequested.event_type, 1, version_1)
    assert event.fault_description == current["fault_description"]


def test_the_committed_json_schemas_match_the_models():
    assert schemas.drift() == []


def test_schema_drift_is_detected(tmp_path):
    for name, text in schemas.rendered().items():
        (tmp_path / name).write_text(text)
    assert schemas.drift(tmp_path) == []
    victim = tmp_path / "repairline.intake.RepairRequested.v1.json"
    victim.write_text(victim.read_text().replace('"ticket_id"', '"ticket"', 1))
    (tmp_path / "repairline.intake.Gone.v1.json").write_text("{}")
    assert schemas.drift(tmp_path) == [
        "repairline.intake.RepairRequested.v1.json",
        "repairline.intake.Gone.v1.json",
    ]
