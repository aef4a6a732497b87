from repairline_platform.asof import ARCHIVE_MIGRATION
from repairline_platform.db import Migration

MIGRATIONS = [
    Migration(
        "001_intake",
        """
        create sequence ticket_numbers;
        create table ticket_view (
            ticket_id text primary key,
            service_request_no text,
            repair_order_no text,
            status text not null,
            status_rank integer not null,
            channel text,
            region text,
            product_line text,
            needs_verification boolean,
            verification_issues jsonb,
            requested_at timestamptz,
            engineer_id text,
            charge_total_fen bigint,
            callback_due_at timestamptz,
            updated_at timestamptz not null
        );
        create table ticket_timeline (
            event_id text primary key,
            ticket_id text not null,
            event_type text not null,
            source text not null,
            occurred_at timestamptz not null,
            summary jsonb not null
        );
        create index ticket_timeline_ticket on ticket_timeline (ticket_id, occurred_at);
        """,
    )
]

MIGRATIONS.append(
    Migration(
        "002_lifecycle",
        """
        alter table ticket_view add column status_at timestamptz;
        alter table ticket_view add column status_version integer;
        alter table ticket_view add column status_event text;
        alter table ticket_view add column verified boolean not null default false;
        create table ticket_facts (
            ticket_id text not null,
            key text not null,
            value jsonb not null,
            at timestamptz not null,
            version integer not null,
            event_id text not null,
            primary key (ticket_id, key)
        );
        create index ticket_facts_key_value on ticket_facts (key, value);
        create table sales_records (
            serial_no text primary key,
            product_line text not null,
            model text,
            sold_on date not null,
            recorded_at timestamptz not null
        );
        create table depot_queue (
            day text primary key,
            last_no integer not null
        );
        """,
    )
)

MIGRATIONS.append(
    Migration(
        "003_sales_record_events",
        """
        alter table sales_records add column version integer not null default 0;
        alter table sales_records add column event_id text;
        """,
    )
)

MIGRATIONS.append(
    Migration(
        "004_ticket_lookup",
        """
        -- INT-2: a ticket found by the numbers its customer is told; lists by request time
        create index if not exists ticket_view_service_request_no
            on ticket_view (service_request_no);
        create index if not exists ticket_view_repair_order_no on ticket_view (repair_order_no);
        create index if not exists ticket_view_requested on ticket_view (requested_at, ticket_id);
        """,
    )
)

# the other contexts' events of each ticket, kept by `TicketArchive` for `as_of`
MIGRATIONS.append(ARCHIVE_MIGRATION)
