"""What the bound caller may see and touch: region scope, own-records scope, and how
a customer's personal fields are shown to him.

- Region scope: a record of a region outside the caller's `regions` (when he has any)
  does not exist for him: reads and commands answer 404 (`NotFound`), lists leave it out.
- Own records: a call let in only by `engineer`, `dealer` or `customer` (see
  `Principal.limited_to_own`; all his roles where the edge named none) reaches the jobs
  assigned to that engineer, the tickets that dealer brought, the tickets that customer
  filed; anything else is a 404 too.
- Personal data: `disclosure` says whether the caller sees a customer's phone, address
  and name in full, masked, or pseudonymised (analysts).

Reactions, timers and replay run as `SYSTEM`, which sees everything.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from repairline_platform.auth import OWN_ONLY, Principal, current_principal
from repairline_platform.personal import Disclosure
from repairline_rules.refusals import NotFound

S = TypeVar("S")
U = TypeVar("U")

OWNER_ROLES = ("engineer", "dealer", "customer")


@dataclass(frozen=True)
class Owners:
    """Who a record belongs to: the engineer assigned, the dealer who brought it, the
    customer who filed it (None: nobody of that kind)."""

    engineer_id: str | None = None
    dealer_id: str | None = None
    customer_id: str | None = None

    def get(self, role: str) -> str | None:
        return getattr(self, f"{role}_id")


def _claim(p: Principal, role: str) -> str | None:
    return getattr(p, f"{role}_id")


def _acting(p: Principal) -> frozenset[str]:
    """The roles the call is served under: those granting the route, or, where nothing
    said which (a principal bound without `acting`), all of the caller's roles."""
    return p.acting_as or p.roles


def _own_only(p: Principal) -> bool:
    acting = _acting(p)
    return bool(acting) and acting <= OWN_ONLY


def admits(p: Principal, region: str | None, owners: Owners = Owners()) -> bool:
    """Whether `p` may see a record of `region` belonging to `owners`."""
    if not p.in_region(region):
        return False
    if not _own_only(p):
        return True
    return any(
        _claim(p, role) is not None and _claim(p, role) == owners.get(role)
        for role in OWNER_ROLES
        if role in _acting(p)
    )


def admits_engineer(engineer_id: str | None) -> bool:
    """Whether the bound caller is the engineer `engineer_id`."""
    mine = current_principal().engineer_id
    return mine is not None and mine == engineer_id


def check(not_found: str, region: str | None, owners: Owners = Owners()) -> None:
    """A 404 unless the bound caller may see the record (not a 403: a record out of scope
    is not admitted to exist); `not_found` is the text a missing record is answered with,
    so the two answers are the same."""
    if not admits(current_principal(), region, owners):
        raise NotFound(not_found)


def guarded(
    not_found: str,
    scope_of: Callable[[S], tuple[str | None, Owners]],
    decide: Callable[[S, U], Any],
) -> Callable[[S, U], Awaitable[Any]]:
    """`decide` run only when the bound caller may see the folded state; else the 404 a
    missing stream is answered with (`not_found`)."""

    async def decided(state: S, uow: U) -> Any:
        region, owners = scope_of(state)
        check(not_found, region, owners)
        result = decide(state, uow)
        return await result if inspect.isawaitable(result) else result

    return decided


@dataclass(frozen=True)
class Filter:
    """A SQL condition limiting a list to what the bound caller may see."""

    sql: str
    args: tuple[Any, ...]


def sql_filter(
    first_arg: int,
    *,
    region: str | None = "region",
    engineer: str | None = None,
    dealer: str | None = None,
    customer: str | None = None,
    p: Principal | None = None,
) -> Filter:
    """` and (...)` over the given columns, its arguments numbered from `first_arg`.

    Nothing when the caller sees everything; `and false` when he is limited to his own
    records and none of the given columns can name them."""
    p = p or current_principal()
    parts: list[str] = []
    args: list[Any] = []
    if p.regions and region is not None:
        args.append(sorted(p.regions))
        parts.append(f"{region} = any(${first_arg + len(args) - 1}::text[])")
    if _own_only(p):
        own = []
        columns = {"engineer": engineer, "dealer": dealer, "customer": customer}
        for role in OWNER_ROLES:
            if role in _acting(p) and columns[role] and _claim(p, role) is not None:
                args.append(_claim(p, role))
                own.append(f"{columns[role]} = ${first_arg + len(args) - 1}")
        parts.append("(" + " or ".join(own) + ")" if own else "false")
    return Filter("".join(f" and {part}" for part in parts), tuple(args))


def visible(rows: Sequence[S], scope_of: Callable[[S], tuple[str | None, Owners]]) -> list[S]:
    """The rows of a list the bound caller may see."""
    p = current_principal()
    return [r for r in rows if admits(p, *scope_of(r))]


# -- personal data ------------------------------------------------------------------------

# The roles that need a customer's phone, address and name to do their work: the call
# centre, the dispatchers who book and rebook visits with the customer, quality (callbacks
# and complaints), and the dealer and the customer themselves (own tickets only). An
# engineer needs them for his open jobs only (`needs_contact`).
SEES_CONTACT = frozenset({"agent", "dispatcher", "quality", "dealer", "customer", "system"})


def disclosure(*, engineer_on_open_job: bool = False, p: Principal | None = None) -> Disclosure:
    """How the bound caller is shown a customer's personal fields on this record."""
    p = p or current_principal()
    acting = _acting(p)
    if acting & SEES_CONTACT:
        return Disclosure.CLEAR
    if engineer_on_open_job and "engineer" in acting:
        return Disclosure.CLEAR
    if "analyst" in acting:
        return Disclosure.PSEUDONYMISED
    return Disclosure.MASKED
