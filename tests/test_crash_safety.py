# SPDX-License-Identifier: AGPL-3.0-or-later
"""An acknowledged result survives SIGKILL; a retried one is never stored twice."""

from __future__ import annotations

import threading
import time

import requests

from tests.support.tablet import make_batch


def test_sigkill_while_forty_tablets_post_loses_no_acknowledged_result(
    hub_server, demo_learners
):
    acknowledged = set()
    sent_batches = []
    lock = threading.Lock()
    stop = threading.Event()

    def tablet(number: int) -> None:
        session = requests.Session()
        learner = demo_learners[number % len(demo_learners)]["id"]
        while not stop.is_set():
            batch = make_batch(learner, 10, f"t-{number}")
            with lock:
                sent_batches.append(batch)
            try:
                answer = session.post(
                    hub_server.url("/api/v1/results"), json=batch, timeout=10
                )
            except requests.RequestException:
                return
            if answer.status_code == 200:
                with lock:
                    acknowledged.update(answer.json()["accepted"])

    threads = [threading.Thread(target=tablet, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    hub_server.kill()
    stop.set()
    for thread in threads:
        thread.join(15)

    assert len(acknowledged) >= 400
    stored = [r["id"] for r in hub_server.stored_results()]
    assert len(stored) == len(set(stored))
    assert acknowledged <= set(stored)

    # Tablets resend everything they were not told was stored: each is
    # stored once, whatever happened to it before the kill.
    hub_server.start()
    for batch in sent_batches:
        answer = hub_server.post("/api/v1/results", json=batch)
        assert answer.status_code == 200
        assert not answer.json()["rejected"]
    stored = [r["id"] for r in hub_server.stored_results()]
    sent = {r["id"] for batch in sent_batches for r in batch["results"]}
    assert len(stored) == len(set(stored)) == len(sent)


def test_sigterm_stops_the_hub_quickly_with_results_kept(hub_server, demo_learners):
    batch = make_batch(demo_learners[0]["id"], 20)
    hub_server.post("/api/v1/results", json=batch)

    started = time.monotonic()
    code = hub_server.stop()

    assert code == 0
    assert time.monotonic() - started < 5
    assert len(hub_server.stored_results()) == 20
