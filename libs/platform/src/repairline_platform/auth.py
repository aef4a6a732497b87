"""Who is calling: the principal of a request, bound for the code that serves it.

A request's bearer token is verified at the edge and turned into a `Principal`, which is
bound for the rest of the request (`bound_principal`). Views and commands read it with
`current_principal()` to scope what they answer (a region's tickets, an engineer's own
jobs, a dealer's or a customer's own tickets) and the command path records it on the
events it appends. Reactions and timers run as `SYSTEM`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

Role = Literal[
    "agent",
    "dispatcher",
    "engineer",
    "dealer",
    "billing",
    "quality",
    "analyst",
    "admin",
    "customer",
    "system",
]
ROLES: tuple[str, ...] = get_args(Role)


OWN_ONLY: frozenset[str] = frozenset({"engineer", "dealer", "customer"})


@dataclass(frozen=True)
class Principal:
    """A verified caller.

    `roles` are the caller's roles (a token's `roles` claim); `acting_as` are those of
    them that grant the permission of the route being served (set at the edge by
    `acting`), so scoping follows the role that let the call in. `regions` is the region
    scope claim (empty means every region: head office roles); `engineer_id`,
    `dealer_id` and `customer_id` tie an engineer, a dealer or a customer to their own
    jobs or tickets; `on_behalf_of` names the person an agent or a dealer acts for.
    """

    subject: str
    roles: frozenset[str]
    regions: frozenset[str] = field(default_factory=frozenset)
    engineer_id: str | None = None
    dealer_id: str | None = None
    customer_id: str | None = None
    on_behalf_of: str | None = None
    acting_as: frozenset[str] = field(default_factory=frozenset)

    def acting(self, granting: frozenset[str]) -> Principal:
        """This caller serving a route whose permission `granting` roles hold."""
        return replace(self, acting_as=self.roles & granting)

    def in_region(self, region: str | None) -> bool:
        """Whether a record of `region` is inside this caller's scope."""
        return not self.regions or region in self.regions

    def only_as(self, role: str) -> bool:
        """Whether the call is let in by `role` alone (an engineer reading jobs, not also
        a dispatcher): then that role's own-records scope applies."""
        return self.acting_as == frozenset({role})

    @property
    def limited_to_own(self) -> bool:
        """Whether every role letting this call in sees its own records only."""
        return bool(self.acting_as) and self.acting_as <= OWN_ONLY


SYSTEM = Principal(
    subject="repairline", roles=frozenset({"system"}), acting_as=frozenset({"system"})
)

_principal: ContextVar[Principal | None] = ContextVar("repairline_principal", default=None)


@contextmanager
def bound_principal(principal: Principal) -> Iterator[Principal]:
    """Bind the caller for the code run inside the block."""
    token = _principal.set(principal)
    try:
        yield principal
    finally:
        _principal.reset(token)


def current_principal() -> Principal:
    """The bound caller; `SYSTEM` where nothing bound one (reactions, timers, replay)."""
    return _principal.get() or SYSTEM


def act_for_request(principal: Principal) -> None:
    """Bind `principal` for the rest of the request being served (the route's permission
    check narrows the caller the edge bound to the roles that let it in); the edge's
    `bound_principal` block ends it with the request."""
    _principal.set(principal)
