# SPDX-License-Identifier: AGPL-3.0-or-later
"""Whether the hub's clock can be believed, and the hub's time as text.

A Raspberry Pi has no battery-backed clock: offline it boots with the last
time it saved, or 1970. Results record whether the clock was trusted when
they arrived, so that their times can be judged later.

``now``, ``now_text`` and ``clock_is_trusted`` are pure functions of the
system clock. ``ClockWatch`` judges the clock better: against the build, the
national server's ``Date`` (learnt at sync), a time server, and its own
jumps (wall clock against CLOCK_BOOTTIME). It keeps what it learnt in
``clock.json`` in the data folder, per boot, so that a result stored with its
boot id and boot time can be given its true time once a trusted time arrives
in the same boot. ``ClockWatch`` may be used from any thread and any number
of processes (a lock file guards changes); a crash loses at most the change
being written, which is learnt again at the next sync.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .durable import write_file_atomically

log = logging.getLogger(__name__)

# No hub built from this source can be running before this moment, so a
# clock that shows an earlier time is certainly wrong.
BUILD_TIME = datetime(2026, 12, 1, tzinfo=UTC)


def now() -> datetime:
    return datetime.now().astimezone()


def now_text() -> str:
    return now().isoformat(timespec="milliseconds")


def clock_is_trusted(moment: datetime | None = None) -> bool:
    """False when the clock is certainly wrong (before this build existed).

    A clock ahead of the truth cannot be caught without an outside source;
    checking against the national server's ``Date`` header would catch it.
    """
    moment = now() if moment is None else moment
    return moment >= BUILD_TIME


# What the watch reads about the machine; tests replace it with a clock they
# drive, so that no test waits for real time to pass.
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
BOOT_ID_VARIABLE = "HUB_BOOT_ID"
# systemd-timesyncd leaves this file once a time server has set the clock.
TIME_SERVER_FILE = Path("/run/systemd/timesync/synchronized")
DEFAULT_MAX_SKEW_S = 300
# Boots remembered in clock.json; results of older boots keep their times.
KEPT_BOOTS = 20


class SystemClock:
    """The machine's own clocks, read afresh on every call."""

    def __init__(self):
        self._boot_id = None

    def wall(self) -> datetime:
        return now()

    def boot_ms(self) -> int:
        # CLOCK_BOOTTIME runs on while the machine sleeps and is never set,
        # so wall minus boot time changes only when the wall clock is set.
        return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000

    def boot_id(self) -> str:
        if self._boot_id is None:
            self._boot_id = _boot_id()
        return self._boot_id

    def time_server_set(self) -> bool:
        return TIME_SERVER_FILE.exists()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class Reading:
    """The clock at one moment, and whether to believe it."""

    wall: datetime
    boot_id: str
    boot_ms: int
    trusted: bool
    reason: str

    @property
    def text(self) -> str:
        return self.wall.isoformat(timespec="milliseconds")


class ClockWatch:
    """Whether the hub's clock can be trusted, and the true time of a boot.

    For each boot it keeps ``first_epoch_ms`` (wall clock minus boot time
    when first read) and, once a trusted source told the time,
    ``true_epoch_ms`` (the true time at which the boot began).
    """

    def __init__(self, folder: Path, source=None, max_skew_s=DEFAULT_MAX_SKEW_S):
        self.path = Path(folder) / "clock.json"
        self.source = source if source is not None else SystemClock()
        self.max_skew_ms = max(1, int(max_skew_s)) * 1000
        self._lock = threading.Lock()
        self._cached = (None, {})

    def reading(self) -> Reading:
        source = self.source
        wall = source.wall()
        boot_ms = source.boot_ms()
        boot_id = source.boot_id()
        epoch = _ms(wall) - boot_ms

        boot = self._boot(boot_id, epoch)
        if boot.get("true_epoch_ms") is None and source.time_server_set():
            boot = self._learn(boot_id, epoch, "a time server")
        trusted, reason = self._judge(wall, epoch, boot)
        return Reading(wall, boot_id, boot_ms, trusted, reason)

    # XXX Results of a boot that ended before a trusted time arrived keep the
    # times they were given; chaining boots would need a clock that survives.
    def learn_true_time(self, moment: datetime, boot_ms: int, source: str) -> float:
        """Remember ``moment`` as the true time at ``boot_ms`` of this boot.

        Returns how far the hub's clock is ahead of it, in seconds.
        """
        true_epoch = _ms(moment) - boot_ms
        boot_id = self.source.boot_id()
        skew_ms = _ms(self.source.wall()) - self.source.boot_ms() - true_epoch
        known = self._boot(boot_id, true_epoch).get("true_epoch_ms")
        # A second answer within the allowed skew changes nothing, so that
        # corrections made with the first stay the same.
        if known is None or abs(known - true_epoch) > self.max_skew_ms:
            self._learn(boot_id, true_epoch, source)
            if abs(skew_ms) > self.max_skew_ms:
                log.warning(
                    "the hub's clock is %s %s %s; results of this boot are dated by it",
                    span_text(abs(skew_ms) / 1000),
                    "ahead of" if skew_ms > 0 else "behind",
                    source,
                )
        return skew_ms / 1000

    def true_epochs(self) -> dict[str, int]:
        """Boot id -> true time (ms since 1970) at which that boot began."""
        return {
            boot_id: boot["true_epoch_ms"]
            for boot_id, boot in self._load().items()
            if boot.get("true_epoch_ms") is not None
        }

    def boot_facts(self) -> dict:
        """What is known about the running boot, for the status page."""
        boot = self._load().get(self.source.boot_id(), {})
        return {
            "true_time_from": boot.get("true_source"),
            "true_time_learnt_at": boot.get("learnt_at"),
        }

    def _judge(self, wall: datetime, epoch: int, boot: dict) -> tuple[bool, str]:
        if wall < BUILD_TIME:
            return False, "it shows a time before this version of the hub was made"

        true_epoch = boot.get("true_epoch_ms")
        if true_epoch is not None:
            off = epoch - true_epoch
            source = boot.get("true_source") or "a trusted clock"
            if abs(off) > self.max_skew_ms:
                side = "ahead of" if off > 0 else "behind"
                return False, f"it is {span_text(abs(off) / 1000)} {side} {source}"
            return True, f"it agrees with {source}"

        jump = epoch - boot["first_epoch_ms"]
        if abs(jump) > self.max_skew_ms:
            way = "forward" if jump > 0 else "back"
            return False, (
                f"it jumped {span_text(abs(jump) / 1000)} {way} since the hub "
                "started, and no trusted clock has confirmed it since"
            )
        return True, "it is plausible, not yet checked against a trusted clock"

    def _boot(self, boot_id: str, epoch: int) -> dict:
        boot = self._load().get(boot_id)
        if boot is not None:
            return boot
        return self._change(
            boot_id, lambda boot: boot.setdefault("first_epoch_ms", epoch)
        )

    def _learn(self, boot_id: str, true_epoch: int, source: str) -> dict:
        def learn(boot):
            boot.setdefault("first_epoch_ms", true_epoch)
            boot["true_epoch_ms"] = true_epoch
            boot["true_source"] = source
            boot["learnt_at"] = (
                datetime.fromtimestamp(true_epoch / 1000 + self.source.boot_ms() / 1000)
                .astimezone()
                .isoformat(timespec="seconds")
            )

        return self._change(boot_id, learn)

    def _load(self) -> dict:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return {}
        # Every change is a new file renamed into place: a new inode even
        # when two writes fall within one tick of the file system's clock.
        stamp = (status.st_ino, status.st_mtime_ns)
        with self._lock:
            if self._cached[0] == stamp:
                return self._cached[1]
        try:
            boots = json.loads(self.path.read_text(encoding="utf-8"))["boots"]
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged file costs only what it knew: the next sync learns
            # the time again.
            log.warning("%s is damaged; the clock is judged afresh", self.path)
            boots = {}
        with self._lock:
            self._cached = (stamp, boots)
        return boots

    def _change(self, boot_id: str, change) -> dict:
        lock_path = self.path.with_name(self.path.name + ".lock")
        with self._lock:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                self._cached = (None, {})
                boots = self._read_unlocked()
                boot = boots.pop(boot_id, {})
                change(boot)
                boots[boot_id] = boot
                while len(boots) > KEPT_BOOTS:
                    boots.pop(next(iter(boots)))
                write_file_atomically(
                    self.path, json.dumps({"boots": boots}, indent=1).encode()
                )
            finally:
                os.close(descriptor)
        return boot

    def _read_unlocked(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))["boots"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}


def _boot_id() -> str:
    """This boot's id: from /proc, or from systemd (``HUB_BOOT_ID=%b``).

    A unit with ProcSubset=pid hides /proc/sys. Without either, an id of
    this process alone: its results are then never re-dated, rather than
    re-dated with another boot's time.
    """
    # The same boot reads "1b2c-…" in /proc and "1b2c…" from systemd's %b;
    # without dashes, a command run by hand and the service agree.
    try:
        return BOOT_ID_FILE.read_text(encoding="ascii").strip().replace("-", "")
    except OSError:
        pass
    given = os.environ.get(BOOT_ID_VARIABLE, "").strip().replace("-", "")
    if given:
        return given
    return f"process-{uuid.uuid4()}"


def span_text(seconds: float) -> str:
    """A length of time in words a technician reads at a glance."""
    seconds = abs(seconds)
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} seconds"


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
