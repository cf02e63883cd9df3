# SPDX-License-Identifier: AGPL-3.0-or-later
"""The tablet's side of the checks, under ``/api/v1/``: which checks a
child may take now, and starting or resuming an attempt.

The views join the tablet API's blueprint (``hub.tablet_api.bp``), so they
share its one error shape; ``hub.app`` imports this module before it
registers that blueprint. Answers themselves go to ``POST /api/v1/results``
like any other. Views read and change only ``windows`` (which locks
itself) and read the results store: safe from any waitress thread.
"""

from __future__ import annotations

from flask import current_app, request

from ..tablet_api import ApiError, bp
from .checks import checks_of, find_check
from .outcomes import attempt_answers, ensure_indexes
from .scoring import is_right, score_attempt
from .windows import AssessmentWindows, WindowError

MAX_BODY_BYTES = 4096
_STATUS = {
    "unknown_window": 404,
    "window_closed": 409,
    "already_taken": 409,
}


@bp.record_once
def _prepare(state) -> None:
    ensure_indexes(state.app.config["HUB"].results.path)


def _hub():
    return current_app.config["HUB"]


def _finished(hub, check):
    def finished(attempt: dict) -> bool:
        answers = attempt_answers(hub.results, attempt["id"])
        return score_attempt(check, answers).complete

    return finished


def _window_pack(hub, window: dict):
    pack = hub.packs.get(window["pack_id"], window["pack_version"])
    if pack is None:
        raise ApiError(
            409,
            "pack_missing",
            f"The window's pack {window['pack_id']} {window['pack_version']} is "
            "not installed on the hub. A technician must install it again.",
        )
    return pack


@bp.get("/classes/<class_id>/assessments")
def class_assessments(class_id: str):
    hub = _hub()
    if hub.state.get_class(class_id) is None:
        raise ApiError(
            404, "unknown_class", f"No class {class_id!r}. Fetch /api/v1/classes."
        )
    windows = AssessmentWindows(hub.state)
    window = windows.open_window_of(class_id)
    if window is None:
        return {"window": None, "checks": []}

    pack = _window_pack(hub, window)
    learner_id = request.args.get("learner_id")
    checks = []
    for check in checks_of(pack.manifest):
        entry = {
            "id": check.id,
            "type": check.type,
            "language": check.language,
            "title": check.title,
        }
        if learner_id:
            entry["state"] = _state(hub, windows, window, learner_id, check)
        checks.append(entry)

    return {
        "window": {
            "id": window["id"],
            "phase": window["phase"],
            "pack_id": pack.id,
            "pack_version": pack.version,
            "manifest_url": f"/packs/{pack.id}/{pack.version}/pack.json",
        },
        "checks": checks,
    }


def _state(hub, windows, window, learner_id: str, check) -> str:
    """``new``, ``started``, ``done`` or ``repeat_allowed`` for one child."""
    made = windows.attempts(window["id"], learner_id, check.id)
    if not made:
        return "new"
    finished = _finished(hub, check)
    if not all(finished(attempt) for attempt in made):
        return "started"
    if windows.repeat_allowed(window["id"], learner_id, check.id):
        return "repeat_allowed"
    return "done"


@bp.post("/assessments/attempts")
def start_attempt():
    hub = _hub()
    body = _read_body()
    windows = AssessmentWindows(hub.state)
    window = windows.window(body["window_id"])
    if window is None:
        raise ApiError(404, "unknown_window", "No such window. Ask the teacher.")

    learner = next(
        (
            row
            for row in hub.state.learners(window["class_id"])
            if row["id"] == body["learner_id"]
        ),
        None,
    )
    if learner is None:
        raise ApiError(
            404, "unknown_learner", "The learner is not in this window's class."
        )
    pack = _window_pack(hub, window)
    check = find_check(pack.manifest, body["check_id"])
    if check is None:
        raise ApiError(404, "unknown_check", f"No check {body['check_id']!r}.")

    try:
        attempt, resumed = windows.start_attempt(
            window["id"],
            learner["id"],
            check.id,
            body.get("tablet_id"),
            _finished(hub, check),
        )
    except WindowError as error:
        raise ApiError(
            _STATUS.get(error.code, 409), error.code, error.message
        ) from None

    # What the hub already holds, so that a tablet that lost its own copy
    # goes on from the right item and keeps the run of misses right.
    answered = [
        {
            "item": answer.item,
            "practice": answer.practice,
            "correct": is_right(check, answer.item, answer.response),
        }
        for answer in attempt_answers(hub.results, attempt["id"])
    ]
    return {
        "attempt_id": attempt["id"],
        "window_id": window["id"],
        "check_id": check.id,
        "repeat": attempt["repeat"],
        "resumed": resumed,
        "answered": answered,
    }


def _read_body() -> dict:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", "The body is too large for an attempt.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "not_json", "Send a JSON object.")
    for name in ("window_id", "learner_id", "check_id"):
        if not isinstance(body.get(name), str):
            raise ApiError(400, f"bad_{name}", f"{name} must be text.")
    tablet_id = body.get("tablet_id")
    if tablet_id is not None and not (
        isinstance(tablet_id, str) and len(tablet_id) <= 64
    ):
        raise ApiError(
            400, "bad_tablet_id", "tablet_id must be text of at most 64 characters."
        )
    return body
