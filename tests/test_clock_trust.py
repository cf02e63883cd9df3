# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub's clock: when it is trusted, and how results get their true time.

The hub's clocks are a fake the tests set; the true time comes from a real
Ralph LRS's Date header, as it would from the national server.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from hub.clock import ClockWatch
from hub.config import load_settings
from hub.results import ResultStore
from hub.state import HubState
from hub.sync import push_results
from hub.sync_ledger import SyncLedger
from hub.uplink import Uplink
from hub.xapi import statement_for, validate_statement
from tests.support.fakeclock import FakeClock
from tests.support.tablet import make_result, store_results

EXT = "https://classroom-hub.example/xapi/activities/_extensions/"


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))


@pytest.fixture
def watch(tmp_path, clock):
    return ClockWatch(tmp_path, clock, max_skew_s=300)


@pytest.fixture
def store(tmp_path, watch):
    store = ResultStore(tmp_path / "results.sqlite3", watch)
    yield store
    store.close()


@pytest.fixture
def state(tmp_path):
    state = HubState(tmp_path / "hub.json")
    yield state
    state.close()


def test_a_clock_before_this_build_is_not_trusted(watch, clock):
    clock.set_wall(datetime(1970, 1, 1, 0, 5, tzinfo=UTC))

    reading = watch.reading()

    assert not reading.trusted
    assert "before this version" in reading.reason


def test_a_clock_that_jumps_is_not_trusted_until_confirmed(watch, clock):
    assert watch.reading().trusted
    clock.advance(600)
    assert watch.reading().trusted

    clock.set_wall(clock.wall() + timedelta(hours=3))
    jumped = watch.reading()
    clock.time_server = True
    confirmed = watch.reading()

    assert not jumped.trusted and "jumped 3 hours forward" in jumped.reason
    assert confirmed.trusted and "a time server" in confirmed.reason


def test_a_clock_far_from_the_national_servers_is_not_trusted(watch, clock):
    watch.learn_true_time(clock.wall() - timedelta(days=2), clock.boot_ms(), "the LRS")

    reading = watch.reading()

    assert not reading.trusted
    assert reading.reason == "it is 2 days ahead of the LRS"


def test_what_the_watch_learnt_survives_a_restart_but_not_a_reboot(tmp_path, clock):
    first = ClockWatch(tmp_path, clock)
    first.learn_true_time(clock.wall() + timedelta(hours=5), clock.boot_ms(), "x")

    again = ClockWatch(tmp_path, clock)
    assert not again.reading().trusted
    clock.reboot(datetime(2026, 12, 9, 8, 0, tzinfo=UTC))
    assert again.reading().trusted


def test_results_keep_their_order_by_sequence_whatever_the_clock(store, clock):
    learner = "l-000000000001"
    clock.set_wall(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))
    first = store_results(store, learner, 1)
    clock.set_wall(datetime(2025, 1, 1, tzinfo=UTC))
    second = store_results(store, learner, 1)

    stored = store.all()

    assert [result.id for result in stored] == first + second
    assert [result.clock_trusted for result in stored] == [True, False]


def test_statements_never_say_1970_nor_a_negative_duration(store, clock):
    clock.set_wall(datetime(1970, 1, 1, 0, 1, tzinfo=UTC))
    store_results(
        store,
        "l-000000000001",
        1,
        answered_at="1970-01-01T00:00:30.000+00:00",
        reaction_ms=0,
    )
    [result] = store.pending(limit=5)

    statement = statement_for(result, "hub", load_settings(environ={}))

    assert validate_statement(statement) == []
    assert not statement["timestamp"].startswith("1970")
    assert statement["context"]["extensions"][EXT + "timestamp-source"] == "none"
    assert statement["result"]["duration"] == "PT0S"
    assert (
        store.add_batch(
            [make_result("l-000000000001", reaction_ms=-5)], lambda _: True
        ).rejected[0]["field"]
        == "reaction_ms"
    )


def test_results_get_their_true_time_once_the_lrs_tells_it(
    lrs, store, state, clock, tmp_path
):
    # The hub booted with a clock a year slow; the tablets sent no times.
    clock.set_wall(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
    ids = store_results(store, "l-000000000001", 6, answered_at=None)
    clock.advance(600)
    settings = load_settings(
        environ={},
        DATA_DIR=str(tmp_path),
        LRS_URL=lrs.url,
        LRS_USERNAME=lrs.username,
        LRS_PASSWORD=lrs.password,
        SYNC_BATCH_SIZE=3,
        SYNC_RETRIES=0,
    )
    truly_sent = datetime.now(UTC)

    report = push_results(
        store, state.hub_id, settings, uplink=Uplink(settings, clock=clock)
    )

    assert report.ok, report.problem
    by_id = lrs.statements_by_id()
    sources = [
        by_id[i][0]["context"]["extensions"][EXT + "timestamp-source"] for i in ids
    ]
    # One statement went first to learn the time; the rest carry it.
    assert sources == ["hub"] + ["hub-corrected"] * 5
    for result_id in ids[1:]:
        moment = datetime.fromisoformat(by_id[result_id][0]["timestamp"])
        assert abs(moment - (truly_sent - timedelta(seconds=600))) < timedelta(
            seconds=30
        )
    assert report.corrected_times == 5


def test_a_statement_that_left_the_hub_is_never_redated(store, state, clock, watch):
    clock.set_wall(datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
    store_results(store, "l-000000000001", 4, answered_at=None)
    ledger = SyncLedger()
    ledger.raise_sent_through(store.pending(limit=10)[1].seq)

    watch.learn_true_time(
        datetime(2026, 12, 8, 9, 0, tzinfo=UTC), clock.boot_ms(), "the LRS"
    )
    from hub.result_push import correct_times

    changed = correct_times(store, ledger)

    corrected = [r.received_at_corrected for r in store.pending(limit=10)]
    assert changed == 2
    assert corrected[:2] == [None, None]
    assert corrected[2].startswith("2026-12-08")


def test_an_old_results_database_gains_the_new_columns_at_open(tmp_path, watch):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(
            "CREATE TABLE results (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " id TEXT NOT NULL UNIQUE, learner_id TEXT NOT NULL,"
            " pack_id TEXT NOT NULL, pack_version TEXT NOT NULL,"
            " lesson_id TEXT NOT NULL, activity_id TEXT NOT NULL,"
            " activity_type TEXT NOT NULL, language TEXT, item TEXT NOT NULL,"
            " response TEXT, correct INTEGER, reaction_ms INTEGER,"
            " answered_at TEXT, tablet_seq INTEGER, tablet_id TEXT,"
            " received_at TEXT NOT NULL, clock_trusted INTEGER NOT NULL,"
            " status INTEGER NOT NULL DEFAULT 0, status_reason TEXT);"
            "INSERT INTO results (id, learner_id, pack_id, pack_version, lesson_id,"
            " activity_id, activity_type, item, received_at, clock_trusted)"
            " VALUES ('0b6e4cde-6c0e-4bd4-9e7d-3f6f0c8f5a1e', 'l-1', 'p', '1.0.0',"
            " 'l', 'a', 'flashcards', 'horse', '2026-12-02T10:00:00.000+08:00', 1);"
        )
    old.close()

    store = ResultStore(path, watch)
    try:
        store_results(store, "l-000000000001", 1)
        rows = store.query("SELECT boot_id, boot_ms FROM results ORDER BY seq")
    finally:
        store.close()

    assert [tuple(row) for row in rows][0] == (None, None)
    assert rows[1]["boot_id"] is not None and rows[1]["boot_ms"] > 0


def test_the_boot_id_comes_from_systemd_when_proc_sys_is_hidden(tmp_path, monkeypatch):
    from hub import clock

    monkeypatch.setattr(clock, "BOOT_ID_FILE", tmp_path / "hidden")
    monkeypatch.setenv("HUB_BOOT_ID", "0f3c7d2e9b8a4c6d8e1f2a3b4c5d6e7f")
    from_systemd = clock.SystemClock().boot_id()
    monkeypatch.delenv("HUB_BOOT_ID")
    alone = clock.SystemClock().boot_id()

    assert from_systemd == "0f3c7d2e9b8a4c6d8e1f2a3b4c5d6e7f"
    # Never another boot's: results of this process are then not re-dated.
    assert alone.startswith("process-") and alone != clock.SystemClock().boot_id()
