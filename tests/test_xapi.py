# SPDX-License-Identifier: AGPL-3.0-or-later
"""Statements made from results: valid xAPI 1.0.3, pseudonymous, never 1970."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import requests

from hub.config import load_settings
from hub.results import ResultStore
from hub.xapi import duration_from_ms, statement_for, validate_statement
from tests.support.tablet import make_result

HUB_ID = "5b0c7c3e-0f7e-4d53-9a43-1d2f0b8e6a11"


@pytest.fixture
def store(tmp_path):
    store = ResultStore(tmp_path / "results.sqlite3")
    yield store
    store.close()


@pytest.fixture
def settings(tmp_path):
    return load_settings(environ={}, DATA_DIR=str(tmp_path))


def stored(store, **overrides):
    """One result as the hub keeps it, after the tablet sent it."""
    record = make_result("l-0a1b2c3d4e5f", **overrides)
    answer = store.add_batch([record], known_learner=lambda _: True)
    assert answer.accepted == [record["id"]], answer.rejected
    return next(r for r in store.pending(limit=1000) if r.id == record["id"])


ACTIVITIES = {
    "listen_choose": {"response": "cow", "correct": False},
    "go_no_go": {"response": "tap", "correct": True, "item": "horse"},
    "flashcards": {"response": "next", "correct": None, "reaction_ms": None},
}


@pytest.mark.parametrize("activity_type", sorted(ACTIVITIES))
def test_each_activity_type_makes_a_valid_statement(store, settings, activity_type):
    result = stored(store, activity_type=activity_type, **ACTIVITIES[activity_type])

    statement = statement_for(result, HUB_ID, settings)

    assert validate_statement(statement) == []
    assert statement["id"] == result.id


def test_answers_are_answered_and_flashcards_experienced(store, settings):
    verbs = {}
    for activity_type, fields in ACTIVITIES.items():
        result = stored(store, activity_type=activity_type, **fields)
        statement = statement_for(result, HUB_ID, settings)
        definition = statement["object"]["definition"]
        verbs[activity_type] = (
            statement["verb"]["id"].rsplit("/", 1)[1],
            definition.get("interactionType"),
        )

    assert verbs == {
        "listen_choose": ("answered", "choice"),
        "go_no_go": ("answered", "other"),
        "flashcards": ("experienced", None),
    }


def test_the_learner_is_named_only_by_a_pseudonymous_account(store, settings):
    result = stored(store)

    statement = statement_for(result, HUB_ID, settings)

    assert statement["actor"] == {
        "objectType": "Agent",
        "account": {
            "homePage": "https://classroom-hub.example/learners",
            "name": f"{HUB_ID}/l-0a1b2c3d4e5f",
        },
    }


def test_the_object_names_pack_lesson_activity_and_item(store, tmp_path):
    settings = load_settings(
        environ={},
        DATA_DIR=str(tmp_path),
        XAPI_ACTIVITY_BASE="https://lrs.example.mn/activities/",
        XAPI_ACCOUNT_HOMEPAGE="https://hubs.example.mn/learners",
    )
    result = stored(store, item="word.2")

    statement = statement_for(result, HUB_ID, settings)

    assert statement["object"]["id"] == (
        "https://lrs.example.mn/activities/vocab-early-mn-en/herd-animals/"
        "herd-animals-listen-en/word.2"
    )
    assert statement["actor"]["account"]["homePage"] == (
        "https://hubs.example.mn/learners"
    )
    parents = statement["context"]["contextActivities"]["parent"]
    assert parents[0]["id"].endswith("/herd-animals/herd-animals-listen-en")


def test_result_carries_success_response_and_duration(store, settings):
    result = stored(store, correct=True, response="horse", reaction_ms=2140)

    statement = statement_for(result, HUB_ID, settings)

    assert statement["result"] == {
        "success": True,
        "response": "horse",
        "duration": "PT2.14S",
    }


def test_unknown_correctness_and_missing_answer_are_left_out(store, settings):
    result = stored(
        store,
        activity_type="flashcards",
        correct=None,
        response=None,
        reaction_ms=None,
        language=None,
    )

    statement = statement_for(result, HUB_ID, settings)

    assert "result" not in statement
    assert "language" not in statement["context"]


def test_context_tells_hub_pack_version_order_and_clock(store, settings):
    result = stored(store, tablet_seq=41, pack_version="1.2.0", language="mn")

    context = statement_for(result, HUB_ID, settings)["context"]
    extensions = {key.rsplit("/", 1)[1]: v for key, v in context["extensions"].items()}

    assert context["platform"] == "Classroom Hub"
    assert context["language"] == "mn"
    assert extensions["hub-id"] == HUB_ID
    assert extensions["pack-version"] == "1.2.0"
    assert extensions["tablet-seq"] == 41
    assert extensions["clock-trusted"] is result.clock_trusted
    for key in context["extensions"]:
        assert key.startswith(settings.XAPI_ACTIVITY_BASE + "/")


@pytest.mark.parametrize(
    ("answered_at", "received_at", "trusted", "expected", "source"),
    [
        # both clocks fine: the tablet's moment of answering
        (
            "2026-12-04T09:01:02.120+08:00",
            "2026-12-04T09:05:00.000+08:00",
            True,
            "2026-12-04T09:01:02.120+08:00",
            "tablet",
        ),
        # tablet booted at 1970: the hub's receipt time
        (
            "1970-01-01T00:03:00.000+00:00",
            "2026-12-04T09:05:00.000+08:00",
            True,
            "2026-12-04T09:05:00.000+08:00",
            "hub",
        ),
        # tablet two days ahead of a trusted hub clock
        (
            "2026-12-06T10:00:00.000+08:00",
            "2026-12-04T09:05:00.000+08:00",
            True,
            "2026-12-04T09:05:00.000+08:00",
            "hub",
        ),
        # hub clock untrusted (1970): it cannot judge a plausible tablet
        (
            "2026-12-04T09:01:02.120+08:00",
            "1970-01-01T08:00:05.000+08:00",
            False,
            "2026-12-04T09:01:02.120+08:00",
            "tablet",
        ),
        # no tablet time at all
        (
            None,
            "2026-12-04T09:05:00.000+08:00",
            True,
            "2026-12-04T09:05:00.000+08:00",
            "hub",
        ),
        # both clocks at 1970: a fixed stand-in, marked as such
        (
            "1970-01-01T00:03:00.000+00:00",
            "1970-01-01T08:00:05.000+08:00",
            False,
            "2024-01-01T00:00:00.000+00:00",
            "none",
        ),
    ],
)
def test_timestamp_comes_from_the_most_believable_clock(
    store, settings, answered_at, received_at, trusted, expected, source
):
    result = dataclasses.replace(
        stored(store, answered_at=answered_at),
        received_at=received_at,
        clock_trusted=trusted,
    )

    statement = statement_for(result, HUB_ID, settings)
    extensions = statement["context"]["extensions"]
    source_key = next(k for k in extensions if k.endswith("/timestamp-source"))

    assert statement["timestamp"] == expected
    assert extensions[source_key] == source
    assert validate_statement(statement) == []


def test_the_same_result_always_makes_the_same_statement(store, settings):
    result = stored(store)

    first = statement_for(result, HUB_ID, settings)
    again = statement_for(result, HUB_ID, settings)

    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [
        (0, "PT0S"),
        (7, "PT0.007S"),
        (2140, "PT2.14S"),
        (60_000, "PT1M"),
        (61_001, "PT1M1.001S"),
        (600_000, "PT10M"),
        (3_600_000, "PT1H"),
        (-5, "PT0S"),
    ],
)
def test_durations_are_iso_8601_and_never_negative(milliseconds, text):
    assert duration_from_ms(milliseconds) == text


def _break(path, value):
    def change(statement):
        *parents, last = path
        target = statement
        for key in parents:
            target = target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_break(["id"], "not-a-uuid"), "id"),
        (_break(["actor", "mbox"], "mailto:a@b.example"), "actor"),
        (_break(["actor", "account"], KeyError), "actor"),
        (_break(["verb", "id"], "answered"), "verb.id"),
        (_break(["verb", "display"], {"english": 5}), "verb.display"),
        (_break(["object", "id"], "/relative/path"), "object.id"),
        (_break(["result", "duration"], "2.1 seconds"), "result.duration"),
        (_break(["result", "success"], "yes"), "result.success"),
        (_break(["timestamp"], "2026-12-04T09:01:02"), "timestamp"),
        (_break(["timestamp"], "1970-01-01T00:00:00Z"), "timestamp"),
        (_break(["context", "extensions", "hub id"], 1), "context.extensions"),
        (_break(["context", "language"], "Mongolian!"), "context.language"),
    ],
)
def test_validation_names_what_breaks_xapi(store, settings, change, field):
    statement = copy.deepcopy(statement_for(stored(store), HUB_ID, settings))

    change(statement)
    problems = validate_statement(statement)

    assert problems, "the broken statement passed"
    assert any(problem.startswith(field) for problem in problems), problems


def test_ralph_stores_every_shape_of_statement(lrs, store, settings):
    statements = [
        statement_for(stored(store, activity_type=kind, **fields), HUB_ID, settings)
        for kind, fields in ACTIVITIES.items()
    ]

    answer = requests.post(
        lrs.url + "statements",
        json=statements,
        auth=(lrs.username, lrs.password),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=30,
    )
    held = lrs.statements_by_id()

    assert answer.status_code == 200, answer.text
    for statement in statements:
        [kept] = held[statement["id"]]
        assert validate_statement(kept) == []
        assert kept["timestamp"] == statement["timestamp"]
        assert kept.get("result") == statement.get("result")
