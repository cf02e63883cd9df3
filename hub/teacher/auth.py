# SPDX-License-Identifier: AGPL-3.0-or-later
"""Signing teachers in and out, the first account, and guessing stopped.

A signed-in browser carries Flask's signed session cookie holding the id of
a session recorded in ``hub.teachers``; signing out or a password reset
deletes the record, so a copied cookie stops working at once. The cookie's
secret is made on the hub's first start and kept in the data folder.

``SignInGuard`` counts failed sign-ins per client address, as waitress
reports it: the hub trusts no ``X-Forwarded-For`` header (see
``hub.server``), so a guesser cannot pose as many machines. Its counts are
in memory under one lock, safe from any thread, and start afresh after a
restart.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for

from ..durable import write_file_atomically
from ..teachers import AccountError
from . import _, bp, page, pages, the_hub

log = logging.getLogger(__name__)

SECRET_FILE = "teacher-session.key"
_SECRET_BYTES = 32
_ADDRESSES_KEPT = 10_000


def load_secret_key(data_dir) -> bytes:
    """The hub's own secret for signing cookies, made on first start."""
    path = data_dir / SECRET_FILE
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        secret = b""
    if len(secret) == _SECRET_BYTES:
        return secret

    # A missing or short file (a power cut while it was first written)
    # gets a new secret; teachers then simply sign in again.
    secret = secrets.token_bytes(_SECRET_BYTES)
    write_file_atomically(path, secret)
    os.chmod(path, 0o600)
    return secret


class SignInGuard:
    """After ``failures`` failed sign-ins within ``lockout_s`` seconds, an
    address may not try again until ``lockout_s`` seconds have passed."""

    def __init__(self, failures: int, lockout_s: int):
        self.failures = failures
        self.lockout_s = lockout_s
        self._lock = threading.Lock()
        self._failed: OrderedDict[str, list[float]] = OrderedDict()

    def wait_s(self, address: str) -> int:
        """Seconds this address must wait before trying again; 0 if none."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent(address, now)
            if len(recent) < self.failures:
                return 0
            return max(1, int(recent[-self.failures] + self.lockout_s - now))

    def attempt(self, address: str) -> int:
        """Count a try before its password is checked, so that tries sent
        at once on several threads are all counted; returns the seconds to
        wait instead when the address is locked out."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent(address, now)
            if len(recent) >= self.failures:
                return max(1, int(recent[-self.failures] + self.lockout_s - now))
            recent.append(now)
            self._failed[address] = recent
            self._failed.move_to_end(address)
            # A flood of made-up addresses cannot grow memory without end.
            while len(self._failed) > _ADDRESSES_KEPT:
                self._failed.popitem(last=False)
            return 0

    def succeeded(self, address: str) -> None:
        """A right password: the address's earlier tries are forgiven."""
        with self._lock:
            self._failed.pop(address, None)

    def _recent(self, address: str, now: float) -> list[float]:
        return [t for t in self._failed.get(address, []) if now - t < self.lockout_s]


def announce_setup_code(accounts) -> str | None:
    """A one-time code for making the first account, logged at start."""
    if accounts.count() > 0:
        return None
    code = "-".join(f"{secrets.randbelow(10_000):04d}" for _ in range(3))
    log.warning(
        "no teacher account exists yet: open /teacher/ on this hub and enter "
        "the setup code %s, or run `classroom-hub add-teacher NAME`",
        code,
    )
    return code


def signed_in_teacher():
    session_id = session.get("sid")
    if not session_id:
        return None
    return pages().accounts.session_teacher(session_id)


def _client_address() -> str:
    # REMOTE_ADDR is the peer of the TCP connection: waitress is set up to
    # ignore forwarding headers, so a client cannot choose what it says.
    return request.remote_addr or "unknown"


def _start_session(teacher) -> None:
    settings = the_hub().settings
    session_id = pages().accounts.start_session(teacher, settings.TEACHER_SESSION_S)
    # A fresh cookie and CSRF token at sign-in: a token planted before it
    # (session fixation) is worth nothing after.
    session.clear()
    session.permanent = True
    session["sid"] = session_id
    session["csrf"] = secrets.token_urlsafe(24)


def _safe_next(target: str | None) -> str:
    # Only a path on this hub's teacher pages, never another site.
    if not target:
        return url_for("teacher.glance")
    # A control character would end up in the Location header.
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return url_for("teacher.glance")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/teacher/"):
        return url_for("teacher.glance")
    return target


def _locked_out(wait_s: int):
    minutes = max(1, (wait_s + 59) // 60)
    return page(
        "sign_in.html",
        status=429,
        error=_(
            "Too many wrong tries from this device. Wait {minutes} min, "
            "then try again.",
            minutes=minutes,
        ),
        name="",
    )


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if pages().accounts.count() == 0:
        return redirect(url_for("teacher.setup"))
    if request.method == "GET":
        return page("sign_in.html", name="", next=request.args.get("next", ""))

    guard = pages().guard
    address = _client_address()
    wait_s = guard.attempt(address)
    if wait_s:
        return _locked_out(wait_s)

    name = request.form.get("name", "")
    teacher = pages().accounts.check_sign_in(name, request.form.get("password", ""))
    if teacher is None:
        if guard.wait_s(address):
            pages().accounts.record_event("locked_out", name[:40], address)
            log.warning("sign-in locked for %s after repeated failures", address)
            return _locked_out(guard.wait_s(address))
        return page(
            "sign_in.html",
            status=401,
            error=_("The name or the password is wrong."),
            name=name,
            next=request.form.get("next", ""),
        )

    guard.succeeded(address)
    _start_session(teacher)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/sign-out")
def sign_out():
    session_id = session.get("sid")
    if session_id:
        pages().accounts.end_session(session_id)
    session.clear()
    return redirect(url_for("teacher.sign_in"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """The first account, made with the code the hub printed in its log."""
    accounts = pages().accounts
    if accounts.count() > 0:
        return redirect(url_for("teacher.sign_in"))
    if request.method == "GET":
        return page("setup.html", name="", has_code=pages().setup_code is not None)

    guard = pages().guard
    address = _client_address()
    wait_s = guard.attempt(address)
    if wait_s:
        return _locked_out(wait_s)

    code = pages().setup_code
    given = "".join(request.form.get("code", "").split())
    name = request.form.get("name", "")

    def again(error, status=400):
        return page(
            "setup.html",
            status=status,
            error=error,
            name=name,
            has_code=code is not None,
        )

    if code is None or not hmac.compare_digest(given, code):
        return again(_("The setup code is wrong. It is in the hub's log."), 401)
    # The code was right: a typing slip below is no guess to count.
    guard.succeeded(address)
    if request.form.get("password") != request.form.get("password_again"):
        return again(_("The two passwords differ. Type the same one twice."))
    try:
        teacher = accounts.add_teacher(name, request.form.get("password", ""))
    except AccountError as error:
        return again(account_problem(error))

    pages().setup_code = None
    guard.succeeded(address)
    log.info(
        "the first teacher account, %s, was made with the setup code", teacher.name
    )
    _start_session(teacher)
    return redirect(url_for("teacher.glance"))


def account_problem(error: AccountError) -> str:
    messages = {
        "password_short": _("The password must have at least 8 characters."),
        "password_long": _("The password must have at most 200 characters."),
        "name_taken": _("A teacher with this name exists already."),
        "name_bad": _("Give a name of 1 to 40 characters."),
        "password_wrong": _("Your current password is wrong."),
    }
    return messages.get(error.code, str(error))


@bp.post("/language")
def choose_language():
    from .. import i18n

    language = i18n.choose_language(request.form.get("lang"))
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(
        "hub_lang",
        language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.route("/teachers", methods=["GET", "POST"])
def teachers():
    """Other teachers' accounts, and one's own password."""
    accounts = pages().accounts
    error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "password":
                # Guessing the current password here counts as guessing at
                # sign-in: an open session left on a shared laptop must not
                # allow endless tries.
                guard, address = pages().guard, _client_address()
                wait_s = guard.attempt(address)
                if wait_s:
                    return _locked_out(wait_s)
                if not accounts.check_sign_in(
                    g.teacher.name, request.form.get("current", "")
                ):
                    if guard.wait_s(address):
                        return _locked_out(guard.wait_s(address))
                    raise AccountError("password_wrong", "current password wrong")
                guard.succeeded(address)
                accounts.reset_password(
                    g.teacher.name, request.form.get("password", ""), by="page"
                )
                # The reset ended every session, this one too; a new one
                # keeps the teacher who changed it signed in.
                _start_session(g.teacher)
                flash(_("Your password is changed. Other devices are signed out."))
            else:
                added = accounts.add_teacher(
                    request.form.get("name", ""), request.form.get("password", "")
                )
                flash(_("{name} can sign in now.", name=added.name))
            return redirect(url_for("teacher.teachers"))
        except AccountError as problem:
            error = account_problem(problem)

    return page(
        "teachers.html",
        status=400 if error else 200,
        error=error,
        teachers=accounts.teachers(),
        events=describe_events(accounts.events()),
    )


def describe_events(events: list[dict]) -> list[dict]:
    """Account events with a sentence in the page's language."""
    described = []
    for event in events:
        kind, detail = event["kind"], event.get("detail", "")
        if kind == "teacher_added":
            text = _("The account of {teacher} was created.", teacher=event["teacher"])
        elif kind == "password_reset" and detail.startswith("cli:"):
            text = _(
                "The password of {teacher} was reset from the command line "
                "(by {user}).",
                teacher=event["teacher"],
                user=detail[4:],
            )
        elif kind == "password_reset":
            text = _("{teacher} changed their password.", teacher=event["teacher"])
        else:
            text = _(
                "Sign-in was locked after wrong tries from {address} "
                "(name tried: {teacher}).",
                address=detail,
                teacher=event["teacher"],
            )
        described.append({**event, "text": text})
    return described
