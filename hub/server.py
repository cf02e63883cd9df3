# SPDX-License-Identifier: AGPL-3.0-or-later
"""Running the hub: waitress sized for a classroom, clean stop on SIGTERM.

Results are fsynced before they are acknowledged, so stopping (or being
killed) at any moment loses nothing a tablet was told is stored; a stop only
has to close the listening socket and the data files. Runs in the main
thread; the server's worker threads come from waitress.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

import waitress

from . import __version__
from .app import Hub, create_app
from .discovery import Advertiser
from .identity import check_machine
from .network import tablet_addresses
from .sd_notify import Watchdog, notify
from .sync_schedule import SyncTimer
from .teacher import MAX_FORM_BYTES

log = logging.getLogger(__name__)

# The kernel doubles it. waitress reads a file in chunks of the socket's send
# buffer; left to grow (megabytes on a fast link), each large download left
# the allocator holding ~8 MB more (measured: 37 MB idle, 105 MB after 16
# downloads of a 64 MB video). 256 KiB still fills a Wi-Fi link and loopback.
SEND_BUFFER_BYTES = 128 * 1024
# waitress warns each time a request waits for a worker thread, which a
# class opening a lesson at once makes happen hundreds of times a second:
# one line per request written to the SD card through journald.
QUEUE_WARNING_EVERY_S = 600


class _Sometimes(logging.Filter):
    """Let one record through per interval; the rest are dropped."""

    def __init__(self, interval_s: float):
        super().__init__()
        self.interval_s = interval_s
        self.last = -interval_s

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.last < self.interval_s:
            return False
        self.last = now
        return True


class HubAlreadyRunning(Exception):
    """Another server holds this data folder; the message names it."""


def claim_data_dir(data_dir: Path) -> int:
    """Hold ``DATA_DIR/server.lock`` while serving; the kernel drops it on exit.

    Commands such as ``restore`` look at it to tell whether a hub is running.
    """
    fd = os.open(Path(data_dir) / "server.lock", os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
    except BlockingIOError:
        os.close(fd)
        raise HubAlreadyRunning(
            f"a hub is already running on {data_dir}; stop it first "
            "(sudo systemctl stop classroom-hub)"
        ) from None
    return fd


def running_address(data_dir: Path) -> tuple[str, int] | None:
    """(host, port) the running hub on ``data_dir`` listens on, if any."""
    if not hub_running(data_dir):
        return None
    try:
        noted = json.loads((Path(data_dir) / "server.lock").read_text())
        return noted["host"], int(noted["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hub_running(data_dir: Path) -> bool:
    try:
        fd = os.open(Path(data_dir) / "server.lock", os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def serve(hub: Hub, ready_file: Path | None = None) -> None:
    settings = hub.settings
    claim = claim_data_dir(hub.data_dir)
    check_machine(hub)
    app = create_app(settings, hub)
    server = waitress.create_server(
        app,
        host=settings.HOST,
        port=settings.PORT,
        threads=settings.THREADS,
        connection_limit=settings.CONNECTION_LIMIT,
        channel_timeout=settings.CHANNEL_TIMEOUT_S,
        # Tablets talk to the hub directly; no proxy header is believed.
        trusted_proxy=None,
        clear_untrusted_proxy_headers=True,
        expose_tracebacks=False,
        ident="classroom-hub",
        # waitress spools a body to a temporary file before the app sees
        # it; without this cap one request could fill the SD card. Well
        # above the largest body the hub takes (a class list upload), so
        # that the app, not waitress, refuses the usual mistakes: in the
        # API's JSON shape or on a translated page.
        max_request_body_size=4 * max(settings.RESULTS_MAX_BATCH_BYTES, MAX_FORM_BYTES),
    )
    for listener in _listening_sockets(server):
        # Accepted connections inherit it from the listening socket.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    logging.getLogger("waitress.queue").addFilter(_Sometimes(QUEUE_WARNING_EVERY_S))
    port = server.effective_port
    # The lock file also says where this hub listens, for `doctor`.
    os.pwrite(claim, json.dumps({"host": settings.HOST, "port": int(port)}).encode(), 0)

    hub_id = hub.state.hub_id
    log.info(
        "Classroom Hub %s (%s) listening on %s:%s",
        __version__,
        hub_id,
        settings.HOST,
        port,
    )
    for address in tablet_addresses(settings.HOST):
        host = f"[{address}]" if ":" in address else address
        print(f"Learners open:  http://{host}:{port}/", flush=True)
        print(f"Teachers open:  http://{host}:{port}/teacher/", flush=True)

    if ready_file is not None:
        ready_file.write_text(json.dumps({"port": port, "pid": os.getpid()}))

    timer = SyncTimer(hub)
    timer.start()
    watchdog = Watchdog(alive=lambda: _healthy(hub))
    watchdog.start()
    notify(f"READY=1\nSTATUS=listening on port {port}")
    advertiser = Advertiser.for_hub(hub, port)
    if settings.DISCOVERY_ENABLED:
        advertiser.start()

    def stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        notify("STOPPING=1")
        # Goodbye first, so tablets stop coming before the socket closes.
        advertiser.stop()
        watchdog.stop()
        timer.stop()
        server.close()
        hub.close()
        os.close(claim)
        log.info("Classroom Hub stopped")
        sys.stdout.flush()


def _listening_sockets(server) -> list[socket.socket]:
    """The sockets waitress listens on: one, or one per address."""
    if hasattr(server, "socket"):
        return [server.socket]
    return [
        channel.socket
        for channel in server.map.values()
        if hasattr(channel, "effective_port")
    ]


def _healthy(hub: Hub) -> bool:
    """The results database answers: the one part that must never stall."""
    try:
        hub.results.ping()
    except Exception:
        log.exception("health check failed")
        return False
    return True
