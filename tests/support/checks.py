# SPDX-License-Identifier: AGPL-3.0-or-later
"""Baseline and endline checks driven over HTTP, as a teacher and a tablet.

The teacher's side posts the window forms with a ``TeacherSession``; the
tablet's side asks which checks it may give, starts attempts and posts
answers as result records, the way ``hub/static/learner/assessment.js``
does. Plain functions of a running hub: use them from one test thread.
"""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime

_seq = itertools.count(10_000)


def outcomes_path(class_id: str) -> str:
    return f"/teacher/classes/{class_id}/outcomes"


def open_window(teacher, class_id: str, phase: str, pack_id: str) -> str:
    """Open a window from the class's checks page; returns its id."""
    page = outcomes_path(class_id)
    answer = teacher.post(
        f"{page}/windows",
        {"action": "open", "phase": phase, "pack_id": pack_id},
        page=page,
    )
    assert answer.status_code == 200, answer.text
    found = re.search(r'data-window-id="([a-z]+-[0-9a-f]{8})"', answer.text)
    assert found, f"no open window on the page after opening {phase}"
    return found.group(1)


def close_window(teacher, class_id: str, window_id: str) -> None:
    page = outcomes_path(class_id)
    answer = teacher.post(
        f"{page}/windows", {"action": "close", "window_id": window_id}, page=page
    )
    assert answer.status_code == 200 and "data-window-id" not in answer.text


def allow_repeat(teacher, class_id: str, learner_id: str, check_id: str):
    page = outcomes_path(class_id)
    return teacher.post(
        f"{page}/repeat", {"learner_id": learner_id, "check_id": check_id}, page=page
    )


def offered(hub, class_id: str, learner_id: str | None = None) -> dict:
    params = {"learner_id": learner_id} if learner_id else {}
    answer = hub.get(f"/api/v1/classes/{class_id}/assessments", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def start(hub, window_id: str, learner_id: str, check_id: str, tablet="t-check"):
    """POST an attempt; returns the hub's answer (any status)."""
    return hub.post(
        "/api/v1/assessments/attempts",
        json={
            "window_id": window_id,
            "learner_id": learner_id,
            "check_id": check_id,
            "tablet_id": tablet,
        },
    )


def answer_record(
    attempt: dict,
    learner_id: str,
    pack: tuple[str, str],
    check: dict,
    item: str,
    response: str,
    practice=False,
    reaction_ms=700,
) -> dict:
    """One answer to a check, as the tablet records it."""
    pack_id, version = pack
    return {
        "id": str(uuid.uuid4()),
        "learner_id": learner_id,
        "pack_id": pack_id,
        "pack_version": version,
        "lesson_id": check["id"],
        "activity_id": check["id"],
        "activity_type": check["type"],
        "language": check.get("language"),
        "item": item,
        "response": response,
        "correct": None,
        "reaction_ms": reaction_ms if response != "no_tap" else None,
        "answered_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "tablet_seq": next(_seq),
        "attempt_id": attempt["attempt_id"],
        "window_id": attempt["window_id"],
        "practice": practice,
        "repeat": attempt["repeat"],
    }


def post_answers(hub, records: list[dict]) -> dict:
    answer = hub.post(
        "/api/v1/results", json={"tablet_id": "t-check", "results": records}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert not body["rejected"], body["rejected"]
    return body
