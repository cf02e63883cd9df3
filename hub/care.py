# SPDX-License-Identifier: AGPL-3.0-or-later
"""The technician's care commands: ``doctor``, ``backup``, ``restore``,
``new-identity``.

``hub.cli`` registers them with ``add_commands``; the work itself lives in
``hub.doctor``, ``hub.backup`` and ``hub.identity``. Each command runs in the
technician's process once and exits: expected failures raise
``CommandError`` with one line saying what to do, like every other command.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .cli import CommandError, _open_hub

_MARKS = {"ok": "ok  ", "warn": "WARN", "bad": "BAD ", "skip": "--  "}


def add_commands(command) -> None:
    """Add this module's commands through ``cli.build_parser``'s helper."""
    doctor = command(
        "doctor",
        cmd_doctor,
        "check every part of this hub and say what to do about each problem",
    )
    doctor.add_argument("--json", action="store_true", help="print as JSON")
    doctor.add_argument(
        "--timeout",
        type=float,
        default=5,
        help="seconds to wait for each network check (default 5)",
    )

    backup = command(
        "backup",
        cmd_backup,
        "save results, classes and packs to one file, safely while the hub runs",
    )
    backup.add_argument("file", help="archive to write (.tar.gz), or - for stdout")
    backup.add_argument(
        "--packs",
        choices=("copy", "reference"),
        default="copy",
        help="copy the packs into the backup (default), or only name them",
    )

    restore = command(
        "restore",
        cmd_restore,
        "put a backup back, after checking it; the replaced files are kept aside",
    )
    restore.add_argument("file", help="archive made by backup, or - for stdin")
    restore.add_argument(
        "--force",
        action="store_true",
        help="restore even while a hub runs on this data",
    )

    identity = command(
        "new-identity",
        cmd_new_identity,
        "give a hub copied from another's SD card its own id",
    )
    identity.add_argument(
        "--moved",
        action="store_true",
        help="this card was moved out of a broken Pi: keep the id, accept this machine",
    )
    identity.add_argument(
        "--force", action="store_true", help="change it even while the hub runs"
    )


def cmd_doctor(settings, args):
    import sqlite3

    from .doctor import BAD, examine

    # A damaged results file stops the hub from opening; doctor must still
    # say so, and what to do.
    try:
        hub = _open_hub(settings)
    except sqlite3.DatabaseError:
        hub = None
    try:
        findings = examine(settings, hub, timeout_s=args.timeout)
    finally:
        if hub is not None:
            hub.close()

    if args.json:
        print(json.dumps([f.as_json() for f in findings], ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            print(f"{_MARKS[finding.verdict]}  {finding.check}: {finding.detail}")
            if finding.advice and finding.verdict != "ok":
                print(f"      do: {finding.advice}")
    return 1 if any(finding.verdict == BAD for finding in findings) else 0


def cmd_backup(settings, args):
    from .backup import make_backup

    hub = _open_hub(settings)
    try:
        if args.file == "-":
            manifest = make_backup(hub, sys.stdout.buffer, packs=args.packs)
            sys.stdout.buffer.flush()
        else:
            manifest = _backup_to_file(hub, Path(args.file), args.packs)
    finally:
        hub.close()
    print(
        f"backed up {manifest['results']} results, hub.json and "
        f"{len(manifest['installed_packs'])} packs ({args.packs}) of hub "
        f"{manifest['hub_id']} to {args.file}",
        file=sys.stderr,
    )


def _backup_to_file(hub, path: Path, packs: str) -> dict:
    from .backup import make_backup

    # Written beside the target and renamed, so a cut-off backup never
    # looks like a whole one.
    partial = path.with_name(f".{path.name}.partial")
    try:
        # Only its owner may read it: it holds children's names and the
        # teachers' password hashes.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as out:
            manifest = make_backup(hub, out, packs=packs)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise CommandError(
            f"cannot write {path}: {error.strerror}; choose a "
            "folder this user may write to, or use - and "
            "redirect the output"
        ) from None
    return manifest


def cmd_restore(settings, args):
    from .backup import BackupError, restore_backup

    with tempfile.TemporaryDirectory() as spool:
        source = Path(args.file)
        if args.file == "-":
            source = Path(spool) / "backup.tar.gz"
            with open(source, "wb") as handle:
                shutil.copyfileobj(sys.stdin.buffer, handle)
        elif not source.is_file():
            raise CommandError(f"{source} does not exist")
        try:
            manifest = restore_backup(settings, source, force=args.force)
        except BackupError as error:
            raise CommandError(str(error)) from None

    print(
        f"restored {manifest['results']} results and the classes of hub "
        f"{manifest['hub_id']} from a backup made {manifest['made_at']}"
    )
    if manifest["installed"]:
        print(f"packs installed: {', '.join(manifest['installed'])}")
    elif manifest["installed_packs"]:
        print(
            "the backup only names its packs; install them again: "
            f"{', '.join(manifest['installed_packs'])}"
        )
    if manifest["replaced"]:
        print(f"the files it replaced are kept in {manifest['replaced']}")
    if args.force:
        print("restart the hub now: sudo systemctl restart classroom-hub")


def cmd_new_identity(settings, args):
    from .identity import new_identity
    from .server import hub_running

    if hub_running(settings.data_dir) and not args.force:
        raise CommandError(
            "the hub is running; stop it first (sudo systemctl "
            "stop classroom-hub) or give --force"
        )
    hub = _open_hub(settings)
    try:
        old = hub.state.hub_id
        new = new_identity(hub, moved=args.moved)
    finally:
        hub.close()
    if args.moved:
        print(f"kept the hub id {new}; this machine is now its home")
    else:
        print(f"this hub's id is now {new} (was {old})")
