# SPDX-License-Identifier: AGPL-3.0-or-later
"""The learner page in real browsers, against a real hub on 127.0.0.1.

A child signs in by picture and plays a bundled lesson in headless Chromium
and in WebKitGTK (Safari's engine), both on ``http://hub.test:PORT/`` so the
page has no secure context, as on a tablet. What reaches the hub is read
back from the hub's own store and compared with every tap the test made.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest

from tests.support.browsers import (
    TabletBrowser,
    VirtualDisplay,
    browsers_available,
    new_profile_dir,
    start_chromium,
    start_webkit,
)

ACTIVITY_TYPES = {"listen_choose", "flashcards", "go_no_go"}
AVAILABLE = browsers_available()
needs_chromium = pytest.mark.skipif(
    not AVAILABLE["chromium"], reason="needs chromium and chromium-driver"
)
needs_webkit = pytest.mark.skipif(
    not AVAILABLE["webkit"], reason="needs webkit2gtk-driver and xvfb"
)


@pytest.fixture
def chromium_tablet(hub_server, tmp_path):
    driver = start_chromium(hub_server.port, new_profile_dir(tmp_path, "chromium"))
    tablet = TabletBrowser(driver, hub_server.port, "chromium")
    yield tablet
    tablet.close()


@pytest.fixture
def webkit_tablet(hub_server):
    display = VirtualDisplay()
    try:
        driver = start_webkit(hub_server.port, display)
    except Exception:
        display.stop()
        raise
    tablet = TabletBrowser(driver, hub_server.port, "webkit")
    yield tablet
    tablet.close()
    display.stop()


@pytest.fixture
def demo_child(hub_server):
    """The demo class's name and its first learner."""
    group = hub_server.get("/api/v1/classes").json()["classes"][0]
    return group["name"], group["learners"][0]


@pytest.fixture
def full_lesson(hub_server, demo_child):
    """The first lesson the demo class sees that has all three activity types."""
    group = hub_server.get("/api/v1/classes").json()["classes"][0]
    lessons = hub_server.get(f"/api/v1/classes/{group['id']}/lessons").json()
    for entry in lessons["lessons"]:
        manifest = hub_server.get(
            f"/packs/{entry['pack_id']}/{entry['pack_version']}/pack.json"
        ).json()
        lesson = next(x for x in manifest["lessons"] if x["id"] == entry["lesson_id"])
        if {a["type"] for a in lesson["activities"]} >= ACTIVITY_TYPES:
            return entry
    pytest.fail("no bundled lesson has listen_choose, flashcards and go_no_go")


def assert_reached_hub_once(hub_server, tablet, learner, lesson, whole=True):
    """Every answer the tablet gave is stored once, in order, as given."""
    stored = [
        r for r in hub_server.stored_results() if r["learner_id"] == learner["id"]
    ]
    ids = [record["id"] for record in stored]
    assert len(ids) == len(set(ids)), "a result was stored twice"
    assert len(stored) == len(tablet.answers)

    stored.sort(key=lambda record: record["tablet_seq"])
    seqs = [record["tablet_seq"] for record in stored]
    assert seqs == list(range(1, len(stored) + 1)), "tablet_seq must count up"

    for given, record in zip(tablet.answers, stored, strict=True):
        assert record["learner_id"] == learner["id"]
        assert record["pack_id"] == lesson["pack_id"]
        assert record["pack_version"] == lesson["pack_version"]
        assert record["lesson_id"] == lesson["lesson_id"]
        assert uuid.UUID(record["id"]).version == 4
        for field in ("activity_id", "activity_type", "item", "response", "correct"):
            assert record[field] == given[field], (field, record, given)

        offset = re.search(r"[+-]\d\d:\d\d$", record["answered_at"])
        assert offset, f"answered_at lacks the tablet's offset: {record}"
        datetime.fromisoformat(record["answered_at"])

        if record["activity_type"] == "go_no_go":
            assert record["language"] is None
        else:
            assert record["language"] in ("mn", "en")
        if record["response"] == "no_tap":
            assert record["reaction_ms"] is None
        else:
            assert isinstance(record["reaction_ms"], int)
            assert 0 <= record["reaction_ms"] < 60000

    if whole:
        assert {record["activity_type"] for record in stored} == ACTIVITY_TYPES


def test_assets_are_cached_by_version_and_the_page_is_not(hub_server):
    page = hub_server.get("/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-cache"
    version = re.search(r'data-asset-version="([^"]+)"', page.text).group(1)
    assert f"/static/learner/app.js?v={version}" in page.text

    script = hub_server.get(f"/static/learner/app.js?v={version}")
    assert script.status_code == 200
    assert "immutable" in script.headers["Cache-Control"]
    stale = hub_server.get("/static/learner/app.js?v=0.0.0-old")
    assert stale.headers["Cache-Control"] == "no-cache"

    again = hub_server.get("/", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    assert hub_server.get("/static/learner/../learner_page.py").status_code == 404


@pytest.mark.browser
@needs_chromium
def test_child_signs_in_by_picture_and_every_answer_reaches_the_hub_once(
    hub_server, chromium_tablet, demo_child, full_lesson
):
    tablet = chromium_tablet
    class_name, learner = demo_child

    tablet.open()
    assert tablet.is_secure_context() is False
    tablet.sign_in(class_name, learner["picture"])
    tablet.open_lesson(full_lesson["lesson_id"])
    # Every third answer wrong: wrong answers must arrive as given.
    tablet.answer_all(right=lambda number: number % 3 != 0)
    tablet.wait_for_screen("end")
    tablet.wait_until_sent()

    assert tablet.queue_length() == 0
    assert_reached_hub_once(hub_server, tablet, learner, full_lesson)


@pytest.mark.browser
@needs_chromium
def test_answers_given_while_the_hub_is_down_survive_a_reload_and_arrive_once(
    hub_server, chromium_tablet, demo_child, full_lesson
):
    tablet = chromium_tablet
    class_name, learner = demo_child
    tablet.open()
    tablet.sign_in(class_name, learner["picture"])
    tablet.open_lesson(full_lesson["lesson_id"])

    def cut_after_three(answer, count):
        if count == 3:
            hub_server.stop()

    tablet.answer_all(after_each=cut_after_three)
    tablet.wait_for_screen("end")
    assert tablet.flush(timeout=20) >= len(tablet.answers) - 3
    pending = tablet.script(
        "return document.querySelector('[data-testid=pending-count]')"
        ".getAttribute('data-count');"
    )
    assert int(pending) == tablet.queue_length()

    hub_server.start()
    # A reload reads the queue back from localStorage and sends it.
    tablet.open()
    tablet.wait_until_sent()

    assert_reached_hub_once(hub_server, tablet, learner, full_lesson)


@pytest.mark.browser
@needs_chromium
def test_a_batch_whose_reply_is_lost_is_sent_again_and_stored_once(
    hub_server, chromium_tablet, demo_child, full_lesson
):
    tablet = chromium_tablet
    class_name, learner = demo_child
    tablet.open()
    tablet.sign_in(class_name, learner["picture"])
    tablet.open_lesson(full_lesson["lesson_id"])
    tablet.lose_result_replies(2)

    for _ in range(7):
        tablet.answer_next()
    tablet.flush()
    tablet.wait_until_sent()

    assert tablet.replies_still_to_lose() == 0
    assert_reached_hub_once(hub_server, tablet, learner, full_lesson, whole=False)


@pytest.mark.browser
@needs_chromium
def test_an_answer_the_hub_rejects_leaves_the_queue_without_blocking_others(
    hub_server, chromium_tablet, demo_child, full_lesson
):
    tablet = chromium_tablet
    class_name, learner = demo_child
    tablet.open()
    tablet.sign_in(class_name, learner["picture"])
    tablet.open_lesson(full_lesson["lesson_id"])
    tablet.answer_next()
    # A record spoiled in storage (by hand, or by an older page version).
    tablet.script(
        "var key = 'classroomHub.resultQueue';"
        "var queue = JSON.parse(localStorage.getItem(key));"
        "var bad = JSON.parse(JSON.stringify(queue[0]));"
        "bad.id = '00000000-0000-4000-8000-000000000000'; bad.reaction_ms = -5;"
        "queue.unshift(bad); localStorage.setItem(key, JSON.stringify(queue));"
    )
    tablet.answer_next()

    assert tablet.flush() == 0

    stored_ids = {record["id"] for record in hub_server.stored_results()}
    assert "00000000-0000-4000-8000-000000000000" not in stored_ids
    assert_reached_hub_once(hub_server, tablet, learner, full_lesson, whole=False)


@pytest.mark.browser
@needs_webkit
def test_webkit_plays_a_lesson_through_a_hub_outage_and_sends_each_answer_once(
    hub_server, webkit_tablet, demo_child, full_lesson
):
    tablet = webkit_tablet
    class_name, learner = demo_child
    tablet.open()
    assert tablet.is_secure_context() is False
    tablet.sign_in(class_name, learner["picture"])
    tablet.open_lesson(full_lesson["lesson_id"])

    def outage(answer, count):
        if count == 4:
            hub_server.stop()
        if count == 12:
            assert tablet.queue_length() >= 8
            hub_server.start()

    tablet.answer_all(after_each=outage)
    tablet.wait_until_sent()

    assert_reached_hub_once(hub_server, tablet, learner, full_lesson)


@pytest.mark.browser
@needs_chromium
def test_language_choice_is_remembered_and_keys_work_for_a_teacher(
    hub_server, chromium_tablet, demo_child
):
    from selenium.webdriver.common.keys import Keys

    tablet = chromium_tablet
    tablet.open()
    assert tablet.script("return document.documentElement.lang;") == "mn"
    tablet.tap("[data-testid=language]")
    tablet.open()

    assert tablet.script("return document.documentElement.lang;") == "en"
    assert tablet.script("return document.querySelector('h1').textContent;") == (
        "Pick your class"
    )

    # The first button has the focus on every screen: Enter walks through.
    active = tablet.driver.switch_to.active_element
    active.send_keys(Keys.ENTER)
    tablet.wait_for_screen("learners")
    tablet.driver.switch_to.active_element.send_keys(Keys.ENTER)
    tablet.wait_for_screen("lessons")
