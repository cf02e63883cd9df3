# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub's own state in TinyDB: identity, classes, learners, sync cursors.

Learners' results do not live here (see ``hub.results``): this state changes
only when a teacher or technician acts, so rewriting the whole file on each
change costs little. Each write goes to a temporary file that is fsynced and
then renamed over the old one, so a power cut leaves either the old or the new
file, never a torn one; the file before the last write is kept as
``hub.json.prev`` in case the card itself damages the current one.

One lock guards the database, so ``HubState`` may be used from any thread;
it also holds an ``flock`` on ``hub.json.lock`` so that a command run by a
technician and the running server do not overwrite each other's changes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
import time
import unicodedata
import uuid
from pathlib import Path

from tinydb import Query, TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from .durable import write_file_atomically

log = logging.getLogger(__name__)


class StateError(Exception):
    """A request the state cannot carry out; the message says why."""


class AtomicJSONStorage(Storage):
    """A TinyDB storage that never leaves a half-written file behind."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.previous = self.path.with_name(self.path.name + ".prev")
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def read(self):
        for candidate in (self.path, self.previous):
            try:
                text = candidate.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            try:
                # An empty file is what a power cut leaves on some cards.
                return json.loads(text)
            except ValueError:
                broken = candidate.with_name(
                    f"{candidate.name}.broken-{int(time.time())}"
                )
                os.replace(candidate, broken)
                log.error(
                    "state file %s was damaged; kept it as %s and fell back "
                    "to the previous copy",
                    candidate,
                    broken,
                )
        return None

    def write(self, data) -> None:
        encoded = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
        if self.path.exists():
            link = self.previous.with_name(self.previous.name + ".tmp")
            link.unlink(missing_ok=True)
            os.link(self.path, link)
            os.replace(link, self.previous)
        write_file_atomically(self.path, encoded)

    def close(self) -> None:
        pass


class _StateLock:
    """A re-entrant lock held across threads and across processes."""

    def __init__(self, path: Path):
        self._thread_lock = threading.RLock()
        self._path = path
        self._depth = 0
        self._fd = None

    def __enter__(self):
        self._thread_lock.acquire()
        if self._depth == 0:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:
            os.close(self._fd)
            self._fd = None
        self._thread_lock.release()


class _SharedFileTable(Table):
    """A table whose file other processes write too (the command line).

    TinyDB remembers query results and the next document id per process;
    both go stale when another process writes, so neither is kept.
    """

    def insert(self, document):
        self._next_id = None
        return super().insert(document)

    def insert_multiple(self, documents):
        # Forget the id only once: the ids of one call count up in memory.
        self._next_id = None
        return super().insert_multiple(documents)


class _SharedFileDB(TinyDB):
    table_class = _SharedFileTable

    def table(self, name: str, **kwargs) -> Table:
        return super().table(name, cache_size=0, **kwargs)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


class HubState:
    """Identity, classes and learners, and small key-value records."""

    def __init__(self, path: Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _StateLock(path.with_name(path.name + ".lock"))
        self._db = _SharedFileDB(path, storage=AtomicJSONStorage)
        self._classes = self._db.table("classes")
        self._learners = self._db.table("learners")
        self._meta = self._db.table("meta")
        with self._lock:
            self._refresh_learner_cache()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def table(self, name: str):
        """A TinyDB table of this state, for modules that own their records.

        Use it only inside ``with state.locked():`` so that threads and the
        command line do not interleave their read-modify-write cycles.
        """
        return self._db.table(name)

    def locked(self):
        return self._lock

    # Identity and small records

    @property
    def hub_id(self) -> str:
        """This hub's id, made on first use and never changed after.

        Hubs flashed from one SD image share their files; the technician
        gives a copied hub a new identity with ``classroom-hub new-identity``.
        """
        with self._lock:
            hub_id = self.get("hub_id")
            if hub_id is None:
                hub_id = str(uuid.uuid4())
                self.put("hub_id", hub_id)
                log.info("this hub's id is %s", hub_id)
            return hub_id

    def get(self, key: str, default=None):
        with self._lock:
            row = self._meta.get(Query().key == key)
        return default if row is None else row["value"]

    def put(self, key: str, value) -> None:
        with self._lock:
            self._meta.upsert({"key": key, "value": value}, Query().key == key)

    # Classes and learners

    def add_class(self, name: str) -> dict:
        name = _clean_name(name, "class name")
        with self._lock:
            if self._classes.get(Query().name == name):
                raise StateError(f"a class named {name!r} already exists")
            record = {"id": new_id("c"), "name": name, "archived": False}
            self._classes.insert(record)
        return record

    def classes(self, include_archived: bool = False) -> list[dict]:
        with self._lock:
            rows = [dict(row) for row in self._classes.all()]
        rows = [row for row in rows if include_archived or not row["archived"]]
        return sorted(rows, key=lambda row: row["name"])

    def get_class(self, class_id: str) -> dict | None:
        with self._lock:
            row = self._classes.get(Query().id == class_id)
        return None if row is None else dict(row)

    def add_learner(self, class_id: str, name: str, picture: str) -> dict:
        return self.add_learners(class_id, [(name, picture)])[0]

    def add_learners(self, class_id: str, children: list[tuple[str, str]]) -> list:
        """Add (name, picture) pairs to a class in one write of the file.

        A class list of 40 children is one rewrite of hub.json, not 40:
        on a Pi's SD card each rewrite costs a noticeable fraction of a
        second. All are checked before any is added.
        """
        records = [
            {
                "id": new_id("l"),
                "class_id": class_id,
                "name": _clean_name(name, "learner name"),
                "picture": picture,
                "archived": False,
            }
            for name, picture in children
        ]
        with self._lock:
            if self.get_class(class_id) is None:
                raise StateError(f"no class with id {class_id!r}")
            self._learners.insert_multiple(records)
            self._refresh_learner_cache()
        return records

    def learners(self, class_id: str, include_archived: bool = False) -> list[dict]:
        with self._lock:
            found = self._learners.search(Query().class_id == class_id)
            rows = [dict(row) for row in found]
        rows = [row for row in rows if include_archived or not row["archived"]]
        return sorted(rows, key=lambda row: row["name"])

    def learner_exists(self, learner_id: str) -> bool:
        """True for any learner ever added here, archived ones included.

        The cache is an immutable set swapped whole, so it is read without
        the lock. A miss re-reads the file at most once a second, since the
        command line may have added a learner from another process.
        """
        if learner_id in self._learner_ids:
            return True
        if time.monotonic() - self._learner_ids_read < 1:
            return False
        with self._lock:
            self._refresh_learner_cache()
        return learner_id in self._learner_ids

    def _refresh_learner_cache(self) -> None:
        self._learner_ids = frozenset(row["id"] for row in self._learners.all())
        self._learner_ids_read = time.monotonic()


def _clean_name(name: str, what: str) -> str:
    # Control and format characters (NUL, right-to-left overrides, zero-width
    # spaces) show as nothing or turn text around; no name needs them.
    name = "".join(
        char
        for char in str(name)
        if unicodedata.category(char) not in ("Cc", "Cf") or char in "\t\n"
    )
    name = " ".join(name.split())
    if not name:
        raise StateError(f"the {what} is empty; give it at least one letter")
    if len(name) > 80:
        raise StateError(f"the {what} is longer than 80 characters; shorten it")
    return name
