# SPDX-License-Identifier: AGPL-3.0-or-later
"""Batches that wait together are committed together, and fail together.

The store's write lock is held by the test while request threads queue
their batches, as happens while another commit runs; releasing it lets one
of them commit every waiting batch in one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from hub.results import ResultStore, StoreFull
from tests.support.tablet import make_batch


@pytest.fixture
def store(tmp_path):
    found = ResultStore(tmp_path / "results.sqlite3")
    yield found
    found.close()


def post_while_locked(store, batches):
    """Queue every batch behind the write lock, then let them go at once."""
    answers, errors = {}, {}

    def post(number, batch):
        try:
            answers[number] = store.add_batch(batch["results"], lambda _id: True)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            errors[number] = error

    threads = [
        threading.Thread(target=post, args=(number, batch))
        for number, batch in enumerate(batches)
    ]
    with store._write_lock:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(store._waiting) < len(batches) and time.monotonic() < deadline:
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=10)
    return answers, errors


def test_batches_waiting_together_are_stored_in_one_commit(store):
    batches = [make_batch("l-1", 10, tablet_id=f"t-{n}") for n in range(8)]
    commits = []
    commit = store._commit_group
    store._commit_group = lambda group: (commits.append(len(group)), commit(group))

    answers, errors = post_while_locked(store, batches)

    assert errors == {}
    assert commits == [8]
    for number, batch in enumerate(batches):
        sent = [record["id"] for record in batch["results"]]
        assert answers[number].accepted == sent
    assert len(store.all()) == 80


def test_a_failed_group_commit_fails_every_batch_in_it_and_stores_none(store):
    batches = [make_batch("l-1", 5, tablet_id=f"t-{n}") for n in range(4)]
    insert = store._insert
    calls = []

    def full_on_the_seventh(*args):
        calls.append(1)
        if len(calls) == 7:
            raise sqlite3.OperationalError("database or disk is full")
        return insert(*args)

    store._insert = full_on_the_seventh

    answers, errors = post_while_locked(store, batches)

    assert answers == {}
    assert sorted(errors) == [0, 1, 2, 3]
    assert all(isinstance(error, StoreFull) for error in errors.values())
    assert store.all() == []
