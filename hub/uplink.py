# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub's link to the national side: requests that are checked and counted.

Every request sync makes goes through an ``Uplink``. TLS is always verified;
connecting and each read have a timeout; no redirect is followed (behind a
captive portal a redirect is the portal, not the server); a body is read
whole and compared with its Content-Length, since requests does not notice a
short one; the bytes on the wire are counted both ways into a ``ByteMeter``;
a cap on bytes per second paces each transfer; and a try that failed on the
way (timeout, reset, cut-off body, 408, 429, 5xx) is made again after a
growing wait with jitter, honouring Retry-After. Failures come out as
``LinkProblem`` with plain words.

An ``Uplink`` belongs to one sync run on one thread. A crash mid-request
loses from the byte count at most what was received in that request, since
what is sent is counted before it goes.
"""

from __future__ import annotations

import io
import logging
import os
import random
from pathlib import Path

import requests
import urllib3

from . import __version__
from .clock import SystemClock
from .link_answers import (
    Answer,
    BudgetSpent,
    LinkProblem,
    answer_head_bytes,
    decoded,
    host_of,
    network_problem,
    out_of,
    range_start,
    request_bytes,
    retry_after,
    server_time,
)

__all__ = ["BudgetSpent", "LinkProblem", "Uplink", "network_problem", "new_session"]

log = logging.getLogger(__name__)

USER_AGENT = f"classroom-hub/{__version__}"
CHUNK_BYTES = 64 * 1024
# Waits between tries within one run: 2 s, 4 s, 8 s … with jitter, at most
# this long; a longer Retry-After ends the run and is kept for the next one.
RETRY_BASE_S = 2
RETRY_MAX_WAIT_S = 60
_TRANSIENT = {408, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524}


class Unmetered:
    """A meter without limits, for calls that run outside a scheduled sync."""

    used = 0

    def charge(self, count: int) -> None:
        self.used += count

    def allowance(self) -> int | None:
        return None

    def flush(self) -> None:
        pass


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # Bodies are counted as they travel; a compressed answer would make the
    # Content-Length check and the byte count disagree with what is read.
    session.headers["Accept-Encoding"] = "identity"
    return session


class Uplink:
    """Requests to the national side for one sync run."""

    def __init__(self, settings, meter=None, clock=None, session=None, rng=None):
        seconds = max(1, settings.SYNC_TIMEOUT_S)
        self.timeout = (seconds, seconds)
        self.retries = settings.SYNC_RETRIES
        self.rate = settings.SYNC_MAX_BYTES_PER_S
        self.meter = meter if meter is not None else Unmetered()
        self.clock = clock if clock is not None else SystemClock()
        self.rng = rng if rng is not None else random.Random()
        self._own_session = session is None
        self.session = session if session is not None else new_session()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    # Whole answers

    def exchange(
        self,
        method,
        address,
        *,
        what,
        body=b"",
        headers=None,
        auth=None,
        max_body=1024 * 1024,
    ) -> Answer:
        """Send one request, trying again after transient failures.

        Returns any answer that is not transient (the caller judges 3xx and
        4xx); raises LinkProblem or BudgetSpent.
        """
        for attempt in range(self.retries + 1):
            try:
                return self._exchange_once(
                    method, address, what, body, headers or {}, auth, max_body
                )
            except LinkProblem as problem:
                self._wait_before_retry(problem, attempt)
        raise AssertionError("unreachable")

    def _exchange_once(self, method, address, what, body, headers, auth, max_body):
        self._check_budget(len(body) + 1024, what)
        with self._send(method, address, what, body, headers, auth) as answer:
            boot_ms = self.clock.boot_ms()
            buffer = io.BytesIO()
            if self._read_body(answer, what, max_body, buffer.write) > max_body:
                raise LinkProblem(
                    f"{what} at {host_of(address)} answered with more than "
                    f"{max_body} bytes; LRS_URL or CATALOG_URL may be wrong"
                )
            data = decoded(buffer.getvalue(), answer.headers, what)

        found = Answer(
            status=answer.status_code,
            reason=answer.reason or "",
            headers=answer.headers,
            body=data,
            address=address,
            server_time=server_time(answer.headers.get("Date")),
            boot_ms=boot_ms,
        )
        if found.status in _TRANSIENT:
            raise LinkProblem(
                f"{what} at {host_of(address)} answered {found.status} "
                f"({found.detail()})",
                transient=True,
                retry_after_s=retry_after(found.headers),
            )
        return found

    # Files

    def download(self, address, part: Path, stop: int, size: int, *, what) -> int:
        """Bring ``part`` up to byte ``stop`` of the ``size`` bytes at ``address``.

        Resumes from the bytes on disk with a Range request; a server that
        ignores it sends the whole file, which then replaces ``part``. Reads
        at most one byte past ``size``, so a wrong server cannot fill the
        card. What arrived stays on disk even when the transfer fails.
        Returns the length of ``part``.
        """
        have = part.stat().st_size if part.exists() else 0
        for attempt in range(self.retries + 1):
            try:
                return self._download_once(address, part, have, stop, size, what)
            except LinkProblem as problem:
                have = part.stat().st_size if part.exists() else 0
                if have >= stop:
                    return have
                self._wait_before_retry(problem, attempt)
        raise AssertionError("unreachable")

    def _download_once(self, address, part: Path, have, stop, size, what) -> int:
        self._check_budget(1024, what)
        headers = {}
        if stop < size:
            # The budget allows only part of the file today.
            headers["Range"] = f"bytes={have}-{stop - 1}"
        elif have:
            headers["Range"] = f"bytes={have}-"
        with self._send("GET", address, what, b"", headers, None) as answer:
            status = answer.status_code
            if status in _TRANSIENT:
                raise LinkProblem(
                    f"{what} at {host_of(address)} answered {status}",
                    transient=True,
                    retry_after_s=retry_after(answer.headers),
                )
            resumed = status == 206 and range_start(answer) == have
            if not resumed and status != 200:
                if status == 416:
                    part.unlink(missing_ok=True)
                raise LinkProblem(f"{what} at {host_of(address)} answered {status}")
            if answer.headers.get("Content-Encoding", "identity") != "identity":
                raise LinkProblem(
                    f"{what} at {host_of(address)} sent the file compressed"
                )
            if not resumed:
                have = 0

            with open(part, "ab" if resumed else "wb") as stream:

                def keep(chunk):
                    stream.write(chunk)
                    # Flushed at once, so the status page sees progress.
                    stream.flush()

                try:
                    self._read_body(answer, what, size - have, keep)
                finally:
                    stream.flush()
                    # Durable before the next run resumes after these bytes.
                    os.fsync(stream.fileno())
        return part.stat().st_size

    # The pieces

    def _send(self, method, address, what, body, headers, auth):
        try:
            prepared = self.session.prepare_request(
                requests.Request(method, address, headers=headers, auth=auth)
            )
        except (requests.RequestException, ValueError) as error:
            raise LinkProblem(network_problem(what, address, error)) from None
        if body:
            prepared.body = _PacedBody(body, self) if self.rate else body
            prepared.headers["Content-Length"] = str(len(body))
        self.meter.charge(request_bytes(prepared, len(body)))

        environment = self.session.merge_environment_settings(
            prepared.url, {}, None, None, None
        )
        # A CA bundle named in the environment is still a check; never off.
        verify = environment.get("verify")
        try:
            answer = self.session.send(
                prepared,
                stream=True,
                timeout=self.timeout,
                verify=verify if isinstance(verify, str) else True,
                proxies=environment.get("proxies", {}),
                allow_redirects=False,
            )
        except requests.RequestException as error:
            words = network_problem(what, address, error)
            raise LinkProblem(words, transient=_worth_retrying(error)) from None

        self.meter.charge(answer_head_bytes(answer))
        return answer

    def _read_body(self, answer, what, limit: int, keep) -> int:
        """Pass the body to ``keep`` chunk by chunk; check it came whole.

        Reads at most ``limit + 1`` bytes (the caller judges a longer body)
        and no more than the byte budget allows.
        """
        declared = answer.headers.get("Content-Length")
        received = 0
        ended = False
        started = self.clock.monotonic()
        try:
            while True:
                room = limit + 1 - received
                allowance = self.meter.allowance()
                if allowance is not None:
                    room = min(room, allowance)
                if room <= 0:
                    break
                chunk = answer.raw.read(min(CHUNK_BYTES, room), decode_content=False)
                if not chunk:
                    ended = True
                    break
                received += len(chunk)
                self.meter.charge(len(chunk))
                keep(chunk)
                self._pace(received, started)
        except (
            urllib3.exceptions.HTTPError,
            requests.RequestException,
            OSError,
        ) as error:
            if _is_timeout(error):
                raise LinkProblem(
                    f"{what} at {host_of(answer.url)} stopped sending for "
                    "longer than SYNC_TIMEOUT_S",
                    transient=True,
                ) from None
            raise LinkProblem(
                f"the answer from {what} at {host_of(answer.url)} was cut off after "
                f"{received} bytes{out_of(declared)}",
                transient=True,
            ) from None

        if received > limit:
            return received
        short = declared is not None and declared.isdigit() and received < int(declared)
        if not ended:
            if short:
                raise BudgetSpent(f"the byte budget ran out while reading {what}")
            return received
        if short:
            raise LinkProblem(
                f"the answer from {what} at {host_of(answer.url)} was cut off after "
                f"{received} bytes{out_of(declared)}",
                transient=True,
            )
        return received

    def _pace(self, sent: int, started: float) -> None:
        """Sleep so that this transfer stays under SYNC_MAX_BYTES_PER_S."""
        if not self.rate:
            return
        due = started + sent / self.rate
        ahead = due - self.clock.monotonic()
        if ahead > 0:
            self.clock.sleep(ahead)

    def _check_budget(self, needed: int, what: str) -> None:
        allowance = self.meter.allowance()
        if allowance is not None and allowance < needed:
            raise BudgetSpent(f"the byte budget does not allow reaching {what} now")

    def _wait_before_retry(self, problem: LinkProblem, attempt: int) -> None:
        """Sleep before the next try, or re-raise when no try is left."""
        if not problem.transient or attempt >= self.retries:
            raise problem
        ceiling = min(RETRY_MAX_WAIT_S, RETRY_BASE_S * 2**attempt)
        # Half fixed, half random: hubs that failed together spread out.
        wait = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if problem.retry_after_s is not None:
            if problem.retry_after_s > RETRY_MAX_WAIT_S:
                raise problem
            wait = max(wait, problem.retry_after_s)
        log.debug("%s; trying again in %.1f s", problem, wait)
        self.clock.sleep(wait)


class _PacedBody:
    """A request body read out no faster than the uplink's cap allows."""

    def __init__(self, data: bytes, uplink: Uplink):
        self._data = memoryview(data)
        self._uplink = uplink
        self._sent = 0
        self._started = None

    def __len__(self) -> int:
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        if self._started is None:
            self._started = self._uplink.clock.monotonic()
        size = min(size if size > 0 else CHUNK_BYTES, CHUNK_BYTES)
        chunk = bytes(self._data[self._sent : self._sent + size])
        self._sent += len(chunk)
        self._uplink._pace(self._sent, self._started)
        return chunk


def _worth_retrying(error: Exception) -> bool:
    return isinstance(error, (requests.Timeout, requests.ConnectionError)) and not (
        isinstance(error, requests.exceptions.SSLError)
    )


def _is_timeout(error: Exception) -> bool:
    return isinstance(
        error, (urllib3.exceptions.TimeoutError, requests.Timeout, TimeoutError)
    )
