"""`repairline <command> ...`: one entry point, one module per command.

Each command module exposes `add_arguments(parser)` and `run(args) -> int`; only the
module of the command being run is imported, so one tool's dependencies never slow
another.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, one-line help)
    "export": ("repairline_ops.export", "the event log as Parquet per event type (and DuckDB)"),
    "replay": ("repairline_ops.replay", "a service's projections as of a past moment, aside"),
    "deadletters": ("repairline_ops.deadletters", "list, show and redrive dead letters"),
    "packs": ("repairline_ops.packs", "check a policy pack file and show what it changes"),
    "token": ("repairline_ops.token", "an access token from the local issuer (make run, tests)"),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="repairline", description="Operators' and analysts' tools over the event log."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    module = None
    for name, (module_name, help_text) in sorted(COMMANDS.items()):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
    args = parser.parse_args(argv)
    assert module is not None
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
