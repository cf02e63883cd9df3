# SPDX-License-Identifier: AGPL-3.0-or-later
"""Small HTTP servers on 127.0.0.1 standing in for the national side.

``file_server`` serves a folder (pack zips and catalog.json) and answers
Range requests with 206 as CDNs do; ``fake_server`` answers every request
alike, as a captive portal or a broken proxy would; ``tls_server`` does so
over HTTPS with a certificate no authority signed; ``silent_server``
accepts connections and never answers. Each runs in its own thread on a
port the system picks, notes what was asked of it, and stops when its
``with`` block ends.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import socket
import ssl
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(handler_class):
    """An HTTP server on 127.0.0.1 in a thread, noting what was asked of it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    server.requested, server.ranges = [], []
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class RangeFileHandler(QuietHandler):
    """Serves a folder, answering one-range requests with 206."""

    def send_head(self):
        self.server.requested.append(self.path)
        wanted = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if wanted is None or not path.is_file():
            return super().send_head()

        self.server.ranges.append(wanted)
        size = path.stat().st_size
        found = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
        start = int(found.group(1))
        end = min(size - 1, int(found.group(2))) if found.group(2) else size - 1
        if start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

        # do_GET copies the stream to the end; hand it only the range.
        with open(path, "rb") as stream:
            stream.seek(start)
            data = stream.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return io.BytesIO(data)


@contextlib.contextmanager
def file_server(folder: Path):
    handler = functools.partial(RangeFileHandler, directory=str(folder))
    with serving(handler) as server:
        yield server


@contextlib.contextmanager
def fake_server(status: int, body: bytes, headers: dict | None = None):
    """Answers every request alike; yields an LRS-like URL ending in xAPI/."""

    class Handler(QuietHandler):
        def do_GET(self):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.do_GET()

    with serving(Handler) as server:
        yield server.url + "xAPI/"


@contextlib.contextmanager
def tls_server(folder: Path):
    """Answers 200 over HTTPS with a self-signed certificate for 127.0.0.1."""
    key, cert = Path(folder) / "key.pem", Path(folder) / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Handler(QuietHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

    with serving(Handler) as server:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        yield server.url.replace("http://", "https://") + "xAPI/"


@contextlib.contextmanager
def silent_server():
    """Accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/xAPI/"
