# SPDX-License-Identifier: AGPL-3.0-or-later
"""An SD card wears with every write: an idle hub writes nothing, and requests
leave no lines in the log."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.support.hub import HubProcess

pytestmark = pytest.mark.slow


def files_state(data_dir: Path) -> dict:
    state = {}
    for folder, _dirs, files in os.walk(data_dir):
        for name in files:
            info = (Path(folder) / name).stat()
            state[str(Path(folder, name).relative_to(data_dir))] = (
                info.st_size,
                info.st_mtime_ns,
            )
    return state


def written_bytes(pid: int) -> int:
    """What the process has caused to be written to storage so far."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "write_bytes":
            return int(value)
    raise AssertionError("no write_bytes in /proc/PID/io")


def test_an_idle_hub_writes_nothing_to_its_data_folder_or_the_disk(hub_data, tmp_path):
    # The watchdog runs too, as under systemd: its pings must cost no writes.
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify.sock"))
    systemd.settimeout(0.5)
    draining = threading.Event()

    def drain():
        while not draining.is_set():
            try:
                systemd.recv(4096)
            except TimeoutError:
                pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    hub = HubProcess(
        hub_data,
        env={
            "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
            "WATCHDOG_USEC": "400000",
        },
    ).start()
    try:
        assert hub.get("/api/v1/info").ok
        time.sleep(1)
        files_before = files_state(hub_data)
        bytes_before = written_bytes(hub.process.pid)

        time.sleep(5)

        files_after = files_state(hub_data)
        bytes_after = written_bytes(hub.process.pid)
    finally:
        hub.stop()
        draining.set()
        drainer.join()
        systemd.close()

    assert files_after == files_before
    assert bytes_after == bytes_before


def test_requests_leave_no_lines_in_the_log(hub_server):
    hub_server.get("/api/v1/info")
    log_before = hub_server.log()

    for _ in range(20):
        assert hub_server.get("/api/v1/info").ok
        assert hub_server.get("/api/v1/classes").ok
        hub_server.get("/no/such/page")

    assert hub_server.log() == log_before
