# SPDX-License-Identifier: AGPL-3.0-or-later
"""A teacher as the hub sees one over HTTP: forms, tokens, cookies.

``TeacherSession`` drives the teacher pages with ``requests`` as a browser
would: it reads each form's CSRF token from the page it came from and posts
it back, follows redirects, and keeps its cookie. One session per actor;
two sessions are two devices. ``add_teacher`` makes an account the way a
technician does, with the command line. Test modules import
``teacher_fixture`` and ``teacher_hub_fixture`` to use the ``teacher`` and
``teacher_hub`` fixtures.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
import requests

from tests.support.hub import ROOT, HubProcess, _env

TEACHER_NAME = "Сараа"
TEACHER_PASSWORD = "нууц-үг-2026"

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_SETUP_CODE = re.compile(r"setup code (\d{4}-\d{4}-\d{4})")


def add_teacher(hub: HubProcess, name: str, password: str, command="add-teacher"):
    """Run ``classroom-hub add-teacher`` (or reset-password) with the
    password on standard input; returns the finished process."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hub",
            "--data-dir",
            str(hub.data_dir),
            command,
            name,
            "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=_env(hub.env),
        cwd=ROOT,
        timeout=60,
    )


def setup_code(hub: HubProcess) -> str:
    found = _SETUP_CODE.findall(hub.log())
    assert found, f"no setup code in the hub's log:\n{hub.log()}"
    return found[-1]


class TeacherSession:
    """One teacher's browser, without the browser."""

    def __init__(self, hub: HubProcess, source_address: str | None = None):
        self.hub = hub
        self.http = requests.Session()
        if source_address:
            # Another machine on the LAN, as far as the hub can tell.
            adapter = requests.adapters.HTTPAdapter()
            adapter.init_poolmanager(1, 1, source_address=(source_address, 0))
            self.http.mount("http://", adapter)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.hub.url(path), timeout=30, **kwargs)

    def token(self, page: str = "/teacher/sign-in") -> str:
        answer = self.get(page)
        found = _TOKEN.search(answer.text)
        assert found, f"no CSRF token on {page} ({answer.status_code})"
        return html.unescape(found.group(1))

    def post(
        self, path: str, data=None, page: str | None = None, token=True, **kwargs
    ) -> requests.Response:
        """Post a form as the page ``page`` (default: the sign-in page)
        would, with its CSRF token unless ``token`` is False."""
        data = dict(data or {})
        if token is True:
            data["csrf_token"] = self.token(page or "/teacher/sign-in")
        elif token:
            data["csrf_token"] = token
        return self.http.post(self.hub.url(path), data=data, timeout=60, **kwargs)

    def sign_in(self, name=TEACHER_NAME, password=TEACHER_PASSWORD, **headers):
        return self.post(
            "/teacher/sign-in",
            {"name": name, "password": password},
            headers=headers or None,
        )

    def signed_in(self) -> bool:
        answer = self.get("/teacher/", allow_redirects=False)
        return answer.status_code == 200

    def sign_out(self) -> requests.Response:
        return self.post("/teacher/sign-out", page="/teacher/")

    def create_class(self, name: str) -> str:
        answer = self.post("/teacher/classes", {"name": name}, page="/teacher/classes")
        found = re.search(r"/teacher/classes/(c-[0-9a-f]+)$", answer.url)
        assert found, f"class {name!r} was not created: {answer.status_code}"
        return found.group(1)

    def import_csv(self, class_id: str, data: bytes, filename="class.csv"):
        return self.post(
            f"/teacher/classes/{class_id}/import",
            page=f"/teacher/classes/{class_id}",
            files={"file": (filename, data, "text/csv")},
        )

    def assign(self, class_id: str, lessons: list[tuple[str, str]]):
        form = {"action": "save"}
        for order, (pack_id, lesson_id) in enumerate(lessons, start=1):
            form[f"show:{pack_id}/{lesson_id}"] = "1"
            form[f"order:{pack_id}/{lesson_id}"] = str(order)
        page = f"/teacher/classes/{class_id}/lessons"
        return self.post(page, form, page=page)

    def export(self, path: str, **params) -> requests.Response:
        return self.get(path, params={"export": "csv", **params})


@pytest.fixture(name="teacher_hub")
def teacher_hub_fixture(hub_server):
    """The seeded hub with one teacher account made from the command line."""
    made = add_teacher(hub_server, TEACHER_NAME, TEACHER_PASSWORD)
    assert made.returncode == 0, made.stderr
    return hub_server


@pytest.fixture(name="teacher")
def teacher_fixture(teacher_hub):
    """A signed-in teacher on the seeded hub."""
    session = TeacherSession(teacher_hub)
    assert session.sign_in().status_code == 200
    assert session.signed_in()
    return session
