# SPDX-License-Identifier: AGPL-3.0-or-later
"""The tablet API under ``/api/v1/``: the hub, classes, lessons, packs, results.

Every error has one JSON shape, ``{"error": {"code", "message"}}``, so a
tablet app can show or log it without guessing. Views only read the shared
``Hub`` parts, which are themselves safe from any thread. The answers a whole
class asks for at once (classes, lessons, catalog) are kept as bytes and
built again only when the state file or the installed packs change.
"""

from __future__ import annotations

import json
import logging
import os

from flask import Blueprint, current_app, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from . import __version__, clock
from .assessments.windows import AssessmentWindows
from .results import StoreFull, is_text
from .teacher.assignments import follow_assignment

log = logging.getLogger(__name__)

API_VERSION = 1
bp = Blueprint("tablet_api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers=None):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.headers)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    code = (error.name or "error").lower().replace(" ", "_")
    return error_response(error.code or 500, code, error.description or error.name)


def api_path_error(error: HTTPException):
    """JSON errors for /api/ paths; other paths keep Flask's own pages."""
    if not request.path.startswith("/api/"):
        return error
    return _http_error(error)


def _hub():
    return current_app.config["HUB"]


class KeptAnswers:
    """JSON answers built once per change of what they are made from.

    Forty tablets ask for the class list within a second, and building it
    reads and parses the whole TinyDB file under its lock, twice per class
    (measured: 45% of request time spent waiting for that lock). Each
    answer is kept with a stamp of its sources and rebuilt when the stamp
    differs. Entries are replaced whole, so any thread may read them; two
    threads may at worst build the same answer twice.
    """

    def __init__(self):
        self._kept: dict = {}

    def get(self, key, stamp, build):
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        value = build()
        self._kept[key] = (stamp, value)
        return value


@bp.record_once
def _keep_answers(setup_state) -> None:
    setup_state.app.extensions["tablet_api_answers"] = KeptAnswers()


def _kept(key, stamp, build):
    """A kept JSON answer; ``build`` returns the data, called on a change."""
    answers = current_app.extensions["tablet_api_answers"]
    body = answers.get(
        key, stamp, lambda: (current_app.json.dumps(build()) + "\n").encode()
    )
    return current_app.response_class(body, mimetype="application/json")


def _state_stamp(hub) -> tuple:
    # Every write replaces hub.json with a new file (hub.state), from this
    # process or from the command line, so its identity marks each change.
    try:
        found = os.stat(hub.data_dir / "hub.json")
    except FileNotFoundError:
        return None  # nothing written yet; the first write makes a new stamp
    return found.st_ino, found.st_mtime_ns, found.st_size


def _packs_stamp(hub) -> tuple:
    # An installed version never changes, so its name is enough.
    return tuple((pack.id, pack.version) for pack in hub.packs.catalog())


@bp.get("/info")
def info():
    hub = _hub()
    answers = current_app.extensions["tablet_api_answers"]
    return {
        "hub_id": answers.get("hub_id", _state_stamp(hub), lambda: hub.state.hub_id),
        "name": hub.settings.HUB_NAME,
        "version": __version__,
        "api_version": API_VERSION,
        "time": clock.now_text(),
        # Judged as results are: build time, the LRS's clock, jumps.
        "clock_trusted": hub.results.clock.reading().trusted,
    }


@bp.get("/status")
def status():
    """What ``classroom-hub status --json`` shows, for a technician's phone."""
    from .sync_status import hub_status

    return hub_status(_hub())


@bp.get("/classes")
def classes():
    hub = _hub()
    return _kept("classes", _state_stamp(hub), lambda: _classes(hub.state))


def _classes(state) -> dict:
    found = []
    for group in state.classes():
        learners = [
            {"id": row["id"], "name": row["name"], "picture": row["picture"]}
            for row in state.learners(group["id"])
        ]
        found.append({"id": group["id"], "name": group["name"], "learners": learners})
    return {"classes": found}


@bp.get("/classes/<class_id>/lessons")
def class_lessons(class_id: str):
    hub = _hub()
    # An unknown class raises before anything is kept, so made-up ids
    # cannot fill the memory.
    stamp = (_state_stamp(hub), _packs_stamp(hub))
    return _kept(("lessons", class_id), stamp, lambda: _lessons(hub, class_id))


def _lessons(hub, class_id: str) -> dict:
    if hub.state.get_class(class_id) is None:
        raise ApiError(
            404, "unknown_class", f"No class {class_id!r}. Fetch /api/v1/classes."
        )

    lessons = []
    for pack in hub.packs.catalog():
        if pack.kind != "lessons":
            continue
        words = {word["id"]: word for word in pack.manifest.get("words", [])}
        base = f"/packs/{pack.id}/{pack.version}/"
        for lesson in pack.manifest.get("lessons", []):
            first = _first_word(lesson, words)
            lessons.append(
                {
                    "pack_id": pack.id,
                    "pack_version": pack.version,
                    "lesson_id": lesson["id"],
                    "title": lesson["title"],
                    "picture": base + first["picture"] if first else None,
                    "manifest_url": base + "pack.json",
                }
            )
    return {"lessons": follow_assignment(hub.state, class_id, lessons)}


def _first_word(lesson: dict, words: dict):
    for activity in lesson.get("activities", []):
        for word_id in activity.get("words", []):
            if word_id in words:
                return words[word_id]
    return None


@bp.get("/packs")
def packs():
    hub = _hub()
    return _kept("packs", _packs_stamp(hub), lambda: _catalog(hub))


def _catalog(hub) -> dict:
    found = []
    for pack in hub.packs.catalog():
        manifest = pack.manifest
        base = f"/packs/{pack.id}/{pack.version}"
        found.append(
            {
                "id": pack.id,
                "version": pack.version,
                "kind": pack.kind,
                "title": manifest["title"],
                "languages": manifest["languages"],
                "age_range": manifest["age_range"],
                "size": pack.size,
                "manifest_url": f"{base}/pack.json",
                "download_url": f"{base}.zip",
            }
        )
    return {"packs": found}


@bp.get("/packs/<pack_id>")
def newest_pack(pack_id: str):
    pack = _hub().packs.newest(pack_id)
    if pack is None:
        raise ApiError(
            404, "unknown_pack", f"No pack {pack_id!r} here. Fetch /api/v1/packs."
        )
    return redirect(f"/packs/{pack.id}/{pack.version}/pack.json", code=307)


@bp.post("/results")
def post_results():
    hub = _hub()
    batch = _read_batch(
        hub.settings.RESULTS_MAX_BATCH_BYTES, hub.settings.RESULTS_MAX_BATCH_COUNT
    )

    try:
        answer = hub.results.add_batch(
            batch["results"],
            hub.state.learner_exists,
            batch.get("tablet_id"),
            AssessmentWindows(hub.state).answer_checker(),
        )
    except StoreFull:
        log.error("results disk is full; tablets keep their answers until it is not")
        raise ApiError(
            503,
            "disk_full",
            "The hub's disk is full, so nothing was stored. Keep the answers "
            "and send them again later; a technician must free space.",
            {"Retry-After": "300"},
        ) from None

    # In memory only, for the teacher page's "tablets seen recently".
    seen = current_app.extensions.get("tablets_seen")
    if seen is not None:
        seen.saw(batch.get("tablet_id"), request.remote_addr, len(answer.accepted))
    return answer.as_json()


def _read_batch(max_bytes: int, max_count: int) -> dict:
    declared = request.content_length
    too_large = (
        f"The body is larger than {max_bytes} bytes, the most the hub takes. "
        "Send fewer results per batch."
    )
    if declared is not None and declared > max_bytes:
        raise ApiError(413, "batch_too_large", too_large)

    body = request.stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ApiError(413, "batch_too_large", too_large)

    try:
        batch = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        # Only the parser's own position is worth showing; other messages
        # (nesting, huge numbers) speak of Python, not of the request.
        where = (
            f" (line {error.lineno}, column {error.colno})"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise ApiError(
            400,
            "not_a_batch",
            f"The body is not UTF-8 JSON that the hub can read{where}. Send "
            '{"results": [...]} as application/json.',
        ) from None

    if not isinstance(batch, dict) or not isinstance(batch.get("results"), list):
        raise ApiError(
            400,
            "not_a_batch",
            'The body must be a JSON object with a "results" list.',
        )
    if len(batch["results"]) > max_count:
        raise ApiError(
            400,
            "batch_too_long",
            f"The batch has {len(batch['results'])} results; the hub takes at "
            f"most {max_count} at once. Split it.",
        )
    tablet_id = batch.get("tablet_id")
    if tablet_id is not None and not (is_text(tablet_id) and len(tablet_id) <= 64):
        raise ApiError(
            400, "bad_tablet_id", "tablet_id must be text of at most 64 characters."
        )
    return batch
