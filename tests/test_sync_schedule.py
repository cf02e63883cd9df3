# SPDX-License-Identifier: AGPL-3.0-or-later
"""When sync runs: windows, this hub's turn, back-off, byte budgets, one at a time.

Time is a fake clock the tests move; the LRS is a real Ralph behind a fault
proxy that counts the bytes, as the school's metered modem would.
"""

from __future__ import annotations

import collections
import random
from datetime import datetime, timedelta, timezone

import pytest

from hub.app import Hub
from hub.clock import ClockWatch
from hub.config import load_settings
from hub.sync import run_sync
from hub.sync_ledger import SyncLedger
from hub.sync_schedule import sync_lock
from hub.sync_windows import (
    WindowError,
    backoff_s,
    decide,
    open_window,
    parse_windows,
    turn_in_window,
)
from tests.support.fakeclock import FakeClock
from tests.support.faultproxy import FaultProxy
from tests.support.hub import run_cli
from tests.support.tablet import store_results

ULAANBAATAR = timezone(timedelta(hours=8))
WINDOWS = parse_windows("01:00-05:00,12:30-13:30")
BUSY = (503, {"Content-Type": "text/plain"}, b"busy")


def at(hour, minute=0, day=7):
    return datetime(2026, 12, day, hour, minute, tzinfo=ULAANBAATAR)


# Windows and turns


def test_windows_are_read_in_local_time_and_may_pass_midnight():
    night = parse_windows("22:00-02:00")

    assert [str(w) for w in WINDOWS] == ["01:00-05:00", "12:30-13:30"]
    assert open_window(WINDOWS, at(12, 45))[1] == at(12, 30)
    assert open_window(WINDOWS, at(13, 30)) is None
    assert open_window(night, at(1, 30))[1] == at(22, 0, day=6)
    assert open_window(parse_windows(""), at(9, 13)) is not None


@pytest.mark.parametrize("text", ["1-5", "01:00-25:00", "03:00-03:00", "noon"])
def test_a_malformed_window_is_named_with_an_example(text):
    with pytest.raises(WindowError, match="SYNC_WINDOWS") as caught:
        parse_windows(text)
    assert text in str(caught.value)


def test_hubs_spread_their_turns_over_the_window_and_keep_them_all_day():
    opened = at(1, 0)
    turns = [turn_in_window(f"hub-{n}", opened, WINDOWS[0], 1800) for n in range(2000)]
    minutes = collections.Counter(turn.replace(second=0) for turn in turns)

    assert all(opened <= turn <= opened + timedelta(seconds=1800) for turn in turns)
    assert max(minutes.values()) < 0.05 * len(turns)
    assert turn_in_window("hub-7", opened, WINDOWS[0], 1800) == turns[7]
    next_day = [
        turn_in_window(f"hub-{n}", opened + timedelta(days=1), WINDOWS[0], 1800)
        for n in range(20)
    ]
    assert [t - timedelta(days=1) for t in next_day] != turns[:20]


def test_a_scheduled_sync_is_due_only_in_a_window_after_this_hubs_turn():
    turn = turn_in_window("hub-a", at(12, 30), WINDOWS[1], 1800)

    def judge(moment, **facts):
        defaults = dict(not_before=None, last_success=None, pending=5, budget_left=None)
        return decide(moment, WINDOWS, "hub-a", 1800, **(defaults | facts))

    outside = judge(at(10, 0))
    assert not outside.due and "outside the sync windows" in outside.reason
    assert outside.next_at == turn
    assert not judge(turn - timedelta(seconds=1)).due
    assert judge(turn).due
    assert "failed" in judge(turn, not_before=turn + timedelta(minutes=5)).reason
    assert "budget" in judge(turn, budget_left=0).reason
    assert "already synced" in judge(turn, last_success=turn, pending=0).reason
    assert judge(turn, last_success=turn, pending=3).due


def test_back_off_grows_with_jitter_up_to_its_ceiling():
    rng = random.Random(3)

    waits = [backoff_s(failures, 3600, rng) for failures in range(1, 10)]

    assert 30 <= waits[0] <= 60
    assert 60 <= waits[1] <= 120
    assert all(1800 <= wait <= 3600 for wait in waits[6:])
    assert len({round(wait) for wait in waits[6:]}) > 1


# Whole runs


@pytest.fixture
def proxy(lrs):
    with FaultProxy(lrs.url) as proxy:
        yield proxy


@pytest.fixture
def clock():
    return FakeClock(at(10, 0))


@pytest.fixture
def hub(lrs, proxy, tmp_path, clock):
    settings = load_settings(
        environ={},
        DATA_DIR=str(tmp_path / "data"),
        LRS_URL=proxy.url,
        LRS_USERNAME=lrs.username,
        LRS_PASSWORD=lrs.password,
        SYNC_TIMEOUT_S=5,
        SYNC_BATCH_SIZE=5,
        SYNC_RETRIES=0,
    )
    hub = Hub.open(settings)
    hub.results.clock = ClockWatch(tmp_path / "data", clock)
    learner = hub.state.add_learner(hub.state.add_class("4G")["id"], "Сэр", "pig")
    hub.learner = learner
    yield hub
    hub.close()


def with_settings(hub, **changes):
    hub.settings = hub.settings.replace(**changes)
    return hub


def test_a_scheduled_sync_outside_its_window_sends_and_writes_nothing(
    hub, proxy, clock
):
    store_results(hub.results, hub.learner["id"], 3)

    report = run_sync(hub, trigger="scheduled", clock=clock)

    assert report.skipped.startswith("outside the sync windows")
    assert proxy.exchanges == []
    assert SyncLedger(hub.state).record() == {}


def test_a_scheduled_sync_runs_at_this_hubs_turn(lrs, hub, proxy, clock):
    ids = store_results(hub.results, hub.learner["id"], 7)
    turn = turn_in_window(hub.state.hub_id, at(12, 30), WINDOWS[1], 1800)
    clock.advance((turn - clock.wall()).total_seconds())

    report = run_sync(hub, trigger="scheduled", clock=clock)

    assert report.ok and report.push.confirmed == 7
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}
    again = run_sync(hub, trigger="scheduled", clock=clock)
    assert "already synced" in again.skipped


def test_failed_scheduled_syncs_back_off_and_sync_now_does_not_wait(
    lrs, hub, proxy, clock
):
    ids = store_results(hub.results, hub.learner["id"], 2)
    turn = turn_in_window(hub.state.hub_id, at(12, 30), WINDOWS[1], 1800)
    clock.advance((turn - clock.wall()).total_seconds())
    proxy.fail_next("answer", BUSY, times=2)

    failed = run_sync(hub, trigger="scheduled", clock=clock, rng=random.Random(1))
    record = SyncLedger(hub.state).record()
    clock.advance(10)
    waiting = run_sync(hub, trigger="scheduled", clock=clock)
    clock.advance(60)
    failed_again = run_sync(hub, trigger="scheduled", clock=clock)
    now = run_sync(hub, trigger="now", clock=clock)

    assert "answered 503" in failed.push.problem
    assert record["failures"] == 1 and record["last_attempt"]["ok"] is False
    assert "503" in record["last_attempt"]["outcome"]
    not_before = datetime.fromisoformat(record["not_before"])
    assert 30 <= (not_before - turn).total_seconds() <= 61
    assert "waiting after a failed sync" in waiting.skipped
    assert not failed_again.ok
    assert SyncLedger(hub.state).record()["failures"] == 0
    assert now.ok
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}


def test_the_day_budget_stops_sync_and_the_next_day_goes_on(lrs, hub, proxy, clock):
    ids = store_results(hub.results, hub.learner["id"], 30)
    with_settings(hub, SYNC_BUDGET_DAY_BYTES=16_000)

    days = []
    for _ in range(10):
        days.append(run_sync(hub, trigger="now", clock=clock))
        if days[-1].ok:
            break
        if len(days) == 1:
            after_first_day = lrs.copies_held(ids)
        clock.advance(24 * 3600)

    assert len(days) >= 3 and days[-1].ok
    assert all(day.waiting_for_budget and not day.failed for day in days[:-1])
    assert all("budget" in day.push.problem for day in days[:-1])
    assert all(day.bytes_used <= 16_000 for day in days)
    assert 0 < sum(after_first_day.values()) < 30
    assert set(after_first_day.values()) <= {0, 1}
    # What the meter counted is what went through the modem, both ways.
    wire = proxy.bytes_to_client + proxy.bytes_from_client
    assert abs(sum(day.bytes_used for day in days) - wire) < 0.03 * wire
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}


def test_the_month_budget_holds_across_restarts_unless_forced(
    lrs, hub, proxy, clock, tmp_path
):
    ids = store_results(hub.results, hub.learner["id"], 12)
    with_settings(hub, SYNC_BUDGET_MONTH_BYTES=8_000)
    run_sync(hub, trigger="now", clock=clock)

    # A restart: a new hub on the same folder knows what was used.
    hub.close()
    reopened = Hub.open(hub.settings)
    reopened.results.clock = ClockWatch(tmp_path / "data", clock)
    clock.advance(24 * 3600)
    try:
        refused = run_sync(reopened, trigger="now", clock=clock)
        forced = run_sync(reopened, trigger="forced", clock=clock)
    finally:
        reopened.close()

    assert refused.push.confirmed == 0 and refused.waiting_for_budget
    assert forced.ok
    assert lrs.copies_held(ids) == {result_id: 1 for result_id in ids}


def test_two_syncs_never_run_at_once(tmp_path):
    data_dir = tmp_path / "data"
    env = {"CLASSROOM_HUB_LRS_URL": "http://127.0.0.1:9/xAPI/"}
    run_cli(data_dir, "add-class", "1A", env=env)

    with sync_lock(data_dir):
        by_hand = run_cli(data_dir, "sync", env=env, check=False)
        by_timer = run_cli(data_dir, "sync", "--scheduled", env=env, check=False)

    assert by_hand.returncode == 1
    assert "another sync is running" in by_hand.stderr
    assert by_timer.returncode == 0
