"""The repair ticket as intake sees it: its commands, its state and its decisions. Pure.

`evolve` folds a ticket's intake events into `IntakeTicket`; each `decide_*` takes that
state and one command (plus the pack, the time and any fact read beyond the stream) and
returns the events to append, or raises a `repairline_rules.refusals` error:
`IllegalTransition` naming the state the ticket is in, `InvalidInput` naming the field,
`Refused` for INT-4 (its refusal event is recorded first).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

from repairline_contracts.base import Decision, Event
from repairline_contracts.intake import (
    Channel,
    CityTier,
    Customer,
    CustomerCalledForPickup,
    DealerFacts,
    DepotIntakeRecorded,
    DuplicateReported,
    GeoPoint,
    PartCoverage,
    PhoneGuidanceGiven,
    PickedUp,
    Product,
    ProofShown,
    RemedyChosen,
    RemedyOffered,
    RemedyOption,
    RepairRequested,
    RepairRequestRefused,
    RequestVerified,
    ServiceMode,
    TicketCancelled,
    TicketClosed,
    TimeWindow,
    Triage,
    Urgency,
    VisitRequested,
    WarrantyDecided,
)
from repairline_rules import dispatch as dispatch_rules
from repairline_rules import followup, guarantees, triage, warranty
from repairline_rules.packs import PackBook, PolicyPack, UnknownProduct
from repairline_rules.refusals import IllegalTransition, InvalidInput, Refused
from repairline_rules.routing import PackRouting

HOLD_GUIDANCE = "phone_guidance"
HOLD_REMEDY = "remedy_choice"

DUPLICATE_OF_OPEN_TICKET = "duplicate_of_open_ticket"


# -- the facts a request brings ------------------------------------------------------------


@dataclass(frozen=True)
class ProofFacts:
    """WAR-3 and WAR-4 facts given at intake."""

    invoice_date: date | None = None
    warranty_card_date: date | None = None
    other_proof_date: date | None = None
    card_model: str | None = None
    card_serial_no: str | None = None
    documents_altered: bool = False
    authorised_installer: bool = True
    unauthorised_repair: bool = False
    misuse: bool = False
    natural_disaster: bool = False
    supply_voltage_v: Decimal | None = None
    wiring_to_code: bool = True
    suspect_parts: tuple[str, ...] = ()
    days_in_repair: int = 0
    days_waiting_for_parts: int = 0


@dataclass(frozen=True)
class GuaranteeFacts:
    """WAR-6..9 facts: a performance fault, earlier failed repairs, parts waits."""

    performance_fault: bool = False
    failed_repairs: int = 0
    same_model_available: bool = True
    submitted_for_repair_on: date | None = None
    waiting_for_maker_parts: bool = False


@dataclass(frozen=True)
class DepotFacts:
    """INT-7 facts recorded at the depot counter."""

    visible_damage: str = "none"
    non_standard_parts: str = "none"
    data_backup_reminded: bool = False
    voucher_signed: bool = False


# -- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRepair:
    """Everything a channel brings about a new request (INT-2, INT-3)."""

    channel: Channel
    region: str
    city_tier: CityTier
    product: Product
    fault_description: str
    service_mode: ServiceMode = ServiceMode.ON_SITE
    customer: Customer = field(default_factory=Customer)
    customer_wants: str | None = None
    urgency: Urgency = Urgency.NORMAL
    fault_kind: str = "unknown"
    customer_insists_on_visit: bool = False
    location: GeoPoint | None = None
    preferred_window: TimeWindow | None = None
    key_account_id: str | None = None
    job_kind: str = "repair"
    dealer: DealerFacts | None = None
    proof: ProofFacts | None = None
    guarantee: GuaranteeFacts = field(default_factory=GuaranteeFacts)
    depot: DepotFacts | None = None
    customer_id: str | None = None  # the app or web account filing it


@dataclass(frozen=True)
class VerifyRequest:
    """INT-3: the completed facts, checked with the dispatcher, then the customer."""

    ticket_id: str
    customer: Customer
    product: Product
    customer_wants: str | None = None
    urgency: Urgency = Urgency.NORMAL
    location: GeoPoint | None = None


@dataclass(frozen=True)
class GiveGuidance:
    """INT-5: the customer was guided on the phone."""

    ticket_id: str
    notes: str


@dataclass(frozen=True)
class RequestVisit:
    """INT-5: after guidance the customer insists on, or still needs, a visit."""

    ticket_id: str
    reason: str = "customer_insists"


@dataclass(frozen=True)
class DecideWarranty:
    """WAR-1..5: proof shown after intake."""

    ticket_id: str
    proof: ProofFacts
    given: frozenset[str] | None = None
    """The fields the caller sent; the others keep what was recorded. None: all of them."""


@dataclass(frozen=True)
class ChooseRemedy:
    """WAR-6..9: the customer's choice among the remedies offered."""

    ticket_id: str
    kind: str


@dataclass(frozen=True)
class CancelTicket:
    ticket_id: str
    reason: str


@dataclass(frozen=True)
class CallForPickup:
    """INT-8: the depot repair is done and the customer is called."""

    ticket_id: str
    reached: bool = True


@dataclass(frozen=True)
class HandOver:
    """INT-8: pickup with the voucher, the customer's test and signature, a fee told before."""

    ticket_id: str
    voucher_no: str
    tested_by_customer: bool
    acceptance_signed: bool
    fee_told_fen: int | None = None


@dataclass(frozen=True)
class TicketNumbers:
    """What intake counts out for a new ticket: the day's sequence number (INT-2) and,
    at a depot, the place in the day's queue (INT-7)."""

    day: str
    seq: int
    queue_place: int | None = None


# -- state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeTicket:
    """A ticket as intake sees it: a fold of intake's own events."""

    ticket_id: str
    state: str = "new"  # open | closed | cancelled | refused
    holds: frozenset[str] = frozenset()
    request: RepairRequested | None = None
    needs_verification: bool = False
    warranty: WarrantyDecided | None = None
    remedies: tuple[RemedyOption, ...] = ()
    remedy: str | None = None
    guidance_given: bool = False
    visit_requested: bool = False
    depot: DepotIntakeRecorded | None = None
    called_for_pickup: bool = False
    closed_reason: str | None = None

    @property
    def status(self) -> str:
        """The state named in a 409: open tickets say what they wait for."""
        if self.state != "open":
            return self.state
        if self.needs_verification:
            return "needs_verification"
        if HOLD_REMEDY in self.holds:
            return "awaiting_remedy_choice"
        if HOLD_GUIDANCE in self.holds:
            return "phone_guidance" if self.guidance_given else "awaiting_guidance"
        return "open"

    @property
    def region(self) -> str | None:
        return self.request.region if self.request else None


def evolve(ticket: IntakeTicket, event: Event) -> IntakeTicket:
    match event:
        case RepairRequested():
            return replace(
                ticket,
                state="open",
                request=event,
                holds=frozenset(event.held_for),
                needs_verification=event.needs_verification,
            )
        case RepairRequestRefused():
            return replace(ticket, state="refused")
        case WarrantyDecided():
            return replace(ticket, warranty=event)
        case RequestVerified():
            return _verified(ticket, event)
        case PhoneGuidanceGiven():
            return replace(ticket, guidance_given=True)
        case VisitRequested():
            return replace(ticket, visit_requested=True, holds=ticket.holds - {HOLD_GUIDANCE})
        case RemedyOffered():
            return replace(ticket, remedies=event.remedies)
        case RemedyChosen():
            return replace(ticket, remedy=event.remedy.kind, holds=ticket.holds - {HOLD_REMEDY})
        case DepotIntakeRecorded():
            return replace(ticket, depot=event)
        case CustomerCalledForPickup():
            return replace(ticket, called_for_pickup=ticket.called_for_pickup or event.reached)
        case PickedUp():
            return replace(ticket, state="closed", closed_reason="picked_up")
        case TicketClosed():
            return replace(ticket, state="closed", closed_reason=event.reason)
        case TicketCancelled():
            return replace(ticket, state="cancelled", closed_reason=event.reason)
    return ticket


def _verified(ticket: IntakeTicket, event: RequestVerified) -> IntakeTicket:
    assert ticket.request is not None
    request = ticket.request.model_copy(
        update={
            "customer": event.customer,
            "product": event.product,
            "customer_wants": event.customer_wants,
            "urgency": event.urgency,
            "location": event.location or ticket.request.location,
            "needs_verification": False,
            "verification_issues": (),
        }
    )
    return replace(ticket, request=request, needs_verification=False)


def fold(ticket_id: str, events: Iterable[Event]) -> IntakeTicket:
    return reduce(evolve, events, IntakeTicket(ticket_id))


# -- a new request -----------------------------------------------------------------------


def check_request(cmd: RequestRepair) -> None:
    """INT-2, INT-7: what each channel must bring, checked before anything is counted."""
    if cmd.channel is Channel.DEALER and cmd.dealer is None:
        raise InvalidInput("dealer", "the dealer channel must name the dealer (INT-2)")
    if cmd.channel is Channel.DEPOT:
        if cmd.service_mode is not ServiceMode.DEPOT:
            raise InvalidInput("service_mode", "a walk-in depot request is a depot repair")
        if cmd.depot is None:
            raise InvalidInput("depot", "a walk-in depot request records INT-7 facts")
    window = cmd.preferred_window
    if window is not None and window.end <= window.start:
        raise InvalidInput("preferred_window", "the window must end after it starts")


def opening_pack(
    packs: PackBook, routing: PackRouting, cmd: RequestRepair, opened_at: datetime
) -> PolicyPack:
    """The pack a new ticket is decided by for its whole life: the one the deployment's
    mapping routes its brand, product line, contract (its key account) and region to, in
    the version in force when it is opened."""
    pack_id = routing.choose(
        product_line=cmd.product.line,
        region=cmd.region,
        brand=cmd.product.brand,
        contract=cmd.key_account_id,
    )
    return packs.opened_at(pack_id, opened_at)


def check_product_line(pack: PolicyPack, line: str) -> None:
    """WAR-1: a product line the ticket's pack has no terms for is refused at intake, with
    or without proof (no engineer would have its skill); a pack with ``*`` terms takes any."""
    if not _known(pack, line):
        known = ", ".join(sorted(pack.warranty.products))
        raise InvalidInput(
            "product.line",
            f"unknown product line {line!r} for pack {pack.id!r} {pack.version};"
            f" the pack's: {known}",
        )


def check_window_covered(pack: PolicyPack, window: TimeWindow | None) -> None:
    """DSP-2: a preferred window is booked by working time, so it must fall in a year
    whose holidays the ticket's pack lists; a later one is refused at intake, naming the
    years covered, rather than accepted and then refused by every consumer."""
    if window is None:
        return
    last = (window.end - timedelta(microseconds=1)).astimezone(pack.zone).year  # end excluded
    if last not in pack.calendar.years:
        covered = ", ".join(map(str, sorted(pack.calendar.years)))
        raise InvalidInput(
            "preferred_window",
            f"pack {pack.id!r} covers {covered}: the holidays of {last} are not published"
            " in it yet, so no visit can be booked then",
        )


def business_day(pack: PolicyPack, now: datetime) -> str:
    """The local business day numbers are counted in (INT-2), as YYYYMMDD."""
    return now.astimezone(pack.zone).strftime("%Y%m%d")


def takes_a_queue_place(cmd: RequestRepair) -> bool:
    """INT-7: a machine handed in at the depot counter takes a queue number."""
    return cmd.service_mode is ServiceMode.DEPOT and cmd.depot is not None


def decide_request(
    ticket: IntakeTicket,
    cmd: RequestRepair,
    *,
    numbers: TicketNumbers,
    sold_on_by_serial: date | None,
    pack: PolicyPack,
    now: datetime,
) -> list[Event]:
    """INT-1..7, WAR-1..9: the events a new request starts with.

    RepairRequested (with the INT-2 numbers and the INT-5 triage), then as they apply:
    WarrantyDecided (proof shown, or the serial number's sale date; or a paid visit),
    RemedyOffered (three guarantees) and DepotIntakeRecorded. A dealer drop-off without
    the end customer is refused (INT-4), the refusal recorded.
    """
    if ticket.state != "new":
        raise IllegalTransition(f"ticket {ticket.ticket_id} exists already", ticket.status)
    _check_dealer_drop_off(ticket.ticket_id, cmd, pack, now)
    routed = triage.triage(
        pack,
        fault=cmd.fault_kind,  # type: ignore[arg-type]
        customer_insists_on_visit=cmd.customer_insists_on_visit,
        prefers_depot=cmd.service_mode is ServiceMode.DEPOT,
    )
    remedy = _remedies(pack, ticket.ticket_id, cmd, now, sold_on_by_serial)
    decided = decide_warranty(
        pack,
        ticket_id=ticket.ticket_id,
        product=cmd.product,
        service_mode=cmd.service_mode,
        proof=cmd.proof,
        sold_on_by_serial=sold_on_by_serial,
        now=now,
        guarantee=cmd.guarantee,
    )
    if routed.route != "phone_guidance" and routed.visit_chargeable:
        paid = paid_visit(ticket.ticket_id, cmd.product.line, cmd.service_mode, routed, now)
        decided = paid.model_copy(update=_dated(decided))
        if cmd.proof is not None:
            decided = decided.model_copy(update={"proof": _shown(cmd.proof)})
    requested = _requested(ticket.ticket_id, cmd, numbers, routed, remedy, pack, now)
    events: list[Event] = [
        requested.model_copy(update={"warranty_decision_follows": decided is not None})
    ]
    if decided is not None:
        events.append(decided)
    if remedy is not None:
        events.append(remedy)
    if takes_a_queue_place(cmd):
        events.append(_depot_intake(pack, ticket.ticket_id, cmd, numbers, now))
    return events


def _check_dealer_drop_off(
    ticket_id: str, cmd: RequestRepair, pack: PolicyPack, now: datetime
) -> None:
    """INT-4: the dealer must name the end customer and a contact."""
    if cmd.channel is not Channel.DEALER:
        return
    verdict = triage.check_dealer_drop_off(
        pack,
        end_customer_name=cmd.customer.name,
        end_customer_contact=cmd.customer.mobile or cmd.customer.phone,
    )
    if verdict.accepted:
        return
    refusal = RepairRequestRefused(
        ticket_id=ticket_id,
        channel=cmd.channel,
        region=cmd.region,
        dealer=cmd.dealer,
        reason=verdict.reason,
        decision=Decision.of(verdict),
        refused_at=now,
    )
    raise Refused(verdict.reason, rule_id="INT-4", events=[refusal], ticket_id=ticket_id)


def _requested(
    ticket_id: str,
    cmd: RequestRepair,
    numbers: TicketNumbers,
    routed: triage.TriageDecision,
    remedy: RemedyOffered | None,
    pack: PolicyPack,
    now: datetime,
) -> RepairRequested:
    """INT-1, INT-2, INT-3, INT-5: the request with its numbers, its gaps and its triage."""
    proof = cmd.proof or ProofFacts()
    issues = verification_issues(
        pack,
        cmd.customer,
        cmd.product,
        fault=cmd.fault_description,
        customer_wants=cmd.customer_wants,
        urgency=cmd.urgency,
        received_at=now,
        card_model=proof.card_model,
        card_serial_no=proof.card_serial_no,
    )
    held = [HOLD_GUIDANCE] if routed.route == "phone_guidance" else []
    if remedy is not None:
        held.append(HOLD_REMEDY)
    return RepairRequested(
        ticket_id=ticket_id,
        service_request_no=f"SR{numbers.day}{numbers.seq:06d}",
        repair_order_no=f"RO-{cmd.region.upper()}-{numbers.day}-{numbers.seq:06d}",
        channel=cmd.channel,
        region=cmd.region,
        city_tier=cmd.city_tier,
        service_mode=cmd.service_mode,
        customer=cmd.customer,
        product=cmd.product,
        fault_description=cmd.fault_description,
        customer_wants=cmd.customer_wants,
        urgency=cmd.urgency,
        needs_verification=bool(issues),
        verification_issues=issues,
        requested_at=now,
        triage=Triage(
            fault_kind=cmd.fault_kind,
            route=routed.route,
            visit_chargeable=routed.visit_chargeable,
            customer_insists_on_visit=cmd.customer_insists_on_visit,
            reason=routed.reason,
            decision=Decision.of(routed),
        ),
        held_for=tuple(held),
        location=cmd.location,
        preferred_window=cmd.preferred_window,
        key_account_id=cmd.key_account_id,
        job_kind=cmd.job_kind,
        dealer=cmd.dealer,
        customer_id=cmd.customer_id,
    )


def verification_issues(
    pack: PolicyPack,
    customer: Customer,
    product: Product,
    *,
    fault: str,
    customer_wants: str | None,
    urgency: Urgency,
    received_at: datetime,
    card_model: str | None = None,
    card_serial_no: str | None = None,
) -> tuple[str, ...]:
    """INT-3: the facts that are missing or contradictory (never a rejection)."""
    decided = triage.check_request_facts(
        pack,
        facts=triage.RequestFacts(
            customer_name=customer.name,
            address=customer.address,
            phone=customer.phone,
            mobile=customer.mobile,
            product_model=product.model,
            serial_number=product.serial_no,
            purchase_date=product.purchase_date,
            fault_description=fault,
            customer_wants=customer_wants,
            urgency=urgency.value,
            business_customer=customer.organisation is not None,
            organisation=customer.organisation,
            role=customer.role,
            business_critical=customer.business_critical,
            card_model=card_model,
            card_serial_number=card_serial_no,
        ),
        received_at=received_at,
    )
    return (*(f"missing: {m}" for m in decided.missing), *decided.contradictions)


def decide_warranty(
    pack: PolicyPack,
    *,
    ticket_id: str,
    product: Product,
    service_mode: ServiceMode,
    proof: ProofFacts | None,
    sold_on_by_serial: date | None,
    now: datetime,
    guarantee: GuaranteeFacts | None = None,
) -> WarrantyDecided | None:
    """WAR-1..5: decided from the proof shown, else from the serial number's sale date
    (WAR-3), the customer's stated purchase date last (INT-3). With neither proof nor a
    sale record, None: the warranty waits for proof (POST .../warranty)."""
    if proof is None and sold_on_by_serial is None:
        return None
    today = now.astimezone(pack.zone).date()
    decided = _assess(pack, product, proof or ProofFacts(), sold_on_by_serial, today, guarantee)
    depot = service_mode is ServiceMode.DEPOT
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=decided.unit_in_warranty,
        free_visit=decided.free_visit,
        chargeable=not decided.unit_in_warranty if depot else not decided.free_visit,
        reason=decided.reason,
        decided_at=now,
        decision=Decision.of(decided),
        product_line=product.line,
        service_mode=service_mode,
        start_date=decided.start_date,
        start_source=decided.start_source,
        days_paused=decided.days_paused,
        unit_ends_on=decided.unit_ends_on,
        free_on_site_ends_on=decided.free_on_site_ends_on,
        parts=tuple(
            PartCoverage(code=c.code, months=c.months, ends_on=c.ends_on, covered=c.covered)
            for c in decided.parts
        ),
        exclusions=decided.exclusions,
        options=decided.options,
        proof=_shown(proof) if proof is not None else None,
    )


def _assess(
    pack: PolicyPack,
    product: Product,
    p: ProofFacts,
    sold_on_by_serial: date | None,
    today: date,
    guarantee: GuaranteeFacts | None,
) -> warranty.WarrantyDecision:
    """WAR-1..5 on ``today``: the proof, the sale record and the stated date (INT-3)."""
    in_repair, waiting = paused_days(p, guarantee, today)
    try:
        return warranty.assess_warranty(
            pack,
            product=product.line,
            on=today,
            days_in_repair=in_repair,
            days_waiting_for_parts=waiting,
            proof=_proof(p, product, sold_on_by_serial),
            condition=warranty.Condition(
                authorised_installer=p.authorised_installer,
                unauthorised_repair=p.unauthorised_repair,
                misuse=p.misuse,
                natural_disaster=p.natural_disaster,
                supply_voltage_v=p.supply_voltage_v,
                wiring_to_code=p.wiring_to_code,
            ),
            parts=p.suspect_parts,
        )
    except UnknownProduct as exc:
        raise InvalidInput("product.line", str(exc)) from exc


def paused_days(
    proof: ProofFacts | None, guarantee: GuaranteeFacts | None, today: date
) -> tuple[int, int]:
    """WAR-5: (days in repair, days waiting for parts) that move the warranty end later:
    those stated with proof of earlier repairs, plus this submission's days so far (waiting
    for the maker's parts, or in repair)."""
    in_repair = proof.days_in_repair if proof else 0
    waiting = proof.days_waiting_for_parts if proof else 0
    submitted = guarantee.submitted_for_repair_on if guarantee else None
    if guarantee and submitted and submitted <= today:
        days = (today - submitted).days
        if guarantee.waiting_for_maker_parts:
            waiting += days
        else:
            in_repair += days
    return in_repair, waiting


def _dated(earlier: WarrantyDecided | None) -> dict[str, Any]:
    """WAR-5: the date the warranty runs from, kept on a paid visit's decision (INT-5) so
    every consumer still reads the one date intake found."""
    if earlier is None:
        return {}
    return {
        "start_date": earlier.start_date,
        "start_source": earlier.start_source,
        "days_paused": earlier.days_paused,
        "unit_ends_on": earlier.unit_ends_on,
        "free_on_site_ends_on": earlier.free_on_site_ends_on,
    }


def _shown(p: ProofFacts) -> ProofShown:
    """The proof as the event records it (the voltage as decimal text)."""
    data = asdict(p)
    volts = p.supply_voltage_v
    return ProofShown(**{**data, "supply_voltage_v": None if volts is None else str(volts)})


def _facts(p: ProofShown) -> ProofFacts:
    data = p.model_dump()
    volts = p.supply_voltage_v
    return ProofFacts(**{**data, "supply_voltage_v": None if volts is None else Decimal(volts)})


def with_recorded_proof(recorded: ProofShown | None, cmd: DecideWarranty) -> ProofFacts:
    """WAR-3/WAR-4: the fields sent replace the recorded ones; the rest are kept."""
    if recorded is None or cmd.given is None:
        return cmd.proof
    sent = {f: getattr(cmd.proof, f) for f in cmd.given}
    return replace(_facts(recorded), **sent)


def _dates(p: ProofFacts, product: Product, sold_on_by_serial: date | None) -> warranty.Proof:
    """WAR-3: the dates of the documents shown, the sale record, and last the purchase
    date the customer stated (INT-3)."""
    return warranty.Proof(
        invoice_date=p.invoice_date,
        warranty_card_date=p.warranty_card_date,
        other_proof_date=p.other_proof_date,
        serial_lookup_date=sold_on_by_serial,
        stated_purchase_date=product.purchase_date,
    )


def _proof(p: ProofFacts, product: Product, sold_on_by_serial: date | None) -> warranty.Proof:
    """WAR-3: the dates (`_dates`); WAR-4: a card for another unit does not count."""
    return _dates(p, product, sold_on_by_serial).model_copy(
        update={
            "card_matches_product": _same(p.card_model, product.model)
            and _same(p.card_serial_no, product.serial_no),
            "documents_altered": p.documents_altered,
        }
    )


def _same(on_card: str | None, given: str | None) -> bool:
    """WAR-4: the model or serial on the card must be the product's."""
    if on_card is None or given is None:
        return True
    return on_card.strip().casefold() == given.strip().casefold()


def paid_visit(
    ticket_id: str,
    product_line: str,
    service_mode: ServiceMode,
    routed: triage.TriageDecision,
    now: datetime,
) -> WarrantyDecided:
    """INT-5: a visit for misreport, misuse or software is paid: quoted as such (FEE-4)."""
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=False,
        free_visit=False,
        chargeable=True,
        reason=f"INT-5: {routed.reason}: the visit is paid",
        decided_at=now,
        decision=Decision.of(routed),
        product_line=product_line,
        service_mode=service_mode,
    )


def _remedies(
    pack: PolicyPack,
    ticket_id: str,
    cmd: RequestRepair,
    now: datetime,
    sold_on_by_serial: date | None,
) -> RemedyOffered | None:
    """WAR-6..9: offered when a return or an exchange is open to the customer. The date
    of sale is the date the warranty runs from, found as the warranty decision finds it:
    proof (WAR-5, WAR-3), the serial number's sale record (WAR-3), the stated date (INT-3)."""
    g = cmd.guarantee
    if pack.guarantees is None:
        return None
    if not (g.performance_fault or g.failed_repairs or g.waiting_for_maker_parts):
        return None
    dates = _dates(cmd.proof or ProofFacts(), cmd.product, sold_on_by_serial)
    sold_on, _ = warranty.start_of(dates)
    today = now.astimezone(pack.zone).date()
    if sold_on is None or sold_on > today:
        return None
    in_repair, waiting = paused_days(cmd.proof, g, today)
    in_warranty = _known(pack, cmd.product.line) and (
        warranty.assess_warranty(
            pack,
            product=cmd.product.line,
            on=today,
            proof=dates,
            days_in_repair=in_repair,
            days_waiting_for_parts=waiting,
        ).unit_in_warranty
    )
    decided = guarantees.three_guarantees_remedy(
        pack,
        sold_on=sold_on,
        reported_on=today,
        performance_fault=g.performance_fault,
        in_warranty=in_warranty,
        failed_repairs=g.failed_repairs,
        same_model_available=g.same_model_available,
        submitted_for_repair_on=g.submitted_for_repair_on,
        waiting_for_maker_parts=g.waiting_for_maker_parts,
    )
    if not {"return", "exchange"} & set(decided.kinds):
        return None
    return RemedyOffered(
        ticket_id=ticket_id,
        remedies=tuple(
            RemedyOption(kind=m.kind, free=m.free, depreciation=m.depreciation, note=m.note)
            for m in decided.remedies
        ),
        reason=decided.reason,
        offered_at=now,
        decision=Decision.of(decided),
    )


def _known(pack: PolicyPack, line: str) -> bool:
    try:
        pack.product_warranty(line)
    except UnknownProduct:
        return False
    return True


def _depot_intake(
    pack: PolicyPack, ticket_id: str, cmd: RequestRepair, numbers: TicketNumbers, now: datetime
) -> DepotIntakeRecorded:
    """INT-7: queue number, pre-inspection, pickup voucher, backup reminder, promised time."""
    assert cmd.depot is not None and numbers.queue_place is not None
    promised = None
    rule_ids = ["INT-7"]
    try:
        deadlines = dispatch_rules.response_deadlines(
            pack, received_at=now, product_line=cmd.product.line
        )
        promised = deadlines.depot_repair_by
        rule_ids += list(deadlines.rule_ids)
    except UnknownProduct:
        pass
    return DepotIntakeRecorded(
        ticket_id=ticket_id,
        queue_no=f"Q{numbers.day[4:]}-{numbers.queue_place:03d}",
        voucher_no=f"V{numbers.day}{numbers.seq:06d}",
        visible_damage=cmd.depot.visible_damage,
        non_standard_parts=cmd.depot.non_standard_parts,
        data_backup_reminded=cmd.depot.data_backup_reminded,
        voucher_signed=cmd.depot.voucher_signed,
        inspection_expected_at=now + timedelta(minutes=pack.dispatch.depot_inspection_minutes),
        promised_repair_by=promised,
        decision=Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=tuple(rule_ids)),
        recorded_at=now,
    )


def request_outcome(events: Sequence[Event]) -> dict[str, Any]:
    """What a new request's events tell the caller: its numbers (INT-2), whether it needs
    verification (INT-3), its triage (INT-5), warranty, remedies and depot intake."""
    first = events[0]
    assert isinstance(first, RepairRequested)
    out: dict[str, Any] = {
        "service_request_no": first.service_request_no,
        "repair_order_no": first.repair_order_no,
        "needs_verification": first.needs_verification,
        "verification_issues": list(first.verification_issues),
        "route": first.triage.route if first.triage else None,
        "held_for": list(first.held_for),
        "warranty": None,
        "remedies": [],
        "queue_no": None,
        "voucher_no": None,
        "promised_repair_by": None,
    }
    for e in events:
        if isinstance(e, WarrantyDecided):
            out["warranty"] = {
                "unit_in_warranty": e.unit_in_warranty,
                "free_visit": e.free_visit,
                "chargeable": e.chargeable,
                "reason": e.reason,
                "rule_ids": list(e.decision.rule_ids),
            }
        elif isinstance(e, RemedyOffered):
            out["remedies"] = [m.kind for m in e.remedies]
        elif isinstance(e, DepotIntakeRecorded):
            out["queue_no"], out["voucher_no"] = e.queue_no, e.voucher_no
            out["promised_repair_by"] = e.promised_repair_by
    return out


def decide_duplicate(ticket: IntakeTicket, cmd: RequestRepair, *, now: datetime) -> list[Event]:
    """The same serial number reported again while this ticket is open: noted on it."""
    _open(ticket, "report a duplicate")
    assert cmd.product.serial_no is not None
    return [
        DuplicateReported(
            ticket_id=ticket.ticket_id,
            channel=cmd.channel,
            serial_no=cmd.product.serial_no,
            reported_at=now,
        )
    ]


def duplicate_refusal(serial_no: str, open_ticket_id: str) -> IllegalTransition:
    """What the caller of a duplicate request is told once it is noted on the open ticket."""
    return IllegalTransition(
        f"serial number {serial_no} is already on open ticket {open_ticket_id}",
        DUPLICATE_OF_OPEN_TICKET,
    )


# -- commands on an open ticket ------------------------------------------------------------


def _open(ticket: IntakeTicket, action: str) -> RepairRequested:
    if ticket.state != "open" or ticket.request is None:
        raise IllegalTransition(f"cannot {action}: the ticket is {ticket.status}", ticket.status)
    return ticket.request


def decide_verification(
    ticket: IntakeTicket, cmd: VerifyRequest, *, pack: PolicyPack, now: datetime
) -> list[Event]:
    """INT-3: verification completes the facts; the ticket proceeds once none is missing."""
    request = _open(ticket, "verify")
    if not ticket.needs_verification:
        raise IllegalTransition("the request needs no verification", ticket.status)
    still = verification_issues(
        pack,
        cmd.customer,
        cmd.product,
        fault=request.fault_description,
        customer_wants=cmd.customer_wants,
        urgency=cmd.urgency,
        received_at=now,
    )
    if still:
        raise IllegalTransition(
            "verification incomplete, still: " + "; ".join(still), ticket.status
        )
    verified = RequestVerified(
        ticket_id=ticket.ticket_id,
        customer=cmd.customer,
        product=cmd.product,
        customer_wants=cmd.customer_wants,
        urgency=cmd.urgency,
        location=cmd.location,
        resolved_issues=request.verification_issues,
        verified_with=("dispatcher", "customer"),
        verified_at=now,
    )
    return [verified]


def decide_guidance(
    ticket: IntakeTicket, cmd: GiveGuidance, *, pack: PolicyPack, now: datetime
) -> list[Event]:
    """INT-5 phone guidance, with the FBK-1 callback time (2 hours later)."""
    _open(ticket, "give phone guidance")
    if HOLD_GUIDANCE not in ticket.holds:
        raise IllegalTransition("triage sent this ticket to a visit, not guidance", ticket.status)
    callback = followup.callback_after_guidance(pack, guided_at=now)
    given = PhoneGuidanceGiven(
        ticket_id=ticket.ticket_id,
        guided_at=now,
        notes=cmd.notes,
        callback_due_at=callback.due_at,
        decision=Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=("INT-5", "FBK-1")),
    )
    return [given]


def decide_visit_request(
    ticket: IntakeTicket, cmd: RequestVisit, *, pack: PolicyPack, now: datetime
) -> list[Event]:
    """INT-5: a customer who refuses guidance and insists gets a visit; a misreport,
    misuse or software visit is paid, so a chargeable WarrantyDecided goes with it."""
    request = _open(ticket, "request a visit")
    if HOLD_GUIDANCE not in ticket.holds:
        raise IllegalTransition("a visit is already on its way", ticket.status)
    assert request.triage is not None
    routed = triage.triage(
        pack,
        fault=request.triage.fault_kind,  # type: ignore[arg-type]
        customer_insists_on_visit=True,
        prefers_depot=request.service_mode is ServiceMode.DEPOT,
    )
    events: list[Event] = [
        VisitRequested(
            ticket_id=ticket.ticket_id,
            reason=cmd.reason,
            chargeable=routed.visit_chargeable,
            requested_at=now,
            decision=Decision.of(routed),
        )
    ]
    if routed.visit_chargeable:
        line, mode = request.product.line, request.service_mode
        paid = paid_visit(ticket.ticket_id, line, mode, routed, now)
        events.append(paid.model_copy(update=_dated(ticket.warranty)))
    return events


def decide_later_warranty(
    ticket: IntakeTicket, cmd: DecideWarranty, *, pack: PolicyPack, now: datetime
) -> list[Event]:
    """WAR-1..5 decided after intake, when the proof is shown later."""
    request = _open(ticket, "decide the warranty")
    earlier = ticket.warranty
    looked_up = earlier and earlier.start_source == "serial_lookup"
    decided = decide_warranty(
        pack,
        ticket_id=ticket.ticket_id,
        product=request.product,
        service_mode=request.service_mode,
        proof=with_recorded_proof(earlier.proof if earlier else None, cmd),
        sold_on_by_serial=earlier.start_date if earlier and looked_up else None,
        now=now,
    )
    assert decided is not None
    return [decided]


def decide_remedy(ticket: IntakeTicket, cmd: ChooseRemedy, *, now: datetime) -> list[Event]:
    """WAR-6..9: the customer's choice; a return or an exchange closes the ticket."""
    _open(ticket, "choose a remedy")
    if not ticket.remedies:
        raise IllegalTransition("no three-guarantees remedy was offered", ticket.status)
    if ticket.remedy is not None:
        raise IllegalTransition(f"the customer already chose {ticket.remedy}", ticket.status)
    chosen = next((m for m in ticket.remedies if m.kind == cmd.kind), None)
    if chosen is None:
        offered = ", ".join(m.kind for m in ticket.remedies)
        raise IllegalTransition(f"{cmd.kind} is not offered (offered: {offered})", ticket.status)
    events: list[Event] = [RemedyChosen(ticket_id=ticket.ticket_id, remedy=chosen, chosen_at=now)]
    if cmd.kind in ("return", "exchange"):
        events.append(
            TicketClosed(
                ticket_id=ticket.ticket_id,
                reason="returned" if cmd.kind == "return" else "exchanged",
                closed_at=now,
            )
        )
    return events


def decide_cancellation(
    ticket: IntakeTicket, cmd: CancelTicket, *, repair_completed: bool, now: datetime
) -> list[Event]:
    """An open ticket is cancelled unless dispatch has completed its repair."""
    _open(ticket, "cancel")
    if repair_completed:
        raise IllegalTransition("the repair is already completed", "repair_completed")
    return [TicketCancelled(ticket_id=ticket.ticket_id, reason=cmd.reason, cancelled_at=now)]


def decide_ready_call(
    ticket: IntakeTicket, cmd: CallForPickup, *, repair_completed: bool, now: datetime
) -> list[Event]:
    """INT-8: when repaired the customer is called."""
    _open(ticket, "call for pickup")
    if ticket.depot is None:
        raise IllegalTransition("not a depot ticket: nothing to pick up", ticket.status)
    if not repair_completed:
        raise IllegalTransition("the repair is not completed yet", "in_repair")
    called = CustomerCalledForPickup(ticket_id=ticket.ticket_id, reached=cmd.reached, called_at=now)
    return [called]


def decide_pickup(
    ticket: IntakeTicket, cmd: HandOver, *, pack: PolicyPack, now: datetime
) -> list[Event]:
    """INT-8: pickup checks the voucher; the customer tests the machine and signs."""
    _open(ticket, "hand over")
    if ticket.depot is None:
        raise IllegalTransition("not a depot ticket: nothing to pick up", ticket.status)
    if not ticket.called_for_pickup:
        raise IllegalTransition("the machine is not ready for pickup", "in_repair")
    if cmd.voucher_no != ticket.depot.voucher_no:
        raise IllegalTransition("the pickup voucher does not match", "ready_for_pickup")
    if not (cmd.tested_by_customer and cmd.acceptance_signed):
        raise IllegalTransition(
            "the customer tests the machine and signs the acceptance first", "ready_for_pickup"
        )
    picked = PickedUp(
        ticket_id=ticket.ticket_id,
        voucher_no=cmd.voucher_no,
        tested_by_customer=cmd.tested_by_customer,
        acceptance_signed=cmd.acceptance_signed,
        fee_told_fen=cmd.fee_told_fen,
        picked_up_at=now,
        decision=Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=("INT-8",)),
    )
    return [picked]
