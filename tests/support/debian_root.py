# SPDX-License-Identifier: AGPL-3.0-or-later
"""A clean Debian 12 (bookworm) root folder to install the hub into, as on a Pi.

Made once with debootstrap from the mirror this machine's own apt uses (no
package host is written in this repository) and kept in ``CACHE``; each test
gets its own copy. ``run_in`` runs a command chrooted into a copy, inside a
network namespace the test made (so with no network but its own loopback),
with /proc mounted in a private mount namespace that ends with the command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

CACHE = Path(
    os.environ.get("CLASSROOM_HUB_TEST_CACHE", "/var/cache/classroom-hub-tests")
)
PACKAGES = ("python3", "python3-venv", "systemd")


def apt_mirror() -> str:
    """The Debian mirror named by this machine's apt sources."""
    sources = Path("/etc/apt")
    texts = []
    for path in [sources / "sources.list", *sorted(sources.glob("sources.list.d/*"))]:
        if path.is_file() and path.suffix in (".list", ".sources", ""):
            texts.append(path.read_text(errors="replace"))

    for text in texts:
        for stanza in text.split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.MULTILINE))
            if (
                "bookworm" in fields.get("Suites", "").split()
                and "deb" in fields.get("Types", "").split()
            ):
                return fields["URIs"].split()[0]
        for line in text.splitlines():
            parts = line.split()
            if parts[:1] == ["deb"] and "bookworm" in parts:
                return next(p for p in parts[1:] if "://" in p)
    raise AssertionError("no bookworm mirror in /etc/apt; these tests need one")


def bookworm_root() -> Path:
    """The cached root, made with debootstrap on first use (about a minute)."""
    root = CACHE / "bookworm-root"
    if (root / ".complete").exists():
        return root

    partial = CACHE / "bookworm-root.partial"
    shutil.rmtree(partial, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            "bookworm",
            str(partial),
            apt_mirror(),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"debootstrap failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    # The root is copied for each test; its package cache only takes room.
    shutil.rmtree(partial / "var/cache/apt/archives", ignore_errors=True)
    (partial / "var/cache/apt/archives/partial").mkdir(parents=True)
    (partial / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    return root


def fresh_root(into: Path) -> Path:
    subprocess.run(
        ["cp", "-a", str(bookworm_root()), str(into)], check=True, timeout=300
    )
    (into / ".complete").unlink()
    return into


def run_in(
    root: Path, namespace: str, command: str, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a shell command chrooted into ``root`` inside ``namespace``."""
    inner = (
        f"mount -t proc proc {root}/proc && exec chroot {root} /bin/sh -c '{command}'"
    )
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            namespace,
            "unshare",
            "--mount",
            "--fork",
            "sh",
            "-c",
            inner,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{command!r} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done
