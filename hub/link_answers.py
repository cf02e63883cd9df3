# SPDX-License-Identifier: AGPL-3.0-or-later
"""What comes back over the link to the national side, judged and worded.

An ``Answer`` is a whole, checked answer; ``LinkProblem`` is a failed
request in plain words, ``BudgetSpent`` one the byte budget stopped. The
functions read the headers sync relies on (Date, Retry-After,
Content-Range) and count the bytes of a request's and an answer's head as
they travel. Pure values and functions: safe from any thread.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
import urllib3


class LinkProblem(Exception):
    """A failed request, in plain words; ``transient`` ones may work later."""

    def __init__(self, words: str, transient=False, retry_after_s=None):
        super().__init__(words)
        self.transient = transient
        self.retry_after_s = retry_after_s


class BudgetSpent(LinkProblem):
    """The byte budget does not allow this transfer; it waits, nothing failed."""


@dataclass
class Answer:
    status: int
    reason: str
    headers: requests.structures.CaseInsensitiveDict
    body: bytes
    address: str
    server_time: datetime | None
    # CLOCK_BOOTTIME when the answer's head arrived: when ``server_time`` held.
    boot_ms: int

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type") or "no content type"

    def json(self):
        return json.loads(self.body)

    def detail(self) -> str:
        """The server's own reason, shortened, for a report line."""
        try:
            detail = self.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        text = (
            detail if isinstance(detail, str) else self.body.decode("utf-8", "replace")
        )
        return " ".join(text.split())[:200] or self.reason or "no reason given"


def network_problem(what: str, address: str, error: Exception) -> str:
    """Plain words for a failed request, with the likely fix."""
    where = host_of(address) or address
    if isinstance(
        error,
        (
            requests.exceptions.InvalidURL,
            ValueError,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return f"{address!r} is not a usable http(s) address for {what}"
    if isinstance(error, requests.exceptions.SSLError):
        return (
            f"the TLS check of {where} failed; if the hub's clock is wrong, "
            "certificates look not yet valid: set the date, then sync again"
        )
    if isinstance(error, requests.Timeout):
        return f"{what} at {where} did not answer in time (SYNC_TIMEOUT_S)"
    if isinstance(error, requests.ConnectionError):
        cause = error.args[0] if error.args else None
        if isinstance(cause, urllib3.exceptions.ProtocolError):
            # Reached, then dropped: the far side may have done the work.
            return (
                f"the connection to {what} at {where} was cut before it answered; "
                "what was sent is sent again next time"
            )
        return f"could not reach {what} at {where}; is the hub online?"
    return f"the request to {what} at {where} failed: {error.__class__.__name__}"


def host_of(address: str) -> str:
    return urlsplit(address).netloc


def out_of(declared) -> str:
    return f" of {declared}" if declared else ""


def request_bytes(prepared, body_length: int) -> int:
    """The request as it goes on the wire: line, headers, body."""
    # XXX TLS records and handshakes are not counted (a few per cent, and a
    # few kB per connection); reading TCP_INFO per socket would count them.
    parts = urlsplit(prepared.url)
    head = f"{prepared.method} {prepared.path_url} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in prepared.headers.items())
    return len(head.encode("latin-1", "replace")) + 2 + body_length


def answer_head_bytes(answer) -> int:
    line = f"HTTP/1.1 {answer.status_code} {answer.reason or ''}\r\n"
    head = line + "".join(
        f"{name}: {value}\r\n" for name, value in answer.raw.headers.items()
    )
    return len(head.encode("latin-1", "replace")) + 2


def decoded(body: bytes, headers, what: str) -> bytes:
    encoding = headers.get("Content-Encoding", "identity").lower()
    if encoding in ("identity", ""):
        return body
    if encoding in ("gzip", "deflate"):
        try:
            return zlib.decompress(body, 47)
        except zlib.error:
            raise LinkProblem(f"the answer from {what} is damaged") from None
    raise LinkProblem(f"{what} answered in an unknown encoding {encoding!r}")


def server_time(header: str | None) -> datetime | None:
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def retry_after(headers) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date.

    A date is measured from the answer's own Date, not from the hub's
    clock, which may be wrong.
    """
    header = (headers.get("Retry-After") or "").strip()
    if not header:
        return None
    if header.isdigit():
        return float(header)
    moment = server_time(header)
    sent = server_time(headers.get("Date")) or datetime.now(UTC)
    if moment is None:
        return None
    return max(0.0, (moment - sent).total_seconds())


def range_start(answer) -> int | None:
    found = re.match(r"bytes (\d+)-", answer.headers.get("Content-Range", ""))
    return int(found.group(1)) if found else None
