# SPDX-License-Identifier: AGPL-3.0-or-later
"""The teacher's web page under ``/teacher/``: what every page shares.

This package owns the blueprint and the rules every teacher page follows:
a signed-in teacher (``auth``), a CSRF token on every form, the chosen
language, headers that keep pages out of caches and scripts out of pages,
and the CSV form of any table (``tables``). The areas are split by what a
teacher does: ``classes`` (with ``class_list`` reading CSV class lists) and
``assignments``, ``progress`` (with ``charts``), ``glance`` (the hub at a
glance) and ``guides``; ``auth`` signs teachers in.

``TeacherPages`` holds what lives for the server's lifetime (accounts,
sign-in guard, tablets seen, the sync button's runner); its parts lock
themselves, so pages may run on any waitress thread. All of it but the
accounts is in memory and starts afresh after a restart, which loses
nothing a teacher entered.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import i18n
from ..teachers import TeacherAccounts

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "teacher"
LANGUAGE_COOKIE = "hub_lang"
SESSION_COOKIE = "hub_teacher"
MAX_FORM_BYTES = 2 * 1024 * 1024

bp = Blueprint(
    "teacher",
    __name__,
    url_prefix="/teacher",
    static_folder=str(STATIC_DIR),
    static_url_path="/static",
)

# Pages a visitor may open before signing in.
_OPEN_ENDPOINTS = {
    "teacher.sign_in",
    "teacher.setup",
    "teacher.choose_language",
    "teacher.static",
}

_SECURITY_HEADERS = {
    # Nothing on these pages runs script; pictures are the hub's own files
    # or inline SVG drawn by the server.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Class lists and results are about children: keep them off the disk
    # of a shared laptop's browser cache.
    "Cache-Control": "no-store",
}


@dataclass
class TeacherPages:
    accounts: TeacherAccounts
    guard: auth.SignInGuard
    tablets: glance.TabletsSeen
    sync: glance.SyncRunner
    setup_code: str | None


def init_app(app, hub) -> None:
    """Give the app its session secret and cookie rules, then the pages."""
    from .. import progress as queries

    settings = hub.settings
    app.secret_key = auth.load_secret_key(hub.data_dir)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=settings.TEACHER_SESSION_S,
    )

    accounts = TeacherAccounts(hub.state)
    app.extensions["teacher"] = TeacherPages(
        accounts=accounts,
        guard=auth.SignInGuard(
            settings.TEACHER_LOCKOUT_FAILURES, settings.TEACHER_LOCKOUT_S
        ),
        tablets=glance.TabletsSeen(),
        sync=glance.SyncRunner(hub),
        setup_code=auth.announce_setup_code(accounts),
    )
    # The tablet API notes each tablet that posts results here, without
    # importing this package.
    app.extensions["tablets_seen"] = app.extensions["teacher"].tablets

    queries.ensure_indexes(hub.results.path)
    app.register_blueprint(bp)


def pages() -> TeacherPages:
    return current_app.extensions["teacher"]


def the_hub():
    return current_app.config["HUB"]


def _(message: str, **values) -> str:
    """The message in the page's language; ``{name}`` parts filled in."""
    return g.i18n.translate(message, **values)


def pack_text(texts: dict | None, language: str | None = None) -> str:
    """A pack's text in the page's language, else in any it has."""
    if not texts:
        return ""
    language = language or g.lang
    return texts.get(language) or next(iter(texts.values()))


@bp.before_request
def _prepare_request():
    g.lang = i18n.choose_language(request.cookies.get(LANGUAGE_COOKIE))
    g.i18n = i18n.catalogue(g.lang)

    if request.content_length and request.content_length > MAX_FORM_BYTES:
        return problem(413, _("The file is too large. The limit is 2 MB."))

    if request.method == "POST" and not _csrf_token_matches():
        return problem(
            400,
            _(
                "This form was out of date, so nothing was changed. "
                "Go back, reload the page and try again."
            ),
        )

    g.teacher = auth.signed_in_teacher()
    if g.teacher is None and request.endpoint not in _OPEN_ENDPOINTS:
        if pages().accounts.count() == 0:
            return redirect(url_for("teacher.setup"))
        return redirect(url_for("teacher.sign_in", next=request.full_path))
    return None


def _csrf_token_matches() -> bool:
    expected = session.get("csrf")
    sent = request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(expected, sent)


def csrf_token() -> str:
    """This browser's token for forms, made on first use."""
    token = session.get("csrf")
    if token is None:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


@bp.after_request
def _secure_headers(response):
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint == "teacher.static":
        # The stylesheet is not about anyone; the browser may keep it.
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.context_processor
def _page_context():
    return {
        "_": _,
        "lang": g.lang,
        "languages": i18n.LANGUAGES,
        "csrf_token": csrf_token,
        "teacher": g.get("teacher"),
        "number": g.i18n.format_number,
        "percent": g.i18n.format_percent,
        "when": when,
        "pack_text": pack_text,
        "hub_name": the_hub().settings.HUB_NAME,
    }


def when(moment, with_time: bool = True) -> str:
    """A stored time (ISO text or a Unix time) in the page's language."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, (int, float)):
        parsed = datetime.fromtimestamp(moment).astimezone()
    else:
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return str(moment)
    return g.i18n.format_datetime(parsed, with_time)


def page(template: str, status: int = 200, **context):
    return render_template(f"teacher/{template}", **context), status


def problem(status: int, message: str):
    """A page that says in one line what went wrong and what to do."""
    return page("problem.html", status=status, message=message)


from . import assignments, auth, classes, glance, guides, progress  # noqa: E402,F401
