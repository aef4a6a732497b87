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

MIGRATIONS.append(
    Migration(
        "002_lifecycle",
        """
        alter table engineers add column capacity integer;
        alter table engineers add column home_lat double precision;
        alter table engineers add column home_lon double precision;
        alter table engineers add column hours jsonb;
        alter table engineers add column service_point_id text;
        create table service_points (
            service_point_id text primary key,
            name text not null,
            region text not null,
            city_tier text not null,
            lat double precision,
            lon double precision,
            active boolean not null default true,
            updated_at timestamptz not null
        );
        create table roster_log (
            seq bigserial primary key,
            subject text not null,
            type text not null,
            data jsonb not null,
            recorded_at timestamptz not null
        );
        create index roster_log_subject on roster_log (subject, seq);
        create table dispatch_tickets (
            ticket_id text primary key,
            region text,
            skill text,
            city_tier text,
            service_mode text,
            lat double precision,
            lon double precision,
            window_start timestamptz,
            window_end timestamptz,
            key_account_id text,
            job_kind text,
            holds text[] not null default '{}',
            requested_at timestamptz,
            serial_no text,
            chargeable boolean,
            quote_id text,
            quote_state text,
            closed boolean not null default false
        );
        create table appointments (
            appointment_id text primary key,
            ticket_id text not null,
            engineer_id text not null,
            starts_at timestamptz not null,
            ends_at timestamptz not null,
            lat double precision,
            lon double precision,
            active boolean not null
        );
        create index appointments_engineer on appointments (engineer_id) where active;
        create index appointments_ticket on appointments (ticket_id);
        create table key_accounts (
            key_account_id text primary key,
            organisation text not null,
            units integer not null,
            service_point_id text,
            updated_at timestamptz not null
        );
        alter table dispatch_board add column appointment_start timestamptz;
        alter table dispatch_board add column appointment_end timestamptz;
        alter table dispatch_board add column reschedules integer not null default 0;
        alter table dispatch_board add column service_point_id text;
        alter table dispatch_board add column last_event text;
        create table dispatch_alerts (
            event_id text primary key,
            ticket_id text not null,
            kind text not null,
            detail jsonb not null,
            at timestamptz not null
        );
        create index dispatch_alerts_kind on dispatch_alerts (kind, at);
        create table dispatch_reschedules (
            event_id text primary key,
            ticket_id text not null,
            engineer_id text not null,
            previous_start timestamptz,
            previous_end timestamptz,
            window_start timestamptz not null,
            window_end timestamptz not null,
            reason text not null,
            requested_by text not null,
            accepted boolean not null,
            at timestamptz not null
        );
        create table repair_history (
            ticket_id text primary key,
            key_account_id text,
            serial_no text,
            product_line text,
            requested_at timestamptz,
            completed_at timestamptz,
            resolution text,
            engineer_id text
        );
        create index repair_history_account on repair_history (key_account_id);
        """,
    )
)

MIGRATIONS.append(
    Migration(
        "003_roster_events_skills_pauses",
        """
        alter table roster_log rename to roster_log_before_events;
        alter index roster_log_subject rename to roster_log_before_events_subject;
        create table roster_log (
            event_id text primary key,
            subject text not null,
            version integer not null,
            type text not null,
            data jsonb not null,
            recorded_at timestamptz not null
        );
        create index roster_log_subject on roster_log (subject, version);
        alter table dispatch_tickets add column fault_kind text;
        create table engineer_repairs (
            engineer_id text not null,
            product_line text not null,
            fault_kind text not null,
            primary key (engineer_id, product_line, fault_kind)
        );
        """,
    )
)

MIGRATIONS.append(
    Migration(
        "004_projections_of_events",
        """
        alter table dispatch_tickets add column released_holds text[] not null default '{}';
        alter table dispatch_tickets add column location_verified boolean not null default false;
        alter table engineers alter column name drop not null;
        create table engineer_names (
            engineer_id text primary key,
            name text not null
        );
        insert into engineer_names (engineer_id, name)
            select engineer_id, name from engineers where name is not null;
        """,
    )
)
MIGRATIONS.append(
    Migration(
        "005_day_plans",
        """
        create table day_plans (
            plan_id text primary key,
            stream_id text not null,
            region text not null,
            day date not null,
            state text not null,
            method text not null,
            proposal jsonb not null,
            proposed_at timestamptz not null,
            committed_at timestamptz,
            committed_by text,
            changed jsonb,
            skipped jsonb
        );
        create index day_plans_day on day_plans (region, day);
        """,
    )
)
MIGRATIONS.append(
    Migration(
        "006_warranty_causes",
        """
        -- WAR-4: what caused each warranty decision of intake dispatch has received (the
        -- engineer's inspection, for one): work after an inspection waits for intake's
        -- decision on it
        alter table dispatch_tickets add column if not exists decided_causes text[] not null
            default '{}';
        -- the inspections recorded before causes were kept are taken as decided (intake
        -- reacts within seconds; rebuilding the copy by replay knows every cause)
        update dispatch_tickets t set decided_causes = coalesce((
            select array_agg(e.event_id) from events e
            where e.stream_id = t.ticket_id
              and e.event_type = 'repairline.dispatch.InspectionRecorded'
        ), '{}');
        """,
    )
)
MIGRATIONS.append(
    Migration(
        "007_engineer_open_jobs",
        """
        -- DSP-1 weighs every candidate's open jobs on each assignment: counted here as the
        -- jobs open and close, so that a decision reads one row per candidate however many
        -- jobs the network has ever had (a count over `engineer_jobs` grew with them)
        create table engineer_open_jobs (
            engineer_id text primary key,
            open_jobs integer not null check (open_jobs >= 0)
        );
        insert into engineer_open_jobs (engineer_id, open_jobs)
            select engineer_id, count(*) from engineer_jobs where open group by engineer_id;
        create function engineer_open_jobs_counted() returns trigger
        language plpgsql as $$
        begin
            if tg_op in ('UPDATE', 'DELETE') and old.open then
                update engineer_open_jobs set open_jobs = open_jobs - 1
                    where engineer_id = old.engineer_id;
            end if;
            if tg_op in ('INSERT', 'UPDATE') and new.open then
                insert into engineer_open_jobs as c (engineer_id, open_jobs)
                    values (new.engineer_id, 1)
                    on conflict (engineer_id) do update set open_jobs = c.open_jobs + 1;
            end if;
            return null;
        end $$;
        create trigger engineer_jobs_counted after insert or update or delete
            on engineer_jobs for each row execute function engineer_open_jobs_counted();
        -- a replay empties the jobs: the counts go with them
        create function engineer_open_jobs_emptied() returns trigger
        language plpgsql as $$
        begin
            truncate engineer_open_jobs;
            return null;
        end $$;
        create trigger engineer_jobs_emptied after truncate on engineer_jobs
            for each statement execute function engineer_open_jobs_emptied();
        """,
    )
)
