"""One open ticket per serial number, even when requests for it arrive at once."""

from __future__ import annotations

import asyncio

from tests.support.factories import request_body
from tests.support.system import ServiceProcess, drop_database


async def test_concurrent_requests_for_one_serial_number_open_one_ticket(prefix: str):
    database = f"{prefix.rstrip('.')}_intake"
    service = ServiceProcess("intake", prefix=prefix, database=database).start()
    try:
        body = request_body()
        body["product"]["serial_no"] = f"SN{prefix[1:7].upper()}X"
        answers = await asyncio.gather(
            *(asyncio.to_thread(service.request, "POST", "/tickets", body) for _ in range(8))
        )
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201] + [409] * 7, answers
        [opened] = [answer["ticket_id"] for status, answer in answers if status == 201]
        assert all(opened in answer["detail"] for status, answer in answers if status == 409)
    finally:
        service.terminate()
        await drop_database(database)


async def test_a_refused_duplicate_takes_no_ticket_number_int_2_int_4(prefix: str):
    """The serial number's question, the ticket's number and its sale date are answered in
    one statement: a number is taken only for a ticket that opens, so the ticket after a
    refused duplicate has the next number (INT-2)."""
    database = f"{prefix.rstrip('.')}_intake"
    service = ServiceProcess("intake", prefix=prefix, database=database).start()
    try:
        body = request_body()
        body["product"]["serial_no"] = f"SN{prefix[1:7].upper()}A"
        status, first = await asyncio.to_thread(service.request, "POST", "/tickets", body)
        assert status == 201, first
        for _ in range(3):
            status, _answer = await asyncio.to_thread(service.request, "POST", "/tickets", body)
            assert status == 409
        body = request_body()
        body["product"]["serial_no"] = f"SN{prefix[1:7].upper()}B"
        status, second = await asyncio.to_thread(service.request, "POST", "/tickets", body)
        assert status == 201, second
        assert int(second["service_request_no"][-6:]) == int(first["service_request_no"][-6:]) + 1
    finally:
        service.terminate()
        await drop_database(database)
