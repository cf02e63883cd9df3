# SPDX-License-Identifier: AGPL-3.0-or-later
"""A real hub in a child process, on 127.0.0.1 and a port the OS picks.

Tests talk to it over HTTP like a tablet, stop it like systemd (SIGTERM) or
kill it like a power cut (SIGKILL), and read what it stored straight from its
data folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_PACKS = ROOT / "content_packs"


def run_cli(data_dir: Path, *args: str, env: dict | None = None, check=True):
    """Run ``classroom-hub`` as a technician would, in a child process."""
    completed = subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=_env(env),
        timeout=120,
        cwd=ROOT,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"classroom-hub {' '.join(args)} failed ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return completed


def _env(extra: dict | None) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLASSROOM_HUB_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    # Never multicast on the machine's real interfaces; the discovery tests
    # turn it back on inside network namespaces of their own.
    env["CLASSROOM_HUB_DISCOVERY_ENABLED"] = "0"
    env.update(extra or {})
    return env


class HubProcess:
    """One hub server; ``start`` again after ``stop`` reuses the same port."""

    def __init__(self, data_dir: Path, env: dict | None = None):
        self.data_dir = Path(data_dir)
        self.env = env or {}
        self.port = 0
        self.process = None
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self, timeout: float = 20) -> "HubProcess":
        ready = self.data_dir.parent / f"{self.data_dir.name}-ready.json"
        ready.unlink(missing_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ready-file",
                str(ready),
            ],
            stdout=log,
            stderr=log,
            env=_env(self.env),
            cwd=ROOT,
        )
        log.close()

        deadline = time.monotonic() + timeout
        while not ready.exists() or not ready.read_text():
            if self.process.poll() is not None:
                raise AssertionError(f"hub exited early:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"hub did not start in {timeout}s:\n{self.log()}")
            time.sleep(0.02)
        self.port = json.loads(ready.read_text())["port"]
        return self

    def stop(self, timeout: float = 10) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"hub did not stop within {timeout}s on SIGTERM")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def cli(self, *args: str, check=True):
        return run_cli(self.data_dir, *args, env=self.env, check=check)

    def stored_results(self) -> list[dict]:
        """Every stored result's record, read from the data folder."""
        sys.path.insert(0, str(ROOT))
        from hub.results import ResultStore

        store = ResultStore(self.data_dir / "results.sqlite3")
        try:
            return [stored.record for stored in store.all()]
        finally:
            store.close()

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url(path), timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url(path), timeout=30, **kwargs)


def seed_data_dir(data_dir: Path) -> None:
    """Install the bundled packs and the demo class, as scripts/run does."""
    packs = sorted(p for p in BUNDLED_PACKS.iterdir() if (p / "pack.json").exists())
    run_cli(data_dir, "install-pack", *map(str, packs))
    run_cli(data_dir, "demo-class")
