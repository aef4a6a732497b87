"""Intake decisions: pure, over the policy pack and the request's facts.

`evolve` folds a ticket's intake events into `IntakeTicket`; each `decide_*` takes
that state and the command's facts and returns the events to append, or raises
`IllegalTransition` naming the state the ticket is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

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
from repairline_rules.packs import PolicyPack, UnknownProduct

# INT-7: an inspection takes about 20 minutes (the manual's estimate, not a pack number).
INSPECTION_MINUTES = 20

HOLD_GUIDANCE = "phone_guidance"
HOLD_REMEDY = "remedy_choice"


class IllegalTransition(Exception):
    """A command the ticket's current state does not allow (answered 409)."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class RequestRefused(Exception):
    """INT-4: the request is refused with a reason; the refusal is still recorded."""

    def __init__(self, event: RepairRequestRefused) -> None:
        super().__init__(event.reason)
        self.event = event


class NotDecidable(ValueError):
    """The pack has no terms for what was asked (e.g. an unknown product line)."""


def _decision(d: object) -> Decision:
    return Decision(pack_id=d.pack_id, pack_version=d.pack_version, rule_ids=d.rule_ids)  # type: ignore[attr-defined]


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


def fold(ticket_id: str, events: Iterable[Event]) -> IntakeTicket:
    ticket = IntakeTicket(ticket_id)
    for event in events:
        ticket = evolve(ticket, event)
    return ticket


# -- the request -----------------------------------------------------------------------


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


@dataclass(frozen=True)
class NewRequest:
    """Everything a channel brings (INT-2, INT-3) plus intake's numbering."""

    ticket_id: str
    service_request_no: str
    repair_order_no: str
    channel: Channel
    region: str
    city_tier: CityTier
    service_mode: ServiceMode
    customer: Customer
    product: Product
    fault_description: str
    customer_wants: str | None
    urgency: Urgency
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
    queue_no: str | None = None
    voucher_no: str | None = None
    sold_on_by_serial: date | None = None


def decide_request(
    pack: PolicyPack,
    *,
    ticket_id: str,
    service_request_no: str,
    repair_order_no: str,
    channel: Channel,
    region: str,
    city_tier: CityTier,
    service_mode: ServiceMode,
    customer: Customer,
    product: Product,
    fault_description: str,
    customer_wants: str | None,
    urgency: Urgency,
    now: datetime,
) -> RepairRequested:
    """INT-1, INT-2, INT-3: record the request; incomplete facts mark it needs-verification."""
    request = NewRequest(
        ticket_id=ticket_id,
        service_request_no=service_request_no,
        repair_order_no=repair_order_no,
        channel=channel,
        region=region,
        city_tier=city_tier,
        service_mode=service_mode,
        customer=customer,
        product=product,
        fault_description=fault_description,
        customer_wants=customer_wants,
        urgency=urgency,
    )
    first = decide_intake(pack, request, now=now)[0]
    assert isinstance(first, RepairRequested)
    return first


def decide_intake(pack: PolicyPack, r: NewRequest, *, now: datetime) -> list[Event]:
    """INT-1..7, WAR-1..9: the events a new request starts with.

    RepairRequested (with the INT-5 triage), then as they apply: WarrantyDecided
    (proof shown, or the serial number's sale date; or a paid visit), RemedyOffered
    (three guarantees) and DepotIntakeRecorded. A dealer drop-off without the end
    customer raises RequestRefused (INT-4).
    """
    if r.channel is Channel.DEALER:
        # INT-4: the dealer must name the end customer and a contact.
        verdict = triage.check_dealer_drop_off(
            pack,
            end_customer_name=r.customer.name,
            end_customer_contact=r.customer.mobile or r.customer.phone,
        )
        if not verdict.accepted:
            raise RequestRefused(
                RepairRequestRefused(
                    ticket_id=r.ticket_id,
                    channel=r.channel,
                    region=r.region,
                    dealer=r.dealer,
                    reason=verdict.reason,
                    decision=_decision(verdict),
                    refused_at=now,
                )
            )
    proof = r.proof or ProofFacts()
    issues = verification_issues(
        pack,
        r.customer,
        r.product,
        fault=r.fault_description,
        customer_wants=r.customer_wants,
        urgency=r.urgency,
        received_at=now,
        card_model=proof.card_model,
        card_serial_no=proof.card_serial_no,
    )
    depot_mode = r.service_mode is ServiceMode.DEPOT
    routed = triage.triage(
        pack,
        fault=r.fault_kind,  # type: ignore[arg-type]
        customer_insists_on_visit=r.customer_insists_on_visit,
        prefers_depot=depot_mode,
    )
    remedy = _remedies(pack, r, now)
    held: list[str] = []
    if routed.route == "phone_guidance":
        held.append(HOLD_GUIDANCE)
    if remedy is not None:
        held.append(HOLD_REMEDY)
    events: list[Event] = [
        RepairRequested(
            ticket_id=r.ticket_id,
            service_request_no=r.service_request_no,
            repair_order_no=r.repair_order_no,
            channel=r.channel,
            region=r.region,
            city_tier=r.city_tier,
            service_mode=r.service_mode,
            customer=r.customer,
            product=r.product,
            fault_description=r.fault_description,
            customer_wants=r.customer_wants,
            urgency=r.urgency,
            needs_verification=bool(issues),
            verification_issues=issues,
            requested_at=now,
            triage=Triage(
                fault_kind=r.fault_kind,
                route=routed.route,
                visit_chargeable=routed.visit_chargeable,
                customer_insists_on_visit=r.customer_insists_on_visit,
                reason=routed.reason,
                decision=_decision(routed),
            ),
            held_for=tuple(held),
            location=r.location,
            preferred_window=r.preferred_window,
            key_account_id=r.key_account_id,
            job_kind=r.job_kind,
            dealer=r.dealer,
        )
    ]
    decided = decide_warranty(
        pack,
        ticket_id=r.ticket_id,
        product_line=r.product.line,
        service_mode=r.service_mode,
        proof=r.proof,
        sold_on_by_serial=r.sold_on_by_serial,
        now=now,
        model=r.product.model,
        serial_no=r.product.serial_no,
    )
    if routed.route != "phone_guidance" and routed.visit_chargeable:
        decided = paid_visit(pack, r.ticket_id, r.product.line, r.service_mode, routed, now)
    if decided is not None:
        events.append(decided)
    if remedy is not None:
        events.append(remedy)
    if depot_mode and r.depot is not None:
        events.append(_depot_intake(pack, r, now))
    return events


def decide_warranty(
    pack: PolicyPack,
    *,
    ticket_id: str,
    product_line: str,
    service_mode: ServiceMode,
    proof: ProofFacts | None,
    sold_on_by_serial: date | None,
    now: datetime,
    model: str | None = None,
    serial_no: str | None = None,
) -> WarrantyDecided | None:
    """WAR-1..5: decided from the proof shown, else from the serial number's sale date
    (WAR-3). With neither, None: the warranty waits for proof (POST .../warranty)."""
    if proof is None and sold_on_by_serial is None:
        return None
    p = proof or ProofFacts()
    try:
        decided = warranty.assess_warranty(
            pack,
            product=product_line,
            on=now.astimezone(pack.zone).date(),
            proof=warranty.Proof(
                invoice_date=p.invoice_date,
                warranty_card_date=p.warranty_card_date,
                other_proof_date=p.other_proof_date,
                serial_lookup_date=sold_on_by_serial,
                card_matches_product=_same(p.card_model, model)
                and _same(p.card_serial_no, serial_no),
                documents_altered=p.documents_altered,
            ),
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
        raise NotDecidable(str(exc)) from exc
    depot = service_mode is ServiceMode.DEPOT
    chargeable = not decided.unit_in_warranty if depot else not decided.free_visit
    return WarrantyDecided(
        ticket_id=ticket_id,
        unit_in_warranty=decided.unit_in_warranty,
        free_visit=decided.free_visit,
        chargeable=chargeable,
        reason=decided.reason,
        decided_at=now,
        decision=_decision(decided),
        product_line=product_line,
        service_mode=service_mode,
        start_date=decided.start_date,
        start_source=decided.start_source,
        unit_ends_on=decided.unit_ends_on,
        free_on_site_ends_on=decided.free_on_site_ends_on,
        parts=tuple(
            PartCoverage(code=c.code, months=c.months, ends_on=c.ends_on, covered=c.covered)
            for c in decided.parts
        ),
        exclusions=decided.exclusions,
        options=decided.options,
    )


def _same(on_card: str | None, given: str | None) -> bool:
    """WAR-4: the model or serial on the card must be the product's."""
    if on_card is None or given is None:
        return True
    return on_card.strip().casefold() == given.strip().casefold()


def paid_visit(
    pack: PolicyPack,
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
        decision=_decision(routed),
        product_line=product_line,
        service_mode=service_mode,
    )


def _remedies(pack: PolicyPack, r: NewRequest, now: datetime) -> RemedyOffered | None:
    """WAR-6..9: offered when a return or an exchange is open to the customer."""
    g = r.guarantee
    sold_on = (r.proof and r.proof.invoice_date) or r.product.purchase_date
    if pack.guarantees is None or sold_on is None:
        return None
    if not (g.performance_fault or g.failed_repairs or g.waiting_for_maker_parts):
        return None
    today = now.astimezone(pack.zone).date()
    if sold_on > today:
        return None
    in_warranty = _known(pack, r.product.line) and (
        warranty.assess_warranty(
            pack, product=r.product.line, on=today, proof=warranty.Proof(invoice_date=sold_on)
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
        ticket_id=r.ticket_id,
        remedies=tuple(
            RemedyOption(kind=m.kind, free=m.free, depreciation=m.depreciation, note=m.note)
            for m in decided.remedies
        ),
        reason=decided.reason,
        offered_at=now,
        decision=_decision(decided),
    )


def _known(pack: PolicyPack, line: str) -> bool:
    try:
        pack.product_warranty(line)
    except UnknownProduct:
        return False
    return True


def _depot_intake(pack: PolicyPack, r: NewRequest, now: datetime) -> DepotIntakeRecorded:
    """INT-7: queue number, pre-inspection, pickup voucher, backup reminder, promised time."""
    assert r.depot is not None and r.queue_no and r.voucher_no
    promised = None
    rule_ids = ["INT-7"]
    try:
        deadlines = dispatch_rules.response_deadlines(
            pack, received_at=now, product_line=r.product.line
        )
        promised = deadlines.depot_repair_by
        rule_ids += list(deadlines.rule_ids)
    except UnknownProduct:
        pass
    return DepotIntakeRecorded(
        ticket_id=r.ticket_id,
        queue_no=r.queue_no,
        voucher_no=r.voucher_no,
        visible_damage=r.depot.visible_damage,
        non_standard_parts=r.depot.non_standard_parts,
        data_backup_reminded=r.depot.data_backup_reminded,
        voucher_signed=r.depot.voucher_signed,
        inspection_expected_at=now + timedelta(minutes=INSPECTION_MINUTES),
        promised_repair_by=promised,
        decision=Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=tuple(rule_ids)),
        recorded_at=now,
    )


# -- commands on an open ticket ------------------------------------------------------------


def _open(ticket: IntakeTicket, action: str) -> RepairRequested:
    if ticket.state != "open" or ticket.request is None:
        raise IllegalTransition(f"cannot {action}: the ticket is {ticket.status}", ticket.status)
    return ticket.request


def decide_verification(
    pack: PolicyPack,
    ticket: IntakeTicket,
    *,
    customer: Customer,
    product: Product,
    customer_wants: str | None,
    urgency: Urgency,
    location: GeoPoint | None,
    now: datetime,
) -> RequestVerified:
    """INT-3: verification completes the facts; the ticket proceeds once none is missing."""
    request = _open(ticket, "verify")
    if not ticket.needs_verification:
        raise IllegalTransition("the request needs no verification", ticket.status)
    still = verification_issues(
        pack,
        customer,
        product,
        fault=request.fault_description,
        customer_wants=customer_wants,
        urgency=urgency,
        received_at=now,
    )
    if still:
        raise IllegalTransition(
            "verification incomplete, still: " + "; ".join(still), ticket.status
        )
    return RequestVerified(
        ticket_id=ticket.ticket_id,
        customer=customer,
        product=product,
        customer_wants=customer_wants,
        urgency=urgency,
        location=location,
        resolved_issues=request.verification_issues,
        verified_with=("dispatcher", "customer"),
        verified_at=now,
    )


def decide_guidance(
    pack: PolicyPack, ticket: IntakeTicket, *, notes: str, now: datetime
) -> PhoneGuidanceGiven:
    """INT-5 phone guidance, with the FBK-1 callback time (2 hours later)."""
    _open(ticket, "give phone guidance")
    if HOLD_GUIDANCE not in ticket.holds:
        raise IllegalTransition("triage sent this ticket to a visit, not guidance", ticket.status)
    callback = followup.callback_after_guidance(pack, guided_at=now)
    return PhoneGuidanceGiven(
        ticket_id=ticket.ticket_id,
        guided_at=now,
        notes=notes,
        callback_due_at=callback.due_at,
        decision=Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=("INT-5", "FBK-1")),
    )


def decide_visit_request(
    pack: PolicyPack, ticket: IntakeTicket, *, reason: str, now: datetime
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
            reason=reason,
            chargeable=routed.visit_chargeable,
            requested_at=now,
            decision=_decision(routed),
        )
    ]
    if routed.visit_chargeable:
        events.append(
            paid_visit(
                pack, ticket.ticket_id, request.product.line, request.service_mode, routed, now
            )
        )
    return events


def decide_remedy(ticket: IntakeTicket, *, kind: str, now: datetime) -> list[Event]:
    """WAR-6..9: the customer's choice; a return or an exchange closes the ticket."""
    _open(ticket, "choose a remedy")
    if not ticket.remedies:
        raise IllegalTransition("no three-guarantees remedy was offered", ticket.status)
    if ticket.remedy is not None:
        raise IllegalTransition(f"the customer already chose {ticket.remedy}", ticket.status)
    chosen = next((m for m in ticket.remedies if m.kind == kind), None)
    if chosen is None:
        offered = ", ".join(m.kind for m in ticket.remedies)
        raise IllegalTransition(f"{kind} is not offered (offered: {offered})", ticket.status)
    events: list[Event] = [RemedyChosen(ticket_id=ticket.ticket_id, remedy=chosen, chosen_at=now)]
    if kind in ("return", "exchange"):
        events.append(
            TicketClosed(
                ticket_id=ticket.ticket_id,
                reason="returned" if kind == "return" else "exchanged",
                closed_at=now,
            )
        )
    return events


def decide_cancellation(
    ticket: IntakeTicket, *, reason: str, repair_completed: bool, now: datetime
) -> TicketCancelled:
    _open(ticket, "cancel")
    if repair_completed:
        raise IllegalTransition("the repair is already completed", "repair_completed")
    return TicketCancelled(ticket_id=ticket.ticket_id, reason=reason, cancelled_at=now)


def decide_ready_call(
    ticket: IntakeTicket, *, repair_completed: bool, reached: bool, now: datetime
) -> CustomerCalledForPickup:
    """INT-8: when repaired the customer is called."""
    _open(ticket, "call for pickup")
    if ticket.depot is None:
        raise IllegalTransition("not a depot ticket: nothing to pick up", ticket.status)
    if not repair_completed:
        raise IllegalTransition("the repair is not completed yet", "in_repair")
    return CustomerCalledForPickup(ticket_id=ticket.ticket_id, reached=reached, called_at=now)


def decide_pickup(
    pack: PolicyPack,
    ticket: IntakeTicket,
    *,
    voucher_no: str,
    tested_by_customer: bool,
    acceptance_signed: bool,
    fee_told_fen: int | None,
    now: datetime,
) -> PickedUp:
    """INT-8: pickup checks the voucher; the customer tests the machine and signs."""
    _open(ticket, "hand over")
    if ticket.depot is None:
        raise IllegalTransition("not a depot ticket: nothing to pick up", ticket.status)
    if not ticket.called_for_pickup:
        raise IllegalTransition("the machine is not ready for pickup", "in_repair")
    if voucher_no != ticket.depot.voucher_no:
        raise IllegalTransition("the pickup voucher does not match", "ready_for_pickup")
    if not (tested_by_customer and acceptance_signed):
        raise IllegalTransition(
            "the customer tests the machine and signs the acceptance first", "ready_for_pickup"
        )
    return PickedUp(
        ticket_id=ticket.ticket_id,
        voucher_no=voucher_no,
        tested_by_customer=tested_by_customer,
        acceptance_signed=acceptance_signed,
        fee_told_fen=fee_told_fen,
        picked_up_at=now,
        decision=Decision(pack_id=pack.id, pack_version=pack.version, rule_ids=("INT-8",)),
    )


def decide_later_warranty(
    pack: PolicyPack, ticket: IntakeTicket, *, proof: ProofFacts, now: datetime
) -> WarrantyDecided:
    """WAR-1..5 decided after intake, when the proof is shown later."""
    request = _open(ticket, "decide the warranty")
    decided = decide_warranty(
        pack,
        ticket_id=ticket.ticket_id,
        product_line=request.product.line,
        service_mode=request.service_mode,
        proof=proof,
        sold_on_by_serial=None,
        now=now,
        model=request.product.model,
        serial_no=request.product.serial_no,
    )
    assert decided is not None
    return decided


def duplicate_report(
    ticket_id: str, *, channel: Channel, serial_no: str, now: datetime
) -> DuplicateReported:
    """The same serial number reported again while its ticket is open."""
    return DuplicateReported(
        ticket_id=ticket_id, channel=channel, serial_no=serial_no, reported_at=now
    )


def event_names(events: Sequence[Event]) -> list[str]:
    return [type(e).__name__ for e in events]
