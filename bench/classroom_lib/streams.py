# SPDX-License-Identifier: AGPL-3.0-or-later
"""Tablets playing a video at a steady bit rate while others poll the API.

A playing video reads its file slowly: the player asks with ``Range`` and
then takes bytes only as fast as it shows them, so the server's send buffer
fills and it must hold the connection open, idle, for minutes. The reader
here does the same with a small receive buffer and paces itself to the bit
rate. A stream is *cut* when the server closes it, or stops sending for
``STALL_S``, while the reader still wants bytes; reaching the end of the
file starts it again from the beginning, as a looping player would.
"""

from __future__ import annotations

import resource
import socket
import threading
import time

from .client import Connection, Recorder, local_address

CHUNK = 16 * 1024
RECEIVE_BUFFER = 64 * 1024
STALL_S = 30.0


def stream_video(
    base_url: str, url: str, size: int, rate: int, deadline: float, recorder: Recorder
) -> dict:
    """Read ``url`` at ``rate`` bytes/s until ``deadline``; return what happened."""
    host, port = local_address(base_url)
    started = time.monotonic()
    total = 0
    cut = None
    while time.monotonic() < deadline and cut is None:
        got, cut = _one_pass(
            host, port, url, size, rate, deadline, recorder, total, started
        )
        total += got
    seconds = time.monotonic() - started
    if cut is not None:
        recorder.error("video", cut)
    return {
        "bytes": total,
        "seconds": round(seconds, 1),
        "rate_bytes_per_s": round(total / seconds) if seconds else 0,
        "cut": cut,
    }


def _one_pass(host, port, url, size, rate, deadline, recorder, before, started):
    """Read the file once from the start; return (bytes, reason cut or None)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.settimeout(STALL_S)
    asked = time.perf_counter()
    got = 0
    try:
        sock.connect((host, port))
        request = (
            f"GET {url} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Range: bytes=0-\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        head, body = _read_head(sock)
        status = head.split(b" ", 2)[1]
        if status not in (b"200", b"206"):
            return 0, f"{url}: status {status.decode()}"
        recorder.ok("video_first_byte", time.perf_counter() - asked, 0)

        got = len(body)
        while got < size:
            now = time.monotonic()
            if now >= deadline:
                return got, None
            # Pace: never more than the bit rate allows since the start.
            allowed = rate * (now - started) - (before + got)
            if allowed < CHUNK:
                time.sleep(min((CHUNK - allowed) / rate, deadline - now))
                continue
            block = sock.recv(CHUNK)
            if not block:
                return got, f"closed by the server after {before + got} bytes"
            got += len(block)
        return got, None
    except TimeoutError:
        return got, f"no bytes for {STALL_S:.0f} s after {before + got} bytes"
    except OSError as error:
        return got, f"{error!r} after {before + got} bytes"
    finally:
        sock.close()


def _read_head(sock) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(4096)
        if not block:
            raise ConnectionResetError("closed before the headers ended")
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def run_streams(
    base_url: str,
    video: dict,
    api_path: str,
    streams: int = 6,
    pollers: int = 10,
    seconds: float = 60.0,
    rate: int = 200_000,
    poll_every_s: float = 1.0,
) -> dict:
    """``streams`` videos at ``rate`` while ``pollers`` call ``api_path``."""
    cpu_before = _cpu_seconds()
    started = time.monotonic()
    deadline = started + seconds
    results: list = [None] * streams
    recorders = [Recorder() for _ in range(streams + pollers)]

    def play(index):
        results[index] = stream_video(
            base_url, video["url"], video["size"], rate, deadline, recorders[index]
        )

    def poll(index):
        conn = Connection(base_url, recorders[streams + index])
        try:
            moment = started + index * poll_every_s / pollers
            while moment < deadline:
                time.sleep(max(0.0, moment - time.monotonic()))
                conn.fetch("api_poll", api_path)
                moment += poll_every_s
        finally:
            conn.close()

    threads = [
        threading.Thread(target=play, args=(i,), daemon=True) for i in range(streams)
    ]
    threads += [
        threading.Thread(target=poll, args=(i,), daemon=True) for i in range(pollers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + STALL_S + 30)
    elapsed = time.monotonic() - started

    merged = Recorder()
    for recorder in recorders:
        merged.merge(recorder)
    played = [result for result in results if result is not None]
    cpu = _cpu_seconds() - cpu_before
    return {
        "scenario": "streams",
        "streams": streams,
        "pollers": pollers,
        "rate_bytes_per_s": rate,
        "seconds": round(elapsed, 1),
        "endpoints": merged.summary(elapsed),
        "error_samples": merged.error_samples,
        "played": played,
        "cut": sum(1 for result in played if result["cut"]) + streams - len(played),
        "generator_cpu_s": round(cpu, 2),
        "generator_cpu_share": round(cpu / elapsed, 3),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
