# SPDX-License-Identifier: AGPL-3.0-or-later
"""One measured step each: cold start, idle, raw rates, a class, streams, a burst.

A ``Target`` is a running server the load can reach: its URL, its process
(for CPU, memory and bytes written) and the prefix that puts a client in
its network (``ip netns exec`` for Kolibri). The load runs as a child
process on the other core (``taskset -c 1``), so the server's core is its
own; each step records how much CPU the load itself used, to show it was
not the bottleneck.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .hub_side import ROOT
from .machine import ProcessWatch, sample
from .wrk import run_wrk

BENCH = ROOT / "bench" / "classroom"
LOAD_CPU = "1"


@dataclass
class Target:
    name: str
    url: str
    pid: int
    prefix: list[str] = field(default_factory=list)
    plan_file: Path | None = None


def run_load(target: Target, command: str, *args: str, timeout: float = 900) -> dict:
    """Run one load command against ``target``; return its JSON report."""
    argv = [
        *target.prefix,
        "taskset",
        "-c",
        LOAD_CPU,
        sys.executable,
        str(BENCH),
        command,
        "--url",
        target.url,
    ]
    if target.plan_file is not None:
        argv += ["--plan", str(target.plan_file)]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [*argv, *args, "--out", out.name],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{command} against {target.name} failed:\n{done.stderr[-3000:]}"
            )
        return json.loads(Path(out.name).read_text())


def cold_start(launch, stop, url: str, prefix: list[str], times: int) -> dict:
    """Seconds from starting the server's process to its first answer.

    ``launch`` starts the server and returns the wall-clock time it did;
    a poller already waiting on the other core notes the first answer.
    The last server started is left running.
    """
    took = []
    for attempt in range(times):
        poller = subprocess.Popen(
            [
                *prefix,
                "taskset",
                "-c",
                LOAD_CPU,
                sys.executable,
                str(BENCH),
                "first-answer",
                "--url",
                url,
                "--timeout",
                "300",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)  # the poller's own start-up must not count
        launched = launch()
        out, _ = poller.communicate(timeout=330)
        answered = json.loads(out)["answered_at"]
        if answered is None:
            raise RuntimeError(f"no first answer from {url}")
        took.append(answered - launched)
        if attempt < times - 1:
            stop()
            time.sleep(1)
    took.sort()
    return {
        "runs": [round(value, 3) for value in took],
        "median_s": round(took[len(took) // 2], 3),
    }


def idle(pid: int, settle_s: float, seconds: float) -> dict:
    """RSS once settled, then CPU and bytes written while nobody asks."""
    time.sleep(settle_s)
    rss = sample(pid)["rss_bytes"]
    with ProcessWatch(pid) as watch:
        time.sleep(seconds)
    return {
        "rss_mb": round(rss / 2**20, 1),
        "idle_seconds": watch.figures["seconds"],
        "idle_cpu_s": watch.figures["cpu_s"],
        "idle_written_bytes": watch.figures["written_bytes"],
    }


def raw_rate(
    target: Target, path: str, run_dir: Path, connections: int = 40, seconds: int = 10
) -> dict:
    with ProcessWatch(target.pid) as watch:
        figures = run_wrk(
            target.url + path,
            run_dir,
            connections=connections,
            seconds=seconds,
            cpu=LOAD_CPU,
            prefix=target.prefix,
        )
    figures["server"] = watch.figures
    return figures


def a_class(
    target: Target,
    tablets: int,
    seconds: float,
    video_tablets: int,
    keep_ids: bool = False,
) -> dict:
    args = [
        "--tablets",
        str(tablets),
        "--seconds",
        str(seconds),
        "--video-tablets",
        str(video_tablets),
    ]
    if keep_ids:
        args.append("--ids")
    with ProcessWatch(target.pid) as watch:
        report = run_load(target, "tablets", *args, timeout=seconds + 300)
    report["server"] = watch.figures
    return report


def streams(target: Target, seconds: float, api_path: str) -> dict:
    with ProcessWatch(target.pid) as watch:
        report = run_load(
            target,
            "streams",
            "--seconds",
            str(seconds),
            "--api",
            api_path,
            timeout=seconds + 300,
        )
    report["server"] = watch.figures
    return report


def burst(target: Target, tablets: int, rounds: int) -> dict:
    with ProcessWatch(target.pid) as watch:
        report = run_load(
            target, "burst", "--tablets", str(tablets), "--rounds", str(rounds), "--ids"
        )
    report["server"] = watch.figures
    return report


def stored_once(database: Path, ids: list[str]) -> dict:
    """How many acknowledged ids are on disk once, and how many are not."""
    import sqlite3

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        found = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            found += conn.execute(
                f"SELECT count(*) FROM results WHERE id IN ({marks})", chunk
            ).fetchone()[0]
    finally:
        conn.close()
    return {
        "acknowledged": len(ids),
        "stored": found,
        "missing": len(ids) - found,
        "distinct": len(set(ids)),
    }
