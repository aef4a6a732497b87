"""How each consumer fetches: a projection that reads only its service's own topic is
applied as each event is appended, so its consumer, which only confirms that, fetches
in bulk; every consumer whose work someone waits for is sent each record at once."""

from __future__ import annotations

from typing import Any

import pytest

from repairline_billing.main import SPEC as BILLING
from repairline_contracts.topics import CONTEXT_TOPICS
from repairline_dispatch.main import SPEC as DISPATCH
from repairline_feedback.main import SPEC as FEEDBACK
from repairline_intake.main import SPEC as INTAKE
from repairline_platform.runtime import SETTLING_FETCH_BYTES, Runtime, is_subscribed
from repairline_platform.settings import ServiceSettings
from repairline_rules.routing import load_deployment

SPECS = {"intake": INTAKE, "dispatch": DISPATCH, "billing": BILLING, "feedback": FEEDBACK}


def runtime(service: str, **settings: Any) -> Runtime:
    rt = Runtime(SPECS[service], ServiceSettings(**settings))
    rt.packs, rt.routing = load_deployment(rt.settings.policy_pack, rt.settings.policy_packs)
    return rt


def fetching(service: str, **settings: Any) -> dict[str, dict[str, int]]:
    """Each subscribed consumer of the service's real handlers, and how it fetches."""
    rt = runtime(service, **settings)
    handlers = [h for h in SPECS[service].handlers(rt) if is_subscribed(h)]
    return {h.name: rt._fetching(h) for h in handlers}


def test_dispatchs_own_projections_fetch_in_bulk_and_its_assignment_at_once():
    seen = fetching("dispatch", settle_wait_ms=700)
    bulk = {"fetch_min_bytes": SETTLING_FETCH_BYTES, "fetch_max_wait_ms": 700}
    for name in ("board", "workload", "key-account-file", "roster-log", "day-plans"):
        assert seen[name] == bulk, name
    # DSP-1: the reaction to intake's request assigns; the live path waits for it
    assert seen["assignment"] == {}
    assert set(seen) - {n for n, how in seen.items() if how == bulk} == {
        "assignment",
        "quotes",
        "revisits",
    }


@pytest.mark.parametrize("service", sorted(SPECS))
def test_only_projections_of_the_own_topic_alone_fetch_in_bulk(service: str):
    rt = runtime(service)
    for h in SPECS[service].handlers(rt):
        if is_subscribed(h):
            own_alone = tuple(h.topics) == (CONTEXT_TOPICS[service],)
            assert bool(rt._fetching(h)) is (own_alone and hasattr(h, "tables")), h.name


def test_intakes_ticket_view_reads_the_other_contexts_too_and_is_sent_each_record():
    seen = fetching("intake")
    # the engineer's name reaches the ticket view from dispatch's topic: nobody waits a second
    assert seen["ticket-view"] == {}
    assert seen["sales-records"]["fetch_max_wait_ms"] == 1000
