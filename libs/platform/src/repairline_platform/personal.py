"""A customer's phone, address and name as a caller may see them: in full, masked, or as
a keyed hash (a pseudonym), and kept out of error texts.

The keyed hash is the export's (`repairline export` hashes the same fields with the same
function and the same key, `REPAIRLINE_EXPORT_HASH_KEY`), so one customer is the same
pseudonym in an analyst's export and in an analyst's read of a service.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_NOT_DIAL = re.compile(r"[^\d+]")
PHONE_FIELDS = frozenset({"phone", "mobile"})
ADDRESS_FIELDS = frozenset({"address"})
NAME_FIELDS = frozenset({"name", "customer_name"})
PERSONAL_KEYS = PHONE_FIELDS | ADDRESS_FIELDS | NAME_FIELDS


class Hasher:
    """Keyed BLAKE2b (a MAC) of a normalised value under the configured key, 32 hex digits."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the personal-data hash key must be at least 16 bytes")
        self._key = key if len(key) <= 64 else hashlib.sha256(key).digest()

    def __call__(self, field: str, value: Any) -> str:
        message = normalised(field, value).encode()
        return hashlib.blake2b(message, key=self._key, digest_size=16).hexdigest()


def normalised(field: str, value: Any) -> str:
    """One spelling per value: `139 0000-0000` and `13900000000` are the same phone."""
    if not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if field in PHONE_FIELDS:
        return _NOT_DIAL.sub("", value)
    return " ".join(value.split()).casefold()


class _HashKey(BaseSettings):
    """The export's personal-data key, read by the services for analysts' reads."""

    model_config = SettingsConfigDict(env_prefix="REPAIRLINE_", extra="ignore")

    export_hash_key: SecretStr | None = None


@lru_cache(maxsize=1)
def configured_hasher() -> Hasher | None:
    """The hasher under `REPAIRLINE_EXPORT_HASH_KEY`; None when no key is set (then an
    analyst is shown masked values with no pseudonym)."""
    key = _HashKey().export_hash_key
    return None if key is None else Hasher(key.get_secret_value().encode())


# -- masking ------------------------------------------------------------------------------


def mask_phone(value: str | None) -> str | None:
    """`13812345678` -> `138****5678`; a short number keeps only its last two digits."""
    if not value:
        return value
    digits = _NOT_DIAL.sub("", value).lstrip("+")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 2) + digits[-2:]


# the end of the city and district part of an address written in Chinese
_DISTRICT = re.compile(r"^.*?(?:区|县|旗)|^.*?市")


def mask_address(value: str | None) -> str | None:
    """The address down to its city and district: `浙江省杭州市西湖区文三路90号` ->
    `浙江省杭州市西湖区…`; `88 Example Road, Hangzhou` -> `…, Hangzhou` (the last part)."""
    if not value:
        return value
    found = _DISTRICT.match(value)
    if found:
        return found.group(0) + "…"
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return "…, " + parts[-1] if len(parts) > 1 else "…"


def mask_name(value: str | None) -> str | None:
    """`张伟` -> `张*`; `Li Wei` -> `L*`."""
    if not value:
        return value
    return value[0] + "*"


def masked(field: str, value: Any) -> Any:
    """A personal field's value masked by what it holds."""
    if value is None:
        return None
    if field in PHONE_FIELDS:
        return mask_phone(str(value))
    if field in ADDRESS_FIELDS:
        return mask_address(str(value))
    return mask_name(str(value))


# -- what a caller is shown ---------------------------------------------------------------


class Disclosure(StrEnum):
    """How a caller sees a customer's personal fields."""

    CLEAR = "clear"  # as recorded
    MASKED = "masked"  # phone 138****5678, address to city and district, name's first letter
    PSEUDONYMISED = "pseudonymised"  # phones masked; every field also as its keyed hash


def disclosed(row: Mapping[str, Any], fields: Mapping[str, str], how: Disclosure) -> dict[str, Any]:
    """`row` with its personal `fields` (answer name -> kind: `phone`, `mobile`,
    `address`, `name`) shown as `how` says. Pseudonymised: names and addresses become
    their keyed hash, phones are masked and their hash is added as `<field>_key`."""
    out = dict(row)
    if how is Disclosure.CLEAR:
        return out
    hasher = configured_hasher() if how is Disclosure.PSEUDONYMISED else None
    for answer, kind in fields.items():
        value = row.get(answer)
        if hasher is None or value is None:
            out[answer] = masked(kind, value)
        elif kind in PHONE_FIELDS:
            out[answer] = mask_phone(str(value))
            out[f"{answer}_key"] = hasher(kind, value)
        else:
            out[answer] = hasher(kind, value)
    return out


# -- error texts --------------------------------------------------------------------------

_LONG_NUMBER = re.compile(r"(?<![\w-])\+?\d(?: ?\d){6,}(?![\w-])")


def personal_values(raw: bytes | None) -> set[str]:
    """The personal values (phones, addresses, names) in a JSON record, wherever they are."""
    try:
        found: set[str] = set()
        _collect(json.loads(raw or b""), found)
        return found
    except (ValueError, TypeError, RecursionError):
        return set()


def _collect(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in PERSONAL_KEYS and isinstance(value, str) and len(value.strip()) >= 4:
                found.add(value)
            else:
                _collect(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect(value, found)


def scrubbed(text: str, values: Iterable[str] = ()) -> str:
    """`text` without the given personal values and without anything that looks like a
    phone number (a run of seven or more digits)."""
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "[personal]")
    return _LONG_NUMBER.sub("[number]", text)
