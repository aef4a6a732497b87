from repairline_platform.db import Migration

MIGRATIONS = [
    Migration(
        "001_dispatch",
        """
        create table engineers (
            engineer_id text primary key,
            name text not null,
            region text not null,
            skills text[] not null,
            active boolean not null default true,
            updated_at timestamptz not null
        );
        create table engineer_jobs (
            ticket_id text primary key,
            engineer_id text not null,
            open boolean not null
        );
        create index engineer_jobs_open on engineer_jobs (engineer_id) where open;
        create table waiting_tickets (
            ticket_id text primary key,
            region text not null,
            skill text not null,
            since timestamptz not null,
            correlation_id text not null
        );
        create table dispatch_board (
            ticket_id text primary key,
            state text not null,
            state_rank integer not null,
            engineer_id text,
            region text,
            skill text,
            waiting_reason text,
            updated_at timestamptz not null
        );
        """,
    )
]
