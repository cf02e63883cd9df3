# SPDX-License-Identifier: AGPL-3.0-or-later
"""When a scheduled sync may run: windows, spread, back-off, byte budget.

``SYNC_WINDOWS`` names times of day in the hub's local time (for example
``01:00-05:00,12:30-13:30``; a window may run past midnight). Within a
window each hub waits its own delay of up to ``SYNC_SPREAD_S`` after the
window opens, drawn from its id and the day, so that thousands of hubs do
not call the national side in the same minute yet one hub keeps one turn
all day. After a failed run the next scheduled one waits longer each time
(with jitter, at most ``SYNC_BACKOFF_MAX_S``, or the server's Retry-After).
``ByteMeter`` counts the bytes each run moves into the day's and the
month's totals kept by ``SyncLedger``.

Everything takes the time as an argument or from a clock object, so tests
drive it without waiting. Pure functions and one meter per run: use a meter
from one thread. A crash loses at most the bytes counted since the meter
last saved (it saves every ``SAVE_EVERY_BYTES`` and at the end of a run).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

SAVE_EVERY_BYTES = 64 * 1024
BACKOFF_FIRST_S = 60
_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class WindowError(ValueError):
    """SYNC_WINDOWS is not a list of HH:MM-HH:MM; the message shows one."""


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def length(self) -> timedelta:
        minutes = _minutes(self.end) - _minutes(self.start)
        return timedelta(minutes=minutes if minutes > 0 else minutes + 24 * 60)

    def opening_before(self, moment: datetime) -> datetime:
        """The latest opening of this window at or before ``moment``."""
        opening = moment.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        return opening if opening <= moment else opening - timedelta(days=1)


def parse_windows(text: str) -> list[Window]:
    """``01:00-05:00,12:30-13:30`` as windows; empty text means all day."""
    windows = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        found = _WINDOW.match(part)
        if not found:
            raise WindowError(
                f"SYNC_WINDOWS: {part!r} is not a window; write HH:MM-HH:MM, "
                "several separated by commas, e.g. 01:00-05:00,12:30-13:30"
            )
        hour1, minute1, hour2, minute2 = map(int, found.groups())
        if hour1 > 23 or hour2 > 24 or minute1 > 59 or minute2 > 59:
            raise WindowError(f"SYNC_WINDOWS: {part!r} is not a time of day")
        end = time(0, 0) if (hour2, minute2) == (24, 0) else time(hour2, minute2)
        if (hour1, minute1) == (end.hour, end.minute):
            raise WindowError(f"SYNC_WINDOWS: {part!r} is empty")
        windows.append(Window(time(hour1, minute1), end))
    return windows or [Window(time(0, 0), time(0, 0))]


def open_window(windows: list[Window], moment: datetime):
    """(window, when it opened) for the window ``moment`` falls in, or None."""
    for window in windows:
        opened = window.opening_before(moment)
        if moment < opened + window.length():
            return window, opened
    return None


def next_opening(windows: list[Window], moment: datetime) -> tuple[Window, datetime]:
    """The next window to open after ``moment``."""
    found = []
    for window in windows:
        opening = window.opening_before(moment) + timedelta(days=1)
        found.append((opening, str(window), window))
    opening, _, window = min(found)
    return window, opening


def turn_in_window(hub_id: str, opened: datetime, window: Window, spread_s: int):
    """When this hub calls in the window that opened at ``opened``.

    Drawn from the hub's id and the opening, so every check on one day agrees
    without storing it, and each day gives another turn. The turn stays in
    the first half of the window, so a failed first try has time to retry.
    """
    longest = min(spread_s, window.length().total_seconds() / 2)
    seed = hashlib.sha256(f"{hub_id}/{opened.isoformat()}".encode()).digest()
    delay = random.Random(seed).uniform(0, max(0.0, longest))
    return opened + timedelta(seconds=delay)


def backoff_s(failures: int, ceiling_s: int, rng: random.Random) -> float:
    """How long the next scheduled run waits after ``failures`` in a row."""
    if failures <= 0:
        return 0.0
    longest = min(ceiling_s, BACKOFF_FIRST_S * 2 ** (failures - 1))
    return longest / 2 + rng.uniform(0, longest / 2)


@dataclass(frozen=True)
class Decision:
    due: bool
    reason: str
    # The earliest moment a scheduled run could go, when not due now.
    next_at: datetime | None = None


def decide(
    moment: datetime,
    windows,
    hub_id: str,
    spread_s: int,
    *,
    not_before: datetime | None,
    last_success: datetime | None,
    pending: int,
    budget_left: int | None,
) -> Decision:
    """Whether a scheduled sync should run at ``moment``, in plain words."""
    inside = open_window(windows, moment)
    if inside is None:
        window, opening = next_opening(windows, moment)
        turn = turn_in_window(hub_id, opening, window, spread_s)
        return Decision(
            False,
            f"outside the sync windows; the next is {window} "
            f"(this hub's turn at {turn:%H:%M})",
            turn,
        )

    window, opened = inside
    turn = turn_in_window(hub_id, opened, window, spread_s)
    if moment < turn:
        return Decision(
            False,
            f"waiting for this hub's turn at {turn:%H:%M} in the window {window}",
            turn,
        )
    if not_before is not None and moment < not_before:
        return Decision(
            False,
            f"waiting after a failed sync; trying again at {not_before:%H:%M}",
            not_before,
        )
    if budget_left is not None and budget_left <= 0:
        return Decision(
            False, "the byte budget is used up; sync waits for the next day or month"
        )
    if pending == 0 and last_success is not None and last_success >= opened:
        return Decision(
            False, f"already synced in the window {window}, and no result waits"
        )
    return Decision(True, f"in the window {window}")


class ByteMeter:
    """Bytes on the wire in one run, added to the day's and month's totals."""

    def __init__(
        self, ledger, clock, day_limit: int, month_limit: int, enforce: bool = True
    ):
        self.ledger = ledger
        self.clock = clock
        self.day_limit = day_limit
        self.month_limit = month_limit
        self.enforce = enforce
        self.used = 0
        self._unsaved = 0
        self._totals = None

    def charge(self, count: int) -> None:
        self.used += count
        self._unsaved += count
        if self._unsaved >= SAVE_EVERY_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._unsaved:
            day, month = _periods(self.clock.wall())
            self._totals = self.ledger.add_bytes(day, month, self._unsaved)
            self._unsaved = 0

    def totals(self) -> tuple[int, int]:
        """Bytes used today and this month, this run's included."""
        day, month = _periods(self.clock.wall())
        if self._totals is None or self._totals[0] != day or self._totals[2] != month:
            self._totals = self.ledger.bytes_used(day, month)
        _, day_bytes, _, month_bytes = self._totals
        return day_bytes + self._unsaved, month_bytes + self._unsaved

    def allowance(self) -> int | None:
        """Bytes this run may still move; None when no limit applies."""
        if not self.enforce or not (self.day_limit or self.month_limit):
            return None
        day_bytes, month_bytes = self.totals()
        left = []
        if self.day_limit:
            left.append(self.day_limit - day_bytes)
        if self.month_limit:
            left.append(self.month_limit - month_bytes)
        return max(0, min(left))


def _periods(moment: datetime) -> tuple[str, str]:
    return moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m")


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute
