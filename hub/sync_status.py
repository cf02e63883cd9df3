# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the technician sees of a hub: ``classroom-hub status``, /api/v1/status.

``hub_status`` gathers one dict, the JSON both show: results waiting and the
oldest one's age, the last attempt and the last success with their outcome in
plain words, the next sync window and this hub's turn in it, bytes used
against the budget, statements set aside with their reasons, downloads in
progress with how far they are, and whether the clock is trusted.
``status_lines`` words it for a terminal.

Only reads (the clock watch may note the first reading of a boot); any
thread, any process, while a sync runs.
"""

from __future__ import annotations

from datetime import datetime

from . import __version__
from .clock import span_text
from .sync import due
from .sync_ledger import SyncLedger
from .sync_windows import (
    ByteMeter,
    next_opening,
    open_window,
    parse_windows,
    turn_in_window,
)

QUARANTINE_SHOWN = 20


def hub_status(hub, clock=None) -> dict:
    settings = hub.settings
    clock = clock if clock is not None else hub.results.clock.source
    now = clock.wall()
    ledger = SyncLedger(hub.state)
    record = ledger.record()
    meter = ByteMeter(
        ledger, clock, settings.SYNC_BUDGET_DAY_BYTES, settings.SYNC_BUDGET_MONTH_BYTES
    )
    day_used, month_used = meter.totals()
    counts = hub.results.counts()
    oldest = hub.results.oldest_pending()
    reading = hub.results.clock.reading()

    return {
        "hub_id": hub.state.hub_id,
        "name": settings.HUB_NAME,
        "version": __version__,
        "data_dir": str(settings.data_dir),
        "time": now.isoformat(timespec="seconds"),
        "results": counts,
        "oldest_pending_received_at": oldest.received_at if oldest else None,
        "oldest_pending_age_s": _age_s(oldest.received_at, now) if oldest else None,
        "sync": {
            "lrs_url_set": bool(settings.LRS_URL),
            "catalog_url_set": bool(settings.CATALOG_URL),
            "last_attempt": record.get("last_attempt"),
            "last_success": record.get("last_success"),
            "failures_in_a_row": record.get("failures", 0),
            "not_before": record.get("not_before"),
            "next_window": _next_window(hub, now),
            "scheduled": _scheduled(hub, meter, ledger, now),
            "sent_through_seq": record.get("sent_through_seq", 0),
        },
        "budget": {
            "day": {"used_bytes": day_used, "limit_bytes": meter.day_limit or None},
            "month": {
                "used_bytes": month_used,
                "limit_bytes": meter.month_limit or None,
            },
        },
        "quarantined": _quarantined(hub.results),
        "downloads": _downloads(hub, ledger),
        "clock": {
            "trusted": reading.trusted,
            "reason": reading.reason,
            **hub.results.clock.boot_facts(),
        },
        "packs": [f"{pack.id} {pack.version}" for pack in hub.packs.catalog()],
        "classes": len(hub.state.classes()),
    }


def status_lines(status: dict) -> list[str]:
    """The status in plain words, one fact a line."""
    results, sync, budget = status["results"], status["sync"], status["budget"]
    lines = [
        f"hub {status['name']} ({status['hub_id']}), version {status['version']}",
        f"data in {status['data_dir']}",
        f"results: {results['pending']} waiting to sync, {results['confirmed']} "
        f"confirmed, {results['quarantined']} quarantined",
    ]
    if status["oldest_pending_received_at"]:
        age = status["oldest_pending_age_s"]
        lines.append(
            f"oldest waiting result arrived {status['oldest_pending_received_at']}"
            + (f" ({span_text(age)} ago)" if age is not None and age >= 0 else "")
        )

    lines.append(f"last sync attempt: {_attempt_words(sync['last_attempt'])}")
    lines.append(f"last successful sync: {_attempt_words(sync['last_success'])}")
    if sync["failures_in_a_row"]:
        lines.append(
            f"{sync['failures_in_a_row']} failed syncs in a row; the timer tries "
            f"again from {sync['not_before']}"
        )
    window = sync["next_window"]
    when = "open now" if window["open_now"] else f"opens {window['opens_at']}"
    lines.append(
        f"sync window: {window['window']}, {when}; this hub's turn at "
        f"{window['turn_at']}"
    )
    lines.append(f"scheduled sync: {sync['scheduled']['reason']}")
    lines.append(
        "bytes used: today "
        + _budget_words(budget["day"])
        + ", this month "
        + _budget_words(budget["month"])
    )
    clock = status["clock"]
    lines.append(
        f"clock: {'trusted' if clock['trusted'] else 'NOT trusted'}: {clock['reason']}"
    )
    for item in status["quarantined"]:
        lines.append(f"  set aside {item['id']}: {item['reason']}")
    for download in status["downloads"]:
        lines.append(
            f"downloading {download['pack']} {download['version']}: "
            f"{download['bytes']} of {download['size']} bytes "
            f"({download['percent']}%)"
        )
    lines.append(f"packs: {', '.join(status['packs']) or 'none'}")
    lines.append(f"classes: {status['classes']}")
    return lines


def _attempt_words(attempt: dict | None) -> str:
    if not attempt:
        return "never"
    verdict = "ok" if attempt.get("ok") else "failed"
    return f"{attempt['started_at']} ({attempt['trigger']}), {verdict}: " + (
        attempt.get("outcome") or "nothing to do"
    )


def _budget_words(period: dict) -> str:
    used = _bytes_text(period["used_bytes"])
    if period["limit_bytes"]:
        return f"{used} of {_bytes_text(period['limit_bytes'])}"
    return f"{used} (no limit)"


def _bytes_text(count: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _next_window(hub, now: datetime) -> dict:
    settings = hub.settings
    windows = parse_windows(settings.SYNC_WINDOWS)
    inside = open_window(windows, now)
    window, opening = inside if inside else next_opening(windows, now)
    turn = turn_in_window(hub.state.hub_id, opening, window, settings.SYNC_SPREAD_S)
    return {
        "window": str(window),
        "open_now": inside is not None,
        "opens_at": opening.isoformat(timespec="minutes"),
        "turn_at": turn.isoformat(timespec="minutes"),
    }


def _scheduled(hub, meter, ledger, now) -> dict:
    decision = due(hub, meter, ledger, now)
    return {
        "due": decision.due,
        "reason": decision.reason,
        "next_at": decision.next_at.isoformat(timespec="minutes")
        if decision.next_at
        else None,
    }


def _quarantined(results) -> list[dict]:
    rows = results.query(
        "SELECT id, status_reason, received_at FROM results WHERE status = 2"
        " ORDER BY seq DESC LIMIT ?",
        [QUARANTINE_SHOWN],
    )
    return [
        {
            "id": row["id"],
            "reason": row["status_reason"],
            "received_at": row["received_at"],
        }
        for row in rows
    ]


def _downloads(hub, ledger) -> list[dict]:
    found = []
    for name, facts in sorted(ledger.downloads().items()):
        path = hub.packs.downloads_dir / name
        have = path.stat().st_size if path.exists() else 0
        size = facts["size"]
        found.append(
            {
                "pack": facts["id"],
                "version": facts["version"],
                "bytes": have,
                "size": size,
                "percent": min(100, round(100 * have / size)) if size else 0,
            }
        )
    return found


def _age_s(text: str, now: datetime) -> float | None:
    try:
        return (now - datetime.fromisoformat(text)).total_seconds()
    except (TypeError, ValueError):
        return None
