# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sync through a link that breaks: a fault-injecting proxy before a real Ralph.

Every test ends the same way: after the fault and a resumed sync, the LRS
holds each result exactly once, and the hub never called a result confirmed
that the LRS did not hold.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from hub.app import Hub
from hub.config import load_settings
from hub.results import ResultStore
from hub.state import HubState
from hub.sync import push_results
from hub.uplink import Uplink
from tests.support.fakeclock import FakeClock
from tests.support.faultproxy import FaultProxy
from tests.support.hub import ROOT, _env
from tests.support.tablet import store_results

HTML = (200, {"Content-Type": "text/html"}, b"<html>Log in to Wi-Fi</html>")
REDIRECT = (302, {"Location": "http://portal.example/login"}, b"")


@pytest.fixture
def proxy(lrs):
    with FaultProxy(lrs.url) as proxy:
        yield proxy


@pytest.fixture
def state(tmp_path):
    state = HubState(tmp_path / "hub.json")
    yield state
    state.close()


@pytest.fixture
def learner(state):
    return state.add_learner(state.add_class("3V")["id"], "Номин", "owl")


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 12, 7, 12, 40, tzinfo=UTC))


@pytest.fixture
def store(tmp_path, clock):
    from hub.clock import ClockWatch

    store = ResultStore(tmp_path / "results.sqlite3", ClockWatch(tmp_path, clock))
    yield store
    store.close()


def settings_for(proxy, lrs, tmp_path, **more):
    values = dict(
        DATA_DIR=str(tmp_path),
        LRS_URL=proxy.url,
        LRS_USERNAME=lrs.username,
        LRS_PASSWORD=lrs.password,
        SYNC_TIMEOUT_S=1,
        SYNC_BATCH_SIZE=3,
        SYNC_RETRIES=0,
    )
    values.update(more)
    return load_settings(environ={}, **values)


def push(store, state, settings, clock):
    uplink = Uplink(settings, clock=clock)
    try:
        return push_results(store, state.hub_id, settings, uplink=uplink)
    finally:
        uplink.close()


def confirmed_ids(store) -> set:
    rows = store.query("SELECT id FROM results WHERE status = 1")
    return {row["id"] for row in rows}


def assert_each_held_once(lrs, store, ids) -> None:
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}
    assert store.counts()["pending"] == 0


@pytest.mark.parametrize(
    ("fault", "arg", "words"),
    [
        ("cut_body", 5, "cut off"),
        ("short_body", None, "cut off"),
        ("lose_answer", None, "was cut before it answered"),
        ("reset", None, "was cut before it answered"),
        ("stall", 5, "did not answer in time"),
        ("stall_after_forward", 5, "did not answer in time"),
        ("answer", (500, {}, b"oops"), "answered 500"),
        ("answer", (429, {"Retry-After": "120"}, b""), "answered 429"),
        ("answer", (503, {"Content-Type": "text/plain"}, b"busy"), "answered 503"),
        ("answer", HTML, "captive portal"),
        ("answer", REDIRECT, "redirected"),
    ],
)
def test_after_a_fault_and_a_resumed_sync_the_lrs_holds_each_result_once(
    lrs, proxy, store, state, learner, clock, tmp_path, fault, arg, words
):
    ids = store_results(store, learner["id"], 10)
    settings = settings_for(proxy, lrs, tmp_path)
    # A first sync learns the LRS's time, so the next starts with a full
    # batch of three, which the fault hits.
    assert push(store, state, settings, clock).ok
    extra = store_results(store, learner["id"], 9)
    proxy.fail_next(fault, arg)

    broken = push(store, state, settings, clock)

    assert not broken.ok
    assert words in broken.problem
    assert "Traceback" not in broken.problem
    held = lrs.copies_held(ids + extra)
    assert all(held[result_id] == 1 for result_id in confirmed_ids(store))

    resumed = push(store, state, settings, clock)

    assert resumed.ok, resumed.problem
    assert_each_held_once(lrs, store, ids + extra)


def test_transient_failures_are_tried_again_after_jittered_waits(
    lrs, proxy, store, state, learner, clock, tmp_path
):
    ids = store_results(store, learner["id"], 4)
    settings = settings_for(proxy, lrs, tmp_path, SYNC_RETRIES=3)
    proxy.fail_next("answer", (500, {}, b"oops"))
    proxy.fail_next("answer", (502, {}, b"gateway"))
    proxy.fail_next("cut_body", 3)

    report = push(store, state, settings, clock)

    assert report.ok, report.problem
    # Ceilings of 2 s, 4 s and 8 s; at least half of each is waited, the
    # rest drawn at random so that hubs failing together spread out.
    assert len(clock.slept) == 3
    for waited, ceiling in zip(clock.slept, (2, 4, 8), strict=True):
        assert ceiling / 2 <= waited <= ceiling
    assert_each_held_once(lrs, store, ids)


def test_retry_after_is_honoured(lrs, proxy, store, state, learner, clock, tmp_path):
    ids = store_results(store, learner["id"], 2)
    settings = settings_for(proxy, lrs, tmp_path, SYNC_RETRIES=1)
    proxy.fail_next("answer", (429, {"Retry-After": "17"}, b"slow down"))

    report = push(store, state, settings, clock)

    assert report.ok, report.problem
    assert clock.slept[0] >= 17
    assert_each_held_once(lrs, store, ids)


def test_a_long_retry_after_ends_the_run_and_is_kept_for_the_next(
    lrs, proxy, store, state, learner, clock, tmp_path
):
    store_results(store, learner["id"], 2)
    settings = settings_for(proxy, lrs, tmp_path, SYNC_RETRIES=3)
    proxy.fail_next("answer", (503, {"Retry-After": "900"}, b"maintenance"))

    report = push(store, state, settings, clock)

    assert not report.ok
    assert report.retry_after_s == 900
    assert clock.slept == []


def test_a_sync_killed_mid_request_resumes_without_sending_twice(lrs, proxy, tmp_path):
    data_dir = tmp_path / "data"
    hub = Hub.open(load_settings(environ={}, DATA_DIR=str(data_dir)))
    learner = hub.state.add_learner(hub.state.add_class("1A")["id"], "Бат", "cow")
    ids = store_results(hub.results, learner["id"], 12)
    hub.close()
    env = {
        "CLASSROOM_HUB_LRS_URL": proxy.url,
        "CLASSROOM_HUB_LRS_USERNAME": lrs.username,
        "CLASSROOM_HUB_LRS_PASSWORD": lrs.password,
        "CLASSROOM_HUB_SYNC_BATCH_SIZE": "4",
        "CLASSROOM_HUB_SYNC_TIMEOUT_S": "60",
    }
    # The one-statement probe and a batch go through; the next batch reaches
    # the LRS, whose answer never comes back before the power is cut.
    proxy.fail_next("pass", times=2)
    proxy.fail_next("stall_after_forward", 60)

    command = [sys.executable, "-m", "hub", "--data-dir", str(data_dir), "sync"]
    running = subprocess.Popen(
        command,
        env=_env(env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while len(proxy.exchanges) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    running.send_signal(signal.SIGKILL)
    running.wait(10)
    held_before = lrs.copies_held(ids)

    finished = subprocess.run(
        command, env=_env(env), cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert sum(held_before.values()) == 1 + 4 + 4
    assert finished.returncode == 0, finished.stderr
    hub = Hub.open(load_settings(environ={}, DATA_DIR=str(data_dir)))
    try:
        assert_each_held_once(lrs, hub.results, ids)
    finally:
        hub.close()


def test_the_bandwidth_cap_paces_statements_going_up(
    lrs, proxy, store, state, learner, clock, tmp_path
):
    ids = store_results(store, learner["id"], 6)
    rate = 2000
    settings = settings_for(proxy, lrs, tmp_path, SYNC_MAX_BYTES_PER_S=rate)
    started = clock.monotonic()

    report = push(store, state, settings, clock)

    assert report.ok, report.problem
    taken = clock.monotonic() - started
    wire = proxy.bytes_from_client + proxy.bytes_to_client
    # Bodies are paced, heads are not: the time lies between the two.
    assert 0.7 * wire / rate <= taken <= wire / rate
    assert_each_held_once(lrs, store, ids)
