"""Personal fields replaced by a keyed hash: the same customer always gets the same hash
(so an analyst can follow one across events and years), and nobody without the key can
go from a hash back to a name, phone or address by trying likely values."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

from repairline_ops.columns import PersonalPath

_NOT_DIAL = re.compile(r"[^\d+]")
_PHONE_FIELDS = frozenset({"phone", "mobile"})


class Hasher:
    """HMAC-SHA256 of a normalised value under the configured key, 32 hex digits."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the personal-data hash key must be at least 16 bytes")
        self._key = key

    def __call__(self, field: str, value: Any) -> str:
        digest = hmac.new(self._key, _normalised(field, value).encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def scrub(self, data: dict[str, Any], paths: Sequence[PersonalPath]) -> None:
        """Replace, in place, every personal value found at `paths` of an event's data."""
        for path in paths:
            self._scrub_at(data, path)

    def _scrub_at(self, node: Any, path: PersonalPath) -> None:
        head, rest = path[0], path[1:]
        if head == "*":
            for item in node or ():
                self._scrub_at(item, rest)
            return
        if not isinstance(node, dict) or node.get(head) is None:
            return
        if rest:
            self._scrub_at(node[head], rest)
        else:
            node[head] = self(head, node[head])


def _normalised(field: str, value: Any) -> str:
    """One spelling per value: `139 0000-0000` and `13900000000` are the same phone."""
    if not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if field in _PHONE_FIELDS:
        return _NOT_DIAL.sub("", value)
    return " ".join(value.split()).casefold()
