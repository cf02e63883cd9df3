# SPDX-License-Identifier: AGPL-3.0-or-later
"""mDNS discovery between real hubs and a real browser, on a LAN of network
namespaces that each test makes (never the machine's own interfaces)."""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.hub import ROOT, _env
from tests.support.netns import Lan, exec_in, ip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2 (ip)"),
]

BROWSER = Path(__file__).parent / "support" / "mdns_browser.py"


@pytest.fixture
def lan():
    network = Lan()
    yield network
    network.close()


class NamespacedHub:
    """A hub server inside one namespace, listening on every address there."""

    def __init__(self, namespace: str, data_dir: Path, name: str):
        self.namespace = namespace
        self.data_dir = data_dir
        self.ready = data_dir.parent / f"{data_dir.name}-ready.json"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        env = {
            "CLASSROOM_HUB_DISCOVERY_ENABLED": "yes",
            "CLASSROOM_HUB_DISCOVERY_CHECK_S": "1",
            "CLASSROOM_HUB_HUB_NAME": name,
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                exec_in(
                    namespace,
                    [
                        sys.executable,
                        "-m",
                        "hub",
                        "serve",
                        "--data-dir",
                        str(data_dir),
                        "--host",
                        "0.0.0.0",
                        "--port",
                        "0",
                        "--ready-file",
                        str(self.ready),
                    ],
                ),
                stdout=log,
                stderr=log,
                env=_env(env),
                cwd=ROOT,
            )
        deadline = time.monotonic() + 20
        while not (self.ready.exists() and self.ready.read_text()):
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, f"hub did not start:\n{self.log()}"
            time.sleep(0.05)
        self.port = int(json.loads(self.ready.read_text())["port"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Browser:
    """The tablet's view: every event the mDNS browser printed, in order."""

    def __init__(self, namespace: str):
        self.process = subprocess.Popen(
            exec_in(namespace, [sys.executable, str(BROWSER)]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.events = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait_for(lambda event: event["event"] == "browsing")

    def _read(self):
        for line in self.process.stdout:
            self.events.put(json.loads(line))

    def wait_for(self, wanted, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            seen.append(event)
            if wanted(event):
                return event
        raise AssertionError(f"no such event within {timeout}s; saw {seen}")

    def resolve(self, name: str, wanted, timeout: float = 10) -> dict:
        """Look a service up again until ``wanted`` holds for what comes back."""
        deadline = time.monotonic() + timeout
        answers = []
        while time.monotonic() < deadline:
            self.process.stdin.write(name + "\n")
            self.process.stdin.flush()
            answer = self.wait_for(lambda event: event["event"] == "resolved")
            answers.append(answer)
            if wanted(answer):
                return answer
            time.sleep(0.5)
        raise AssertionError(f"{name} never resolved as wanted; got {answers}")

    def close(self):
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait(10)
        self.reader.join(5)
        self.process.stdout.close()


@pytest.fixture
def hubs(tmp_path, seeded_template):
    started = []

    def start(namespace: str, name: str = "Сургууль 5") -> NamespacedHub:
        data_dir = tmp_path / f"data{len(started)}"
        shutil.copytree(seeded_template, data_dir)
        hub = NamespacedHub(namespace, data_dir, name)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.kill()


@pytest.fixture
def tablet(lan):
    namespace, _address = lan.machine("tablet")
    browser = Browser(namespace)
    yield browser, namespace
    browser.close()


def _info_from(namespace: str, address: str, port: int) -> dict:
    """Fetch /api/v1/info from inside the tablet's namespace."""
    code = (
        "import json, sys, urllib.request; "
        f"print(urllib.request.urlopen('http://{address}:{port}/api/v1/info', "
        "timeout=5).read().decode())"
    )
    done = subprocess.run(
        exec_in(namespace, [sys.executable, "-c", code]),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_tablet_finds_the_hub_with_its_records_on_reachable_addresses_only(
    lan, tablet, hubs
):
    browser, tablet_ns = tablet
    hub_ns, hub_address = lan.machine("hub1")
    # A container bridge on the hub, as Docker would leave it: never advertised.
    ip("link", "add", "docker0", "type", "bridge", namespace=hub_ns)
    ip("addr", "add", "172.31.250.1/24", "dev", "docker0", namespace=hub_ns)
    ip("link", "set", "docker0", "up", namespace=hub_ns)

    hub = hubs(hub_ns, "Сургууль 5")

    found = browser.wait_for(lambda event: event["event"] == "added")
    assert found["name"] == "Сургууль 5._classroom-hub._tcp.local."
    assert found["addresses"] == [hub_address]
    assert found["port"] == hub.port
    info = _info_from(tablet_ns, found["addresses"][0], found["port"])
    assert found["txt"] == {
        "id": info["hub_id"],
        "name": "Сургууль 5",
        "api": "1",
        "path": "/api/v1/",
        "version": info["version"],
    }


def test_two_hubs_with_the_same_name_both_appear_under_different_names(
    lan, tablet, hubs
):
    browser, _ = tablet
    first_ns, _ = lan.machine("hub1")
    second_ns, _ = lan.machine("hub2")

    hubs(first_ns, "Classroom Hub")
    first = browser.wait_for(lambda event: event["event"] == "added")
    hubs(second_ns, "Classroom Hub")
    second = browser.wait_for(
        lambda event: event["event"] == "added" and event["name"] != first["name"]
    )

    assert first["name"] == "Classroom Hub._classroom-hub._tcp.local."
    assert second["name"] == "Classroom Hub-2._classroom-hub._tcp.local."
    assert first["txt"]["id"] != second["txt"]["id"]
    assert first["server"] != second["server"]


def test_the_hub_announces_its_new_address_when_it_changes(lan, tablet, hubs):
    browser, tablet_ns = tablet
    hub_ns, old_address = lan.machine("hub1")
    hub = hubs(hub_ns)
    browser.wait_for(lambda event: event["event"] == "added")

    # As a new DHCP lease does it: the old address goes, a new one comes.
    new_address = lan.address()
    ip("addr", "del", f"{old_address}/24", "dev", "eth0", namespace=hub_ns)
    ip("addr", "add", f"{new_address}/24", "dev", "eth0", namespace=hub_ns)

    updated = browser.wait_for(
        lambda event: new_address in event.get("addresses", ()), timeout=20
    )
    # The old address was withdrawn, not left to expire in two minutes.
    moved = browser.resolve(
        updated["name"], lambda event: event["addresses"] == [new_address]
    )
    assert _info_from(tablet_ns, new_address, moved["port"])["version"]
    assert hub.process.poll() is None


def test_stopping_the_hub_says_goodbye_and_ends_within_five_seconds(lan, tablet, hubs):
    browser, _ = tablet
    hub_ns, _ = lan.machine("hub1")
    hub = hubs(hub_ns)
    added = browser.wait_for(lambda event: event["event"] == "added")

    took = hub.stop()
    removed = browser.wait_for(lambda event: event["event"] == "removed", timeout=3)

    assert removed["name"] == added["name"]
    assert hub.process.returncode == 0, hub.log()
    assert took < 5
    assert "advertised over mDNS" in hub.log()


def test_a_hub_on_loopback_only_advertises_nothing(tmp_path, hub_data):
    from tests.support.hub import HubProcess

    hub = HubProcess(hub_data, env={"CLASSROOM_HUB_DISCOVERY_ENABLED": "yes"}).start()
    try:
        assert requests.get(hub.url("/api/v1/info"), timeout=5).ok
    finally:
        hub.stop()
    assert "listening on 127.0.0.1 only; not advertised over mDNS" in hub.log()
