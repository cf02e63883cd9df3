# SPDX-License-Identifier: AGPL-3.0-or-later
"""When sync runs: never two at once, and on a timer inside the server.

A sync can start from the command line, the systemd timer or the server's own
timer; an exclusive ``flock`` on ``DATA_DIR/sync.lock`` lets only one run at a
time across processes, and the kernel drops the lock if the holder dies.
``SyncTimer`` owns one daemon thread that asks every ``SYNC_INTERVAL_S``
whether a scheduled run is due (``hub.sync_windows`` decides); ``stop`` waits
for it to finish the request it is in (each has a timeout).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from contextlib import contextmanager

log = logging.getLogger(__name__)


class SyncBusy(Exception):
    """Another sync is running; this one did nothing."""


@contextmanager
def sync_lock(data_dir):
    path = os.path.join(data_dir, "sync.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncBusy("another sync is running; try again when it ends") from None
        yield
    finally:
        os.close(fd)


def sync_once(hub, **options):
    """Run one whole sync under the lock and return its report.

    ``options`` go to ``hub.sync.run_sync`` (``trigger``, ``clock``).
    """
    from .sync import run_sync

    with sync_lock(hub.data_dir):
        return run_sync(hub, **options)


class SyncTimer:
    """Every SYNC_INTERVAL_S seconds, runs a scheduled sync if one is due."""

    def __init__(self, hub):
        self.hub = hub
        self.interval = hub.settings.SYNC_INTERVAL_S
        self._stopping = threading.Event()
        self._thread = None

    def start(self) -> None:
        if not self.interval or not (
            self.hub.settings.LRS_URL or self.hub.settings.CATALOG_URL
        ):
            return
        self._thread = threading.Thread(
            target=self._run, name="sync-timer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.hub.settings.SYNC_TIMEOUT_S + 5)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                sync_once(self.hub, trigger="scheduled")
            except SyncBusy:
                continue
            except Exception:
                log.exception("sync failed unexpectedly; will try at the next turn")
                continue
