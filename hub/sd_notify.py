# SPDX-License-Identifier: AGPL-3.0-or-later
"""Telling systemd how the hub is: ready, alive (watchdog), stopping.

Speaks the sd_notify datagram protocol directly, so no library is needed.
Without ``NOTIFY_SOCKET`` (not run by systemd) every call does nothing.
``Watchdog`` owns one daemon thread that pings at half the interval systemd
asks for; the pings stop if the process hangs, and systemd restarts it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

log = logging.getLogger(__name__)


def notify(message: str, environ=os.environ) -> bool:
    """Send one sd_notify message; False when there is nobody to tell."""
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError as error:
            log.warning("could not notify systemd at %s: %s", address, error)
            return False
    return True


class Watchdog:
    """Sends WATCHDOG=1 while ``alive()`` says the hub can answer."""

    def __init__(self, alive, environ=os.environ):
        self.alive = alive
        self.environ = environ
        self._stopping = threading.Event()
        self._thread = None

    @property
    def interval_s(self) -> float | None:
        usec = self.environ.get("WATCHDOG_USEC")
        pid = self.environ.get("WATCHDOG_PID")
        if not usec or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 1_000_000 / 2

    def start(self) -> None:
        if self.interval_s is None:
            return
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            if self.alive():
                notify("WATCHDOG=1", self.environ)
            else:
                log.warning("hub failed its own health check; not feeding the watchdog")
