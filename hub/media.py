# SPDX-License-Identifier: AGPL-3.0-or-later
"""Serving files to tablets: validators, byte ranges and caching headers.

Pack files are the bulk of the hub's traffic (a class opens the same lesson at
the same second), so they are served by a small WSGI application placed in
front of Flask, without Flask's per-request machinery. It answers
``/packs/ID/VERSION/PATH`` and ``/packs/ID/VERSION.zip``; every other path
goes on to the Flask app. The file body goes to the server's
``wsgi.file_wrapper``, which waitress sends in blocks from its own buffers;
small files (pictures, sounds) are answered from bytes kept in memory.

Keeps only what it found in the library, for a second, and the bytes of
small files; entries are replaced whole, so any thread may call it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, unquote

IMMUTABLE = "public, max-age=31536000, immutable"
# Pack files come from outside the school; an SVG may hold a script. Served
# as a sandboxed document, it cannot run in the hub's origin.
PACK_FILE_POLICY = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
)
_BLOCK = 256 * 1024
# A class asks for the same pictures and sounds forty times within a second.
# Files up to SMALL_FILE_BYTES are answered from memory, up to KEPT_BYTES_MAX
# in all, and what a URL names is looked up again after LOOKUP_KEPT_S (so a
# removed pack stops being served within that time). Measured with wrk on a
# 4.6 KB picture, one core: CPU per request (see docs/performance.md).
SMALL_FILE_BYTES = 64 * 1024
KEPT_BYTES_MAX = 8 * 1024 * 1024
LOOKUP_KEPT_S = 1.0
_PACK_PATH = re.compile(
    r"^/packs/([a-z0-9][a-z0-9-]{1,63})/(\d+\.\d+\.\d+)(/.+|\.zip)$"
)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ServedFile:
    path: Path
    size: int
    etag: str
    content_type: str
    cache_control: str
    download_name: str | None = None
    policy: str | None = PACK_FILE_POLICY
    body: bytes | None = None  # the whole file, when it is kept in memory


def parse_range(header: str | None, size: int):
    """Return (start, end) inclusive, "unsatisfiable", or None for the whole.

    Only one range is honoured; several ranges or bad syntax are ignored and
    the whole file sent, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None

    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(size - suffix, 0), size - 1

    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = [part.strip().removeprefix("W/") for part in header.split(",")]
    return etag in candidates


def serve_file(environ, start_response, served: ServedFile):
    """Answer GET or HEAD for one file, honouring validators and one range."""
    method = environ["REQUEST_METHOD"]
    headers = [
        ("Content-Type", served.content_type),
        ("ETag", served.etag),
        ("Cache-Control", served.cache_control),
        ("Accept-Ranges", "bytes"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if served.policy:
        headers.append(("Content-Security-Policy", served.policy))
    if served.download_name:
        headers.append(
            ("Content-Disposition", content_disposition(served.download_name))
        )

    if method not in ("GET", "HEAD"):
        start_response(
            "405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")]
        )
        return [b""]

    if etag_matches(environ.get("HTTP_IF_NONE_MATCH"), served.etag):
        start_response("304 Not Modified", headers)
        return [b""]

    wanted = parse_range(environ.get("HTTP_RANGE"), served.size)
    if_range = environ.get("HTTP_IF_RANGE")
    if wanted is not None and if_range and if_range.strip() != served.etag:
        wanted = None

    if wanted == "unsatisfiable":
        headers.append(("Content-Range", f"bytes */{served.size}"))
        headers.append(("Content-Length", "0"))
        start_response("416 Range Not Satisfiable", headers)
        return [b""]

    if wanted is None:
        status, start, length = "200 OK", 0, served.size
    else:
        start, end = wanted
        length = end - start + 1
        status = "206 Partial Content"
        headers.append(("Content-Range", f"bytes {start}-{end}/{served.size}"))
    headers.append(("Content-Length", str(length)))

    if method == "HEAD":
        start_response(status, headers)
        return [b""]

    if served.body is not None:
        start_response(status, headers)
        return [served.body[start : start + length]]

    try:
        handle = open(served.path, "rb")
    except OSError:
        return not_found(start_response)
    handle.seek(start)
    start_response(status, headers)

    # waitress sends exactly Content-Length bytes from the file's position.
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None and length == served.size - start:
        return wrapper(handle, _BLOCK)
    return _read_span(handle, length)


def _read_span(handle, length: int):
    try:
        while length > 0:
            block = handle.read(min(_BLOCK, length))
            if not block:
                break
            length -= len(block)
            yield block
    finally:
        handle.close()


def content_disposition(name: str) -> str:
    """An attachment header that survives Cyrillic names (RFC 6266/5987)."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def not_found(start_response):
    body = (
        b'{"error": {"code": "not_found", "message": "No such file in this pack '
        b'version. Fetch /api/v1/packs for the packs this hub has."}}'
    )
    start_response(
        "404 Not Found",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class PackFilesMiddleware:
    """Answers pack file URLs itself and passes every other request on."""

    def __init__(self, app, library):
        self.app = app
        self.library = library
        # path -> (time to look again, ServedFile); only found files.
        self._found: dict[str, tuple[float, ServedFile]] = {}
        self._kept_bytes = 0

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/packs/"):
            return self.app(environ, start_response)

        served = self.lookup(unquote(path) if "%" in path else path)
        if served is None:
            return not_found(start_response)
        return serve_file(environ, start_response, served)

    def lookup(self, path: str) -> ServedFile | None:
        now = time.monotonic()
        found = self._found.get(path)
        if found is not None and found[0] > now:
            return found[1]

        served = self._look_up(path)
        if found is not None and found[1].body is not None:
            self._kept_bytes -= found[1].size
        if served is None:
            # Unknown paths are not remembered: they could fill the memory.
            self._found.pop(path, None)
            return None
        served = self._with_body(served)
        self._found[path] = (now + LOOKUP_KEPT_S, served)
        return served

    def _with_body(self, served: ServedFile) -> ServedFile:
        if served.size > SMALL_FILE_BYTES:
            return served
        if self._kept_bytes + served.size > KEPT_BYTES_MAX:
            return served
        try:
            body = served.path.read_bytes()
        except OSError:
            return served  # serve_file answers 404 when it cannot open it
        if len(body) != served.size:
            return served  # not the installed file; let serve_file decide
        # Threads may race here; the total may then be off by a file or two.
        self._kept_bytes += served.size
        return replace(served, body=body)

    def _look_up(self, path: str) -> ServedFile | None:
        match = _PACK_PATH.match(path)
        if match is None:
            return None
        pack_id, version, rest = match.groups()
        pack = self.library.get(pack_id, version)
        if pack is None:
            return None

        if rest == ".zip":
            found = pack.zip_file()
            download_name = f"{pack.id}-{pack.version}.zip"
        else:
            found = pack.file(rest[1:])
            download_name = None
        if found is None:
            return None
        return ServedFile(
            path=found.path,
            size=found.size,
            etag=f'"{found.sha256}"',
            content_type=found.content_type,
            cache_control=IMMUTABLE,
            download_name=download_name,
        )
