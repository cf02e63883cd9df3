# SPDX-License-Identifier: AGPL-3.0-or-later
"""The technician's care commands against real hubs: doctor, backup, restore,
new-identity."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from hub import doctor
from hub.app import Hub
from hub.config import load_settings
from hub.identity import check_machine
from tests.support.hub import HubProcess, run_cli
from tests.support.tablet import make_batch, make_result


def findings(data_dir: Path, env: dict | None = None, check=False) -> tuple:
    done = run_cli(data_dir, "doctor", "--json", "--timeout", "2", env=env, check=check)
    return done.returncode, {f["check"]: f for f in json.loads(done.stdout)}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_doctor_finds_a_running_healthy_hub_well_and_skips_pi_checks_elsewhere(
    hub_server,
):
    code, found = findings(
        hub_server.data_dir, env={"CLASSROOM_HUB_PORT": str(hub_server.port)}
    )

    assert code == 0
    for check in ("disk", "clock", "sync", "results file", "state file", "port"):
        assert found[check]["verdict"] == "ok", found[check]
    assert found["mDNS"]["verdict"] == "skip"
    assert found["national side"]["verdict"] == "warn"
    if not Path("/proc/device-tree/model").exists():
        assert found["power"]["detail"] == "not a Raspberry Pi, skipped"
        assert found["temperature"]["detail"] == "not a Raspberry Pi, skipped"


def test_doctor_calls_a_damaged_results_file_bad_and_says_to_restore(hub_data):
    results = hub_data / "results.sqlite3"
    with open(results, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff" * 3000)

    code, found = findings(hub_data, env={"CLASSROOM_HUB_PORT": str(closed_port())})

    assert code == 1
    assert found["results file"]["verdict"] == "bad"
    assert "restore" in found["results file"]["advice"]


def test_doctor_says_a_stopped_hub_and_an_unreachable_lrs_are_not_emergencies(
    hub_data,
):
    port = closed_port()
    code, found = findings(
        hub_data,
        env={
            "CLASSROOM_HUB_PORT": str(port),
            "CLASSROOM_HUB_LRS_URL": f"http://127.0.0.1:{closed_port()}/xAPI/",
        },
    )

    assert code == 0
    assert found["port"]["verdict"] == "warn"
    assert "not running" in found["port"]["detail"]
    assert found["national side"]["verdict"] == "warn"
    assert "cannot reach" in found["national side"]["detail"]
    assert "offline" in found["national side"]["advice"]


class _LrsAbout(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": ["1.0.3"]}).encode()
        self.send_response(200 if self.path == "/xAPI/about" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_doctor_reaches_the_national_side_and_compares_its_clock(hub_data):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LrsAbout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/xAPI/"
        _, found = findings(hub_data, env={"CLASSROOM_HUB_LRS_URL": url})
    finally:
        server.shutdown()
        server.server_close()

    assert found["national side"]["verdict"] == "ok", found["national side"]


@pytest.mark.parametrize(
    "word, verdict",
    [("0x0", "ok"), ("0x50000", "warn"), ("0x50005", "bad")],
)
def test_doctor_reads_the_pis_under_voltage_flags(tmp_path, word, verdict):
    firmware = tmp_path / "sys/devices/platform/soc/soc:firmware"
    firmware.mkdir(parents=True)
    (firmware / "get_throttled").write_text(word + "\n")

    assert doctor.pi_power(tmp_path).verdict == verdict


@pytest.mark.parametrize(
    "millidegrees, verdict", [(48000, "ok"), (74000, "warn"), (85000, "bad")]
)
def test_doctor_reads_the_pis_temperature(tmp_path, millidegrees, verdict):
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_text("Raspberry Pi 4 Model B\0")
    (tmp_path / "sys/class/thermal/thermal_zone0").mkdir(parents=True)
    (tmp_path / "sys/class/thermal/thermal_zone0/temp").write_text(f"{millidegrees}\n")

    assert doctor.temperature(tmp_path).verdict == verdict


def test_pi_checks_are_skipped_where_there_is_no_pi(tmp_path):
    assert doctor.pi_power(tmp_path).detail == "not a Raspberry Pi, skipped"
    assert doctor.temperature(tmp_path).detail == "not a Raspberry Pi, skipped"


def _post_until(hub, learner_ids, stop, acknowledged, failures):
    """One tablet: post small batches until told to stop; note what was acked."""
    session = requests.Session()
    for round_ in range(200):
        if stop.is_set():
            break
        batch = make_batch(learner_ids[round_ % len(learner_ids)], 5)
        answer = session.post(hub.url("/api/v1/results"), json=batch, timeout=30)
        if answer.status_code != 200:
            failures.append(answer.status_code)
            continue
        acknowledged.append((time.monotonic(), answer.json()["accepted"]))
    session.close()


@pytest.mark.slow
def test_a_backup_taken_while_40_tablets_post_restores_every_acknowledged_result(
    hub_server, demo_learners, tmp_path
):
    learner_ids = [learner["id"] for learner in demo_learners]
    stop, acknowledged, failures = threading.Event(), [], []
    tablets = [
        threading.Thread(
            target=_post_until,
            args=(hub_server, learner_ids, stop, acknowledged, failures),
        )
        for _ in range(40)
    ]
    for tablet in tablets:
        tablet.start()
    time.sleep(1)

    backup_began = time.monotonic()
    run_cli(hub_server.data_dir, "backup", str(tmp_path / "hub.tar.gz"))
    time.sleep(0.5)
    stop.set()
    for tablet in tablets:
        tablet.join(60)

    before = {rid for at, ids in acknowledged if at < backup_began for rid in ids}
    after = {rid for at, ids in acknowledged if at >= backup_began for rid in ids}
    assert not failures
    assert len(before) > 100 and after

    restored_dir = tmp_path / "restored"
    run_cli(restored_dir, "restore", str(tmp_path / "hub.tar.gz"))
    restored = HubProcess(restored_dir).start()
    try:
        info = restored.get("/api/v1/info").json()
        assert info["hub_id"] == hub_server.get("/api/v1/info").json()["hub_id"]
        assert len(restored.get("/api/v1/classes").json()["classes"]) == 1
    finally:
        restored.stop()
    kept = {record["id"] for record in restored.stored_results()}
    assert before <= kept
    assert kept <= before | after


def test_restore_refuses_a_running_hubs_data_and_a_damaged_archive(
    hub_server, tmp_path
):
    archive = tmp_path / "hub.tar.gz"
    run_cli(hub_server.data_dir, "backup", str(archive))

    running = run_cli(hub_server.data_dir, "restore", str(archive), check=False)
    assert running.returncode == 1
    assert "a hub is running" in running.stderr and "--force" in running.stderr

    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    empty = tmp_path / "empty"
    cut = run_cli(empty, "restore", str(damaged), check=False)
    assert cut.returncode == 1
    assert "Traceback" not in cut.stderr
    assert not (empty / "hub.json").exists()


def test_new_identity_gives_a_copied_hub_its_own_id(hub_server, tmp_path):
    copy = tmp_path / "copied-card"
    shutil.copytree(hub_server.data_dir, copy)

    refused = run_cli(hub_server.data_dir, "new-identity", check=False)
    run_cli(copy, "new-identity")

    assert refused.returncode == 1 and "running" in refused.stderr
    original = json.loads(run_cli(hub_server.data_dir, "status", "--json").stdout)
    copied = json.loads(run_cli(copy, "status", "--json").stdout)
    assert copied["hub_id"] != original["hub_id"]


def _fake_machine(root: Path, machine_id: str) -> Path:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/machine-id").write_text(machine_id + "\n")
    return root


def test_a_hub_copied_to_another_machine_before_any_result_takes_a_new_id(
    hub_data, tmp_path
):
    hub = Hub.open(load_settings(environ={}, DATA_DIR=str(hub_data)))
    try:
        assert check_machine(hub, _fake_machine(tmp_path / "a", "aaaa")) is None
        first = hub.state.hub_id

        assert check_machine(hub, _fake_machine(tmp_path / "b", "bbbb")) is None
        assert hub.state.hub_id != first
    finally:
        hub.close()


def test_a_hub_with_results_on_another_machine_keeps_its_id_and_says_what_to_do(
    hub_data, tmp_path
):
    hub = Hub.open(load_settings(environ={}, DATA_DIR=str(hub_data)))
    try:
        check_machine(hub, _fake_machine(tmp_path / "a", "aaaa"))
        first = hub.state.hub_id
        learner = hub.state.classes()[0]["id"]
        learner = hub.state.learners(learner)[0]["id"]
        hub.results.add_batch([make_result(learner)], known_learner=lambda _: True)

        problem = check_machine(hub, _fake_machine(tmp_path / "b", "bbbb"))

        assert hub.state.hub_id == first
        assert "new-identity" in problem and "--moved" in problem
    finally:
        hub.close()


def test_a_backup_file_is_readable_by_its_owner_only(hub_data, tmp_path):
    from tests.support.hub import run_cli

    target = tmp_path / "hub-backup.tar.gz"
    run_cli(hub_data, "backup", str(target))

    assert target.stat().st_mode & 0o777 == 0o600
