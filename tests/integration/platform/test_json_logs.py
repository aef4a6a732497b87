"""Every line a running service writes is JSON: its own, uvicorn's (a malformed request,
its start and stop) and the Kafka client's, in one format (real broker and database)."""

from __future__ import annotations

import json
import socket

from tests.support.factories import request_body
from tests.support.infra import ServiceProcess, drop_database


async def test_every_line_of_a_service_log_is_json(prefix: str):
    database = f"{prefix.rstrip('.')}_intake"
    proc = ServiceProcess("intake", prefix=prefix, database=database)
    try:
        proc.start()
        assert proc.request("POST", "/tickets", request_body())[0] == 201
        assert proc.request("GET", "/no-such-page")[0] == 404
        _send_malformed_request(proc.port)  # uvicorn's own warning
        proc.request("GET", "/healthz")
    finally:
        proc.terminate()
        await drop_database(database)

    lines = [line for line in proc.log_path.read_text().splitlines() if line.strip()]
    assert lines
    assert [line for line in lines if not _is_json_object(line)] == []
    assert any(json.loads(line).get("logger", "").startswith("uvicorn") for line in lines)


def _send_malformed_request(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        conn.recv(1024)


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
