"""A DuckDB file of views over an export: one per event type, and `tickets`.

The views read the Parquet files where they are (absolute paths), so the file stays
small and sees what later exports add; after moving the export, write it again. An
event type with no rows yet is an empty table of the right columns, so every query in
docs/analytics.md runs on any export.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from repairline_contracts.registry import EVENT_TYPES
from repairline_ops.columns import columns_for

# Each ticket's life, one row per requested ticket, with the durations between steps.
TICKETS = """
create or replace view tickets as
with requested as (
    select ticket_id, min(requested_at) as requested_at, any_value(region) as region,
           any_value(city_tier) as city_tier, any_value(product.line) as product_line,
           any_value(channel) as channel
    from intake_repair_requested group by ticket_id
), assigned as (
    select ticket_id, min(assigned_at) as assigned_at,
           arg_max(engineer_id, assigned_at) as engineer_id,
           arg_max(service_point_id, assigned_at) as outlet_id,
           arg_max(visit_by, assigned_at) as visit_by
    from dispatch_engineer_assigned group by ticket_id
), moved as (  -- DSP-3 deadlines moved by pauses: the latest version wins
    select ticket_id, arg_max(visit_by, version) as visit_by
    from dispatch_sla_deadlines_recomputed where visit_by is not null group by ticket_id
), arrived as (
    select ticket_id, min(arrived_at) as arrived_at from dispatch_arrived_on_site
    group by ticket_id
), completed as (
    select ticket_id, max(completed_at) as completed_at from dispatch_repair_completed
    group by ticket_id
), charged as (
    select ticket_id, max(assessed_at) as charged_at,
           arg_max(total_fen, assessed_at) as charge_fen
    from billing_charge_assessed group by ticket_id
), called_back as (
    select ticket_id, min(completed_at) as called_back_at,
           arg_min(grade, completed_at) as callback_grade
    from feedback_callback_completed group by ticket_id
), life as (
    select r.*, a.assigned_at, a.engineer_id, a.outlet_id,
           coalesce(m.visit_by, a.visit_by) as visit_by,
           v.arrived_at, c.completed_at, b.charged_at, b.charge_fen,
           k.called_back_at, k.callback_grade
    from requested r
    left join assigned a using (ticket_id)
    left join moved m using (ticket_id)
    left join arrived v using (ticket_id)
    left join completed c using (ticket_id)
    left join charged b using (ticket_id)
    left join called_back k using (ticket_id)
)
select *,
       arrived_at <= visit_by as arrived_on_time,
       (epoch_us(assigned_at) - epoch_us(requested_at)) / 60e6 as minutes_to_assign,
       (epoch_us(arrived_at) - epoch_us(requested_at)) / 60e6 as minutes_to_arrive,
       (epoch_us(completed_at) - epoch_us(arrived_at)) / 60e6 as minutes_on_site,
       (epoch_us(completed_at) - epoch_us(requested_at)) / 60e6 as minutes_to_complete,
       (epoch_us(called_back_at) - epoch_us(completed_at)) / 60e6 as minutes_to_callback
from life
"""


def write_database(path: Path, export: Path, *, hashed: bool) -> list[str]:
    """Create or refresh the views; returns their names."""
    con = duckdb.connect(str(path))
    try:
        names = [_event_view(con, export.resolve(), cls, hashed) for cls in EVENT_TYPES]
        con.execute(TICKETS)
        return [*names, "tickets"]
    finally:
        con.close()


def _event_view(con: duckdb.DuckDBPyConnection, export: Path, cls: type, hashed: bool) -> str:
    cols = columns_for(cls, hashed=hashed)
    name = cols.dataset
    _drop(con, name)
    folder = export / name
    if any(folder.glob("month=*/*.parquet")):
        pattern = str(folder / "month=*" / "*.parquet").replace("'", "''")
        con.execute(
            f"create view {name} as select * from read_parquet('{pattern}',"
            " hive_partitioning = true, hive_types = {'month': varchar})"
        )
    else:
        empty = cols.schema.empty_table().append_column("month", pa.array([], pa.string()))
        con.register("empty_rows", empty)
        con.execute(f"create table {name} as select * from empty_rows")
        con.unregister("empty_rows")
    return name


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    kind = con.execute(
        "select table_type from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    if kind is not None:
        con.execute(f"drop {'view' if kind[0] == 'VIEW' else 'table'} {name}")
