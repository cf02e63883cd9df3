# SPDX-License-Identifier: AGPL-3.0-or-later
"""The classroom load generator stays correct: not timed, only checked.

It runs as ``bench/classroom`` does in the full comparison, as a child
process printing JSON, against a real hub with the bundled packs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from tests.support.hub import ROOT

BENCH = ROOT / "bench" / "classroom"


def run_load(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_five_tablets_store_every_answer_once_without_a_failed_request(hub_server):
    report = run_load(
        "tablets",
        "--url",
        hub_server.base_url,
        "--tablets",
        "5",
        "--seconds",
        "4",
        "--think-s",
        "0.2,0.6",
        "--ramp-s",
        "0.2",
        "--ids",
    )

    assert report["groups"]["api_and_pages"]["errors"] == 0, report["error_samples"]
    assert report["groups"]["media"]["errors"] == 0, report["error_samples"]
    assert report["endpoints"]["all"]["errors"] == 0, report["error_samples"]
    assert report["still_running"] == 0
    assert report["results_unsent"] == 0
    assert report["results_rejected"] == 0
    assert report["answers"] > 5
    assert len(report["accepted_ids"]) == report["answers"]

    stored = Counter(record["id"] for record in hub_server.stored_results())
    assert set(stored) == set(report["accepted_ids"])
    assert max(stored.values()) == 1


def test_a_burst_of_batches_is_stored_exactly_once(hub_server):
    report = run_load(
        "burst",
        "--url",
        hub_server.base_url,
        "--tablets",
        "5",
        "--batch",
        "10",
        "--rounds",
        "3",
        "--ids",
    )

    assert report["errors"] == 0, report["error_samples"]
    assert report["results_accepted"] == 5 * 10 * 3
    stored = Counter(record["id"] for record in hub_server.stored_results())
    assert set(stored) == set(report["accepted_ids"])
    assert max(stored.values()) == 1
