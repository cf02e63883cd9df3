# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub at a glance: where tablets connect, what is here, what waits.

The page shows the address tablets should open as text and as a QR code
(drawn by ``segno``; Android tablets before version 12 cannot resolve
``.local`` names, so the address is a number), the tablets seen lately, the
installed packs, free space and results waiting for the national server,
with a "sync now" button and plain warnings when something needs a person.

``TabletsSeen`` is told by the tablet API about each batch a tablet posts;
it lives in memory (a restart forgets it, the results themselves are kept)
and bounds itself. ``SyncRunner`` runs one sync at a time in a daemon
thread; the sync lock in ``hub.sync_schedule`` keeps it from overlapping a
sync started by the timer or the command line. Both lock themselves.
"""

from __future__ import annotations

import io
import logging
import shutil
import threading
import time
from datetime import datetime, timedelta

import segno
from flask import Response, flash, g, redirect, request, url_for

from .. import clock
from .. import progress as queries
from ..network import tablet_addresses
from . import _, bp, pack_text, page, pages, problem, the_hub
from .auth import describe_events
from .tables import Table, csv_response, wants_csv

log = logging.getLogger(__name__)

RECENT_TABLETS_S = 2 * 3600
_TABLETS_KEPT = 500


class TabletsSeen:
    """Tablet id -> when it last sent results and from which address."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, str, int]] = {}

    def saw(self, tablet_id: str | None, address: str | None, results: int) -> None:
        if not tablet_id:
            return
        with self._lock:
            self._seen[tablet_id] = (time.monotonic(), address or "", results)
            if len(self._seen) > _TABLETS_KEPT:
                oldest = min(self._seen, key=lambda key: self._seen[key][0])
                del self._seen[oldest]

    def recent(self, within_s: float = RECENT_TABLETS_S) -> list[dict]:
        now = time.monotonic()
        with self._lock:
            items = list(self._seen.items())
        found = [
            {
                "tablet_id": tablet_id,
                "ago_s": now - at,
                "address": address,
                "results": results,
            }
            for tablet_id, (at, address, results) in items
            if now - at < within_s
        ]
        return sorted(found, key=lambda row: row["ago_s"])


class SyncRunner:
    """The "sync now" button: one sync at a time, in the background."""

    def __init__(self, hub):
        self.hub = hub
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last: dict | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a sync; False when one started here is still running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(
                target=self._run, name="teacher-sync", daemon=True
            )
            self._thread.start()
        return True

    def _run(self) -> None:
        from ..sync_schedule import SyncBusy, sync_once

        try:
            report = sync_once(self.hub)
        except SyncBusy:
            outcome = {"state": "busy", "summary": ""}
        except Exception:
            log.exception("sync started from the teacher page failed")
            outcome = {"state": "failed", "summary": ""}
        else:
            # XXX The summary is hub.sync's English text; the proper fix is a
            # report with codes that this page words in the teacher's language.
            outcome = {
                "state": "ok" if report.ok else "problem",
                "summary": report.summary(),
            }
            log.info("sync from the teacher page finished: %s", outcome["state"])
        outcome["finished_at"] = clock.now_text()
        with self._lock:
            self.last = outcome


def size_text(size: int) -> str:
    number = g.i18n.format_number
    if size >= 1 << 30:
        return _("{number} GB", number=number(size / (1 << 30), 1))
    if size >= 1 << 20:
        return _("{number} MB", number=number(size / (1 << 20), 1))
    return _("{number} KB", number=number(size / 1024))


def _tablet_urls() -> list[str]:
    # The port this page came in on is the port tablets reach too.
    port = request.environ.get("SERVER_PORT", "8080")
    urls = []
    for address in tablet_addresses(the_hub().settings.HOST):
        host = f"[{address}]" if ":" in address else address
        urls.append(f"http://{host}:{port}/")
    return urls


def _warnings(backlog, free: int) -> list[str]:
    hub = the_hub()
    settings = hub.settings
    # Judged as results are judged: against the build, the national
    # server's time learnt at sync, and jumps since the hub started.
    reading = hub.results.clock.reading()
    found = []
    if not reading.trusted:
        found.append(
            _(
                "The hub's clock is wrong: it shows {time}. Results are still kept "
                "safely, but their times cannot be trusted. Connect the hub to the "
                "internet, or ask a technician to set the clock.",
                time=g.i18n.format_datetime(reading.wall.astimezone()),
            )
        )
    if free < settings.TEACHER_WARN_FREE_BYTES:
        found.append(
            _(
                "The hub's disk is nearly full: {free} free. New results may soon "
                "be refused. Ask a technician to free space.",
                free=size_text(free),
            )
        )
    if backlog.oldest_received_at and reading.trusted:
        waited = reading.wall - datetime.fromisoformat(backlog.oldest_received_at)
        limit = timedelta(seconds=settings.TEACHER_WARN_SYNC_WAIT_S)
        if waited > limit:
            found.append(
                _(
                    "{count} results have waited more than {days} days to be sent "
                    "to the national server. Connect the hub to the internet and "
                    "press Sync now.",
                    count=g.i18n.format_number(backlog.pending),
                    days=g.i18n.format_number(limit.days),
                )
            )
    return found


def _ago(seconds: float) -> str:
    if seconds < 60:
        return _("just now")
    return _("{minutes} min ago", minutes=g.i18n.format_number(seconds // 60))


@bp.get("/")
def glance():
    hub = the_hub()
    settings = hub.settings

    tablets = Table(
        "tablets",
        [
            ("tablet_id", _("Tablet")),
            ("seen", _("Last answers sent")),
            ("results", _("Answers in that batch")),
            ("address", _("Address")),
        ],
        [{**row, "seen": _ago(row["ago_s"])} for row in pages().tablets.recent()],
    )
    packs = Table(
        "packs",
        [
            ("title", _("Pack")),
            ("kind", _("Kind")),
            ("version", _("Version")),
            ("size", _("Size")),
        ],
        [
            {
                "title": pack_text(pack.manifest["title"]),
                "kind": {"guide": _("Guide"), "assessment": _("Checks")}.get(
                    pack.kind, _("Lessons")
                ),
                "version": pack.version,
                "size": size_text(pack.size),
            }
            for pack in hub.packs.catalog()
        ],
    )
    if wants_csv():
        if request.args.get("table") == "packs":
            return csv_response(packs, _("packs"))
        return csv_response(tablets, _("tablets"))

    backlog = queries.sync_backlog(hub.results)
    free = shutil.disk_usage(hub.data_dir).free
    return page(
        "glance.html",
        urls=_tablet_urls(),
        tablets=tablets,
        packs=packs,
        free=size_text(free),
        backlog=backlog,
        warnings=_warnings(backlog, free),
        sync_configured=bool(settings.LRS_URL or settings.CATALOG_URL),
        sync_running=pages().sync.running,
        last_sync=pages().sync.last,
        events=describe_events(pages().accounts.events(5)),
        classes=hub.state.classes(),
    )


@bp.get("/tablet-address-<int:index>.png")
def tablet_qr(index: int):
    urls = _tablet_urls()
    if index >= len(urls):
        return problem(404, _("There is no such address."))
    out = io.BytesIO()
    segno.make(urls[index], error="m", micro=False).save(
        out, kind="png", scale=8, border=4
    )
    return Response(out.getvalue(), mimetype="image/png")


@bp.post("/sync")
def sync_now():
    settings = the_hub().settings
    if not (settings.LRS_URL or settings.CATALOG_URL):
        flash(
            _(
                "No national server is set up on this hub, so there is "
                "nothing to sync with. A technician sets LRS_URL."
            )
        )
    elif pages().sync.start():
        flash(_("Sync started. Reload this page in a minute to see how it went."))
    else:
        flash(_("A sync is running already."))
    return redirect(url_for("teacher.glance"))
