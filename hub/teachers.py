# SPDX-License-Identifier: AGPL-3.0-or-later
"""Teacher accounts: hashed passwords, sign-in sessions, an account log.

Records live in the hub's TinyDB state, in tables this module owns:
``teachers`` (name and scrypt hash), ``teacher_sessions`` (one row per
signed-in browser, so that signing out or a reset can revoke it),
``teacher_events`` (resets, lockouts: what a head teacher may want to see)
and ``teacher_guides`` (guides a teacher marked as read).

Every read-modify-write runs under ``state.locked()``, which is held across
threads and across processes, so the command line may reset a password
while the server runs. Reads go to the file each time (``get``/``all``,
never TinyDB's query cache) for the same reason. A crash loses at most the
change in flight; the state file itself is written atomically.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from functools import cache
from dataclasses import dataclass


from .state import HubState, new_id

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200
MAX_NAME_LENGTH = 40

# scrypt at 16 MiB of memory: a fraction of a second on a Pi, yet costly
# to guess at in bulk should the state file ever leave the school.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_EVENTS_KEPT = 200


class AccountError(Exception):
    """A name or password the hub will not take; the message says why.

    ``code`` names the problem for pages that say it in another language.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Teacher:
    id: str
    name: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    params = f"{_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}"
    return f"scrypt${params}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


@cache
def _dummy_hash() -> str:
    """Compared against when a name is unknown, so that a wrong name costs as
    long as a wrong password and timing does not tell which names exist.
    Made on first use, not at import: it would slow every start."""
    return hash_password(secrets.token_hex(8))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "password_short",
            f"the password is shorter than {MIN_PASSWORD_LENGTH} characters",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            "password_long",
            f"the password is longer than {MAX_PASSWORD_LENGTH} characters",
        )


def clean_teacher_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise AccountError("name_bad", "the teacher's name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(
            "name_bad",
            f"the teacher's name is longer than {MAX_NAME_LENGTH} characters",
        )
    return name


def _remove_where(table, keep) -> int:
    doomed = [doc.doc_id for doc in table.all() if not keep(doc)]
    if doomed:
        table.remove(doc_ids=doomed)
    return len(doomed)


class TeacherAccounts:
    """Teachers, their sessions and their account log, over ``HubState``."""

    def __init__(self, state: HubState):
        self.state = state

    def _table(self, name: str):
        return self.state.table(name)

    # Accounts

    def count(self) -> int:
        with self.state.locked():
            return len(self._table("teachers").all())

    def teachers(self) -> list[Teacher]:
        with self.state.locked():
            rows = self._table("teachers").all()
        return sorted(
            (Teacher(row["id"], row["name"]) for row in rows),
            key=lambda teacher: teacher.name.casefold(),
        )

    def _row_named(self, name: str):
        wanted = " ".join(name.split()).casefold()
        for row in self._table("teachers").all():
            if row["name"].casefold() == wanted:
                return row
        return None

    def add_teacher(self, name: str, password: str) -> Teacher:
        name = clean_teacher_name(name)
        check_password_rules(password)
        hashed = hash_password(password)

        with self.state.locked():
            if self._row_named(name) is not None:
                raise AccountError(
                    "name_taken", f"a teacher named {name!r} already exists"
                )
            record = {
                "id": new_id("teacher"),
                "name": name,
                "password": hashed,
                "created_at": int(time.time()),
            }
            self._table("teachers").insert(record)
            self.record_event("teacher_added", name)

        log.info("added the teacher account %s", name)
        return Teacher(record["id"], name)

    def reset_password(self, name: str, password: str, by: str) -> Teacher:
        """Set a new password and sign the teacher out everywhere.

        ``by`` says who did it: ``cli:USER`` from the command line, ``page``
        for a teacher changing their own on the teacher page.
        """
        check_password_rules(password)
        hashed = hash_password(password)

        with self.state.locked():
            row = self._row_named(name)
            if row is None:
                raise AccountError("unknown_teacher", f"no teacher is named {name!r}")
            self._table("teachers").update({"password": hashed}, doc_ids=[row.doc_id])
            ended = _remove_where(
                self._table("teacher_sessions"),
                lambda session: session["teacher_id"] != row["id"],
            )
            self.record_event("password_reset", row["name"], by)

        log.warning(
            "the password of teacher %s was reset (by %s); %d session(s) ended",
            row["name"],
            by,
            ended,
        )
        return Teacher(row["id"], row["name"])

    def check_sign_in(self, name: str, password: str) -> Teacher | None:
        with self.state.locked():
            row = self._row_named(name)
        if row is None:
            password_matches(password, _dummy_hash())
            return None
        if not password_matches(password, row["password"]):
            return None
        return Teacher(row["id"], row["name"])

    # Sessions

    def start_session(self, teacher: Teacher, lifetime_s: int) -> str:
        """Record a new signed-in browser; returns the id its cookie carries."""
        session_id = secrets.token_urlsafe(24)
        now = int(time.time())

        with self.state.locked():
            table = self._table("teacher_sessions")
            # Expired sessions are swept here, at sign-in, rather than on a
            # timer: the card is written only when a person acts.
            _remove_where(table, lambda row: _session_alive(row, now))
            table.insert(
                {
                    "id": session_id,
                    "teacher_id": teacher.id,
                    "started_at": now,
                    "expires_at": now + lifetime_s,
                },
            )
        return session_id

    def session_teacher(self, session_id: str) -> Teacher | None:
        """The teacher a live session belongs to, or None."""
        if not session_id:
            return None
        now = int(time.time())

        with self.state.locked():
            found = None
            for row in self._table("teacher_sessions").all():
                if hmac.compare_digest(row["id"], session_id):
                    found = row
                    break
            if found is None or not _session_alive(found, now):
                return None
            teacher = self._table("teachers").get(
                lambda row: row["id"] == found["teacher_id"]
            )

        return None if teacher is None else Teacher(teacher["id"], teacher["name"])

    def end_session(self, session_id: str) -> None:
        with self.state.locked():
            _remove_where(
                self._table("teacher_sessions"), lambda row: row["id"] != session_id
            )

    # The account log

    def record_event(self, kind: str, teacher_name: str, detail: str = "") -> None:
        with self.state.locked():
            table = self._table("teacher_events")
            table.insert(
                {
                    "at": int(time.time()),
                    "kind": kind,
                    "teacher": teacher_name,
                    "detail": detail,
                },
            )
            rows = table.all()
            if len(rows) > _EVENTS_KEPT:
                oldest = sorted(rows, key=lambda row: row.doc_id)
                table.remove(doc_ids=[row.doc_id for row in oldest[:-_EVENTS_KEPT]])

    def events(self, limit: int = 10) -> list[dict]:
        with self.state.locked():
            rows = self._table("teacher_events").all()
        rows = sorted(rows, key=lambda row: row.doc_id, reverse=True)
        return [dict(row) for row in rows[:limit]]

    # Guides read

    def mark_guide_read(self, teacher: Teacher, pack_id, pack_version, guide_id):
        # hub.guide_push sends rows with "sent" false at the next sync.
        with self.state.locked():
            table = self._table("teacher_guides")
            done = table.get(
                lambda row: (
                    row["teacher_id"] == teacher.id
                    and row["pack_id"] == pack_id
                    and row["guide_id"] == guide_id
                )
            )
            if done is not None:
                return
            table.insert(
                {
                    "id": new_id("guide-read"),
                    "teacher_id": teacher.id,
                    "pack_id": pack_id,
                    "pack_version": pack_version,
                    "guide_id": guide_id,
                    "completed_at": int(time.time()),
                    "sent": False,
                },
            )

    def unsent_guide_completions(self) -> list[dict]:
        with self.state.locked():
            rows = self._table("teacher_guides").all()
        return [dict(row) for row in rows if not row.get("sent")]

    def mark_guide_completions_sent(self, completion_ids: list[str]) -> None:
        wanted = set(completion_ids)
        with self.state.locked():
            self._table("teacher_guides").update(
                {"sent": True}, lambda row: row["id"] in wanted
            )

    def guides_read(self, teacher: Teacher) -> dict:
        """``(pack_id, guide_id) -> completed_at`` for one teacher."""
        with self.state.locked():
            rows = self._table("teacher_guides").all()
        return {
            (row["pack_id"], row["guide_id"]): row["completed_at"]
            for row in rows
            if row["teacher_id"] == teacher.id
        }


def _session_alive(row, now: int) -> bool:
    # A clock that went backwards (a Pi that booted without network after
    # a sign-in) must not make a session live for years: both ends count.
    return row["started_at"] <= now < row["expires_at"]
