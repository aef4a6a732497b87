"""Requests per client on the public routes of the app and web channels.

A token bucket per client (the token's subject; the client's address where no caller is
bound): `burst` requests at once, refilled at `per_minute`. Over the limit the route
answers 429 naming when to retry (`Retry-After`). The buckets live in the instance, so
with n replicas a client gets up to n times the limit; that bounds abuse without a
shared store, which is what this is for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from repairline_platform.auth import current_principal

MAX_CLIENTS = 100_000


class RateLimited(Exception):
    """Too many requests from one client; `retry_after` whole seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimit:
    def __init__(
        self, *, per_minute: int, burst: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self._now = now
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> None:
        """Spend one request of `client`'s; raises `RateLimited` when none is left."""
        now = self._now()
        bucket = self._buckets.get(client)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[client] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens < 1:
            raise RateLimited(max(1, math.ceil((1 - bucket.tokens) / self.rate)))
        bucket.tokens -= 1

    def _forget_idle(self, now: float) -> None:
        """Past `MAX_CLIENTS`, drop the buckets that have refilled (nothing is lost)."""
        if len(self._buckets) < MAX_CLIENTS:
            return
        full = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < full}


def client_of(request: Request) -> str:
    principal = current_principal()
    if "system" not in principal.roles:
        return f"sub:{principal.subject}"
    return f"addr:{request.client.host if request.client else 'unknown'}"


async def _limited(request: Request) -> None:
    limit: RateLimit = request.app.state.rate_limit
    limit.take(client_of(request))


RATE_LIMITED = Depends(_limited)
"""Declared by a public channel route next to its permission."""
