# SPDX-License-Identifier: AGPL-3.0-or-later
"""Sync with the national side: results up to the LRS, new packs down.

Push sends pending results as xAPI statements in batches, oldest first, and
marks a result confirmed only after the LRS has said it holds it; a crash
between the two sends the batch again, which the LRS takes as a no-op since
each statement keeps its result's id. Pull fetches the national catalog and
installs each newer pack after checking its size and SHA-256; a partial
download is kept in the library's downloads folder and resumed at the next
sync.

Every network call has a timeout and verifies TLS. Failures come back as
plain words in the reports, never as tracebacks. Not for concurrent use: one
sync at a time (``hub.sync_schedule`` holds the lock that ensures it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from . import __version__
from .packs import PackError
from .xapi import XAPI_VERSION, statement_for, validate_statement

log = logging.getLogger(__name__)

USER_AGENT = f"classroom-hub/{__version__}"
CATALOG_MAX_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
# Statements of a refused batch sent alone before deciding that the LRS
# refuses everything rather than a few bad ones.
ALONE_TRIES = 5
_VERSION = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


class SyncProblem(Exception):
    """A failure to report in plain words; the sync stops the step it is in."""


@dataclass
class PushReport:
    confirmed: int = 0
    quarantined: list = field(default_factory=list)
    pending: int = 0
    problem: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class PullReport:
    installed: list = field(default_factory=list)
    up_to_date: int = 0
    problems: list = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class SyncReport:
    push: PushReport
    pull: PullReport

    @property
    def ok(self) -> bool:
        return self.push.ok and self.pull.ok

    def as_json(self) -> dict:
        return {"ok": self.ok, "push": asdict(self.push), "pull": asdict(self.pull)}

    def summary(self) -> str:
        lines = []
        push, pull = self.push, self.pull
        if push.skipped:
            lines.append(f"results: not sent ({push.skipped})")
        else:
            lines.append(
                f"results: {push.confirmed} confirmed by the LRS, "
                f"{push.pending} still waiting"
            )
        for item in push.quarantined:
            lines.append(f"  set aside {item['id']}: {item['reason']}")
        if push.problem:
            lines.append(f"  stopped: {push.problem}")

        if pull.skipped:
            lines.append(f"packs: not fetched ({pull.skipped})")
        else:
            installed = ", ".join(pull.installed) or "none"
            lines.append(
                f"packs: installed {installed}; {pull.up_to_date} already up to date"
            )
        lines.extend(f"  {problem}" for problem in pull.problems)
        return "\n".join(lines)


def run_sync(hub, session: requests.Session | None = None) -> SyncReport:
    """Push results, then pull packs, for an open ``hub.app.Hub``."""
    own = session is None
    session = session or new_session()
    try:
        push = push_results(hub.results, hub.state.hub_id, hub.settings, session)
        pull = pull_catalog(hub.packs, hub.settings, session)
    finally:
        if own:
            session.close()

    report = SyncReport(push, pull)
    log.info("sync finished: %s", report.summary().replace("\n", "; "))
    return report


class _QuietRepeats:
    """Log a sync problem at WARNING when it starts, at DEBUG while it lasts.

    A hub offline for weeks would otherwise write the same line to its SD
    card at every sync.
    """

    def __init__(self):
        self.last = {}

    def report(self, step: str, problem: str | None) -> None:
        if problem is None:
            if self.last.pop(step, None) is not None:
                log.info("%s works again", step)
            return
        repeated = self.last.get(step) == problem
        self.last[step] = problem
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", step, problem)


_repeats = _QuietRepeats()


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


# Push


def push_results(store, hub_id: str, settings, session=None) -> PushReport:
    """Send pending results to the LRS until none is left or one step fails."""
    report = PushReport()
    if not settings.LRS_URL:
        report.skipped = "LRS_URL is not set"
        report.pending = store.counts()["pending"]
        return report

    own = session is None
    session = session or new_session()
    try:
        _push(store, hub_id, settings, session, report)
    except SyncProblem as problem:
        report.problem = str(problem)
    finally:
        if own:
            session.close()

    _repeats.report("sending results", report.problem)
    report.pending = store.counts()["pending"]
    return report


def _push(store, hub_id, settings, session, report: PushReport) -> None:
    lrs = _Lrs(settings, session)
    batch_size = max(1, settings.SYNC_BATCH_SIZE)
    after_seq = 0
    while True:
        batch = store.pending(limit=batch_size, after_seq=after_seq)
        if not batch:
            return
        after_seq = batch[-1].seq

        statements = {}
        for result in batch:
            statement = statement_for(result, hub_id, settings)
            problems = validate_statement(statement)
            if problems:
                # Records were checked on arrival, so this is a hub bug; the
                # result waits aside rather than blocking every later one.
                _quarantine(store, report, result.id, "; ".join(problems))
                continue
            statements[result.id] = statement
        if not statements:
            continue

        try:
            lrs.send(list(statements.values()))
        except _Refused as refusal:
            _push_one_by_one(store, lrs, statements, report, refusal)
            continue
        store.mark_confirmed(list(statements))
        report.confirmed += len(statements)


def _push_one_by_one(store, lrs, statements: dict, report, refusal) -> None:
    """Find which statements of a refused batch the LRS will not take.

    An LRS stores a batch whole or not at all. Each statement is sent alone;
    one refused alone is set aside, but only once the LRS has taken some
    other statement, so an LRS that refuses everything sets nothing aside.
    """
    refused = {}
    for result_id, statement in statements.items():
        if len(refused) >= ALONE_TRIES and not lrs.took_some:
            break
        try:
            lrs.send([statement])
        except _Refused as alone:
            refused[result_id] = str(alone)
            continue
        store.mark_confirmed([result_id])
        report.confirmed += 1

    if not lrs.took_some:
        raise SyncProblem(f"{refusal}; nothing was sent")
    for result_id, reason in refused.items():
        _quarantine(store, report, result_id, reason)


def _quarantine(store, report: PushReport, result_id: str, reason: str) -> None:
    store.quarantine(result_id, reason)
    report.quarantined.append({"id": result_id, "reason": reason})
    log.error("result %s set aside, not sent: %s", result_id, reason)


class _Refused(SyncProblem):
    """The LRS looked at the statements and would not store them (400, 409)."""


class _Lrs:
    """POSTs statement batches and judges whether the answer came from an LRS."""

    def __init__(self, settings, session):
        self.address = settings.LRS_URL.rstrip("/") + "/statements"
        self.auth = (settings.LRS_USERNAME, settings.LRS_PASSWORD)
        self.timeout = _timeout(settings)
        self.session = session
        self.took_some = False

    def send(self, statements: list) -> None:
        """Return when the LRS holds every statement; raise SyncProblem if not."""
        body = json.dumps(statements, ensure_ascii=False).encode("utf-8")
        try:
            answer = self.session.post(
                self.address,
                data=body,
                headers={
                    "X-Experience-API-Version": XAPI_VERSION,
                    "Content-Type": "application/json",
                },
                auth=self.auth,
                timeout=self.timeout,
                verify=True,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise SyncProblem(network_problem("the LRS", self.address, error)) from None

        with answer:
            self._judge(answer, {s["id"] for s in statements})
        self.took_some = True

    def _judge(self, answer, sent_ids: set) -> None:
        status = answer.status_code
        if status == 204:
            return
        if status == 200:
            try:
                ids = answer.json()
            except ValueError:
                ids = None
            if isinstance(ids, list) and all(
                isinstance(i, str) and i in sent_ids for i in ids
            ):
                return
            raise SyncProblem(
                f"{self.address} answered 200 but not with statement ids "
                f"({_content_type(answer)}); LRS_URL may not be an xAPI endpoint, "
                "or a captive portal is in the way"
            )
        if 300 <= status < 400:
            raise SyncProblem(
                f"{self.address} redirected to {answer.headers.get('Location')!r}; "
                "a captive portal may be in the way, or LRS_URL needs updating"
            )
        if status in (401, 403):
            raise SyncProblem(
                f"the LRS refused the hub's credentials ({status}); "
                "check LRS_USERNAME and LRS_PASSWORD"
            )
        if status == 413:
            raise SyncProblem(
                "the LRS found the batch too large (413); lower SYNC_BATCH_SIZE"
            )
        if status in (400, 409):
            raise _Refused(
                f"the LRS refused the statements ({status}): {_detail(answer)}"
            )
        raise SyncProblem(
            f"the LRS answered {status}: {_detail(answer)}; "
            "the results stay waiting for the next sync"
        )


def _content_type(answer) -> str:
    return answer.headers.get("Content-Type") or "no content type"


def _detail(answer) -> str:
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else answer.text
    return " ".join(text.split())[:200] or answer.reason or "no reason given"


def _timeout(settings) -> tuple:
    """(connect, read) seconds; zero would make every request fail at once."""
    seconds = max(1, settings.SYNC_TIMEOUT_S)
    return (seconds, seconds)


def network_problem(what: str, address: str, error: Exception) -> str:
    """Plain words for a failed request, with the likely fix."""
    host = urlsplit(address).netloc or address
    if isinstance(error, (requests.exceptions.InvalidURL, ValueError)):
        return f"{address!r} is not a usable http(s) address for {what}"
    if isinstance(error, requests.exceptions.SSLError):
        return (
            f"the TLS check of {host} failed; if the hub's clock is wrong, "
            "certificates look not yet valid: set the date, then sync again"
        )
    if isinstance(error, requests.Timeout):
        return f"{what} at {host} did not answer in time (SYNC_TIMEOUT_S)"
    if isinstance(error, requests.ConnectionError):
        return f"could not reach {what} at {host}; is the hub online?"
    return f"the request to {what} at {host} failed: {error.__class__.__name__}"


# Pull


def pull_catalog(library, settings, session=None) -> PullReport:
    """Install every pack the national catalog has in a newer version."""
    report = PullReport()
    if not settings.CATALOG_URL:
        report.skipped = "CATALOG_URL is not set"
        return report

    own = session is None
    session = session or new_session()
    try:
        _pull(library, settings, session, report)
    except SyncProblem as problem:
        report.problems.append(str(problem))
    finally:
        if own:
            session.close()

    _repeats.report("fetching packs", "; ".join(report.problems) or None)
    return report


def _pull(library, settings, session, report: PullReport) -> None:
    timeout = _timeout(settings)
    catalog, base = _fetch_catalog(settings.CATALOG_URL, session, timeout)

    wanted = _newest_entries(catalog, base, report)
    _forget_old_downloads(library, wanted)

    for entry in wanted:
        installed = library.newest(entry["id"])
        if installed is not None and _version(installed.version) >= _version(
            entry["version"]
        ):
            report.up_to_date += 1
            continue

        name = f"{entry['id']} {entry['version']}"
        try:
            path = _download(entry, library, session, timeout)
        except SyncProblem as problem:
            report.problems.append(f"{name}: {problem}")
            continue
        except OSError as error:
            report.problems.append(f"{name}: could not save it: {error.strerror}")
            continue

        try:
            library.install(path)
        except (PackError, OSError) as error:
            # The checked download stays, so that the next sync tries the
            # install again (after an upgrade, or with more free space)
            # without fetching it again.
            report.problems.append(f"{name}: downloaded but refused: {error}")
            continue
        path.unlink(missing_ok=True)
        report.installed.append(name)
        log.info("installed pack %s from the national catalog", name)


def _fetch_catalog(address: str, session, timeout) -> tuple[dict, str]:
    """The catalog, and the address it came from after any redirects."""
    body = bytearray()
    try:
        with session.get(address, timeout=timeout, verify=True, stream=True) as answer:
            if answer.status_code != 200:
                raise SyncProblem(
                    f"the catalog at {address} answered {answer.status_code}"
                )
            for chunk in answer.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > CATALOG_MAX_BYTES:
                    raise SyncProblem(f"the catalog at {address} is too large")
            final_address = answer.url
    except requests.RequestException as error:
        raise SyncProblem(network_problem("the catalog", address, error)) from None

    try:
        catalog = json.loads(body)
    except ValueError:
        raise SyncProblem(
            f"the catalog at {address} is not JSON; a captive portal may be in the way"
        ) from None
    if not isinstance(catalog, dict) or catalog.get("format") != 1:
        raise SyncProblem(f"the catalog at {address} is not a format 1 catalog")
    if not isinstance(catalog.get("packs"), list):
        raise SyncProblem(f"the catalog at {address} has no list of packs")
    return catalog, final_address


def _newest_entries(catalog: dict, base: str, report: PullReport) -> list:
    """The newest well-formed entry of each pack, its URL made absolute."""
    newest = {}
    for index, entry in enumerate(catalog["packs"]):
        reason = _entry_problem(entry)
        if reason:
            report.problems.append(f"catalog entry {index}: {reason}; skipped")
            continue
        entry = dict(entry, url=urljoin(base, entry["url"]))
        if urlsplit(entry["url"]).scheme not in ("http", "https"):
            report.problems.append(f"catalog entry {index}: url is not http(s)")
            continue
        known = newest.get(entry["id"])
        if known is None or _version(entry["version"]) > _version(known["version"]):
            newest[entry["id"]] = entry
    return list(newest.values())


def _entry_problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    checks = (
        ("id", lambda v: isinstance(v, str) and _PACK_ID.match(v)),
        ("version", lambda v: isinstance(v, str) and _VERSION.match(v)),
        ("url", lambda v: isinstance(v, str) and v),
        ("size", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
        ("sha256", lambda v: isinstance(v, str) and _SHA256.match(v)),
    )
    for name, check in checks:
        if not check(entry.get(name)):
            return f"{name} is missing or malformed"
    return None


def _version(text: str) -> tuple:
    return tuple(int(part) for part in text.split("."))


def _download(entry, library, session, timeout) -> Path:
    """Fetch a pack zip into the library's downloads folder, resuming.

    The file is read at most one byte past its declared size, so a wrong or
    hostile server cannot fill the card. Returns the checked file.
    """
    downloads = Path(library.downloads_dir)
    part = downloads / _download_name(entry)
    size, expected = entry["size"], entry["sha256"]

    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    room = shutil.disk_usage(downloads).free - library.reserve_bytes
    if size - have > room:
        raise SyncProblem(f"not enough free space for {size} bytes; nothing fetched")

    digest = hashlib.sha256()
    if have:
        with open(part, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                digest.update(chunk)
    if have < size:
        have, digest = _fetch_into(
            part, entry["url"], have, size, digest, session, timeout
        )

    if have != size or digest.hexdigest() != expected:
        part.unlink(missing_ok=True)
        what = "size" if have != size else "SHA-256"
        raise SyncProblem(
            f"the download's {what} does not match the catalog; discarded"
        )

    return part


def _fetch_into(part: Path, url, have, size, digest, session, timeout):
    """Append the rest of the file to ``part``; return its length and digest.

    A server that ignores the Range request sends the whole file, which
    then replaces what was there.
    """
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with session.get(
            url, headers=headers, timeout=timeout, verify=True, stream=True
        ) as answer:
            resumed = (
                have > 0 and answer.status_code == 206 and _starts_at(answer, have)
            )
            if not resumed:
                if answer.status_code != 200:
                    part.unlink(missing_ok=True)
                    raise SyncProblem(f"the download answered {answer.status_code}")
                have, digest = 0, hashlib.sha256()
            with open(part, "ab" if resumed else "wb") as handle:
                for chunk in answer.iter_content(CHUNK_BYTES):
                    chunk = chunk[: size + 1 - have]
                    handle.write(chunk)
                    digest.update(chunk)
                    have += len(chunk)
                    if have > size:
                        break
    except requests.RequestException as error:
        # What arrived stays on disk for the next sync to resume.
        raise SyncProblem(network_problem("the pack server", url, error)) from None
    return have, digest


def _download_name(entry: dict) -> str:
    return f"{entry['id']}-{entry['version']}.zip"


def _forget_old_downloads(library, wanted: list) -> None:
    """Delete downloads of versions the catalog no longer offers."""
    keep = {_download_name(entry) for entry in wanted}
    for path in Path(library.downloads_dir).glob("*.zip"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def _starts_at(answer, offset: int) -> bool:
    found = re.match(r"bytes (\d+)-", answer.headers.get("Content-Range", ""))
    return bool(found) and int(found.group(1)) == offset
