"""Intake's domain, pure: one module per aggregate.

- `ticket`: a repair ticket from the first call to its close (INT-1..8, WAR-1..9).
- `sales_record`: the maker's record of a unit's sale, by serial number (WAR-3).
"""
