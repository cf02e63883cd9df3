# SPDX-License-Identifier: AGPL-3.0-or-later
"""The application factory: one ``Hub`` per data folder, one Flask app on it.

``Hub`` holds the long-lived parts (state, results, packs) that every request
and command shares; ``create_app`` builds the web application around it.
Nothing is kept in module globals, so tests may run several hubs at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import HTTPException

from .clock import ClockWatch
from .config import Settings
from .media import PackFilesMiddleware
from .packs import PackLibrary
from .results import ResultStore
from .state import HubState

log = logging.getLogger(__name__)


@dataclass
class Hub:
    settings: Settings
    state: HubState
    results: ResultStore
    packs: PackLibrary

    @classmethod
    def open(cls, settings: Settings) -> "Hub":
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            state=HubState(data_dir / "hub.json"),
            results=ResultStore(
                data_dir / "results.sqlite3",
                ClockWatch(data_dir, max_skew_s=settings.CLOCK_MAX_SKEW_S),
            ),
            packs=PackLibrary(
                data_dir / "packs", reserve_bytes=settings.DISK_RESERVE_BYTES
            ),
        )

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def close(self) -> None:
        self.results.close()
        self.state.close()


def create_app(settings: Settings, hub: Hub | None = None) -> Flask:
    """Build the web application for a hub (opened from settings if not given)."""
    from . import learner_page, tablet_api, teacher

    # The checks' views join the tablet API's and the teacher pages'
    # blueprints, so they must be imported before those are registered.
    from .assessments import api, pages  # noqa: F401

    hub = hub or Hub.open(settings)
    app = Flask(__name__)
    app.config["HUB"] = hub
    app.config["JSON_SORT_KEYS"] = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    app.register_blueprint(tablet_api.bp)
    app.register_blueprint(learner_page.bp)
    # Routing errors (no such path, wrong method) happen before any
    # blueprint is chosen; under /api/ they keep the API's error shape.
    app.register_error_handler(HTTPException, tablet_api.api_path_error)
    # The teacher pages also give the app its cookie secret (kept in the
    # data folder) and add the indexes their queries need.
    teacher.init_app(app, hub)

    app.wsgi_app = PackFilesMiddleware(app.wsgi_app, hub.packs)
    return app
