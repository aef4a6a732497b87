"""Labels in Chinese and English (one JSON catalog per locale) and the network's way of
writing dates and money (its time zone; yuan from integer fen)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
_CATALOGS = Path(__file__).parent / "locales"


@cache
def catalog(locale: str) -> dict[str, str]:
    return json.loads((_CATALOGS / f"{locale}.json").read_text(encoding="utf-8"))


def locale_of(value: str | None) -> str:
    return value if value in LOCALES else DEFAULT_LOCALE


def translate(locale: str, key: str, **values: Any) -> str:
    """The label of `key` in `locale` (the English one, then the key's last part, when
    missing: a state or a kind the catalogs do not name yet still reads)."""
    fallback = key.rsplit(".", 1)[-1].replace("_", " ")
    text = catalog(locale).get(key) or catalog("en").get(key) or fallback
    return text.format(**values) if values else text


def moment(value: str | datetime | None, zone: ZoneInfo, *, time_only: bool = False) -> str:
    """A time in the network's zone: `2026-11-24 16:00` (or `16:00`)."""
    if not value:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = when.astimezone(zone)
    return local.strftime("%H:%M") if time_only else local.strftime("%Y-%m-%d %H:%M")


def yuan(fen: int | None) -> str:
    """Integer fen written as yuan: 3000 -> ¥30.00."""
    if fen is None:
        return "—"
    return f"¥{(Decimal(fen) / 100).quantize(Decimal('0.01')):,}"
