# SPDX-License-Identifier: AGPL-3.0-or-later
"""Whether the hub's clock can be believed, and the hub's time as text.

A Raspberry Pi has no battery-backed clock: offline it boots with the last
time it saved, or 1970. Results record whether the clock was trusted when
they arrived, so that their times can be judged later. Pure functions of the
system clock; safe from any thread.
"""

from __future__ import annotations

from datetime import datetime, timezone

# No hub built from this source can be running before this moment, so a
# clock that shows an earlier time is certainly wrong.
BUILD_TIME = datetime(2026, 12, 1, tzinfo=timezone.utc)


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
