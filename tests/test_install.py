# SPDX-License-Identifier: AGPL-3.0-or-later
"""scripts/install.sh in a clean Debian 12 root, offline, as a technician runs it.

The bundle is made with scripts/build-offline-bundle (which needs PyPI);
everything after that runs chrooted into a fresh debootstrapped root inside a
network namespace with nothing but loopback, so any download would fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub import __version__
from tests.support.debian_root import fresh_root, run_in
from tests.support.hub import ROOT
from tests.support.netns import IsolatedNamespace

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("debootstrap") is None,
        reason="needs root and debootstrap (scripts/test installs it)",
    ),
]

INSTALL = "bash /root/bundle/install.sh"
HUB = "/opt/classroom-hub/venv/bin/classroom-hub"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    subprocess.run(
        [str(ROOT / "scripts" / "build-offline-bundle"), str(out)],
        check=True,
        capture_output=True,
        timeout=600,
        cwd=ROOT,
    )
    return next(out.glob("classroom-hub-*"))


@pytest.fixture
def offline():
    namespace = IsolatedNamespace()
    yield namespace.name
    namespace.close()


@pytest.fixture
def debian(tmp_path, bundle) -> Path:
    root = fresh_root(tmp_path / "root")
    shutil.copytree(bundle, root / "root" / "bundle")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def tree_state(root: Path) -> dict:
    """Every file's type, owner, mode, size, time and link target."""
    state = {}
    skipped = {root / name for name in ("proc", "dev", "sys", "run", "tmp")}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skipped]
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            target = os.readlink(path) if path.is_symlink() else None
            state[str(path.relative_to(root))] = (
                info.st_mode,
                info.st_uid,
                info.st_gid,
                info.st_size,
                info.st_mtime_ns,
                target,
            )
    return state


def start_installed_hub(root: Path, offline: str) -> tuple[subprocess.Popen, dict]:
    """The installed hub, run from its venv as its user, on 127.0.0.1."""
    ready = root / "var/lib/classroom-hub/ready.json"
    command = (
        f"runuser -u classroom-hub -- {HUB} --config /etc/classroom-hub/hub.conf "
        "serve --host 127.0.0.1 --port 0 "
        "--ready-file /var/lib/classroom-hub/ready.json"
    )
    process = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            offline,
            "unshare",
            "--mount",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            (
                f"mount -t proc proc {root}/proc && "
                f"exec chroot {root} /bin/sh -c '{command}'"
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(
                f"the installed hub did not start:\n{process.communicate()[0]}"
            )
        time.sleep(0.1)
    return process, json.loads(ready.read_text())


def fetch_info(offline: str, port) -> dict:
    code = (
        "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
        f"'http://127.0.0.1:{port}/api/v1/info', timeout=5).read().decode())"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", offline, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def stop(process: subprocess.Popen, pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    process.communicate(timeout=10)


def test_installing_twice_offline_changes_nothing_the_second_time_and_the_hub_answers(
    debian, offline
):
    first = run_in(debian, offline, INSTALL)
    assert "made the system user classroom-hub" in first.stdout
    assert "enabled classroom-hub.service" in first.stdout
    before = tree_state(debian)

    second = run_in(debian, offline, INSTALL)

    assert "nothing changed" in second.stdout, second.stdout
    assert tree_state(debian) == before

    wants = debian / "etc/systemd/system/multi-user.target.wants/classroom-hub.service"
    assert wants.is_symlink()
    conf = debian / "etc/classroom-hub/hub.conf"
    assert "DATA_DIR = /var/lib/classroom-hub" in conf.read_text()
    assert oct(conf.stat().st_mode & 0o777) == "0o640"

    process, ready = start_installed_hub(debian, offline)
    try:
        info = fetch_info(offline, ready["port"])
    finally:
        stop(process, ready["pid"])
    assert info["version"] == __version__
    assert info["hub_id"]
    hub_json = debian / "var/lib/classroom-hub/hub.json"
    assert hub_json.stat().st_uid == (debian / "var/lib/classroom-hub").stat().st_uid


def test_the_installed_units_pass_systemd_analyze_verify(debian, offline):
    run_in(debian, offline, INSTALL)

    done = run_in(
        debian,
        offline,
        "systemd-analyze verify "
        "/etc/systemd/system/classroom-hub.service "
        "/etc/systemd/system/classroom-hub-sync.service "
        "/etc/systemd/system/classroom-hub-sync.timer",
        check=False,
    )

    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def _broken_bundle(bundle: Path, into: Path) -> Path:
    """The same bundle with a version 99.0.0 whose server dies at start."""
    source = into / "source"
    shutil.copytree(
        ROOT / "hub", source / "hub", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    init = source / "hub" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{__version__}"', '"99.0.0"'))
    server = source / "hub" / "server.py"
    text = server.read_text()
    marker = "    settings = hub.settings\n"
    assert marker in text
    server.write_text(
        text.replace(
            marker, "    raise RuntimeError('a release that cannot start')\n", 1
        )
    )

    broken = into / "bundle"
    shutil.copytree(bundle, broken)
    for wheel in (broken / "wheels").glob("classroom_hub-*.whl"):
        wheel.unlink()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(broken / "wheels"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return broken


def test_an_upgrade_that_fails_its_health_check_is_rolled_back_and_data_kept(
    debian, offline, bundle, tmp_path
):
    run_in(debian, offline, INSTALL)
    run_in(
        debian,
        offline,
        f"runuser -u classroom-hub -- {HUB} demo-class "
        "--config /etc/classroom-hub/hub.conf",
    )
    data_before = tree_state(debian / "var/lib/classroom-hub")
    in_use = os.readlink(debian / "opt/classroom-hub/venv")
    shutil.copytree(_broken_bundle(bundle, tmp_path), debian / "root/broken")

    upgrade = run_in(debian, offline, "bash /root/broken/install.sh", check=False)

    assert upgrade.returncode != 0
    assert "failed its health check; rolled back" in upgrade.stderr
    assert "a release that cannot start" in upgrade.stderr
    assert os.readlink(debian / "opt/classroom-hub/venv") == in_use
    assert [p.name for p in (debian / "opt/classroom-hub/releases").iterdir()] == [
        in_use.split("/")[-1]
    ]
    version = run_in(debian, offline, f"{HUB} --version").stdout.strip()
    assert version == __version__
    assert tree_state(debian / "var/lib/classroom-hub") == data_before


def test_uninstall_keeps_data_and_settings_and_purge_removes_them(debian, offline):
    run_in(debian, offline, INSTALL)
    run_in(
        debian,
        offline,
        f"runuser -u classroom-hub -- {HUB} demo-class "
        "--config /etc/classroom-hub/hub.conf",
    )

    run_in(debian, offline, f"{INSTALL} --uninstall")

    assert not (debian / "opt/classroom-hub").exists()
    assert not (debian / "etc/systemd/system/classroom-hub.service").exists()
    assert not (debian / "usr/local/bin/classroom-hub").exists()
    assert (debian / "var/lib/classroom-hub/hub.json").exists()
    assert (debian / "etc/classroom-hub/hub.conf").exists()

    run_in(debian, offline, f"{INSTALL} --uninstall --purge")

    assert not (debian / "var/lib/classroom-hub").exists()
    assert not (debian / "etc/classroom-hub").exists()
    assert "classroom-hub" not in (debian / "etc/passwd").read_text()


def test_the_installer_waits_for_a_busy_apt_then_gives_up_with_a_message(
    debian, offline
):
    # Without python3-venv the installer needs apt, which is "busy".
    run_in(debian, offline, "dpkg --purge python3-venv python3.11-venv >/dev/null")
    with open(debian / "var/lib/dpkg/lock-frontend", "r+") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        done = run_in(debian, offline, f"{INSTALL} --lock-wait-s 3", check=False)
        took = time.monotonic() - started

    assert done.returncode != 0
    assert "apt is busy" in done.stdout
    assert "still busy after 3s" in done.stderr
    assert 3 <= took < 30
