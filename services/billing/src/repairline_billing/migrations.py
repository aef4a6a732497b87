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
