# SPDX-License-Identifier: AGPL-3.0-or-later
"""The learner page: ``/`` for children's tablets, its scripts and pictures.

``/`` is sent with ``no-cache`` so that a hub update reaches every tablet on
its next load. The page names its scripts, styles and sign-in pictures with
``?v=<asset version>``, a digest of the hub version and of those files, so
a request carrying the current version may be cached for a year; any other
request is revalidated. Read-only after registration: safe from any number
of waitress threads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_from_directory

from . import __version__

STATIC_DIR = Path(__file__).parent / "static"
LEARNER_DIR = STATIC_DIR / "learner"
PICTURES_DIR = STATIC_DIR / "pictures"

VERSION_MARK = "{{ASSET_VERSION}}"
CACHE_FOREVER = "public, max-age=31536000, immutable"
CACHE_REVALIDATE = "no-cache"

bp = Blueprint("learner_page", __name__)


def asset_version(folders=(LEARNER_DIR, PICTURES_DIR)) -> str:
    """The hub version and a digest of every learner asset's name and bytes.

    Content, not modification times: a Pi restored from an SD image or a
    copied tree keeps the same version, and an edited file gets a new one
    even when the hub version number was not raised.
    """
    digest = hashlib.sha256()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())

    return f"{__version__}-{digest.hexdigest()[:12]}"


@bp.record_once
def _prepare_page(state) -> None:
    # Read once: the files only change with a hub update, which restarts
    # the hub, and a Pi should not hash them on every request.
    version = asset_version()
    html = (LEARNER_DIR / "index.html").read_text(encoding="utf-8")
    state.app.extensions["learner_page"] = {
        "asset_version": version,
        "index_html": html.replace(VERSION_MARK, version),
    }


def _prepared() -> dict:
    return current_app.extensions["learner_page"]


@bp.get("/")
def index() -> Response:
    page = _prepared()
    response = Response(page["index_html"], mimetype="text/html")
    response.headers["Cache-Control"] = CACHE_REVALIDATE
    response.set_etag(page["asset_version"])

    return response.make_conditional(request)


@bp.get("/static/learner/<path:filename>")
def learner_asset(filename: str) -> Response:
    return _send_asset(LEARNER_DIR, filename)


@bp.get("/static/pictures/<path:filename>")
def picture(filename: str) -> Response:
    return _send_asset(PICTURES_DIR, filename)


def _send_asset(folder: Path, filename: str) -> Response:
    # send_from_directory refuses paths that leave the folder (404) and
    # answers If-None-Match and Range itself.
    response = send_from_directory(folder, filename)
    if request.args.get("v") == _prepared()["asset_version"]:
        response.headers["Cache-Control"] = CACHE_FOREVER
    else:
        response.headers["Cache-Control"] = CACHE_REVALIDATE

    return response
