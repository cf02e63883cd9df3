# SPDX-License-Identifier: AGPL-3.0-or-later
"""Raw request rates with ``wrk`` (Debian's package), as JSON.

wrk is written in C and keeps 40 keep-alive connections busy from one
thread, so the figure is the server's, not the client's. A small Lua
script makes it print its totals and latency percentiles as one JSON line.
It runs on the core the servers do not use, and inside Kolibri's network
namespace when it loads Kolibri.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
"""


def run_wrk(
    url: str,
    script_dir: Path,
    connections: int = 40,
    seconds: int = 10,
    cpu: str = "1",
    prefix: list[str] | None = None,
    timeout_s: int = 10,
) -> dict:
    """Load ``url`` for ``seconds``; req/s, bytes/s, errors and latency in ms."""
    script = script_dir / "wrk-report.lua"
    script.write_text(_REPORT)
    argv = [
        *(prefix or []),
        "taskset",
        "-c",
        cpu,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next(
        (line for line in done.stdout.splitlines() if line.startswith("WRKJSON ")), None
    )
    if line is None:
        raise RuntimeError(
            f"wrk gave no report for {url}:\n{done.stdout}\n{done.stderr}"
        )
    raw = json.loads(line[len("WRKJSON ") :])
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(
        raw[key]
        for key in (
            "connect_errors",
            "read_errors",
            "write_errors",
            "status_errors",
            "timeouts",
        )
    )
    return {
        "url": url.split("/", 3)[-1] and "/" + url.split("/", 3)[-1],
        "connections": connections,
        "seconds": round(seconds_run, 2),
        "requests": raw["requests"],
        "req_per_s": round(raw["requests"] / seconds_run, 1),
        "mb_per_s": round(raw["bytes"] / seconds_run / 1e6, 1),
        "errors": errors,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
    }
