"""Every operation of the four services' OpenAPI documents, driven with generated
requests (valid and invalid ones) against the real service on the real Kafka and
PostgreSQL: no request answers a 5xx, and every answer matches the schema the document
gives for its status.

Size: `REPAIRLINE_FUZZ_EXAMPLES` cases per operation and generation mode (default 2,
a few hundred cases in all, for `make test`); a larger run, e.g.

    REPAIRLINE_FUZZ_EXAMPLES=10 .venv/bin/python -m pytest tests/e2e/test_openapi_fuzz.py -q -s

prints the cases run and the failures found per service.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.support.auth import EVERYONE, bearer
from tests.support.system import System

EXAMPLES = int(os.environ.get("REPAIRLINE_FUZZ_EXAMPLES", "2"))
CHECKS = [not_a_server_error, response_schema_conformance]
SERVICES = ("intake", "dispatch", "billing", "feedback")


def request_headers() -> dict[str, str]:
    """The headers every generated request carries: the one place where the caller's
    credentials (a bearer token holding every user role) are added."""
    return bearer(EVERYONE)


@dataclass
class Tally:
    cases: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def line(self, service: str) -> str:
        return f"{service}: {self.cases} cases, {len(self.failures)} operations failing"


def strategy(operation: Any) -> Any:
    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to negate
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(modes)


def fuzz(operation: Any, base_url: str, tally: Tally) -> None:
    @given(case=strategy(operation))
    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        tally.cases += 1
        response = case.call(base_url=base_url, headers=request_headers(), timeout=30)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (AssertionError, Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
        tally.failures[operation.label] = str(exc)[:2000]


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.e2e
@pytest.mark.parametrize("name", SERVICES)
async def test_no_generated_request_answers_5xx_or_outside_its_documented_schema(
    prefix: str, name: str
) -> None:
    system = System(prefix, "water-heater", (name,))
    service = system.services[name]
    try:
        service.start(timeout=180)  # a loaded machine starts a service slowly
        document = service.request("GET", "/openapi.json")[1]
        schema = schemathesis.openapi.from_dict(document)
        tally = Tally()
        for operation in operations(schema):
            fuzz(operation, service.url, tally)
        print(tally.line(name))
        assert not tally.failures, "\n\n".join(f"{k}\n{v}" for k, v in tally.failures.items())
        assert tally.cases >= EXAMPLES * len(document["paths"])
    finally:
        system.stop()
        await system.drop()
