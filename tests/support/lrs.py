# SPDX-License-Identifier: AGPL-3.0-or-later
"""A real Ralph LRS on 127.0.0.1 for the tests, standing in for the national one.

``RalphLRS(folder)`` writes Ralph's credentials and settings into ``folder``,
starts ``tests/support/ralph_launcher.py`` with the Ralph venv's python (made
by ``scripts/setup-test-lrs``) on a socket this process binds to a port the
system picks, and waits until the LRS answers. Statement ids are UUIDs, so
one server can serve a whole test session: each test looks only at its own.

Use one ``RalphLRS`` from one thread at a time. ``stop`` (or leaving the
``with`` block) ends the server; if the test process dies without stopping
it, the launcher notices within a second and stops itself.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parents[2]
RALPH_VENV = ROOT / ".venv-ralph"
LAUNCHER = Path(__file__).with_name("ralph_launcher.py")
XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}

# Low bcrypt cost: these credentials guard nothing, and each cost step
# doubles the time of the first authenticated request.
_HASH_PROGRAM = (
    "import bcrypt, sys; "
    "print(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(4)).decode())"
)


class RalphNotReady(RuntimeError):
    """Ralph is not installed, or did not start; the message says what to do."""


class RalphLRS:
    """One Ralph LRS process and the credentials of its one user."""

    def __init__(self, folder: Path, venv: Path = RALPH_VENV, start_timeout_s=30):
        self.folder = Path(folder)
        self.python = Path(venv) / "bin" / "python"
        self.start_timeout_s = start_timeout_s
        self.username = f"hub-{secrets.token_hex(4)}"
        self.password = secrets.token_urlsafe(18)
        self.root = None
        self.url = None
        self.process = None
        self.log_path = self.folder / "ralph.log"
        self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> Self:
        if not self.python.exists():
            raise RalphNotReady(
                f"no Ralph venv at {self.python.parent.parent}; "
                "run scripts/setup-test-lrs first"
            )
        app_dir = self.folder / "app"
        data_dir = self.folder / "statements"
        app_dir.mkdir(parents=True, exist_ok=True)
        data_dir.mkdir(parents=True, exist_ok=True)

        auth_file = app_dir / "auth.json"
        auth_file.write_text(json.dumps([self._user()], indent=2), encoding="utf-8")

        # Binding here and handing the listening socket to the child leaves
        # no moment in which another process could take the port.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            port = listener.getsockname()[1]
            self.process = self._spawn(listener.fileno(), app_dir, data_dir, auth_file)
        finally:
            listener.close()

        self.root = f"http://127.0.0.1:{port}/"
        self.url = self.root + "xAPI/"
        self._http = requests.Session()
        self._http.trust_env = False
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _user(self) -> dict:
        completed = subprocess.run(
            [str(self.python), "-I", "-c", _HASH_PROGRAM],
            input=self.password.encode(),
            capture_output=True,
            check=True,
            timeout=30,
        )
        hashed = completed.stdout.decode().strip()
        return {
            "username": self.username,
            "hash": hashed,
            "scopes": ["statements/write", "statements/read"],
            "agent": {
                "objectType": "Agent",
                "account": {"homePage": "https://lrs.test/", "name": self.username},
            },
        }

    def _spawn(self, fd: int, app_dir, data_dir, auth_file) -> subprocess.Popen:
        # A RALPH_ variable in the developer's shell must not change the test.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RALPH_")}
        env.update(
            RALPH_APP_DIR=str(app_dir),
            RALPH_AUTH_FILE=str(auth_file),
            RALPH_RUNSERVER_BACKEND="fs",
            RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(data_dir),
            RALPH_RUNSERVER_HOST="127.0.0.1",
        )
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                [str(self.python), "-I", str(LAUNCHER), str(fd)],
                pass_fds=(fd,),
                env=env,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RalphNotReady(
                    f"Ralph exited with code {self.process.returncode}:\n{self.log()}"
                )
            try:
                answer = self._http.get(self.root + "__heartbeat__", timeout=2)
                if answer.status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                # The socket accepts before Ralph has finished importing; on
                # a busy machine the first heartbeat can wait past 2 s.
                pass
            time.sleep(0.05)
        raise RalphNotReady(
            f"Ralph did not answer within {self.start_timeout_s} s:\n{self.log()}"
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.process is None:
            return

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def statements(self, page_size: int = 500) -> list[dict]:
        """Every statement the LRS holds, read back over xAPI page by page."""
        found = []
        address = f"{self.url}statements?limit={page_size}"

        # Ralph offers one empty extra page when the count is a multiple of
        # the page size; the bound only guards against a link that loops.
        for _ in range(10_000):
            answer = self._http.get(
                address,
                auth=(self.username, self.password),
                headers=XAPI_HEADERS,
                timeout=30,
            )
            answer.raise_for_status()
            page = answer.json()
            found.extend(page["statements"])
            if not page.get("more"):
                return found
            address = urljoin(self.root, page["more"])

        raise RuntimeError("the LRS kept offering more pages; stopped reading")

    def copies_held(self, ids) -> dict[str, int]:
        """How many statements the LRS holds under each id (one, if all is well)."""
        by_id = self.statements_by_id()
        return {statement_id: len(by_id.get(statement_id, [])) for statement_id in ids}

    def statements_by_id(self) -> dict[str, list[dict]]:
        """Statement id -> every statement stored with it (one, if all is well)."""
        by_id = {}
        for statement in self.statements():
            by_id.setdefault(statement["id"], []).append(statement)
        return by_id
