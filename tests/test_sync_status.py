# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the technician sees: `classroom-hub status` and GET /api/v1/status."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hub.app import Hub
from hub.catalog import pack_zip_from_folder, write_catalog
from hub.clock import ClockWatch
from hub.config import load_settings
from hub.sync import run_sync
from hub.sync_status import hub_status, status_lines
from tests.support.fakeclock import FakeClock
from tests.support.faultproxy import FaultProxy
from tests.support.packs import PACK_ID, make_pack
from tests.support.tablet import store_results
from tests.support.webservers import closed_port, file_server


def test_the_command_and_the_api_show_the_same_status(hub_server):
    over_http = hub_server.get("/api/v1/status").json()
    by_hand = json.loads(hub_server.cli("status", "--json").stdout)

    for changing in ("time", "oldest_pending_age_s"):
        over_http.pop(changing)
        by_hand.pop(changing)
    for status in (over_http, by_hand):
        status["sync"].pop("scheduled")
    assert over_http == by_hand
    assert set(by_hand) >= {
        "results",
        "sync",
        "budget",
        "quarantined",
        "downloads",
        "clock",
    }
    assert by_hand["sync"]["last_attempt"] is None


def test_status_tells_a_failed_sync_set_aside_results_and_a_download_underway(
    tmp_path,
):
    site = tmp_path / "site"
    site.mkdir()
    pack_zip_from_folder(
        make_pack(tmp_path / "p", version="1.1.0"), site / f"{PACK_ID}-1.1.0.zip"
    )
    size = (site / f"{PACK_ID}-1.1.0.zip").stat().st_size
    clock = FakeClock(datetime(2026, 12, 7, 4, 0, tzinfo=UTC))

    with file_server(site) as server, FaultProxy(server.url) as proxy:
        write_catalog(site, proxy.url)
        proxy.fail_next("cut_body", size // 4, match=".zip")
        settings = load_settings(
            environ={},
            DATA_DIR=str(tmp_path / "data"),
            LRS_URL=f"http://127.0.0.1:{closed_port()}/xAPI/",
            CATALOG_URL=proxy.url + "catalog.json",
            SYNC_RETRIES=0,
            SYNC_BUDGET_DAY_BYTES=5_000_000,
        )
        hub = Hub.open(settings)
        hub.results.clock = ClockWatch(tmp_path / "data", clock)
        try:
            learner = hub.state.add_learner(
                hub.state.add_class("1B")["id"], "Ая", "cow"
            )
            ids = store_results(hub.results, learner["id"], 3)
            hub.results.quarantine(ids[0], "the LRS refused the statements (409)")
            clock.advance(3 * 3600)

            run_sync(hub, clock=clock)
            status = hub_status(hub, clock)
            lines = status_lines(status)
        finally:
            hub.close()

    attempt = status["sync"]["last_attempt"]
    assert attempt["ok"] is False
    assert "could not reach the LRS" in attempt["outcome"]
    assert status["sync"]["last_success"] is None
    assert status["results"] == {"pending": 2, "confirmed": 0, "quarantined": 1}
    assert status["oldest_pending_age_s"] == 3 * 3600
    assert status["quarantined"][0]["reason"].endswith("(409)")
    assert status["downloads"] == [
        {
            "pack": PACK_ID,
            "version": "1.1.0",
            "bytes": size // 4,
            "size": size,
            "percent": round(100 * (size // 4) / size),
        }
    ]
    assert 0 < status["budget"]["day"]["used_bytes"] < 5_000_000
    assert status["budget"]["day"]["limit_bytes"] == 5_000_000
    text = "\n".join(lines)
    assert "last sync attempt: 2026-12-07T07:00:00+00:00 (now), failed: could " in text
    assert "oldest waiting result arrived" in text and "(3 hours ago)" in text
    assert "1 failed syncs in a row; the timer tries again from 2026-12-07T07:" in text
    assert f"downloading {PACK_ID} 1.1.0: {size // 4} of {size} bytes" in text
    assert "bytes used: today" in text and "of 5.0 MB" in text
    assert "sync window: 12:30-13:30, opens 2026-12-07T12:30" in text
