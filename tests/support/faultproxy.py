# SPDX-License-Identifier: AGPL-3.0-or-later
"""An HTTP forwarder on 127.0.0.1 that breaks the link when a test says so.

``FaultProxy(upstream)`` listens on a port the system picks and passes each
request to ``upstream`` (Ralph, or a file server) over a fresh connection,
counting the bytes it exchanges with the client both ways, as a metered
modem would. ``fail_next`` queues faults for the coming requests (those whose
path contains ``match``, if given):

- ``cut_body`` (n): forward, pass the answer's head and n body bytes, close;
- ``short_body``: forward, pass half the body under the full Content-Length,
  close (what requests does not notice by itself);
- ``lose_answer``: forward, then close without answering (the far side did
  the work, the hub never hears of it);
- ``stall`` (seconds): take the request, answer nothing for that long;
- ``stall_after_forward`` (seconds): forward, then answer nothing;
- ``corrupt`` (offset): forward, with one body byte flipped on the way;
- ``reset``: close the connection as soon as the request is read;
- ``answer`` ((status, headers, body)): answer itself without forwarding,
  as a captive portal, a busy server or a redirect would.

One thread per connection; counters and the fault queue are guarded by a
lock, so tests read them from their own thread. Any other kind (``pass``)
forwards untouched, to let requests through before a fault. ``stop`` (or leaving the
``with`` block) ends stalls at once and closes the listener.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Fault:
    kind: str
    arg: object = None
    match: str | None = None


@dataclass
class Exchange:
    method: str
    path: str
    fault: str | None
    request_bytes: int = 0
    answer_bytes: int = 0


class FaultProxy:
    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.upstream_path = parts.path or "/"
        self.url = None
        self.exchanges: list[Exchange] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy._serve_connection(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}{self.upstream_path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    # What tests do

    def fail_next(self, kind: str, arg=None, match: str | None = None, times=1):
        with self._lock:
            self._faults.extend(Fault(kind, arg, match) for _ in range(times))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.exchanges.clear()

    @property
    def bytes_to_client(self) -> int:
        with self._lock:
            return sum(exchange.answer_bytes for exchange in self.exchanges)

    @property
    def bytes_from_client(self) -> int:
        with self._lock:
            return sum(exchange.request_bytes for exchange in self.exchanges)

    def bytes_answered(self, match: str) -> int:
        """Bytes sent back to the client for requests whose path has ``match``."""
        with self._lock:
            return sum(e.answer_bytes for e in self.exchanges if match in e.path)

    def paths(self) -> list[str]:
        with self._lock:
            return [exchange.path for exchange in self.exchanges]

    # The forwarding

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.match is None or fault.match in path:
                    return self._faults.pop(index)
        return None

    def _serve_connection(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            while not self._stopping.is_set():
                request = _read_message(reader, is_request=True)
                if request is None:
                    return
                head, body = request
                method, path = head.split(b" ", 2)[:2]
                fault = self._take_fault(path.decode("latin-1"))
                exchange = Exchange(
                    method.decode(),
                    path.decode("latin-1"),
                    fault.kind if fault else None,
                    len(head) + len(body),
                )
                with self._lock:
                    self.exchanges.append(exchange)
                if not self._answer(client, head, body, fault, exchange):
                    return
        except OSError:
            return
        finally:
            reader.close()
            client.close()

    def _answer(self, client, head, body, fault, exchange) -> bool:
        """Answer one request; False when the connection must close."""
        kind = fault.kind if fault else None
        if kind == "reset":
            return False
        if kind == "stall":
            self._stopping.wait(fault.arg)
            return False
        if kind == "answer":
            status, headers, data = fault.arg
            self._send(client, _canned(status, headers, data), exchange)
            return False

        answer_head, answer_body, keep_open = self._forward(head, body)
        if kind in ("lose_answer", "stall_after_forward"):
            if kind == "stall_after_forward":
                self._stopping.wait(fault.arg)
            return False
        if kind == "cut_body":
            self._send(client, answer_head + answer_body[: fault.arg], exchange)
            return False
        if kind == "short_body":
            half = answer_body[: len(answer_body) // 2]
            self._send(client, answer_head + half, exchange)
            return False
        if kind == "corrupt":
            damaged = bytearray(answer_body)
            damaged[fault.arg] ^= 0xFF
            answer_body = bytes(damaged)
        self._send(client, answer_head + answer_body, exchange)
        return keep_open

    def _forward(self, head: bytes, body: bytes):
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            # One request per upstream connection keeps the framing simple.
            upstream.sendall(_with_close(head) + body)
            reader = upstream.makefile("rb")
            answer = _read_message(reader, is_request=False)
            reader.close()
        if answer is None:
            return b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", b"", False
        answer_head, answer_body = answer
        keep_open = b"connection: close" not in answer_head.lower()
        return answer_head, answer_body, keep_open

    def _send(self, client, data: bytes, exchange: Exchange) -> None:
        try:
            client.sendall(data)
        finally:
            with self._lock:
                exchange.answer_bytes += len(data)


def _read_message(reader, is_request: bool):
    """One HTTP message's head and body, framed by Content-Length."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline(65536)
        if not line:
            return None
        head += line
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    status = None if is_request else int(head.split(b" ", 2)[1])
    if status is not None and (status == 204 or status == 304 or 100 <= status < 200):
        length = 0
    body = reader.read(length) if length else b""
    return head, body


def _with_close(head: bytes) -> bytes:
    lines = [
        line
        for line in head.split(b"\r\n")
        if not line.lower().startswith(b"connection:")
    ]
    return b"\r\n".join(lines[:-2] + [b"Connection: close", b"", b""])


def _canned(status: int, headers: dict, body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} Fault\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return "".join(lines).encode("latin-1") + body
