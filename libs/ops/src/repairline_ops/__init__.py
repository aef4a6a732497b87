"""The `repairline` command: operators' and analysts' tools over the event log."""
