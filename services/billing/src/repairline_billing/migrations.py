from repairline_platform.db import Migration

MIGRATIONS = [
    Migration(
        "001_billing",
        """
        create table billing_tickets (
            ticket_id text primary key,
            product_line text not null,
            city_tier text not null,
            service_mode text not null,
            purchase_date date,
            region text not null
        );
        -- RepairCompleted seen before its RepairRequested: parked until the facts arrive.
        create table parked_completions (
            ticket_id text primary key,
            completed_at timestamptz not null,
            correlation_id text not null,
            causation_id text not null
        );
        create table charges (
            ticket_id text primary key,
            total_fen bigint not null check (total_fen >= 0),
            currency text not null,
            lines jsonb not null,
            inputs jsonb not null,
            decision jsonb not null,
            assessed_at timestamptz not null,
            event_id text not null
        );
        """,
    )
]

MIGRATIONS += [
    Migration(
        "002_money",
        """
        alter table billing_tickets add column serial_no text;
        alter table billing_tickets add column requested_at timestamptz;
        create index billing_tickets_serial on billing_tickets (serial_no);
        -- EngineerAssigned and WarrantyDecided may come before RepairRequested.
        create table ticket_assignments (
            ticket_id text primary key,
            engineer_id text not null,
            service_point_id text
        );
        create table ticket_warranty (
            ticket_id text primary key,
            unit_in_warranty boolean not null,
            free_visit boolean not null,
            chargeable boolean not null,
            reason text not null
        );
        -- Outlet roster: the outlet an engineer works for, until EngineerAssigned names it.
        create table outlets (
            outlet_id text primary key,
            name text not null,
            region text not null,
            updated_at timestamptz not null
        );
        create table engineer_outlets (
            engineer_id text primary key,
            outlet_id text not null references outlets (outlet_id)
        );
        -- FEE-8 maintenance contracts, by serial number.
        create table contracts (
            contract_id text primary key,
            serial_no text not null,
            starts_on date not null
        );
        create index contracts_serial on contracts (serial_no);
        -- WAR-11 rewards held for a unit, from feedback's ExtensionRewardGranted.
        create table rewards (
            event_id text primary key,
            serial_no text not null,
            reward text not null,
            extended_ends_on date,
            reason text not null,
            used_by_ticket text
        );
        -- Overcharge verified before the invoice exists: handled when it is issued.
        create table parked_overcharges (
            complaint_id text primary key,
            ticket_id text not null,
            data jsonb not null,
            correlation_id text not null
        );

        alter table charges add column invoice_no text;
        alter table charges add column quote_id text;
        alter table charges add column matches_quote boolean;
        alter table charges add column quote_note text;
        alter table charges add column engineer_id text;
        alter table charges add column outlet_id text;
        create index charges_outlet on charges (outlet_id, assessed_at);

        create table quotes (
            quote_id text primary key,
            ticket_id text not null,
            engineer_id text,
            total_fen bigint,
            lines jsonb,
            inputs jsonb,
            needs_customer_agreement boolean,
            decision jsonb,
            issued_at timestamptz,
            status text not null,
            status_rank integer not null,
            decided_at timestamptz,
            refusal_reason text,
            event_id text
        );
        create index quotes_ticket on quotes (ticket_id);
        create table penalties (
            penalty_id text primary key,
            ticket_id text not null,
            subject text,
            engineer_id text,
            outlet_id text,
            fine_fen bigint,
            sanction text,
            payee text,
            reason text,
            kind text,
            rule_ids text[],
            evidence jsonb,
            decision jsonb,
            offence_at timestamptz,
            assessed_at timestamptz,
            event_id text,
            status text not null,
            status_rank integer not null,
            appeal_reason text,
            appealed_at timestamptz,
            manager_id text,
            ruling_reason text,
            ruled_at timestamptz
        );
        create index penalties_engineer on penalties (engineer_id, offence_at);
        create index penalties_outlet on penalties (outlet_id, assessed_at);
        create table refunds (
            complaint_id text primary key,
            ticket_id text not null,
            outlet_id text,
            charged_fen bigint not null,
            tariff_fen bigint not null,
            refund_fen bigint not null,
            evidence jsonb not null,
            decision jsonb not null,
            refunded_at timestamptz not null,
            event_id text not null
        );
        create table settlements (
            statement_id text primary key,
            outlet_id text not null,
            period text not null,
            fees_fen bigint not null,
            refunds_fen bigint not null,
            fines_fen bigint not null,
            net_fen bigint not null,
            lines jsonb not null,
            voucher_received_on date not null,
            pay_by date,
            decision jsonb not null,
            issued_at timestamptz not null,
            event_id text not null
        );
        create table trips (
            trip_id text primary key,
            ticket_id text not null,
            engineer_id text not null,
            departed_at timestamptz not null,
            returned_at timestamptz not null,
            trip_days text not null,
            meals_fen bigint not null,
            hotel_fen bigint not null,
            total_fen bigint not null,
            reason text not null,
            decision jsonb not null,
            granted_at timestamptz not null,
            event_id text not null
        );
        create index trips_engineer on trips (engineer_id, departed_at);
        """,
    )
]

MIGRATIONS += [
    Migration(
        "003_assessment_and_credits",
        """
        -- the repair record's parts, kept with a completion parked before its request
        alter table parked_completions add column parts_replaced text[] not null default '{}';
        -- FEE-6: fines voided after an earlier statement, credited back
        alter table settlements add column credits_fen bigint not null default 0;
        -- PEN-8: feedback's callback grades, per engineer
        create table callback_grades (
            event_id text primary key,
            ticket_id text not null,
            engineer_id text,
            grade text not null,
            completed_at timestamptz not null
        );
        create index callback_grades_engineer on callback_grades (engineer_id, completed_at);
        create table assessments (
            assessment_id text primary key,
            engineer_id text not null,
            period text not null,
            attitude integer not null,
            quality integer not null,
            efficiency integer not null,
            satisfaction integer not null,
            total integer not null,
            band text not null,
            counts jsonb not null,
            evidence jsonb not null,
            reason text not null,
            decision jsonb not null,
            assessed_at timestamptz not null,
            event_id text not null
        );
        create index assessments_engineer on assessments (engineer_id, period);
        """,
    )
]

MIGRATIONS += [
    Migration(
        "004_roster_as_projection",
        """
        -- the roster is a projection of OutletRosterChanged: replay empties both tables
        alter table engineer_outlets drop constraint if exists engineer_outlets_outlet_id_fkey;
        """,
    )
]

MIGRATIONS += [
    Migration(
        "005_settlement_pages",
        """
        -- FEE-6 statements' lines arrive in pages (SettlementLinesRecorded) before them
        create table if not exists settlement_pages (
            statement_id text not null,
            page integer not null,
            lines jsonb not null,
            primary key (statement_id, page)
        );
        """,
    )
]

MIGRATIONS += [
    Migration(
        "006_parked_until_warranty",
        """
        -- a completion parked before its request waits, once the request is seen, for the
        -- record after it on its partition: the warranty decision, if intake made one
        alter table parked_completions add column if not exists after_topic text;
        alter table parked_completions add column if not exists after_partition integer;
        alter table parked_completions add column if not exists after_offset bigint;
        """,
    )
]

MIGRATIONS += [
    Migration(
        "007_warranty_follows",
        """
        -- FEE-1, INT-5, WAR-4: the request says whether a warranty decision follows it;
        -- a completion is invoiced only once that decision is known (null: not said)
        alter table billing_tickets add column if not exists warranty_follows boolean;
        """,
    )
]

MIGRATIONS += [
    Migration(
        "008_warranty_exclusions",
        """
        -- WAR-4: the exclusions intake found, so an invoice says it was excluded and why
        alter table ticket_warranty add column if not exists exclusions text[];
        """,
    )
]

MIGRATIONS += [
    Migration(
        "009_sla_breaches",
        """
        -- PEN-8: dispatch's DSP-3 deadlines missed, counted against the ticket's engineer
        create table if not exists sla_breaches (
            event_id text primary key,
            ticket_id text not null,
            deadline text not null,
            detected_at timestamptz not null
        );
        create index if not exists sla_breaches_detected on sla_breaches (detected_at);
        """,
    )
]

MIGRATIONS += [
    Migration(
        "010_intake_versions",
        """
        -- the latest version of each intake ticket billing has seen: a command that names
        -- the version its caller was told waits (409) until billing has caught up with it
        create table if not exists intake_versions (
            ticket_id text primary key,
            version integer not null
        );
        """,
    )
]

MIGRATIONS += [
    Migration(
        "011_warranty_start",
        """
        -- WAR-3, WAR-5, INT-3: the date intake found the warranty runs from, what dated it
        -- and the days paused, so part coverage reads intake's date, not the stated one
        alter table ticket_warranty add column if not exists start_date date;
        alter table ticket_warranty add column if not exists start_source text;
        alter table ticket_warranty add column if not exists days_paused integer;
        """,
    )
]

MIGRATIONS += [
    Migration(
        "012_ticket_policy",
        """
        -- the policy pack and version the ticket was opened under (its events name them):
        -- a command on the ticket that no event of it caused decides with them
        alter table billing_tickets add column if not exists policy_pack text;
        alter table billing_tickets add column if not exists policy_version text;
        """,
    )
]

MIGRATIONS += [
    Migration(
        "013_warranty_causes",
        """
        -- WAR-4, FEE-4: what caused each warranty decision billing holds (the engineer's
        -- inspection, for one): a quote asked for after an inspection waits for the
        -- decision on it
        create table if not exists warranty_causes (
            ticket_id text not null,
            cause_id text not null,
            primary key (ticket_id, cause_id)
        );
        -- the engineer's inspections (dispatch's InspectionRecorded): one without a decision
        -- caused by it waits for intake's, unless intake closed the ticket (it then decides
        -- nothing on an inspection)
        create table if not exists ticket_inspections (
            ticket_id text not null,
            event_id text not null,
            inspected_at timestamptz not null,
            primary key (ticket_id, event_id)
        );
        alter table intake_versions add column if not exists closed boolean not null
            default false;
        """,
    )
]
