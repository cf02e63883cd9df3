# SPDX-License-Identifier: AGPL-3.0-or-later
"""Baseline and endline windows, the attempts children make in them, and
the repeats a teacher allows.

A teacher opens a *window* for a class; while it is open the class's
tablets offer the checks of one assessment pack version, once per child.
A *round* pairs a baseline with its endline: the baseline's window id is
``baseline-<round>`` and its endline's ``endline-<round>``, so the pairing
travels in every answer and statement without another lookup. An endline
uses its baseline's pack version, always: scores of two versions are never
compared. A class has at most one open window, and a round at most one
window of each phase (a window closed too early is reopened, not opened
again).

An *attempt* is one child's sitting at one check; an interrupted attempt
is resumed, never restarted. A second attempt needs the teacher's leave
(``allow_repeat``) and is flagged ``repeat``.

Records live in the hub's TinyDB state (tables ``assessment_windows``,
``assessment_attempts``, ``assessment_repeats``), each change under
``HubState.locked()``: safe from any thread and from the command line at
once, and a power cut leaves the file before or after a change (see
``hub.state``). Window and attempt counts stay small: a class of 40 with
five checks makes 200 attempts a window.
"""

from __future__ import annotations

import secrets
import uuid

from .. import clock

BASELINE, ENDLINE = "baseline", "endline"
PHASES = (BASELINE, ENDLINE)

WINDOWS = "assessment_windows"
ATTEMPTS = "assessment_attempts"
REPEATS = "assessment_repeats"


class WindowError(Exception):
    """A window change or attempt the hub refuses; ``code`` names why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class AssessmentWindows:
    """The windows, attempts and repeat allowances of one hub."""

    def __init__(self, state):
        self.state = state

    # Windows

    def windows(self, class_id: str | None = None) -> list[dict]:
        """Windows, oldest first (by the order they were opened)."""
        with self.state.locked():
            rows = [dict(row) for row in self.state.table(WINDOWS).all()]
        if class_id is not None:
            rows = [row for row in rows if row["class_id"] == class_id]
        return sorted(rows, key=lambda row: row["number"])

    def window(self, window_id: str) -> dict | None:
        for row in self.windows():
            if row["id"] == window_id:
                return row
        return None

    def open_window_of(self, class_id: str) -> dict | None:
        found = [row for row in self.windows(class_id) if row["open"]]
        return found[-1] if found else None

    def open_window(self, class_id, phase, pack_id, pack_version, by) -> dict:
        """Open a baseline (a new round) or the endline of the class's
        latest round, and return it. An endline takes its baseline's pack
        version whatever ``pack_id`` and ``pack_version`` say."""
        if phase not in PHASES:
            raise WindowError("bad_phase", f"phase must be one of {PHASES}")
        with self.state.locked():
            mine = self.windows(class_id)
            if any(row["open"] for row in mine):
                raise WindowError("already_open", "close the class's open window first")

            baselines = [row for row in mine if row["phase"] == BASELINE]
            if phase == ENDLINE and baselines:
                baseline = baselines[-1]
                round_id = baseline["round"]
                pack_id, pack_version = baseline["pack_id"], baseline["pack_version"]
                if any(row["id"] == f"{ENDLINE}-{round_id}" for row in mine):
                    raise WindowError(
                        "endline_exists",
                        "this round has its endline already; reopen it",
                    )
            else:
                # An endline without a baseline gets a round of its own:
                # its scores stand alone, with no growth.
                round_id = self._new_round()

            record = {
                "id": f"{phase}-{round_id}",
                "class_id": class_id,
                "phase": phase,
                "round": round_id,
                "pack_id": pack_id,
                "pack_version": pack_version,
                "open": True,
                "opened_at": clock.now_text(),
                "opened_by": by,
                "closed_at": None,
                "closed_by": None,
                "number": len(self.state.table(WINDOWS)) + 1,
            }
            self.state.table(WINDOWS).insert(record)
        return record

    def _new_round(self) -> str:
        taken = {row["round"] for row in self.state.table(WINDOWS).all()}
        while True:
            round_id = secrets.token_hex(4)
            if round_id not in taken:
                return round_id

    # XXX A window opened by mistake can be closed but not deleted; the proper
    # fix is a delete that refuses once the window has answers.
    def close_window(self, window_id: str, by: str) -> dict:
        return self._set_open(window_id, False, by)

    def reopen_window(self, window_id: str, by: str) -> dict:
        with self.state.locked():
            window = self._require(window_id)
            if self.open_window_of(window["class_id"]) is not None:
                raise WindowError("already_open", "close the class's open window first")
            return self._set_open(window_id, True, by)

    def _set_open(self, window_id: str, is_open: bool, by: str) -> dict:
        with self.state.locked():
            self._require(window_id)
            changes = {"open": is_open}
            if is_open:
                changes.update(opened_at=clock.now_text(), opened_by=by)
            else:
                changes.update(closed_at=clock.now_text(), closed_by=by)
            self.state.table(WINDOWS).update(changes, _by_id(window_id))
            return self.window(window_id)

    def _require(self, window_id: str) -> dict:
        window = self.window(window_id)
        if window is None:
            raise WindowError("unknown_window", f"there is no window {window_id!r}")
        return window

    # Attempts

    def attempts(self, window_id=None, learner_id=None, check_id=None) -> list:
        """Attempts matching every argument given, oldest first."""
        wanted = {
            "window_id": window_id,
            "learner_id": learner_id,
            "check_id": check_id,
        }
        with self.state.locked():
            rows = [dict(row) for row in self.state.table(ATTEMPTS).all()]
        rows = [
            row
            for row in rows
            if all(value is None or row[key] == value for key, value in wanted.items())
        ]
        return sorted(rows, key=lambda row: row["number"])

    def start_attempt(self, window_id, learner_id, check_id, tablet_id, finished):
        """The attempt a tablet should go on with: ``(attempt, resumed)``.

        An unfinished attempt is resumed; a first one is made; a further
        one only with an unused repeat allowance. ``finished(attempt)``
        says whether an attempt's answers complete the check.
        """
        with self.state.locked():
            window = self._require(window_id)
            if not window["open"]:
                raise WindowError(
                    "window_closed", "the window is closed; ask the teacher"
                )
            made = self.attempts(window_id, learner_id, check_id)
            unfinished = [row for row in made if not finished(row)]
            if unfinished:
                return unfinished[-1], True

            repeat = bool(made)
            if repeat and not self._use_allowance(window_id, learner_id, check_id):
                raise WindowError(
                    "already_taken",
                    "this child has taken this check in this window; the "
                    "teacher may allow a repeat",
                )
            table = self.state.table(ATTEMPTS)
            attempt = {
                "id": str(uuid.uuid4()),
                "window_id": window_id,
                "learner_id": learner_id,
                "check_id": check_id,
                "repeat": repeat,
                "started_at": clock.now_text(),
                "tablet_id": tablet_id,
                "number": len(table) + 1,
            }
            table.insert(attempt)
        return attempt, False

    def answer_checker(self):
        """A function judging assessment answers against the attempts made.

        It returns ``(field, reason)`` for an answer whose attempt this hub
        never started, or that does not fit it (another learner, window,
        pack version or repeat flag), else None. Answers of a real attempt
        are taken even after its window closed: a tablet that was offline
        sends them late. Attempts and windows are read once per checker, so
        make one per batch.
        """
        loaded = {}

        def problem(answer: dict):
            if not loaded:
                with self.state.locked():
                    loaded["attempts"] = {
                        row["id"]: dict(row) for row in self.state.table(ATTEMPTS)
                    }
                    loaded["windows"] = {
                        row["id"]: dict(row) for row in self.state.table(WINDOWS)
                    }
            attempt = loaded["attempts"].get(answer["attempt_id"])
            if attempt is None:
                return "attempt_id", "is not an attempt this hub started"
            if attempt["learner_id"] != answer["learner_id"]:
                return "attempt_id", "belongs to another learner"
            if attempt["window_id"] != answer["window_id"]:
                return "window_id", "is not the window of this attempt"
            if attempt["repeat"] != answer["repeat"]:
                return "repeat", "does not match the attempt"
            window = loaded["windows"].get(attempt["window_id"])
            if window is not None and window["pack_version"] != answer["pack_version"]:
                return "pack_version", "is not the version this window uses"
            return None

        return problem

    # Repeats

    def allow_repeat(self, window_id, learner_id, check_id, by) -> None:
        """Let a child take a check once more in this window (a teacher's
        decision, recorded with who made it)."""
        with self.state.locked():
            self._require(window_id)
            if self.repeat_allowed(window_id, learner_id, check_id):
                return
            self.state.table(REPEATS).insert(
                {
                    "window_id": window_id,
                    "learner_id": learner_id,
                    "check_id": check_id,
                    "allowed_by": by,
                    "allowed_at": clock.now_text(),
                    "used": False,
                }
            )

    def repeat_allowed(self, window_id, learner_id, check_id) -> bool:
        with self.state.locked():
            return bool(self._unused(window_id, learner_id, check_id))

    def _unused(self, window_id, learner_id, check_id) -> list:
        return self.state.table(REPEATS).search(
            lambda row: (
                row["window_id"] == window_id
                and row["learner_id"] == learner_id
                and row["check_id"] == check_id
                and not row["used"]
            )
        )

    def _use_allowance(self, window_id, learner_id, check_id) -> bool:
        unused = self._unused(window_id, learner_id, check_id)
        if not unused:
            return False
        self.state.table(REPEATS).update({"used": True}, doc_ids=[unused[0].doc_id])
        return True


def _by_id(record_id: str):
    return lambda row: row["id"] == record_id
