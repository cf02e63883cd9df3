# SPDX-License-Identifier: AGPL-3.0-or-later
"""The systemd units as systemd itself judges them, and sd_notify over a real
socket from a real hub process."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.hub import ROOT, HubProcess

UNITS = ROOT / "systemd"
UNIT_NAMES = (
    "classroom-hub.service",
    "classroom-hub-sync.service",
    "classroom-hub-sync.timer",
)

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze"
)


@pytest.fixture
def unit_root(tmp_path) -> Path:
    """A root holding systemd's own units, ours, and the hub's executable path.

    ``verify`` checks that ExecStart= can run; the hub is not installed on
    this machine, so a stand-in sits where install.sh puts the real one.
    """
    root = tmp_path / "root"
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree(
        "/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True
    )
    (root / "lib").symlink_to("usr/lib")
    shutil.copytree(UNITS, root / "etc/systemd/system")
    executable = root / "opt/classroom-hub/venv/bin/classroom-hub"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    return root


@needs_systemd_analyze
def test_systemd_analyze_verify_finds_nothing_to_say_about_the_units(unit_root):
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={unit_root}", *UNIT_NAMES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""


def exposure(unit: str) -> float:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNITS / unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


@needs_systemd_analyze
@pytest.mark.parametrize(
    "unit", ["classroom-hub.service", "classroom-hub-sync.service"]
)
def test_each_service_scores_an_exposure_of_two_or_less(unit):
    assert exposure(unit) <= 2.0


def test_the_hub_service_is_typed_notify_with_a_watchdog_and_stops_within_5s():
    text = (UNITS / "classroom-hub.service").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE))

    assert settings["Type"] == "notify"
    assert int(settings["WatchdogSec"]) > 0
    assert settings["Restart"] == "on-failure"
    assert settings["User"] == "classroom-hub"
    assert int(settings["TimeoutStopSec"]) < 5
    assert "network-online" not in settings.get("After", "")


class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def messages_until(self, wanted: str, timeout: float = 10) -> list[str]:
        received = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                received.append(self.sock.recv(4096).decode())
            except TimeoutError:
                break
            if wanted in received[-1]:
                return received
        raise AssertionError(f"no {wanted!r} within {timeout}s; got {received}")

    def close(self):
        self.sock.close()


def test_the_hub_tells_systemd_ready_then_feeds_the_watchdog_then_stopping(
    hub_data, tmp_path
):
    notify = NotifySocket(tmp_path / "notify.sock")
    hub = HubProcess(
        hub_data,
        env={
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "600000",
        },
    )
    try:
        hub.start()
        ready = notify.messages_until("READY=1")
        pings = [notify.messages_until("WATCHDOG=1", timeout=2) for _ in range(3)]
        stopped_in = time.monotonic()
        code = hub.stop()
        stopping = notify.messages_until("STOPPING=1", timeout=5)
        stopped_in = time.monotonic() - stopped_in
    finally:
        hub.kill()
        notify.close()

    assert "STATUS=listening on port" in ready[-1]
    assert all(batch[-1] == "WATCHDOG=1" for batch in pings)
    assert stopping[-1] == "STOPPING=1"
    assert code == 0, hub.log()
    assert stopped_in < 5
