# SPDX-License-Identifier: AGPL-3.0-or-later
"""Teacher sign-in against a real hub: accounts, sessions, CSRF, lockout."""

from __future__ import annotations

import time

import pytest

from tests.support.hub import HubProcess
from tests.support.teacher import (  # noqa: F401 (fixtures)
    TEACHER_NAME,
    TEACHER_PASSWORD,
    TeacherSession,
    add_teacher,
    setup_code,
    teacher_fixture,
    teacher_hub_fixture,
)


def test_a_new_hub_has_no_account_and_asks_for_the_setup_code(hub_server):
    visitor = TeacherSession(hub_server)

    first = visitor.get("/teacher/classes")
    assert first.url.endswith("/teacher/setup")
    for name, password in [
        ("admin", "admin"),
        ("teacher", "password"),
        ("", ""),
        ("admin", ""),
    ]:
        tried = visitor.post("/teacher/sign-in", {"name": name, "password": password})
        assert tried.url.endswith("/teacher/setup"), "a default account exists"

    wrong = visitor.post(
        "/teacher/setup",
        {
            "code": "0000-0000-0000",
            "name": "Мөнх",
            "password": "long enough",
            "password_again": "long enough",
        },
        page="/teacher/setup",
    )
    assert wrong.status_code == 401
    assert not visitor.signed_in()


def test_the_setup_code_from_the_log_makes_the_first_account_once(hub_server):
    visitor = TeacherSession(hub_server)
    form = {
        "code": setup_code(hub_server),
        "name": "Мөнх",
        "password": "long enough",
        "password_again": "long enough",
    }

    made = visitor.post("/teacher/setup", form, page="/teacher/setup")

    assert made.url.endswith("/teacher/")
    assert visitor.signed_in()
    again = TeacherSession(hub_server).post(
        "/teacher/setup", form, page="/teacher/setup"
    )
    assert again.url.endswith("/teacher/sign-in"), "the code worked twice"


def test_a_teacher_added_on_the_command_line_signs_in(teacher_hub):
    visitor = TeacherSession(teacher_hub)
    assert not visitor.signed_in()

    wrong = visitor.sign_in(password="not the password")
    assert wrong.status_code == 401
    assert not visitor.signed_in()

    right = visitor.sign_in(name=" сараа ")  # any case, stray spaces
    assert right.status_code == 200
    assert visitor.signed_in()


def test_pages_and_forms_need_a_signed_in_teacher(teacher_hub):
    stranger = TeacherSession(teacher_hub)

    page = stranger.get("/teacher/classes", allow_redirects=False)
    posted = stranger.post("/teacher/classes", {"name": "Хакер"})

    assert page.status_code == 302
    assert "/teacher/sign-in" in page.headers["Location"]
    assert posted.url.split("?")[0].endswith("/teacher/sign-in")
    assert "Хакер" not in teacher_hub.get("/api/v1/classes").text


def test_every_form_refuses_a_post_without_its_csrf_token(teacher):
    other_device = TeacherSession(teacher.hub)
    other_device.sign_in()
    forms = [
        ("/teacher/classes", {"name": "CSRF анги"}),
        ("/teacher/sign-out", {}),
        ("/teacher/sync", {}),
        ("/teacher/teachers", {"name": "Шинэ багш", "password": "long enough"}),
        ("/teacher/language", {"lang": "en"}),
    ]

    for path, form in forms:
        missing = teacher.post(path, form, token=False)
        foreign = teacher.post(path, form, token=other_device.token("/teacher/"))
        assert missing.status_code == 400, path
        assert foreign.status_code == 400, path

    assert "CSRF анги" not in teacher.hub.get("/api/v1/classes").text
    assert teacher.signed_in()
    assert (
        teacher.post(
            "/teacher/sign-in", {"name": TEACHER_NAME}, token=False
        ).status_code
        == 400
    )


def test_repeated_wrong_passwords_lock_the_address_out(teacher_hub):
    guesser = TeacherSession(teacher_hub)

    answers = [guesser.sign_in(password=f"guess-{n}").status_code for n in range(5)]
    after = guesser.sign_in()

    assert answers == [401, 401, 401, 401, 429]
    assert after.status_code == 429, "the right password got in while locked"
    assert not guesser.signed_in()


def test_forged_forwarding_headers_do_not_dodge_the_lockout(teacher_hub):
    guesser = TeacherSession(teacher_hub)

    for n in range(5):
        guesser.sign_in(
            password=f"guess-{n}",
            **{
                "X-Forwarded-For": f"10.0.0.{n}",
                "X-Real-IP": f"10.0.1.{n}",
                "Forwarded": f"for=10.0.2.{n}",
            },
        )
    forged = guesser.sign_in(
        **{"X-Forwarded-For": "10.9.9.9", "Forwarded": "for=10.9.9.9"}
    )

    assert forged.status_code == 429
    # The lockout is per address: another machine on the LAN (here another
    # loopback address) still signs in.
    colleague = TeacherSession(teacher_hub, source_address="127.0.0.2")
    assert colleague.sign_in().status_code == 200
    assert colleague.signed_in()


def test_signing_out_makes_the_old_cookie_worthless(teacher):
    stolen = teacher.http.cookies.get("hub_teacher")

    teacher.sign_out()
    replay = TeacherSession(teacher.hub)
    replay.http.cookies.set("hub_teacher", stolen)

    assert not teacher.signed_in()
    assert not replay.signed_in()


def test_a_password_reset_signs_out_everywhere_and_is_logged(teacher):
    made = add_teacher(teacher.hub, TEACHER_NAME, "шинэ нууц үг 2026", "reset-password")

    assert made.returncode == 0, made.stderr
    assert "was reset" in made.stderr
    assert not teacher.signed_in()
    assert teacher.sign_in().status_code == 401
    assert teacher.sign_in(password="шинэ нууц үг 2026").status_code == 200
    events = teacher.get("/teacher/teachers").text
    assert "тушаалын мөрөөс шинэчилсэн" in events


def test_cookies_are_httponly_samesite_and_pages_are_not_cached(teacher_hub):
    visitor = TeacherSession(teacher_hub)

    signed = visitor.http.post(
        teacher_hub.url("/teacher/sign-in"),
        data={
            "name": TEACHER_NAME,
            "password": TEACHER_PASSWORD,
            "csrf_token": visitor.token(),
        },
        allow_redirects=False,
    )
    page = visitor.get("/teacher/")

    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


@pytest.fixture
def short_session_hub(hub_data):
    hub = HubProcess(hub_data, env={"CLASSROOM_HUB_TEACHER_SESSION_S": "2"}).start()
    add_teacher(hub, TEACHER_NAME, TEACHER_PASSWORD)
    yield hub
    hub.kill()


def test_sessions_expire(short_session_hub):
    visitor = TeacherSession(short_session_hub)
    visitor.sign_in()
    assert visitor.signed_in()

    time.sleep(2.5)

    assert not visitor.signed_in()


def test_guessing_the_current_password_on_the_account_page_locks_out(teacher):
    answers = [
        teacher.post(
            "/teacher/teachers",
            {"action": "password", "current": f"guess-{n}", "password": "x" * 12},
            page="/teacher/teachers",
        ).status_code
        for n in range(5)
    ]

    assert answers == [400, 400, 400, 400, 429]
