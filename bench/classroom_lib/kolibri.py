# SPDX-License-Identifier: AGPL-3.0-or-later
"""Kolibri, the leading peer, installed, provisioned and run in a jail of loopback.

Kolibri tries to send usage pings, so it runs only inside a network
namespace the bench creates with nothing but its loopback: no packet can
leave. The load that measures it (wrk, the tablets) runs in the same
namespace with ``ip netns exec``. It is installed from PyPI into its own
venv under ``.bench-kolibri/`` with its own ``KOLIBRI_HOME`` there, and
provisioned with ``provisiondevice --noinput``. Media files are copied into
its content storage (named by MD5, as Kolibri names them), so it serves the
same bytes from the same disk as the hub does.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .hub_side import ROOT
from .server_process import ServerProcess

VERSION = "0.19.5"
NAMESPACE = "chbench-kolibri"
PORT = 8320
CHEAPEST_API = "/api/public/info/"


def in_namespace(argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", NAMESPACE, *argv]


def make_namespace() -> None:
    """A namespace with only ``lo``, up; made again if it is left over."""
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    )
    if NAMESPACE not in listed.stdout.split():
        subprocess.run(["ip", "netns", "add", NAMESPACE], check=True)
    subprocess.run(in_namespace(["ip", "link", "set", "lo", "up"]), check=True)
    links = subprocess.run(
        in_namespace(["ip", "-o", "link"]), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    if len(links) != 1:
        raise SystemExit(
            f"bench/classroom: namespace {NAMESPACE} has more than "
            f"its loopback: {links}"
        )


def remove_namespace() -> None:
    subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True, check=False)


class Kolibri(ServerProcess):
    stop_grace_s = 60

    def __init__(self, base: Path = ROOT / ".bench-kolibri"):
        self.base = base
        self.venv = base / "venv"
        self.home = base / "home"
        self.process = None
        self.log_path = base / "kolibri-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORT}"

    @property
    def env(self) -> list[str]:
        return ["env", f"KOLIBRI_HOME={self.home}", f"KOLIBRI_HTTP_PORT={PORT}"]

    def install(self) -> list[str]:
        """Install Kolibri and provision a device once; return notes."""
        notes = []
        kolibri = self.venv / "bin" / "kolibri"
        if not kolibri.exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
            subprocess.run(
                [
                    str(self.venv / "bin" / "pip"),
                    "install",
                    "--quiet",
                    f"kolibri=={VERSION}",
                    "py-spy",
                ],
                check=True,
            )
            notes.append(f"installed kolibri {VERSION} in {self.venv}")
        if not (self.base / "provisioned").exists():
            # A home left by an interrupted provisioning is started afresh.
            shutil.rmtree(self.home, ignore_errors=True)
            make_namespace()
            subprocess.run(
                in_namespace(
                    [
                        *self.env,
                        str(kolibri),
                        "manage",
                        "provisiondevice",
                        "--facility",
                        "Bench School",
                        "--preset",
                        "formal",
                        "--superusername",
                        "admin",
                        "--superuserpassword",
                        "bench-only-1",
                        "--language_id",
                        "en",
                        "--noinput",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            (self.base / "provisioned").write_text(VERSION)
            notes.append(f"provisioned a Kolibri device in {self.home}")
        return notes

    def store_media(self, files: dict[str, Path]) -> dict[str, str]:
        """Copy files into content storage; map each hub URL to Kolibri's."""
        storage = self.home / "content" / "storage"
        mapped = {}
        for url, path in files.items():
            digest = hashlib.md5(path.read_bytes()).hexdigest()
            name = f"{digest}{path.suffix}"
            target = storage / digest[0] / digest[1] / name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            mapped[url] = f"/content/storage/{digest[0]}/{digest[1]}/{name}"
        return mapped

    def command(self, limits=None) -> list[str]:
        argv = in_namespace(
            [*self.env, str(self.venv / "bin" / "kolibri"), "start", "--foreground"]
        )
        return limits.wrap("kolibri", argv) if limits else argv

    def launch(self, limits=None) -> float:
        make_namespace()
        with open(self.log_path, "ab") as log:
            launched = time.time()
            self.process = subprocess.Popen(
                self.command(limits), stdout=log, stderr=log, cwd=self.base
            )
        return launched
