"""The ticket's billing account (stream `<ticket id>`): quotes (FEE-4) and the invoice
after completion (FEE-1, WAR-1). Pure: times are passed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import reduce
from typing import Any, Literal

from repairline_billing.domain.pricing import (
    PricingContext,
    PriorRepair,
    QuoteRequest,
    Reward,
    TicketFacts,
    decided_by,
    price,
    warranty_from,
)
from repairline_contracts.base import Event
from repairline_contracts.billing import (
    ChargeAssessed,
    ChargeInputs,
    ChargeLine,
    QuoteAccepted,
    QuoteInputs,
    QuoteIssued,
    QuoteRefused,
    RemoteServiceReported,
    ServiceFormHandedIn,
    ServiceRecordFiled,
)
from repairline_rules import fees, ledger
from repairline_rules.packs import NotInPack, PolicyPack, UnknownProduct
from repairline_rules.refusals import IllegalTransition, InvalidInput


@dataclass(frozen=True)
class Quote:
    quote_id: str
    total_fen: int
    lines: tuple[ChargeLine, ...]
    inputs: QuoteInputs
    status: str = "issued"  # issued | accepted | refused | superseded


@dataclass(frozen=True)
class Account:
    """A ticket as billing sees it: a fold of billing's own events on the ticket's stream."""

    ticket_id: str
    quotes: tuple[Quote, ...] = ()
    invoiced: bool = False
    version: int = 0

    @property
    def latest(self) -> Quote | None:
        return self.quotes[-1] if self.quotes else None

    @property
    def accepted(self) -> Quote | None:
        for quote in reversed(self.quotes):
            if quote.status == "accepted":
                return quote
        return None

    @property
    def refused(self) -> bool:
        return self.accepted is None and any(q.status == "refused" for q in self.quotes)

    @property
    def state(self) -> str:
        if self.invoiced:
            return "invoiced"
        if self.accepted is not None:
            return "quote_accepted"
        if self.latest is None:
            return "no_quote"
        return f"quote_{self.latest.status}"


def _set_status(quotes: tuple[Quote, ...], quote_id: str, status: str) -> tuple[Quote, ...]:
    return tuple(replace(q, status=status) if q.quote_id == quote_id else q for q in quotes)


def evolve(account: Account, event: Event) -> Account:
    account = replace(account, version=account.version + 1)
    match event:
        case QuoteIssued():
            earlier = tuple(
                replace(q, status="superseded") if q.status == "issued" else q
                for q in account.quotes
            )
            quote = Quote(event.quote_id, event.total_fen, event.lines, event.inputs)
            return replace(account, quotes=(*earlier, quote))
        case QuoteAccepted():
            quotes = tuple(
                replace(q, status="superseded") if q.status == "accepted" else q
                for q in account.quotes
            )
            return replace(account, quotes=_set_status(quotes, event.quote_id, "accepted"))
        case QuoteRefused():
            return replace(account, quotes=_set_status(account.quotes, event.quote_id, "refused"))
        case ChargeAssessed():
            return replace(account, invoiced=True)
    return account


def fold(ticket_id: str, events: Iterable[Event]) -> Account:
    return reduce(evolve, events, Account(ticket_id))


def _check_part_codes(pack: PolicyPack, request: QuoteRequest) -> None:
    """FEE-1: a part is quoted from the pack's price list; a code not on it is a refusal
    naming the part (422), with the codes the list has."""
    for n, (code, _) in enumerate(request.parts):
        if code not in pack.fees.parts:
            known = ", ".join(sorted(pack.fees.parts))
            raise InvalidInput(f"parts.{n}.code", f"not on the price list; known: {known}")


def decide_quote(
    pack: PolicyPack,
    account: Account,
    facts: TicketFacts,
    request: QuoteRequest,
    *,
    quote_id: str,
    now: datetime,
    prior: Sequence[PriorRepair] = (),
    reward: Reward | None = None,
    contract_start: date | None = None,
) -> QuoteIssued:
    """FEE-4: the quote stated before work. Not after the invoice."""
    if account.invoiced:
        raise IllegalTransition("the ticket is already invoiced", account.state)
    _check_part_codes(pack, request)
    pricing = price(
        pack,
        facts,
        request,
        on=now.astimezone(pack.zone).date(),
        prior=prior,
        reward=reward,
        contract_start=contract_start,
    )
    return QuoteIssued(
        ticket_id=facts.ticket_id,
        quote_id=quote_id,
        engineer_id=request.engineer_id or facts.engineer_id,
        lines=pricing.lines,
        total_fen=sum(line.amount_fen for line in pricing.lines),
        needs_customer_agreement=pricing.charge.needs_customer_agreement,
        inputs=QuoteInputs(
            product_line=facts.product_line,
            city_tier=facts.city_tier,
            service_mode=facts.service_mode,
            unit_in_warranty=pricing.unit_in_warranty,
            free_visit=pricing.free_visit,
            warranty_source=pricing.warranty_source,  # type: ignore[arg-type]
            warranty_reason=pricing.warranty_reason,
            parts=pricing.parts,
            distance_km=str(request.distance_km),
            agreed_travel_fee_fen=request.agreed_travel_fee_fen,
            extra_wiring_m=request.extra_wiring_m,
            covered_by_contract=any(line.rule_id == "FEE-8" for line in pricing.lines),
        ),
        decision=decided_by(pricing.charge, (*pricing.rule_ids, "FEE-4")),
        issued_at=now,
    )


def _open_quote(account: Account, quote_id: str) -> Quote:
    if account.invoiced:
        raise IllegalTransition("the ticket is already invoiced", account.state)
    latest = account.latest
    if latest is None or all(q.quote_id != quote_id for q in account.quotes):
        raise IllegalTransition(f"no quote {quote_id} on this ticket", account.state)
    if latest.quote_id != quote_id:
        raise IllegalTransition(f"quote {quote_id} was superseded by a later quote", account.state)
    if latest.status != "issued":
        raise IllegalTransition(f"quote {quote_id} is already {latest.status}", account.state)
    return latest


def decide_acceptance(account: Account, quote_id: str, *, now: datetime) -> QuoteAccepted:
    """FEE-4: the customer accepts the latest quote; work may start."""
    quote = _open_quote(account, quote_id)
    return QuoteAccepted(
        ticket_id=account.ticket_id, quote_id=quote_id, total_fen=quote.total_fen, accepted_at=now
    )


def decide_refusal(account: Account, quote_id: str, *, reason: str, now: datetime) -> QuoteRefused:
    """FEE-4: the customer refuses: no work and no charge."""
    _open_quote(account, quote_id)
    return QuoteRefused(
        ticket_id=account.ticket_id, quote_id=quote_id, refused_at=now, reason=reason
    )


def decide_charge(
    pack: PolicyPack,
    facts: TicketFacts,
    *,
    completed_at: datetime,
    account: Account | None = None,
    prior: Sequence[PriorRepair] = (),
    reward: Reward | None = None,
    contract_start: date | None = None,
    parts_replaced: Sequence[str] = (),
) -> ChargeAssessed:
    """The invoice after completion (FEE-1, WAR-1, FEE-4), itemised, with every input.

    With an accepted quote the invoice bills the quote's lines, and names any part the
    repair record says was replaced but was not quoted (not charged: FEE-4). A refused
    quote means no work and no charge. Without a quote the repair is charged by the
    tariff, with the parts of the repair record from the price list, free under
    warranty (WAR-1); a part not on the price list is listed at 0.
    """
    account = account or Account(facts.ticket_id)
    on = completed_at.astimezone(pack.zone).date()
    accepted = account.accepted
    dated = warranty_from(facts)
    free_reason = None
    unquoted: list[str] = []
    if accepted is not None:
        lines = accepted.lines
        parts = accepted.inputs.parts
        unit_in_warranty = accepted.inputs.unit_in_warranty
        rule_ids: tuple[str, ...] = tuple(line.rule_id for line in lines)
        quoted = {p.code for p in parts}
        unquoted = list(dict.fromkeys(c for c in parts_replaced if c not in quoted))
    else:
        replaced = _count(parts_replaced) if not account.refused else ()
        listed = tuple((c, n) for c, n in replaced if c in pack.fees.parts)
        pricing = price(
            pack,
            facts,
            QuoteRequest(parts=listed),
            on=on,
            prior=prior,
            reward=reward,
            contract_start=contract_start,
        )
        lines, parts = pricing.lines, pricing.parts
        unit_in_warranty, free_reason = pricing.unit_in_warranty, pricing.free_reason
        rule_ids = pricing.rule_ids
        unlisted = [(c, n) for c, n in replaced if c not in pack.fees.parts]
        if unlisted:
            lines = (*lines, *(_unlisted_line(c, n) for c, n in unlisted))
        if account.refused:
            lines = tuple(
                ChargeLine(
                    code=line.code,
                    description=line.description,
                    amount_fen=0,
                    rule_id="FEE-4",
                    reason="quote refused: no work and no charge",
                )
                for line in lines[:1]
            )
    check = ledger.invoice_against_quote(
        pack,
        invoiced=[fees.ChargeLine(**line.model_dump()) for line in lines],
        accepted=(
            [fees.ChargeLine(**line.model_dump()) for line in accepted.lines]
            if accepted is not None
            else None
        ),
        refused=account.refused,
        free_reason=free_reason,
    )
    matches, note = check.matches_quote, check.note
    if unquoted:
        # FEE-4: work beyond the accepted quote is not charged silently
        matches = False
        note = f"{note}; replaced but not quoted, not charged: {', '.join(unquoted)}"
    return ChargeAssessed(
        ticket_id=facts.ticket_id,
        total_fen=sum(line.amount_fen for line in lines),
        lines=lines,
        inputs=ChargeInputs(
            product_line=facts.product_line,
            city_tier=facts.city_tier,
            service_mode=facts.service_mode,
            unit_in_warranty=unit_in_warranty,
            purchase_date=dated.start_date.isoformat() if dated.start_date else None,
            warranty_source=dated.source,
            completed_at=completed_at,
            parts=parts,
            free_reason=free_reason,
        ),
        decision=decided_by(check, (*rule_ids, *check.rule_ids)),
        assessed_at=completed_at,
        invoice_no=f"INV-{facts.ticket_id}",
        quote_id=accepted.quote_id if accepted is not None else None,
        matches_quote=matches,
        quote_note=note,
        engineer_id=facts.engineer_id,
        outlet_id=facts.outlet_id,
    )


def _count(codes: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Part codes of the repair record, once each with how many were replaced."""
    counted: dict[str, int] = {}
    for code in codes:
        counted[code] = counted.get(code, 0) + 1
    return tuple(counted.items())


def _unlisted_line(code: str, quantity: int) -> ChargeLine:
    return ChargeLine(
        code=f"part:{code}",
        description=f"{code} x{quantity}",
        amount_fen=0,
        rule_id="FEE-1",
        reason="not on the published price list: not charged",
    )


# -- commands on the account -------------------------------------------------------------


@dataclass(frozen=True)
class IssueQuote:
    """FEE-4: the engineer states the price before work."""

    ticket_id: str
    quote_id: str
    request: QuoteRequest
    ticket_version: int | None = None
    """The intake ticket's version the caller was told: the quote waits for billing to
    know it (the warranty decided just before, for one)."""
    after_inspection: str | None = None
    """WAR-4: the event id of the engineer's inspection the quote follows: the quote
    waits for billing to know intake's warranty decision on it."""


@dataclass(frozen=True)
class AcceptQuote:
    """FEE-4: the customer accepts the latest quote."""

    ticket_id: str
    quote_id: str


@dataclass(frozen=True)
class RefuseQuote:
    """FEE-4: the customer refuses the latest quote: no work and no charge."""

    ticket_id: str
    quote_id: str
    reason: str


@dataclass(frozen=True)
class ChargeRepair:
    """FEE-1, FEE-4: invoice a completed repair, once."""

    ticket_id: str
    completed_at: datetime
    parts_replaced: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandInForm:
    """A service form reached the office (PEN-2 and PEN-5 check them)."""

    ticket_id: str
    form: Literal["implementation", "acceptance", "implementation_plan", "service_feedback"]
    engineer_id: str | None = None


@dataclass(frozen=True)
class FileServiceRecord:
    """The visit, trip or remote service is in the service record (PEN-3, PEN-4)."""

    ticket_id: str
    activity: Literal["visit", "trip", "remote"]
    engineer_id: str | None = None


@dataclass(frozen=True)
class ReportRemoteService:
    """The service desk logged a remote service (PEN-4 checks its record)."""

    ticket_id: str
    engineer_id: str


AccountCommand = (
    IssueQuote
    | AcceptQuote
    | RefuseQuote
    | ChargeRepair
    | HandInForm
    | FileServiceRecord
    | ReportRemoteService
)


def decide(
    account: Account,
    command: AccountCommand,
    *,
    pack: PolicyPack,
    now: datetime,
    pricing: PricingContext | None = None,
) -> list[Event]:
    """What the account records for ``command``; quotes and invoices need ``pricing``."""
    match command:
        case IssueQuote():
            return [_issue(account, command, pack, now, _needed(pricing))]
        case AcceptQuote():
            return [decide_acceptance(account, command.quote_id, now=now)]
        case RefuseQuote():
            return [decide_refusal(account, command.quote_id, reason=command.reason, now=now)]
        case ChargeRepair():
            return [] if account.invoiced else [_invoice(account, command, pack, _needed(pricing))]
        case HandInForm():
            return [ServiceFormHandedIn(**_fields(command), handed_in_at=now)]
        case FileServiceRecord():
            return [ServiceRecordFiled(**_fields(command), filed_at=now)]
        case ReportRemoteService():
            return [RemoteServiceReported(**_fields(command), reported_at=now)]
    raise TypeError(f"not an account command: {command!r}")


def _fields(command: Any) -> dict[str, Any]:
    return dict(vars(command))


def _needed(pricing: PricingContext | None) -> PricingContext:
    if pricing is None:
        raise ValueError("pricing needs the ticket's facts")
    return pricing


def _issue(
    account: Account, command: IssueQuote, pack: PolicyPack, now: datetime, ctx: PricingContext
) -> QuoteIssued:
    try:
        return decide_quote(
            pack,
            account,
            ctx.facts,
            command.request,
            quote_id=command.quote_id,
            now=now,
            prior=ctx.prior,
            reward=ctx.reward,
            contract_start=ctx.contract_start,
        )
    except (UnknownProduct, NotInPack) as exc:
        raise IllegalTransition(str(exc), account.state) from exc


def _invoice(
    account: Account, command: ChargeRepair, pack: PolicyPack, ctx: PricingContext
) -> ChargeAssessed:
    return decide_charge(
        pack,
        ctx.facts,
        completed_at=command.completed_at,
        account=account,
        prior=ctx.prior,
        reward=ctx.reward,
        contract_start=ctx.contract_start,
        parts_replaced=command.parts_replaced,
    )


def forms_handed_in(events: Iterable[Event], zone: Any) -> dict[str, date]:
    """The day each service form first reached the office (PEN-2, PEN-5)."""
    forms: dict[str, date] = {}
    for event in events:
        if isinstance(event, ServiceFormHandedIn):
            day = event.handed_in_at.astimezone(zone).date()
            forms[event.form] = min(forms.get(event.form, day), day)
    return forms


def service_recorded(events: Iterable[Event], *, remote: bool) -> bool:
    """Whether the visit or trip (or, remote, the remote service) is in the record."""
    activities = ("remote",) if remote else ("visit", "trip")
    return any(isinstance(e, ServiceRecordFiled) and e.activity in activities for e in events)
