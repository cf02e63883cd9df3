# SPDX-License-Identifier: AGPL-3.0-or-later
"""Learners' results: checked, stored durably, and handed to sync in order.

Results live in SQLite (Python's own ``sqlite3``, no extra dependency) in
write-ahead-log mode with ``synchronous=FULL``: a batch is acknowledged only
after its commit is fsynced, so an acknowledged result survives ``kill -9``
and a power cut, and a crash mid-write rolls back to the last commit. Storing
a result costs one B-tree insert however long the history is, and nothing is
written while no results arrive.

``ResultStore`` may be used from any number of threads: writes are serialised
by one lock (SQLite allows one writer at a time anyway); reads use a
connection per thread and do not wait for writers. Batches that arrive while
another is being committed are committed together, in one transaction and
one fsync (group commit), and each is answered only after that commit.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from . import clock
from .assessments.records import (
    ASSESSMENT_COLUMNS,
    ASSESSMENT_FIELDS,
    ASSESSMENT_TYPES,
    BOOLEAN_FIELDS,
    assessment_problem,
)

log = logging.getLogger(__name__)

ACTIVITY_TYPES = frozenset({"listen_choose", "flashcards", "go_no_go"})
ACTIVITY_TYPES |= ASSESSMENT_TYPES
MAX_REACTION_MS = 600_000

PENDING, CONFIRMED, QUARANTINED = 0, 1, 2

# Group commits between two checkpoints of the write-ahead log. A commit of
# 10 results appends ~70 pages to the log; SQLite's own checkpoint would
# copy them back inside a commit every ~1000 pages and hold up every tablet
# waiting behind it (measured: p99 of 40 simultaneous batches 0.5-0.8 s).
CHECKPOINT_EVERY_COMMITS = 20

# Used with fullmatch: "$" alone would let a final newline through.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
# RFC 3339, the profile of ISO 8601 that xAPI timestamps use.
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)

# The record's fields, in the order they are stored.
FIELDS = (
    "id",
    "learner_id",
    "pack_id",
    "pack_version",
    "lesson_id",
    "activity_id",
    "activity_type",
    "language",
    "item",
    "response",
    "correct",
    "reaction_ms",
    "answered_at",
    "tablet_seq",
)
_OPTIONAL = frozenset(
    {"language", "response", "correct", "reaction_ms", "answered_at", "tablet_seq"}
)
# A baseline or endline answer's attempt, window and flags, last; practice
# answers leave them null (hub.assessments.records).
FIELDS += ASSESSMENT_FIELDS
_OPTIONAL |= frozenset(ASSESSMENT_FIELDS)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    learner_id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    pack_version TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    language TEXT,
    item TEXT NOT NULL,
    response TEXT,
    correct INTEGER,
    reaction_ms INTEGER,
    answered_at TEXT,
    tablet_seq INTEGER,
    tablet_id TEXT,
    received_at TEXT NOT NULL,
    clock_trusted INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    status_reason TEXT
);
CREATE INDEX IF NOT EXISTS results_pending ON results (seq) WHERE status = 0;
CREATE INDEX IF NOT EXISTS results_learner ON results (learner_id, seq);
"""


# Columns added after the first release, as (name, SQL type). A database made
# before a column existed gets it at open; old rows hold NULL there. Append
# only: never rename or drop, since hubs in the field carry old files.
ADDED_COLUMNS: list[tuple[str, str]] = [
    # The boot the result arrived in and CLOCK_BOOTTIME then, so that its
    # true receipt time can be worked out once a trusted time is known in
    # that boot (hub.clock.ClockWatch); set once, by correct_received_times.
    ("boot_id", "TEXT"),
    ("boot_ms", "INTEGER"),
    ("received_at_corrected", "TEXT"),
]
# An assessment answer's attempt, window and flags (hub.assessments.records).
ADDED_COLUMNS += ASSESSMENT_COLUMNS


class StoreFull(Exception):
    """The disk has no room for more results; nothing of the batch was stored."""


class RecordError(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class StoredResult:
    seq: int
    id: str
    record: dict
    tablet_id: str | None
    received_at: str
    clock_trusted: bool
    received_at_corrected: str | None = None


@dataclass
class BatchAnswer:
    accepted: list = field(default_factory=list)
    rejected: list = field(default_factory=list)

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "rejected": self.rejected}


@dataclass
class _WaitingBatch:
    """A checked batch waiting for the commit that will store it."""

    checked: list
    tablet_id: str | None
    receipt: clock.Reading
    answer: BatchAnswer
    done: bool = False
    error: Exception | None = None


def check_record(
    record,
    known_learner: Callable[[str], bool],
    check_assessment: Callable[[dict], tuple[str, str] | None] | None = None,
) -> dict:
    """Return the record with only its known fields, or raise RecordError."""
    if not isinstance(record, dict):
        raise RecordError("(record)", "must be a JSON object")

    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise RecordError(unknown[0], "is not a field of a result; remove it")
    for name in FIELDS:
        if name not in record and name not in _OPTIONAL:
            raise RecordError(name, "is missing")

    clean = {name: record.get(name) for name in FIELDS}

    try:
        parsed = uuid.UUID(clean["id"]) if isinstance(clean["id"], str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RecordError("id", "must be a UUID made on the tablet")
    clean["id"] = str(parsed)

    learner_id = clean["learner_id"]
    if not isinstance(learner_id, str) or not known_learner(learner_id):
        raise RecordError("learner_id", "is not a learner of this hub")

    for name in ("pack_id", "pack_version", "lesson_id", "activity_id", "item"):
        if not isinstance(clean[name], str) or not _NAME.fullmatch(clean[name]):
            raise RecordError(name, "must be a name of 1-64 letters, digits, . _ -")
    if clean["activity_type"] not in ACTIVITY_TYPES:
        raise RecordError(
            "activity_type", f"must be one of {', '.join(sorted(ACTIVITY_TYPES))}"
        )

    if clean["language"] is not None and not (
        isinstance(clean["language"], str) and _LANGUAGE.fullmatch(clean["language"])
    ):
        raise RecordError("language", "must be a language code such as mn or en")
    if clean["response"] is not None and not (
        is_text(clean["response"]) and len(clean["response"]) <= 64
    ):
        raise RecordError("response", "must be text of at most 64 characters or null")
    if clean["correct"] is not None and not isinstance(clean["correct"], bool):
        raise RecordError("correct", "must be true, false or null")

    reaction = clean["reaction_ms"]
    if reaction is not None and not (
        _is_whole(reaction) and 0 <= reaction <= MAX_REACTION_MS
    ):
        raise RecordError(
            "reaction_ms", f"must be a whole number from 0 to {MAX_REACTION_MS}"
        )
    seq = clean["tablet_seq"]
    if seq is not None and not (_is_whole(seq) and 0 <= seq < 2**53):
        raise RecordError("tablet_seq", "must be a whole number from 0 up")

    if clean["answered_at"] is not None:
        clean["answered_at"] = _check_time(clean["answered_at"])

    problem = assessment_problem(clean)
    if problem is None and check_assessment and clean.get("attempt_id"):
        problem = check_assessment(clean)
    if problem is not None:
        raise RecordError(*problem)

    return clean


def is_text(value) -> bool:
    """A string that is real Unicode: JSON's \\ud800 escapes make strings
    Python holds but cannot encode, which would fail every later write."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_time(value) -> str:
    reason = (
        "must be a time like 2026-12-04T09:01:02.120+08:00 "
        "(RFC 3339, with a UTC offset)"
    )
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise RecordError("answered_at", reason)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError("answered_at", reason) from None
    if moment.tzinfo is None:
        raise RecordError("answered_at", reason)
    return value


class ResultStore:
    """All results this hub has received, pending or confirmed upstream."""

    def __init__(self, path: Path, clock_watch: clock.ClockWatch | None = None):
        self.path = Path(path)
        # Judges the clock for each batch; its clock.json sits beside us.
        self.clock = clock_watch or clock.ClockWatch(self.path.parent)
        self._write_lock = threading.Lock()
        # Batches of request threads waiting for the next group commit.
        self._waiting: list[_WaitingBatch] = []
        self._waiting_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._commits_since_checkpoint = 0
        self._checkpointer: _Checkpointer | None = None
        self._local = threading.local()
        self._connections = []
        self._connections_lock = threading.Lock()

        conn = self._connection()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(_SCHEMA)
        self._add_missing_columns(conn)

    @staticmethod
    def _add_missing_columns(conn: sqlite3.Connection) -> None:
        present = {row[1] for row in conn.execute("PRAGMA table_info(results)")}
        for name, sql_type in ADDED_COLUMNS:
            if name not in present:
                try:
                    conn.execute(f"ALTER TABLE results ADD COLUMN {name} {sql_type}")
                except sqlite3.OperationalError as error:
                    # Another process (server and a command) opened it too.
                    if "duplicate column" not in str(error):
                        raise

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open_connection()
            self._local.conn = conn
        return conn

    def _writer_connection(self) -> sqlite3.Connection:
        """The one connection group commits use, only under the write lock.

        One page cache holds the index pages commits touch, rather than one
        per request thread, and its log is checkpointed by a thread of our
        own (``_Checkpointer``), not inside a commit.
        """
        if self._writer is None:
            self._writer = self._open_connection()
            self._writer.execute("PRAGMA wal_autocheckpoint = 0")
        return self._writer

    def _open_connection(self) -> sqlite3.Connection:
        # Each connection is used by one thread at a time; close() may run on
        # another thread at shutdown, hence check_same_thread=False.
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous = FULL")
        conn.row_factory = sqlite3.Row
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._writer = None
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def add_batch(
        self,
        records: list,
        known_learner: Callable[[str], bool],
        tablet_id: str | None = None,
        check_assessment: Callable[[dict], tuple[str, str] | None] | None = None,
    ) -> BatchAnswer:
        """Store the good records of a batch; name each bad one.

        Returns only after the good records are on disk. Raises StoreFull
        when the disk is full, having stored nothing.
        """
        answer = BatchAnswer()
        checked = []
        for index, record in enumerate(records):
            try:
                checked.append(
                    (index, check_record(record, known_learner, check_assessment))
                )
            except RecordError as error:
                answer.rejected.append(_rejection(index, record, error))

        batch = _WaitingBatch(checked, tablet_id, self.clock.reading(), answer)
        with self._waiting_lock:
            self._waiting.append(batch)

        # Whoever takes the lock next commits every batch waiting by then,
        # ours included unless an earlier holder already did: one fsync for
        # a class of tablets sending at once, instead of one each in turn.
        with self._write_lock:
            if not batch.done:
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                self._commit_group(group)
                self._after_commit()
        if batch.error is not None:
            raise _again(batch.error)

        answer.rejected.sort(key=lambda rejection: rejection["index"])
        return answer

    def _after_commit(self) -> None:
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint < CHECKPOINT_EVERY_COMMITS:
            return
        self._commits_since_checkpoint = 0
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(self._open_connection())
        self._checkpointer.wake()

    def _commit_group(self, group: list[_WaitingBatch]) -> None:
        """Store batches in one transaction; on failure none of them is stored."""
        conn = self._writer_connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            for batch in group:
                for index, clean in batch.checked:
                    error = self._insert(conn, clean, batch.tablet_id, batch.receipt)
                    if error is None:
                        batch.answer.accepted.append(clean["id"])
                    else:
                        batch.answer.rejected.append(_rejection(index, clean, error))
            conn.execute("COMMIT")
        except Exception as error:  # noqa: BLE001 - raised again in every thread
            if isinstance(error, sqlite3.OperationalError) and "full" in str(error):
                error = StoreFull(str(error))
            # Set before the rollback, which may fail too: no batch of a
            # failed commit may be answered as stored.
            for batch in group:
                batch.error = error
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            for batch in group:
                batch.done = True

    def _insert(self, conn, clean, tablet_id, receipt: clock.Reading):
        values = [_to_column(clean[name]) for name in FIELDS]
        cursor = conn.execute(
            f"INSERT INTO results ({', '.join(FIELDS)}, tablet_id, received_at,"
            f" clock_trusted, boot_id, boot_ms)"
            f" VALUES ({', '.join('?' * (len(FIELDS) + 5))})"
            " ON CONFLICT (id) DO NOTHING",
            [
                *values,
                tablet_id,
                receipt.text,
                int(receipt.trusted),
                receipt.boot_id,
                receipt.boot_ms,
            ],
        )
        if cursor.rowcount == 1:
            return None

        row = conn.execute(
            f"SELECT {', '.join(FIELDS)} FROM results WHERE id = ?", [clean["id"]]
        ).fetchone()
        if _record_from_row(row) == clean:
            return None
        return RecordError(
            "id", "is already stored with other content; make a new id per answer"
        )

    def pending(self, limit: int, after_seq: int = 0) -> list[StoredResult]:
        rows = self._connection().execute(
            "SELECT * FROM results WHERE status = 0 AND seq > ? ORDER BY seq LIMIT ?",
            [after_seq, limit],
        )
        return [_stored(row) for row in rows]

    def correct_received_times(
        self, boot_id: str, true_epoch_ms: int, after_seq: int
    ) -> int:
        """Give pending results of a boot the true time they arrived.

        ``true_epoch_ms`` is when that boot began by a trusted clock. Only
        results after ``after_seq`` change, and each only once: a statement
        already sent must be sent again unchanged. Returns how many changed.
        """
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT seq, boot_ms FROM results WHERE status = 0 AND seq > ?"
                " AND boot_id = ? AND boot_ms IS NOT NULL"
                " AND received_at_corrected IS NULL",
                [after_seq, boot_id],
            ).fetchall()
            conn.executemany(
                "UPDATE results SET received_at_corrected = ? WHERE seq = ?",
                [
                    (_time_text(true_epoch_ms + row["boot_ms"]), row["seq"])
                    for row in rows
                ],
            )
            conn.execute("COMMIT")
        return len(rows)

    def mark_confirmed(self, ids: list[str]) -> None:
        self._set_status(ids, CONFIRMED, None)

    def quarantine(self, result_id: str, reason: str) -> None:
        self._set_status([result_id], QUARANTINED, reason)

    def _set_status(self, ids, status, reason) -> None:
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "UPDATE results SET status = ?, status_reason = ? WHERE id = ?",
                [(status, reason, result_id) for result_id in ids],
            )
            conn.execute("COMMIT")

    def counts(self) -> dict:
        rows = self._connection().execute(
            "SELECT status, count(*) FROM results GROUP BY status"
        )
        by_status = dict(rows.fetchall())
        return {
            "pending": by_status.get(PENDING, 0),
            "confirmed": by_status.get(CONFIRMED, 0),
            "quarantined": by_status.get(QUARANTINED, 0),
        }

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        """Run a read-only query on this thread's connection (for reports).

        The connection is opened read-write but a query must not write:
        writes go through this class's methods, which hold the write lock.
        """
        return self._connection().execute(sql, params).fetchall()

    def ping(self) -> None:
        """A cheap read that fails if the database cannot be read at all."""
        self._connection().execute("SELECT max(seq) FROM results").fetchone()

    def oldest_pending(self) -> StoredResult | None:
        found = self.pending(limit=1)
        return found[0] if found else None

    def all(self, learner_id: str | None = None) -> list[StoredResult]:
        """Every result in arrival order; for exports and tests, not hot paths."""
        if learner_id is None:
            rows = self._connection().execute("SELECT * FROM results ORDER BY seq")
        else:
            rows = self._connection().execute(
                "SELECT * FROM results WHERE learner_id = ? ORDER BY seq", [learner_id]
            )
        return [_stored(row) for row in rows]


def _to_column(value):
    return int(value) if isinstance(value, bool) else value


def _record_from_row(row) -> dict:
    record = {name: row[name] for name in FIELDS}
    if record["correct"] is not None:
        record["correct"] = bool(record["correct"])
    for name in BOOLEAN_FIELDS:
        if record[name] is not None:
            record[name] = bool(record[name])
    return record


def _stored(row) -> StoredResult:
    return StoredResult(
        seq=row["seq"],
        id=row["id"],
        record=_record_from_row(row),
        tablet_id=row["tablet_id"],
        received_at=row["received_at"],
        clock_trusted=bool(row["clock_trusted"]),
        received_at_corrected=row["received_at_corrected"],
    )


def _time_text(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000).astimezone()
    return moment.isoformat(timespec="milliseconds")


class _Checkpointer:
    """Copies the write-ahead log back into the database, off the commit path.

    A PASSIVE checkpoint lets commits go on meanwhile. It runs only when
    woken after commits, so an idle hub writes nothing. A crash at any point
    is safe: the log still holds every committed page until copied.
    """

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._wanted = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="results-checkpoint", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        self._wanted.set()

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                # The next commit wakes us again; SQLite's log stays valid.
                log.warning("checkpoint of the results log failed", exc_info=True)


def _again(error: Exception) -> Exception:
    """A fresh copy of a group commit's error, for one waiting thread.

    One exception instance raised in several threads would share, and
    garble, its traceback.
    """
    try:
        return type(error)(*error.args)
    except Exception:  # noqa: BLE001 - a type that cannot be rebuilt from args
        return RuntimeError(f"the results commit failed: {error!r}")


def _rejection(index: int, record, error: RecordError) -> dict:
    record_id = record.get("id") if isinstance(record, dict) else None
    return {
        "index": index,
        "id": record_id if isinstance(record_id, str) else None,
        "field": error.field,
        "reason": error.reason,
    }
