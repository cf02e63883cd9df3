# SPDX-License-Identifier: AGPL-3.0-or-later
"""One keep-alive HTTP connection, as a tablet's browser holds, and its figures.

A ``Recorder`` keeps every request's latency by endpoint name; each load
thread owns one, and they are merged at the end, so nothing here is shared
between threads while the load runs. Only loopback or namespace-local
addresses are accepted, so a mistyped URL cannot send load elsewhere.
"""

from __future__ import annotations

import http.client
import ipaddress
import math
import time
from urllib.parse import urlsplit

# A browser retries a request that failed on a connection it had kept idle
# (the server may have closed it meanwhile); these are the signs of that.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class NotLocal(Exception):
    """The bench only loads servers on this machine."""


def local_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise NotLocal(f"{url}: give a loopback address such as 127.0.0.1") from None
    if not address.is_loopback:
        raise NotLocal(f"{url}: {host} is not a loopback address")
    return host, parts.port or 80


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


class Recorder:
    """Latencies, errors and bytes by endpoint name, for one thread."""

    def __init__(self):
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        self.error_samples: list[str] = []

    def ok(self, name: str, seconds: float, size: int) -> None:
        self.latencies.setdefault(name, []).append(seconds)
        self.bytes[name] = self.bytes.get(name, 0) + size

    def error(self, name: str, what: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{name}: {what}")

    def merge(self, other: Recorder) -> None:
        for name, values in other.latencies.items():
            self.latencies.setdefault(name, []).extend(values)
        for name, count in other.errors.items():
            self.errors[name] = self.errors.get(name, 0) + count
        for name, size in other.bytes.items():
            self.bytes[name] = self.bytes.get(name, 0) + size
        room = 5 - len(self.error_samples)
        self.error_samples.extend(other.error_samples[: max(room, 0)])

    def summary(self, seconds: float) -> dict:
        """Per-endpoint counts and percentiles in ms, plus an ``all`` row."""
        names = sorted(set(self.latencies) | set(self.errors))
        rows = {
            name: self._row(self.latencies.get(name, []), name, seconds)
            for name in names
        }
        every = [value for values in self.latencies.values() for value in values]
        rows["all"] = self._row(every, None, seconds)
        return rows

    def _row(self, values: list[float], name: str | None, seconds: float) -> dict:
        values = sorted(values)
        if name is None:
            errors = sum(self.errors.values())
            size = sum(self.bytes.values())
        else:
            errors = self.errors.get(name, 0)
            size = self.bytes.get(name, 0)
        return {
            "count": len(values),
            "errors": errors,
            "per_s": round(len(values) / seconds, 1) if seconds else 0.0,
            "p50_ms": round(percentile(values, 0.50) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            "max_ms": round(values[-1] * 1000, 1) if values else 0.0,
            "bytes": size,
        }


class Connection:
    """A keep-alive connection to one server that records every request."""

    def __init__(self, base_url: str, recorder: Recorder, timeout: float = 30):
        self.host, self.port = local_address(base_url)
        self.recorder = recorder
        self.timeout = timeout
        self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self._used = False

    def close(self) -> None:
        self._conn.close()

    def fetch(self, name, path, method="GET", headers=None, body=None, expect=(200,)):
        """Send one request; return (status, headers, body) or None on error."""
        headers = dict(headers or {})
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self._conn.request(method, path, body=body, headers=headers)
                response = self._conn.getresponse()
                data = response.read()
                break
            except _STALE as error:
                self._conn.close()
                if attempt == 2 or not self._used:
                    self.recorder.error(name, f"{path}: {error!r}")
                    return None
            except (OSError, http.client.HTTPException) as error:
                self._conn.close()
                self.recorder.error(name, f"{path}: {error!r}")
                return None
        elapsed = time.perf_counter() - started
        self._used = True

        if response.status not in expect:
            self.recorder.error(name, f"{path}: status {response.status}")
            return None
        self.recorder.ok(name, elapsed, len(data))
        return response.status, response, data
