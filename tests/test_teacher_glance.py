# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub at a glance: the tablets' address and its QR code, tablets seen,
warnings a person must act on, and the "sync now" button."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime

import pytest

from hub import clock
from hub.app import create_app
from hub.config import load_settings
from hub.teachers import TeacherAccounts
from tests.support.hub import HubProcess
from tests.support.tablet import make_batch
from tests.support.teacher import (  # noqa: F401 (fixtures)
    TEACHER_NAME,
    TEACHER_PASSWORD,
    TeacherSession,
    add_teacher,
    teacher_fixture,
    teacher_hub_fixture,
)


@pytest.mark.skipif(
    shutil.which("zbarimg") is None,
    reason="zbarimg (Debian zbar-tools) is not installed",
)
def test_the_qr_code_decodes_to_the_address_shown_beside_it(teacher, tmp_path):
    page = teacher.get("/teacher/").text
    shown = re.search(r'<p class="url">([^<]+)</p>', page).group(1)
    picture = tmp_path / "address.png"
    picture.write_bytes(teacher.get("/teacher/tablet-address-0.png").content)

    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(picture)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert shown == f"http://127.0.0.1:{teacher.hub.port}/"
    assert decoded.stdout.strip() == shown


def test_tablets_that_send_results_are_listed(teacher, demo_learners):
    teacher.hub.post(
        "/api/v1/results",
        json=make_batch(demo_learners[0]["id"], 3, tablet_id="t-ширээ-4"),
    )

    page = teacher.get("/teacher/").text
    export = teacher.export("/teacher/", table="tablets").content.decode()

    assert "t-ширээ-4" in page
    assert "дөнгөж сая" in page  # just now
    assert "t-ширээ-4,дөнгөж сая,3,127.0.0.1" in export


@pytest.fixture
def worried_hub(hub_data):
    env = {
        "CLASSROOM_HUB_TEACHER_WARN_FREE_BYTES": str(10**18),
        "CLASSROOM_HUB_TEACHER_WARN_SYNC_WAIT_S": "0",
    }
    hub = HubProcess(hub_data, env=env).start()
    add_teacher(hub, TEACHER_NAME, TEACHER_PASSWORD)
    yield hub
    hub.kill()


def first_learner(hub) -> str:
    return hub.get("/api/v1/classes").json()["classes"][0]["learners"][0]["id"]


def test_a_nearly_full_disk_and_old_unsent_results_are_warned_about(worried_hub):
    visitor = TeacherSession(worried_hub)
    visitor.sign_in()
    calm = visitor.get("/teacher/").text
    worried_hub.post("/api/v1/results", json=make_batch(first_learner(worried_hub), 2))
    time.sleep(1.1)

    page = visitor.get("/teacher/").text

    assert "диск дүүрэх дөхөж байна" in calm
    assert "хүлээж байна" not in calm.split('role="alert"', 2)[-1].split("</p>")[0]
    assert "2 үр дүн улсын сервер рүү илгээгдэхийг" in page


def test_an_untrusted_clock_is_warned_about(hub_data, monkeypatch):
    # The clock of a child process cannot be turned back without root, so
    # this one test runs the app in-process with the clock's reading replaced.
    settings = load_settings(environ={}, DATA_DIR=str(hub_data))
    app = create_app(settings)
    TeacherAccounts(app.config["HUB"].state).add_teacher(TEACHER_NAME, TEACHER_PASSWORD)
    client = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/teacher/sign-in").text
    ).group(1)
    client.post(
        "/teacher/sign-in",
        data={"csrf_token": token, "name": TEACHER_NAME, "password": TEACHER_PASSWORD},
    )
    watch = app.config["HUB"].results.clock
    wrong = clock.Reading(
        datetime(1970, 1, 1, 8, tzinfo=UTC),
        "boot",
        5000,
        False,
        "it shows a time before this version of the hub was made",
    )
    monkeypatch.setattr(watch, "reading", lambda: wrong)

    page = client.get("/teacher/").text

    app.config["HUB"].close()
    assert "Хабын цаг буруу байна: 1970.01.01" in page


def test_sync_now_without_a_national_server_says_so(teacher):
    page = teacher.get("/teacher/").text
    pressed = teacher.post("/teacher/sync", page="/teacher/")

    assert "Одоо синхрончлох" not in page.split("<main", 1)[1].split("</form>")[0]
    assert "улсын сервер тохируулаагүй" in pressed.text


@pytest.fixture
def synced_hub(hub_data, lrs):
    env = {
        "CLASSROOM_HUB_LRS_URL": lrs.url,
        "CLASSROOM_HUB_LRS_USERNAME": lrs.username,
        "CLASSROOM_HUB_LRS_PASSWORD": lrs.password,
    }
    hub = HubProcess(hub_data, env=env).start()
    add_teacher(hub, TEACHER_NAME, TEACHER_PASSWORD)
    yield hub
    hub.kill()


def test_sync_now_sends_waiting_results_to_the_lrs(synced_hub, lrs):
    batch = make_batch(first_learner(synced_hub), 4)
    synced_hub.post("/api/v1/results", json=batch)
    visitor = TeacherSession(synced_hub)
    visitor.sign_in()

    pressed = visitor.post("/teacher/sync", page="/teacher/")
    deadline = time.monotonic() + 30
    while "Амжилттай болсон" not in (page := visitor.get("/teacher/").text):
        assert time.monotonic() < deadline, page
        time.sleep(0.2)

    assert "Синхрончлол эхэллээ" in pressed.text
    assert re.search(r'<span class="big">0</span>', page)
    held = lrs.statements_by_id()
    assert all(result["id"] in held for result in batch["results"])
