"""`repairline packs check FILE`: a new or changed policy pack checked before it ships.

Validates every version of the file (the pack's schema and the rules' invariants) and
lists every problem; when it is valid, prints what each of its versions changes against
the version in force (today, or `--on DATE`, in the pack's time zone) of the pack of the
same id this deployment runs: the file configured in `REPAIRLINE_POLICY_PACKS`, else the
built-in one (`--against` names another file). Exit 0 when valid, 1 with problems.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from repairline_rules.packcheck import Checked, changes, check
from repairline_rules.packs import (
    BUILTIN_PACKS,
    PackBook,
    PackError,
    PolicyPack,
    load_pack_versions,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="packs_command", metavar="ACTION", required=True)
    checking = sub.add_parser(
        "check",
        help="validate a pack file and show what it changes",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    checking.add_argument("file", type=Path, help="the pack file (TOML)")
    checking.add_argument(
        "--on",
        type=date.fromisoformat,
        default=None,
        help="compare with the version in force on this day (YYYY-MM-DD); default today",
    )
    checking.add_argument(
        "--against",
        default=None,
        help="the pack to compare with (a built-in id or a file); default: the configured"
        " or built-in pack of the same id",
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    checked = check(args.file)
    if not checked.ok:
        _problems(checked, out)
        return 1
    versions = checked.versions
    labels = ", ".join(_label(v) for v in versions)
    print(f"{checked.source}: pack {versions[0].id!r} is valid ({labels})", file=out)
    base = _base(versions[0].id, args.file, args.against, out)
    if base is not None:
        on = args.on or datetime.now(UTC).astimezone(versions[0].zone).date()
        _changes(versions, base, on, out)
    return 0


def _problems(checked: Checked, out: TextIO) -> None:
    count = len(checked.problems)
    print(f"{checked.source}: {count} problem{'s' if count != 1 else ''}", file=out)
    for _, field, problem in checked.problems:
        print(f"  {field or '<pack>'}: {problem}", file=out)


def _label(pack: PolicyPack) -> str:
    since = f" from {pack.effective_from}" if pack.effective_from else ""
    return f"{pack.version}{since}"


def _base(pack_id: str, file: Path, against: str | None, out: TextIO) -> PackBook | None:
    ref = against or _configured(pack_id, file)
    if ref is None:
        print(f"no pack {pack_id!r} is configured or built in: nothing to compare with", file=out)
        return None
    try:
        return PackBook({pack_id: load_pack_versions(ref)})
    except PackError as error:
        print(f"cannot compare with {ref}:\n{error}", file=out)
        return None


def _configured(pack_id: str, file: Path) -> str | None:
    """The deployment's file for `pack_id` (not the one checked), else the built-in."""
    from repairline_platform.settings import ServiceSettings

    for ref in ServiceSettings().policy_packs:
        if ref in BUILTIN_PACKS or Path(ref).resolve() == file.resolve():
            continue
        try:
            if load_pack_versions(ref)[0].id == pack_id:
                return ref
        except PackError:
            continue
    return pack_id if pack_id in BUILTIN_PACKS else None


def _changes(versions: tuple[PolicyPack, ...], base: PackBook, on: date, out: TextIO) -> None:
    current = base.in_force(versions[0].id, on)
    print(f"against {current.id} {_label(current)}, in force on {on}:", file=out)
    shown = 0
    for pack in versions:
        found = changes(current, pack)
        if not found and pack.version == current.version:
            continue
        shown += 1
        heading = f"  version {_label(pack)}"
        print(heading + (":" if found else ": no value changes"), file=out)
        for change in found:
            print(f"    {change.line()}", file=out)
        if pack.open_tickets:
            opened = ", ".join(pack.open_tickets)
            print(f"    applies to tickets opened before it too: {opened}", file=out)
    if not shown:
        print("  no changes", file=out)
