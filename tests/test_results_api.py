# SPDX-License-Identifier: AGPL-3.0-or-later
"""POST /api/v1/results: stored once, acknowledged only on disk, bad input named."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.tablet import make_batch, make_result


def test_a_batch_is_stored_and_every_record_acknowledged(hub_server, demo_learners):
    batch = make_batch(demo_learners[0]["id"], 5)

    answer = hub_server.post("/api/v1/results", json=batch)

    assert answer.status_code == 200
    assert answer.json() == {
        "accepted": [r["id"] for r in batch["results"]],
        "rejected": [],
    }
    stored = hub_server.stored_results()
    assert [r["id"] for r in stored] == [r["id"] for r in batch["results"]]
    assert stored[0]["reaction_ms"] == batch["results"][0]["reaction_ms"]


def test_the_same_batch_twice_is_stored_once_and_answered_the_same(
    hub_server, demo_learners
):
    batch = make_batch(demo_learners[0]["id"], 3)

    first = hub_server.post("/api/v1/results", json=batch)
    second = hub_server.post("/api/v1/results", json=batch)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(hub_server.stored_results()) == 3


def test_bad_records_are_named_and_good_ones_stored(hub_server, demo_learners):
    learner = demo_learners[0]["id"]
    good = make_result(learner)
    batch = {
        "results": [
            make_result(learner, reaction_ms=-5),
            good,
            make_result("l-nobody"),
            make_result(learner, id="not-a-uuid"),
            make_result(learner, activity_type="dance"),
            make_result(learner, answered_at="yesterday"),
            make_result(learner, correct="yes"),
            "not an object",
            {k: v for k, v in make_result(learner).items() if k != "item"},
            make_result(learner, colour="red"),
        ]
    }

    answer = hub_server.post("/api/v1/results", json=batch).json()

    assert answer["accepted"] == [good["id"]]
    fields = {(r["index"], r["field"]) for r in answer["rejected"]}
    assert fields == {
        (0, "reaction_ms"),
        (2, "learner_id"),
        (3, "id"),
        (4, "activity_type"),
        (5, "answered_at"),
        (6, "correct"),
        (7, "(record)"),
        (8, "item"),
        (9, "colour"),
    }
    assert all(r["reason"] for r in answer["rejected"])
    assert [r["id"] for r in hub_server.stored_results()] == [good["id"]]


def test_a_known_id_with_other_content_is_refused_and_the_first_kept(
    hub_server, demo_learners
):
    first = make_result(demo_learners[0]["id"], correct=True, response="horse")
    hub_server.post("/api/v1/results", json={"results": [first]})
    changed = dict(first, correct=False, response="cow")

    answer = hub_server.post("/api/v1/results", json={"results": [changed]}).json()

    assert answer["accepted"] == []
    assert answer["rejected"][0]["field"] == "id"
    assert hub_server.stored_results()[0]["correct"] is True


def test_a_body_that_is_not_a_batch_gets_400_and_stores_nothing(hub_server):
    for body in (b"{not json", b'{"results": "many"}', b"[]", b"\xff\xfe"):
        answer = hub_server.post(
            "/api/v1/results",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 400, body
        error = answer.json()["error"]
        assert error["code"] == "not_a_batch"
        assert "results" in error["message"]
    assert hub_server.stored_results() == []


def test_too_many_records_get_400_and_store_nothing(hub_server, demo_learners):
    batch = make_batch(demo_learners[0]["id"], 501)

    answer = hub_server.post("/api/v1/results", json=batch)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "batch_too_long"
    assert hub_server.stored_results() == []


def test_an_oversized_body_gets_413_and_stores_nothing(hub_server, demo_learners):
    batch = make_batch(demo_learners[0]["id"], 1)
    batch["padding"] = "x" * (1024 * 1024)
    body = json.dumps(batch).encode()

    declared = hub_server.post(
        "/api/v1/results", data=body, headers={"Content-Type": "application/json"}
    )
    chunked = hub_server.post(
        "/api/v1/results",
        data=iter([body[:1000], body[1000:]]),
        headers={"Content-Type": "application/json"},
    )

    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert declared.json()["error"]["code"] == "batch_too_large"
    assert hub_server.stored_results() == []


def test_forty_tablets_posting_at_once_store_every_result_once(
    hub_server, demo_learners
):
    batches = [
        make_batch(demo_learners[i % len(demo_learners)]["id"], 10, f"t-{i}")
        for i in range(40)
    ]

    def post(batch):
        return requests.post(
            hub_server.url("/api/v1/results"), json=batch, timeout=60
        ).json()

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(post, batches + batches))

    assert all(not a["rejected"] for a in answers)
    stored = [r["id"] for r in hub_server.stored_results()]
    sent = {r["id"] for b in batches for r in b["results"]}
    assert len(stored) == len(set(stored)) == len(sent) == 400
    assert set(stored) == sent


def test_info_names_the_hub_and_api_version(hub_server):
    info = hub_server.get("/api/v1/info").json()

    assert info["api_version"] == 1
    assert len(info["hub_id"]) == 36
    assert info["version"]
    assert "clock_trusted" in info


def test_unknown_api_paths_answer_in_the_error_shape(hub_server):
    answer = hub_server.get("/api/v1/classes/c-nothing/lessons")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_class"


def test_text_that_is_not_unicode_is_refused_per_record_not_with_a_500(
    hub_server, demo_learners
):
    learner = demo_learners[0]["id"]
    good = make_result(learner)
    body = json.dumps({"results": [make_result(learner, response="\ud800"), good]})

    answer = hub_server.post(
        "/api/v1/results", data=body, headers={"Content-Type": "application/json"}
    )
    bad_tablet = hub_server.post(
        "/api/v1/results",
        data=json.dumps({"tablet_id": "t\udfff", "results": []}),
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 200
    assert answer.json()["accepted"] == [good["id"]]
    assert answer.json()["rejected"][0]["field"] == "response"
    assert bad_tablet.status_code == 400
    assert hub_server.get("/teacher/", allow_redirects=False).status_code < 500


def test_names_with_a_final_newline_and_loose_times_are_refused(
    hub_server, demo_learners
):
    learner = demo_learners[0]["id"]
    batch = {
        "results": [
            make_result(learner, item="horse\n"),
            make_result(learner, language="en\n"),
            make_result(learner, answered_at="2026-12-04T09:01:02+08:00:30.5"),
            make_result(learner, answered_at="20261204T090102+0800"),
            make_result(learner, answered_at="2026-12-04 09:01+08:00"),
        ]
    }

    answer = hub_server.post("/api/v1/results", json=batch).json()

    assert answer["accepted"] == []
    assert [r["field"] for r in answer["rejected"]] == [
        "item",
        "language",
        "answered_at",
        "answered_at",
        "answered_at",
    ]


def test_deeply_nested_json_gets_400_not_500(hub_server):
    body = '{"results": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}"

    answer = hub_server.post(
        "/api/v1/results", data=body, headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "not_a_batch"


def test_unknown_api_paths_and_methods_keep_the_error_shape(hub_server):
    missing = hub_server.get("/api/v1/nothing-here")
    wrong_method = hub_server.get("/api/v1/results")

    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["message"]


def test_a_body_over_the_limit_is_refused_before_it_is_spooled_to_disk(hub_server):
    import socket

    # Declare a body far over any limit and send none of it: waitress must
    # refuse at once instead of waiting to write it to a temporary file.
    with socket.create_connection(("127.0.0.1", hub_server.port), timeout=10) as s:
        s.sendall(
            b"POST /api/v1/results HTTP/1.1\r\nHost: hub\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: 400000000\r\n\r\n"
        )
        reply = s.recv(200)

    assert reply.startswith(b"HTTP/1.1 413")
