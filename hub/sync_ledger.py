# SPDX-License-Identifier: AGPL-3.0-or-later
"""What sync remembers between runs, in the hub's state.

One record, ``sync`` in ``HubState`` (``hub.json``): the highest result
sequence number ever handed to the LRS or a USB bundle (whose statements
must never change again), the bytes used today and this month, the last
attempt and the last success with their outcome in plain words, failures in
a row and when the next scheduled run may go, downloads begun, and the USB
bundles exported.

Each change is a read-modify-write under the state's lock, which holds across
threads and processes, and the state file is replaced atomically: a crash
keeps the record as it was before the change. Only the process holding the
sync lock changes it; any process may read it. Without a state (functions
called on their own, in tests) the record lives in memory.
"""

from __future__ import annotations

from contextlib import nullcontext
from copy import deepcopy

KEY = "sync"
KEPT_BUNDLES = 50


class SyncLedger:
    def __init__(self, state=None):
        self.state = state
        self._memory = {}

    # Reading

    def record(self) -> dict:
        if self.state is None:
            return deepcopy(self._memory)
        return deepcopy(self.state.get(KEY) or {})

    @property
    def sent_through(self) -> int:
        return self.record().get("sent_through_seq", 0)

    def bytes_used(self, day: str, month: str) -> tuple[str, int, str, int]:
        used = self.record().get("bytes", {})
        day_bytes = used.get("day_bytes", 0) if used.get("day") == day else 0
        month_bytes = used.get("month_bytes", 0) if used.get("month") == month else 0
        return day, day_bytes, month, month_bytes

    def downloads(self) -> dict:
        return self.record().get("downloads", {})

    def bundle(self, bundle_id: str) -> dict | None:
        return self.record().get("bundles", {}).get(bundle_id)

    # Changing

    def _change(self, change):
        lock = self.state.locked() if self.state is not None else nullcontext()
        with lock:
            record = self.record()
            result = change(record)
            if self.state is None:
                self._memory = record
            else:
                self.state.put(KEY, record)
        return result

    def raise_sent_through(self, seq: int) -> None:
        """Note that results up to ``seq`` left the hub; before they leave."""
        if seq > self.sent_through:
            self._change(lambda r: r.__setitem__("sent_through_seq", seq))

    def add_bytes(self, day: str, month: str, count: int) -> tuple[str, int, str, int]:
        def add(record):
            used = record.setdefault("bytes", {})
            if used.get("day") != day:
                used.update(day=day, day_bytes=0)
            if used.get("month") != month:
                used.update(month=month, month_bytes=0)
            used["day_bytes"] += count
            used["month_bytes"] += count
            return day, used["day_bytes"], month, used["month_bytes"]

        return self._change(add)

    def finish_run(self, attempt: dict, ok: bool, not_before: str | None) -> None:
        """Keep a run's outcome; count failures in a row for the back-off."""

        def finish(record):
            record["last_attempt"] = attempt
            if ok:
                record["last_success"] = attempt
                record["failures"] = 0
            else:
                record["failures"] = record.get("failures", 0) + 1
            record["not_before"] = not_before

        self._change(finish)

    def begin_download(self, name: str, entry: dict) -> None:
        facts = {key: entry[key] for key in ("id", "version", "size", "sha256", "url")}
        if self.downloads().get(name) != facts:
            self._change(
                lambda r: r.setdefault("downloads", {}).__setitem__(name, facts)
            )

    def end_download(self, name: str) -> None:
        if name in self.downloads():
            self._change(lambda r: r.get("downloads", {}).pop(name, None))

    def keep_bundle(self, bundle_id: str, facts: dict) -> None:
        def keep(record):
            bundles = record.setdefault("bundles", {})
            bundles[bundle_id] = facts
            while len(bundles) > KEPT_BUNDLES:
                bundles.pop(next(iter(bundles)))

        self._change(keep)
