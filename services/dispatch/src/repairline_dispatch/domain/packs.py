"""The pack for what no single ticket names.

A visit is decided by its ticket's pack (bound per command from the ticket's events).
A region's day plan, the free windows offered for a product line, the board's day, the
visit report and the business hours of engineers without hours of their own name no
ticket: they use the pack the deployment's mapping gives for that region and product
line (for a region alone: the first route naming neither product lines, brands nor
contracts), else the default pack, in the version in force at the moment asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from repairline_dispatch.domain.roster import WorkHours, pack_hours
from repairline_rules.packs import PackBook, PolicyPack
from repairline_rules.routing import PackRouting


@dataclass(frozen=True)
class RegionPacks:
    """Every pack the deployment runs and its mapping, asked by region and product line."""

    book: PackBook
    routing: PackRouting
    _hours: dict[tuple[str, str], tuple[WorkHours, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def of(self, region: str | None, now: datetime, product_line: str | None = None) -> PolicyPack:
        """The pack a ticket of `product_line` in `region` would be opened under at `now`;
        without a product line, the region's (routes by product line pass it over)."""
        pack_id = self.routing.default
        if region is not None:
            pack_id = self.routing.choose(product_line=product_line or "", region=region)
        return self.book.opened_at(pack_id, now)

    def of_engineer(self, region: str, skills: Iterable[str], now: datetime) -> PolicyPack:
        """The pack whose business hours an engineer without his own works: the one his
        product lines are routed to in his region, the region's when they go to several."""
        ids = {self.routing.choose(product_line=skill, region=region) for skill in skills}
        if len(ids) == 1:
            return self.book.opened_at(ids.pop(), now)
        return self.of(region, now)

    def hours(self, region: str, skills: Iterable[str], now: datetime) -> tuple[WorkHours, ...]:
        """An engineer's default hours: the business hours of `of_engineer`'s pack."""
        pack = self.of_engineer(region, skills, now)
        key = (pack.id, pack.version)
        if key not in self._hours:
            self._hours[key] = pack_hours(pack)
        return self._hours[key]
