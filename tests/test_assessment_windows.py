# SPDX-License-Identifier: AGPL-3.0-or-later
"""Windows, attempts and the teacher's checks pages on a real hub over HTTP.

A teacher opens and closes windows with the page's forms; a tablet asks
what it may give, starts attempts and posts answers through the tablet
API; what the page then shows is read back. The small test pack is used:
receptive-en asks cow, camel, sheep, goat (stop after 2 misses in a row),
expressive-mn horse, cow, camel; attention has 8 trials.
"""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from tests.support.assessment_packs import PACK_ID, make_assessment_pack
from tests.support.checks import (
    allow_repeat,
    answer_record,
    close_window,
    offered,
    open_window,
    outcomes_path,
    post_answers,
    start,
)
from tests.support.teacher import teacher_fixture, teacher_hub_fixture  # noqa: F401

PACK = (PACK_ID, "1.0.0")


@pytest.fixture
def school(teacher, tmp_path):
    """The signed-in teacher, the demo class and the test pack installed."""
    teacher.hub.cli("install-pack", str(make_assessment_pack(tmp_path / "pack")))
    group = teacher.hub.get("/api/v1/classes").json()["classes"][0]
    return teacher, group


def checks_by_id(found: dict) -> dict:
    return {check["id"]: check for check in found["checks"]}


def take(hub, window_id, learner, check, responses, practice=("horse",)):
    """Start (or resume) an attempt and post the answers; returns it."""
    attempt = start(hub, window_id, learner["id"], check["id"]).json()
    named = check["type"] == "expressive_vocabulary"
    records = [
        answer_record(
            attempt,
            learner["id"],
            PACK,
            check,
            word,
            "named" if named else word,
            practice=True,
        )
        for word in practice
    ]
    items = {
        "receptive-en": ["cow", "camel", "sheep", "goat"],
        "expressive-mn": ["horse", "cow", "camel"],
    }[check["id"]]
    records += [
        answer_record(attempt, learner["id"], PACK, check, item, response)
        for item, response in zip(items, responses)
    ]
    post_answers(hub, records)
    return attempt


def test_without_a_window_the_tablet_is_offered_no_check(school):
    teacher, group = school

    assert offered(teacher.hub, group["id"]) == {"window": None, "checks": []}
    refused = start(teacher.hub, "baseline-00000000", group["learners"][0]["id"], "x")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "unknown_window"


def test_an_open_window_offers_the_packs_checks_to_each_child(school):
    teacher, group = school
    window_id = open_window(teacher, group["id"], "baseline", PACK_ID)
    learner = group["learners"][0]

    found = offered(teacher.hub, group["id"], learner["id"])

    assert window_id.startswith("baseline-")
    assert found["window"]["pack_id"] == PACK_ID
    assert found["window"]["manifest_url"] == f"/packs/{PACK_ID}/1.0.0/pack.json"
    assert [(c["id"], c["state"]) for c in found["checks"]] == [
        ("receptive-en", "new"),
        ("expressive-mn", "new"),
        ("attention", "new"),
    ]


def test_an_interrupted_attempt_resumes_where_it_stopped(school):
    teacher, group = school
    window_id = open_window(teacher, group["id"], "baseline", PACK_ID)
    learner = group["learners"][0]
    check = checks_by_id(offered(teacher.hub, group["id"]))["receptive-en"]

    # Practice, cow right, camel wrong; then the tablet drops.
    first = take(teacher.hub, window_id, learner, check, ["cow", "goat"])
    assert (first["repeat"], first["resumed"], first["answered"]) == (False, False, [])
    state = checks_by_id(offered(teacher.hub, group["id"], learner["id"]))
    assert state["receptive-en"]["state"] == "started"

    # Another tablet picks the child up: the same attempt, with what is done.
    again = start(teacher.hub, window_id, learner["id"], "receptive-en", "t-other")
    body = again.json()
    assert again.status_code == 200
    assert body["attempt_id"] == first["attempt_id"] and body["resumed"] is True
    assert body["answered"] == [
        {"item": "horse", "practice": True, "correct": True},
        {"item": "cow", "practice": False, "correct": True},
        {"item": "camel", "practice": False, "correct": False},
    ]


def test_a_finished_check_is_not_offered_again_without_the_teachers_leave(school):
    teacher, group = school
    window_id = open_window(teacher, group["id"], "baseline", PACK_ID)
    learner = group["learners"][0]
    check = checks_by_id(offered(teacher.hub, group["id"]))["receptive-en"]
    # Two misses in a row end the check: finished with 0.
    first = take(teacher.hub, window_id, learner, check, ["goat", "cow"])

    refused = start(teacher.hub, window_id, learner["id"], "receptive-en")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "already_taken"
    state = checks_by_id(offered(teacher.hub, group["id"], learner["id"]))
    assert state["receptive-en"]["state"] == "done"

    assert allow_repeat(teacher, group["id"], learner["id"], "receptive-en").ok
    state = checks_by_id(offered(teacher.hub, group["id"], learner["id"]))
    assert state["receptive-en"]["state"] == "repeat_allowed"
    repeat = take(
        teacher.hub, window_id, learner, check, ["cow", "camel", "sheep", "goat"]
    )
    assert repeat["repeat"] is True and repeat["attempt_id"] != first["attempt_id"]

    # The first attempt is the score; the repeat is shown beside it.
    page = teacher.get(outcomes_path(group["id"])).text
    assert "0/4 (2 удаа дараалан алдсаны дараа зогссон) · давтсан: 4/4" in page
    assert (
        start(teacher.hub, window_id, learner["id"], "receptive-en").status_code == 409
    )


def test_a_closed_window_offers_nothing_and_starts_nothing(school):
    teacher, group = school
    window_id = open_window(teacher, group["id"], "baseline", PACK_ID)
    close_window(teacher, group["id"], window_id)

    assert offered(teacher.hub, group["id"])["window"] is None
    refused = start(teacher.hub, window_id, group["learners"][0]["id"], "attention")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "window_closed"


def test_a_child_who_answered_nothing_shows_as_started(school):
    teacher, group = school
    window_id = open_window(teacher, group["id"], "baseline", PACK_ID)
    learner = group["learners"][1]
    assert start(teacher.hub, window_id, learner["id"], "expressive-mn").ok

    page = teacher.get(outcomes_path(group["id"])).text

    assert "эхэлсэн, хариулт алга" in page


def test_growth_from_baseline_to_endline_shows_on_the_page_and_in_the_csv(school):
    teacher, group = school
    bold, sarnai = group["learners"][:2]
    baseline = open_window(teacher, group["id"], "baseline", PACK_ID)
    check = checks_by_id(offered(teacher.hub, group["id"]))["expressive-mn"]
    take(
        teacher.hub,
        baseline,
        bold,
        check,
        ["named", "not_named", "not_named"],
        practice=["dog"],
    )
    take(
        teacher.hub,
        baseline,
        sarnai,
        check,
        ["named", "named", "not_named"],
        practice=["dog"],
    )
    close_window(teacher, group["id"], baseline)

    endline = open_window(teacher, group["id"], "endline", PACK_ID)
    assert endline == baseline.replace("baseline", "endline")
    take(
        teacher.hub, endline, bold, check, ["named", "named", "named"], practice=["dog"]
    )
    take(
        teacher.hub,
        endline,
        sarnai,
        check,
        ["named", "named", "named"],
        practice=["dog"],
    )

    answer = teacher.export(outcomes_path(group["id"]))
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    mine = {row["Нэр"]: row for row in rows if row["Шалгалтын төрөл"] == "Нэрлэх"}
    assert mine[bold["name"]]["Өсөлт"] == "2"
    assert mine[sarnai["name"]]["Өсөлт"] == "1"
    assert (mine[bold["name"]]["Эхний шалгалт"], mine[bold["name"]]["Асуулт"]) == (
        "1",
        "3",
    )

    page = teacher.get(outcomes_path(group["id"])).text
    assert '<td class="number growth">+2</td>' in page
    assert "зөвхөн дууссан шалгалт, 3 асуултаас" in page
    assert "<svg" in page and 'class="endline"' in page

    school_page = teacher.get("/teacher/outcomes").text
    assert "Нэрлэх" in school_page and "(N=2)" in school_page


def test_the_print_summary_is_one_page_of_figures_in_either_language(school):
    teacher, group = school
    open_window(teacher, group["id"], "baseline", PACK_ID)

    page = teacher.get(f"{outcomes_path(group['id'])}/print")
    assert page.status_code == 200
    assert "@media print" in teacher.get("/teacher/static/outcomes.css").text
    assert "стандартчилсан тест биш" in page.text

    teacher.post("/teacher/language", {"lang": "en"}, page=outcomes_path(group["id"]))
    english = teacher.get(f"{outcomes_path(group['id'])}/print").text
    assert "not a standardised test" in english


def test_a_second_open_window_and_a_second_endline_are_refused(school):
    teacher, group = school
    page = outcomes_path(group["id"])
    baseline = open_window(teacher, group["id"], "baseline", PACK_ID)
    again = teacher.post(
        f"{page}/windows",
        {"action": "open", "phase": "endline", "pack_id": PACK_ID},
        page=page,
    )
    assert "Эхлээд ангийн нээлттэй шалгалтыг хаана уу." in again.text

    close_window(teacher, group["id"], baseline)
    endline = open_window(teacher, group["id"], "endline", PACK_ID)
    close_window(teacher, group["id"], endline)
    twice = teacher.post(
        f"{page}/windows",
        {"action": "open", "phase": "endline", "pack_id": PACK_ID},
        page=page,
    )
    assert "эцсийн шалгалт аль хэдийн байна" in twice.text

    reopened = teacher.post(
        f"{page}/windows", {"action": "reopen", "window_id": endline}, page=page
    )
    assert f'data-window-id="{endline}"' in reopened.text


def test_an_assessment_answer_must_name_its_attempt_and_window(school):
    teacher, group = school
    learner = group["learners"][0]
    check = {"id": "attention", "type": "attention_go_no_go"}
    attempt = {
        "attempt_id": "3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f",
        "window_id": "baseline-0a1b2c3d",
        "repeat": False,
    }
    good = answer_record(attempt, learner["id"], PACK, check, "1-horse", "tap")

    cases = [
        ({"attempt_id": None}, "attempt_id"),
        ({"window_id": "lesson-1"}, "window_id"),
        ({"practice": "no"}, "practice"),
        ({"activity_type": "listen_choose"}, "attempt_id"),
    ]
    for change, field in cases:
        answer = teacher.hub.post(
            "/api/v1/results", json={"results": [{**good, **change}]}
        )
        [rejected] = answer.json()["rejected"]
        assert rejected["field"] == field, (change, rejected)


def test_answers_that_do_not_fit_a_started_attempt_are_refused(school):
    teacher, group = school
    window_id = open_window(teacher, group["id"], "baseline", PACK_ID)
    first, second = group["learners"][:2]
    check = checks_by_id(offered(teacher.hub, group["id"]))["receptive-en"]
    attempt = start(teacher.hub, window_id, first["id"], check["id"]).json()
    made_up = dict(attempt, attempt_id=str(uuid.uuid4()))
    good = answer_record(attempt, first["id"], PACK, check, "cow", "cow")

    cases = [
        (answer_record(made_up, first["id"], PACK, check, "cow", "cow"), "attempt_id"),
        (answer_record(attempt, second["id"], PACK, check, "cow", "cow"), "attempt_id"),
        ({**good, "id": str(uuid.uuid4()), "repeat": True}, "repeat"),
        ({**good, "id": str(uuid.uuid4()), "pack_version": "9.9.9"}, "pack_version"),
    ]
    answer = teacher.hub.post(
        "/api/v1/results", json={"results": [record for record, _ in cases] + [good]}
    ).json()

    assert [r["field"] for r in answer["rejected"]] == [f for _, f in cases]
    assert answer["accepted"] == [good["id"]]

    # An attempt begun in the window is still taken after it closes: an
    # offline tablet sends its answers late.
    close_window(teacher, group["id"], window_id)
    late = answer_record(attempt, first["id"], PACK, check, "camel", "goat")
    assert post_answers(teacher.hub, [late])["accepted"] == [late["id"]]
