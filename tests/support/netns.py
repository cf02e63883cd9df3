# SPDX-License-Identifier: AGPL-3.0-or-later
"""Network namespaces for tests that need a LAN: never the machine's own.

``Lan`` makes a bridge in a namespace of its own and joins each "machine"
namespace to it with a veth pair, whose end inside the machine is called
``eth0`` like a Pi's. Names carry the test process's id, so runs side by
side do not meet, and ``close`` removes every namespace it made (their veth
pairs go with them). Needs root and ``ip`` (iproute2).
"""

from __future__ import annotations

import itertools
import os
import subprocess

_counter = itertools.count(1)


def ip(*args: str, namespace: str | None = None) -> str:
    command = ["ip", *args] if namespace is None else ["ip", "-n", namespace, *args]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


class Lan:
    """One bridged segment 10.77.N.0/24 and the namespaces on it."""

    def __init__(self):
        self.tag = f"cht{os.getpid() % 100000}x{next(_counter)}"
        self.subnet = 10 + next(_counter) % 200
        self.bridge_ns = f"{self.tag}-lan"
        self.namespaces = []
        self._hosts = itertools.count(2)
        self._add_namespace(self.bridge_ns)
        ip("link", "add", "br0", "type", "bridge", namespace=self.bridge_ns)
        ip("link", "set", "br0", "up", namespace=self.bridge_ns)

    def _add_namespace(self, name: str) -> None:
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("link", "set", "lo", "up", namespace=name)

    def machine(self, role: str) -> tuple[str, str]:
        """A new namespace on the LAN; returns its name and IPv4 address."""
        name = f"{self.tag}-{role}"
        self._add_namespace(name)
        # Made inside the bridge's namespace: the machine's own interface
        # list never sees either end.
        outside = f"v{role}"[:15]
        ip(
            "link",
            "add",
            outside,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            name,
            namespace=self.bridge_ns,
        )
        ip("link", "set", outside, "master", "br0", namespace=self.bridge_ns)
        ip("link", "set", outside, "up", namespace=self.bridge_ns)
        address = self.address()
        ip("addr", "add", f"{address}/24", "dev", "eth0", namespace=name)
        ip("link", "set", "eth0", "up", namespace=name)
        return name, address

    def address(self) -> str:
        return f"10.77.{self.subnet}.{next(self._hosts)}"

    def close(self) -> None:
        for name in reversed(self.namespaces):
            subprocess.run(
                ["ip", "netns", "del", name],
                capture_output=True,
                timeout=30,
                check=False,
            )
        self.namespaces.clear()


def exec_in(namespace: str, command: list[str]) -> list[str]:
    """The command line that runs ``command`` inside ``namespace``."""
    return ["ip", "netns", "exec", namespace, *command]


class IsolatedNamespace:
    """A namespace with nothing but its own loopback: no way out at all."""

    def __init__(self):
        self.name = f"cht{os.getpid() % 100000}x{next(_counter)}-alone"
        ip("netns", "add", self.name)
        ip("link", "set", "lo", "up", namespace=self.name)

    def close(self) -> None:
        subprocess.run(
            ["ip", "netns", "del", self.name],
            capture_output=True,
            timeout=30,
            check=False,
        )
