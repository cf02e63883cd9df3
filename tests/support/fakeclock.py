# SPDX-License-Identifier: AGPL-3.0-or-later
"""A clock the tests drive, in place of ``hub.clock.SystemClock``.

The wall clock, the boot clock and the monotonic clock move together when a
test calls ``advance`` or when the code under test ``sleep``s, so back-off,
pacing, windows and budgets are tested without waiting. ``set_wall`` moves
only the wall clock, as ``date -s`` or a time server does; ``reboot`` starts
a new boot with a new id. Use from one thread.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta


class FakeClock:
    def __init__(self, wall: datetime, boot_ms: int = 60_000):
        if wall.tzinfo is None:
            raise ValueError("give the fake wall clock a UTC offset")
        self._wall = wall
        self._boot_ms = boot_ms
        self._monotonic = 1000.0
        self._boot_id = str(uuid.uuid4())
        self.time_server = False
        self.slept = []

    # What hub.clock.SystemClock offers

    def wall(self) -> datetime:
        return self._wall

    def boot_ms(self) -> int:
        return self._boot_ms

    def boot_id(self) -> str:
        return self._boot_id

    def time_server_set(self) -> bool:
        return self.time_server

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.advance(seconds)

    # What tests do to it

    def advance(self, seconds: float) -> None:
        self._wall += timedelta(seconds=seconds)
        self._boot_ms += round(seconds * 1000)
        self._monotonic += seconds

    def set_wall(self, wall: datetime) -> None:
        self._wall = wall

    def reboot(self, wall: datetime) -> None:
        self._wall = wall
        self._boot_ms = 20_000
        self._boot_id = str(uuid.uuid4())
