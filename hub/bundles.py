# SPDX-License-Identifier: AGPL-3.0-or-later
"""Results by USB stick: a bundle out of the hub, a receipt back in.

``export_results`` writes every result not yet confirmed as one zip: the
statements, one JSON line each, exactly as sync would send them, and a
manifest with their count and checksums. At the district office
``upload_bundle`` checks the bundle whole, pushes it to the LRS as sync does
(sending it again is a no-op for the LRS) and writes a receipt naming each
statement confirmed or refused. ``import_receipt`` marks those results
confirmed, or set aside with the LRS's reason, on the hub that made the
bundle. A bundle or receipt that is cut off, changed, or not from this hub
is refused with a message saying so.

Checksums catch a damaged or edited file; they do not stop a forger who
also rewrites the manifest (that would need keys the district can check).
Files are written beside their final name and renamed, so a pulled stick
leaves the old file or none, never half of one. Export and receipt import
run under the sync lock (``hub.sync_schedule``); upload needs no hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from pathlib import Path

from .durable import fsync_dir, write_file_atomically
from .result_push import LrsClient, correct_times, deliver, encode
from .sync_ledger import SyncLedger
from .uplink import LinkProblem, Uplink
from .xapi import statement_for, validate_statement

BUNDLE_FORMAT = 1
BUNDLE_KIND = "classroom-hub-results"
RECEIPT_KIND = "classroom-hub-receipt"
MANIFEST = "manifest.json"
STATEMENTS = "statements.jsonl"
PAGE = 1000


class BundleError(Exception):
    """A bundle or receipt that cannot be used; the message says why."""


def export_results(hub, folder: Path) -> tuple[Path, dict]:
    """Write the waiting results to a bundle in ``folder``; its path, manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"{folder} is not a folder; is the USB stick mounted?")
    ledger = SyncLedger(hub.state)
    hub_id = hub.state.hub_id
    # Results whose true time is known go out with it: once in a bundle,
    # a statement never changes again.
    correct_times(hub.results, ledger)

    made_at = hub.results.clock.reading()
    bundle_id = str(uuid.uuid4())
    name = f"results-{hub_id[:8]}-{made_at.wall:%Y%m%d-%H%M%S}.zip"
    final = folder / name
    partial = folder / f".{name}.partial"

    digest, ids_digest = hashlib.sha256(), hashlib.sha256()
    count, size, first_seq, last_seq = 0, 0, None, None
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open(STATEMENTS, "w") as stream:
                for result, statement in _waiting_statements(hub, ledger):
                    line = encode(statement) + b"\n"
                    stream.write(line)
                    digest.update(line)
                    ids_digest.update(statement["id"].encode() + b"\n")
                    count += 1
                    size += len(line)
                    first_seq = result.seq if first_seq is None else first_seq
                    last_seq = result.seq
            if count == 0:
                raise BundleError("no result waits to be sent; no bundle written")
            manifest = {
                "format": BUNDLE_FORMAT,
                "kind": BUNDLE_KIND,
                "bundle_id": bundle_id,
                "hub_id": hub_id,
                "hub_name": hub.settings.HUB_NAME,
                "made_at": made_at.text,
                "count": count,
                "first_seq": first_seq,
                "last_seq": last_seq,
                "statements_bytes": size,
                "statements_sha256": digest.hexdigest(),
                "ids_sha256": ids_digest.hexdigest(),
            }
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
        _make_durable(partial)
        os.replace(partial, final)
        fsync_dir(folder)
    except OSError as error:
        raise BundleError(f"cannot write {final}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)

    ledger.keep_bundle(
        bundle_id,
        {
            key: manifest[key]
            for key in (
                "made_at",
                "count",
                "first_seq",
                "last_seq",
                "statements_sha256",
            )
        }
        | {"file": name},
    )
    return final, manifest


def _waiting_statements(hub, ledger):
    """Each pending result with its statement, oldest first.

    The ledger notes each page's last sequence number before the page is
    written: from then on those statements must stay as they are.
    """
    after_seq = 0
    while True:
        page = hub.results.pending(limit=PAGE, after_seq=after_seq)
        if not page:
            return
        after_seq = page[-1].seq
        ledger.raise_sent_through(after_seq)
        for result in page:
            statement = statement_for(result, hub.state.hub_id, hub.settings)
            problems = validate_statement(statement)
            if problems:
                hub.results.quarantine(result.id, "; ".join(problems))
                continue
            yield result, statement


def read_bundle(path: Path) -> tuple[dict, list]:
    """The manifest and statements of a whole, unchanged bundle."""
    # XXX Checksums, not signatures: a forger who rewrites the manifest too
    # passes. The proper fix is a per-hub key the district office can check.
    path = Path(path)
    cut_off = (
        f"{path} is not a whole bundle: it is cut off or damaged; copy it "
        "again from the hub's USB stick"
    )
    try:
        with zipfile.ZipFile(path) as archive:
            if sorted(archive.namelist()) != sorted([MANIFEST, STATEMENTS]):
                raise BundleError(f"{path} is not a results bundle of a hub")
            manifest = json.loads(archive.read(MANIFEST))
            data = archive.read(STATEMENTS)
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError):
        raise BundleError(cut_off) from None
    except OSError as error:
        raise BundleError(f"cannot read {path}: {error.strerror}") from None

    if not isinstance(manifest, dict) or manifest.get("kind") != BUNDLE_KIND:
        raise BundleError(f"{path} is not a results bundle of a hub")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{path} has bundle format {manifest.get('format')!r}; "
            "this version reads format 1: update it"
        )
    changed = (
        f"{path} was changed after the hub wrote it ({{}} differs from its "
        "manifest); refused: export it again on the hub"
    )
    if len(data) != manifest.get("statements_bytes"):
        raise BundleError(changed.format("its size"))
    if hashlib.sha256(data).hexdigest() != manifest.get("statements_sha256"):
        raise BundleError(changed.format("its SHA-256"))

    lines = data.splitlines()
    if len(lines) != manifest.get("count"):
        raise BundleError(changed.format("the number of statements"))
    prefix = f"{manifest.get('hub_id')}/"
    statements, seen = [], set()
    for number, line in enumerate(lines, start=1):
        statement = _hubs_statement(line, prefix)
        if statement is None or statement["id"] in seen:
            raise BundleError(
                f"{path}: statement {number} is not one the hub made; refused"
            )
        seen.add(statement["id"])
        statements.append(statement)
    return manifest, statements


def _hubs_statement(line: bytes, prefix: str) -> dict | None:
    """The statement on a line, if it is valid and names a learner of the hub."""
    try:
        statement = json.loads(line)
        name = statement["actor"]["account"]["name"]
    except (ValueError, KeyError, TypeError):
        return None
    if validate_statement(statement) or not str(name).startswith(prefix):
        return None
    return statement


def upload_bundle(path: Path, settings, session=None, clock=None) -> tuple[Path, dict]:
    """Send a bundle to the LRS and write its receipt beside it.

    The receipt is written even when the upload stops midway, naming what
    was confirmed so far; running it again sends the rest.
    """
    path = Path(path)
    manifest, statements = read_bundle(path)
    if not settings.LRS_URL:
        raise BundleError(
            "LRS_URL is not set here; set it (and LRS_USERNAME, "
            "LRS_PASSWORD) in this computer's config file"
        )

    confirmed, refused, problem = [], [], None
    uplink = Uplink(settings, clock=clock, session=session)
    lrs = LrsClient(settings, uplink)
    batch = max(1, settings.SYNC_BATCH_SIZE)
    try:
        for start in range(0, len(statements), batch):
            deliver(
                lrs,
                statements[start : start + batch],
                confirmed.extend,
                lambda statement_id, reason: refused.append(
                    {"id": statement_id, "reason": reason}
                ),
            )
    except LinkProblem as stopped:
        problem = str(stopped)
    finally:
        uplink.close()

    receipt = {
        "format": BUNDLE_FORMAT,
        "kind": RECEIPT_KIND,
        "bundle_id": manifest["bundle_id"],
        "hub_id": manifest["hub_id"],
        "statements_sha256": manifest["statements_sha256"],
        "count": manifest["count"],
        "complete": problem is None,
        "problem": problem,
        "lrs": settings.LRS_URL,
        "confirmed": confirmed,
        "refused": refused,
    }
    target = path.with_name(path.stem + ".receipt.json")
    _write_file(target, json.dumps(receipt, indent=1).encode())
    return target, receipt


def import_receipt(hub, path: Path) -> dict:
    """Mark the results a receipt names as confirmed or set aside."""
    path = Path(path)
    try:
        receipt = json.loads(path.read_bytes())
    except OSError as error:
        raise BundleError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise BundleError(
            f"{path} is not a whole receipt: it is cut off or damaged; copy it again"
        ) from None
    if not isinstance(receipt, dict) or receipt.get("kind") != RECEIPT_KIND:
        raise BundleError(f"{path} is not a receipt of upload-bundle")
    if receipt.get("hub_id") != hub.state.hub_id:
        raise BundleError(
            f"{path} is the receipt of hub {receipt.get('hub_id')}, "
            f"not of this hub ({hub.state.hub_id}); nothing changed"
        )
    ledger = SyncLedger(hub.state)
    bundle = ledger.bundle(str(receipt.get("bundle_id")))
    if bundle is None:
        raise BundleError(
            f"{path} names a bundle this hub did not export (or "
            "exported long ago); nothing changed"
        )
    if receipt.get("statements_sha256") != bundle["statements_sha256"]:
        raise BundleError(
            f"{path} does not match the bundle this hub exported "
            "(checksum differs); nothing changed"
        )

    if not isinstance(receipt.get("confirmed"), list) or not isinstance(
        receipt.get("refused") or [], list
    ):
        raise BundleError(
            f"{path} is damaged: its lists of confirmed and refused results "
            "are not lists; copy it again; nothing changed"
        )
    confirmed = _in_bundle(hub.results, receipt.get("confirmed"), bundle)
    refusals = {
        item["id"]: item["reason"]
        for item in receipt.get("refused") or []
        if isinstance(item, dict) and isinstance(item.get("reason"), str)
    }
    refused = _in_bundle(hub.results, list(refusals), bundle)
    hub.results.mark_confirmed(confirmed)
    for result_id in refused:
        hub.results.quarantine(
            result_id, f"refused when uploaded from a USB stick: {refusals[result_id]}"
        )
    return {
        "confirmed": len(confirmed),
        "set_aside": len(refused),
        "complete": bool(receipt.get("complete")),
    }


def _in_bundle(results, ids, bundle: dict) -> list[str]:
    """Those of ``ids`` that are pending results inside the bundle's range."""
    if not isinstance(ids, list):
        return []
    wanted = [i for i in ids if isinstance(i, str)]
    found = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = results.query(
            "SELECT id FROM results WHERE status = 0 AND seq BETWEEN ? AND ?"
            f" AND id IN ({', '.join('?' * len(chunk))})",
            [bundle["first_seq"], bundle["last_seq"], *chunk],
        )
        found.extend(row["id"] for row in rows)
    return found


def _write_file(path: Path, data: bytes) -> None:
    try:
        write_file_atomically(path, data)
    except OSError as error:
        raise BundleError(f"cannot write {path}: {error.strerror}") from None


def _make_durable(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())
