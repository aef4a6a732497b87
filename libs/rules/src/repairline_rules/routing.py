"""Which policy pack decides a ticket: one mapping file per deployment.

A network that repairs several makers' products runs several packs at once. Intake
decides a ticket's pack when the ticket is opened, from its brand, product line,
contract (key account) and region, and names it on every event of the ticket; every
other service decides with the pack named on the events it reads.

The mapping is a TOML file::

    default = "water-heater"          # tickets no route matches

    [[routes]]                        # the first matching route wins
    pack = "pc-depot"
    brands = ["lenovo", "dell"]       # each criterion given must match; absent: any
    product_lines = ["laptop"]
    contracts = ["KA-0042"]
    regions = ["cn-east"]

It is validated whole at start against the packs loaded: every pack it names is
loaded, and every product line a route names has terms in that route's pack.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from repairline_rules.packs import (
    ANY_PRODUCT,
    BUILTIN_PACKS,
    PackBook,
    PackError,
    PolicyPack,
    load_pack_versions,
)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Route(_Spec):
    """Tickets matching every criterion given go to ``pack``."""

    pack: str = Field(min_length=1, description="The pack id these tickets are decided by.")
    brands: tuple[str, ...] = Field(default=(), description="Product brands; absent: any.")
    product_lines: tuple[str, ...] = Field(default=(), description="Product lines; absent: any.")
    contracts: tuple[str, ...] = Field(
        default=(), description="Key account or maintenance contract ids; absent: any."
    )
    regions: tuple[str, ...] = Field(default=(), description="Regions; absent: any.")

    def matches(
        self, *, brand: str | None, product_line: str, contract: str | None, region: str
    ) -> bool:
        return (
            (not self.brands or _folded(brand) in {_folded(b) for b in self.brands})
            and (not self.product_lines or product_line in self.product_lines)
            and (not self.contracts or contract in self.contracts)
            and (not self.regions or region in self.regions)
        )


def _folded(value: str | None) -> str | None:
    return value.strip().casefold() if value else None


class RoutingSpec(_Spec):
    """The mapping file: a default pack and the routes tried in order."""

    default: str = Field(min_length=1, description="The pack of tickets no route matches.")
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class PackRouting:
    """Decides a new ticket's pack id (intake); names the packs a region runs (dispatch)."""

    spec: RoutingSpec
    source: str = "<default>"

    @property
    def default(self) -> str:
        return self.spec.default

    def choose(
        self,
        *,
        product_line: str,
        region: str,
        brand: str | None = None,
        contract: str | None = None,
    ) -> str:
        for route in self.spec.routes:
            if route.matches(
                brand=brand, product_line=product_line, contract=contract, region=region
            ):
                return route.pack
        return self.spec.default

    def packs(self) -> tuple[str, ...]:
        """Every pack id a ticket can be routed to, the default first."""
        return tuple(dict.fromkeys([self.spec.default, *(r.pack for r in self.spec.routes)]))


def single(pack_id: str) -> PackRouting:
    """Every ticket to one pack (a deployment without a mapping file)."""
    return PackRouting(RoutingSpec(default=pack_id))


def load_routing(
    path: str | Path | None,
    book: PackBook,
    *,
    default: str,
    known_regions: Iterable[str] = (),
) -> PackRouting:
    """The mapping file at ``path`` (or every ticket to ``default`` without one), checked
    against the loaded packs; PackError lists every problem."""
    if path is None or str(path) == "":
        routing = single(default)
        source = "<default>"
    else:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text("utf-8"))
        except OSError as error:
            raise PackError([(source, "", f"cannot read the file: {error.strerror}")]) from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise PackError([(source, "", f"not a valid TOML file: {error}")]) from None
        try:
            routing = PackRouting(RoutingSpec.model_validate(data), source)
        except ValidationError as error:
            raise PackError(
                (source, ".".join(map(str, item["loc"])), str(item["msg"]))
                for item in error.errors()
            ) from None
    problems = _check(routing, book, set(known_regions))
    if problems:
        raise PackError((source, field, problem) for field, problem in problems)
    return routing


def _check(routing: PackRouting, book: PackBook, regions: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    loaded = ", ".join(book.ids())
    if routing.spec.default not in book.packs:
        problems.append(("default", f"pack {routing.spec.default!r} is not loaded ({loaded})"))
    for n, route in enumerate(routing.spec.routes):
        where = f"routes.{n}"
        if route.pack not in book.packs:
            problems.append((f"{where}.pack", f"pack {route.pack!r} is not loaded ({loaded})"))
            continue
        for version in book.versions(route.pack):
            known = set(version.fees.visit_tariff_fen) | set(version.warranty.products)
            if ANY_PRODUCT in known:
                continue
            for line in route.product_lines:
                if line not in known:
                    problems.append(
                        (
                            f"{where}.product_lines",
                            f"pack {route.pack!r} {version.version} has no terms for {line!r}",
                        )
                    )
        for region in route.regions:
            if regions and region not in regions:
                problems.append((f"{where}.regions", f"unknown region {region!r}"))
    return problems


def load_deployment(
    default: str,
    packs: Iterable[str],
    routing: str | Path | None = None,
    *,
    known_regions: Iterable[str] = (),
) -> tuple[PackBook, PackRouting]:
    """Every pack a deployment runs and its mapping, all checked, or one PackError.

    ``default`` and ``packs`` are built-in ids or file paths; a file replaces the
    built-in pack of the same id (a network's own edition of a shipped pack).
    """
    refs = list(dict.fromkeys([*packs, default]))
    files = [ref for ref in refs if ref not in BUILTIN_PACKS]
    problems: list[tuple[str, str, str]] = []
    versions: dict[str, tuple[PolicyPack, ...]] = {}
    for ref in files:
        try:
            loaded = load_pack_versions(ref)
        except PackError as error:
            problems.extend(error.problems)
            continue
        if loaded[0].id in versions:
            problems.append((ref, "id", f"pack id {loaded[0].id!r} loaded twice"))
        versions[loaded[0].id] = loaded
    for ref in refs:
        if ref in BUILTIN_PACKS and ref not in versions:
            versions[ref] = load_pack_versions(ref)
    if problems:
        raise PackError(problems)
    book = PackBook(versions)
    default_id = default if default in BUILTIN_PACKS else load_pack_versions(default)[0].id
    return book, load_routing(routing, book, default=default_id, known_regions=known_regions)
