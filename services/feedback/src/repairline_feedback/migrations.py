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
