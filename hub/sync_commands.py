# SPDX-License-Identifier: AGPL-3.0-or-later
"""The USB-stick commands: ``export-results``, ``upload-bundle``,
``import-receipt``, ``import-catalog``.

``hub.cli`` registers them with ``add_commands``; the work itself lives in
``hub.bundles`` and ``hub.pack_fetch``. Each runs once in the technician's
process; the commands that change the hub's results take the sync lock, so
they never interleave with a sync. Expected failures raise ``CommandError``
with one line saying what to do.
"""

from __future__ import annotations

from pathlib import Path

from .cli import CommandError, _open_hub


def add_commands(command) -> None:
    """Add this module's commands through ``cli.build_parser``'s helper."""
    export = command(
        "export-results",
        cmd_export_results,
        "write every result not yet confirmed to one bundle, e.g. on a USB stick",
    )
    export.add_argument("folder", type=Path)

    upload = command(
        "upload-bundle",
        cmd_upload_bundle,
        "at the district office: send a hub's results bundle to the LRS and "
        "write a receipt beside it",
    )
    upload.add_argument("file", type=Path)

    receipt = command(
        "import-receipt",
        cmd_import_receipt,
        "mark the results a receipt names as confirmed by the LRS",
    )
    receipt.add_argument("file", type=Path)

    catalog = command(
        "import-catalog",
        cmd_import_catalog,
        "install newer packs from a folder holding catalog.json and its zips "
        "(a USB stick), checked as from the network",
    )
    catalog.add_argument("folder", type=Path)


def cmd_export_results(settings, args):
    from .bundles import BundleError, export_results
    from .sync_schedule import SyncBusy, sync_lock

    hub = _open_hub(settings)
    try:
        with sync_lock(hub.data_dir):
            path, manifest = export_results(hub, args.folder)
    except (BundleError, SyncBusy) as error:
        raise CommandError(str(error)) from None
    finally:
        hub.close()
    print(
        f"wrote {manifest['count']} results to {path}; take it to the district "
        "office (classroom-hub upload-bundle), then bring back its receipt"
    )


def cmd_upload_bundle(settings, args):
    from .bundles import BundleError, upload_bundle

    try:
        path, receipt = upload_bundle(args.file, settings)
    except BundleError as error:
        raise CommandError(str(error)) from None
    print(
        f"the LRS confirmed {len(receipt['confirmed'])} of {receipt['count']} "
        f"statements, refused {len(receipt['refused'])}; receipt: {path}"
    )
    if not receipt["complete"]:
        print(
            f"stopped: {receipt['problem']}; run upload-bundle again to send the rest"
        )
        return 1
    return 0


def cmd_import_receipt(settings, args):
    from .bundles import BundleError, import_receipt
    from .sync_schedule import SyncBusy, sync_lock

    hub = _open_hub(settings)
    try:
        with sync_lock(hub.data_dir):
            counts = import_receipt(hub, args.file)
    except (BundleError, SyncBusy) as error:
        raise CommandError(str(error)) from None
    finally:
        hub.close()
    print(
        f"{counts['confirmed']} results marked confirmed, {counts['set_aside']} "
        "set aside as the LRS refused them"
    )
    if not counts["complete"]:
        print("the upload did not finish; export again and take the new bundle")


def cmd_import_catalog(settings, args):
    from .pack_fetch import import_catalog_folder
    from .sync_ledger import SyncLedger

    if not (args.folder / "catalog.json").is_file():
        raise CommandError(
            f"{args.folder} has no catalog.json; to install loose "
            "packs use install-pack"
        )
    hub = _open_hub(settings, new_ok=True)
    try:
        report = import_catalog_folder(
            hub.packs, args.folder, ledger=SyncLedger(hub.state), state=hub.state
        )
    finally:
        hub.close()
    print(
        f"packs: installed {', '.join(report.installed) or 'none'}; "
        f"{report.up_to_date} already up to date"
    )
    if report.removed:
        print(f"removed old versions: {', '.join(report.removed)}")
    for problem in report.problems:
        print(f"  {problem}")
    return 0 if report.ok else 1
