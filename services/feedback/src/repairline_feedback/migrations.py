from repairline_platform.db import Migration

MIGRATIONS = [
    Migration(
        "001_feedback",
        """
        create table callbacks (
            callback_id text primary key,
            ticket_id text not null,
            reason text,
            due_at timestamptz not null,
            status text not null,
            status_rank integer not null,
            fired_at timestamptz,
            decision jsonb
        );
        create index callbacks_status on callbacks (status, due_at);
        """,
    )
]

MIGRATIONS += [
    Migration(
        "002_followup",
        """
        -- events of a callback may fold in any order: no column is known from the start
        alter table callbacks alter column due_at drop not null;
        alter table callbacks add column due_attempt integer not null default 0;
        alter table callbacks add column attempts integer not null default 0;
        alter table callbacks add column exhausted boolean not null default false;
        alter table callbacks add column retry_at timestamptz;
        alter table callbacks add column last_fired_at timestamptz;
        alter table callbacks add column grade text;
        alter table callbacks add column answers jsonb;
        alter table callbacks add column outcome_reason text;
        alter table callbacks add column completed_at timestamptz;
        alter table callbacks add column engineer_id text;
        alter table callbacks add column outlet_id text;
        create index callbacks_ticket on callbacks (ticket_id);

        -- Everyone served: the morning list, coverage and the reports read this.
        create table served (
            ticket_id text primary key,
            region text,
            customer_name text,
            mobile text,
            phone text,
            organisation text,
            key_account_id text,
            serial_no text,
            product_line text,
            purchase_date date,
            requested_at timestamptz,
            engineer_id text,
            service_point_id text,
            outlet_id text,
            completed_at timestamptz
        );
        create index served_completed on served (completed_at);
        -- Key customers (FBK-2): always on the morning callback list.
        create table key_customers (
            name text primary key,
            note text not null default ''
        );
        create table complaints (
            complaint_id text primary key,
            ticket_id text not null,
            channel text,
            kind text,
            description text,
            engineer_id text,
            outlet_id text,
            amount_paid_fen bigint,
            answer_by timestamptz,
            triggers text[],
            decision jsonb,
            filed_at timestamptz,
            answer text,
            answered_at timestamptz,
            within_deadline boolean,
            escalated_at timestamptz,
            finding text,
            verified boolean,
            decided_at timestamptz
        );
        create table cases (
            case_id text primary key,
            ticket_id text not null,
            reason text not null,
            engineer_id text,
            outlet_id text,
            decision jsonb,
            requested_at timestamptz not null,
            event_id text not null
        );
        create table surveys (
            ticket_id text primary key,
            survey_year integer,
            grade text,
            answer text,
            constructive boolean,
            answered_at timestamptz,
            reward text,
            extended_ends_on date
        );
        """,
    )
]

MIGRATIONS += [
    Migration(
        "003_survey_samples",
        """
        -- FBK-7: the drawn yearly samples, a projection of SurveySampleDrawn
        create table survey_samples (
            survey_year integer primary key,
            percent integer not null,
            population integer not null,
            sample text[] not null,
            reason text not null,
            decision jsonb not null,
            drawn_at timestamptz not null
        );
        """,
    )
]

MIGRATIONS += [
    Migration(
        "004_served_warranty_start",
        """
        -- WAR-3, WAR-5, INT-3: the date intake found the warranty runs from, what dated it
        -- and the days paused; WAR-11 extends the warranty end counted from it
        alter table served add column if not exists warranty_start date;
        alter table served add column if not exists warranty_source text;
        alter table served add column if not exists days_paused integer;
        """,
    )
]

MIGRATIONS += [
    Migration(
        "005_served_policy",
        """
        -- the policy pack and version the ticket was opened under (its events name them):
        -- a command on the ticket that no event of it caused decides with them
        alter table served add column if not exists policy_pack text;
        alter table served add column if not exists policy_version text;
        """,
    )
]
