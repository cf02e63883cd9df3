#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Benchmark: storing results as history grows, and the server's idle memory.

Run by hand (it takes a few minutes and ~300 MB of disk):

    .venv/bin/python bench/results_store.py [--rows 1000000] [--json]

It fills a fresh results store in a temporary folder to 1,000, 100,000 and
1,000,000 results, and at each level times batches of 10 as tablets send
them, each fsynced. It then starts the real hub on that folder and reads its
resident memory once it idles. Figures go to docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.results import ResultStore  # noqa: E402


def result(learner_id: str, seq: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "learner_id": learner_id,
        "pack_id": "vocab-early-mn-en",
        "pack_version": "1.0.0",
        "lesson_id": "herd-animals",
        "activity_id": "herd-animals-listen-en",
        "activity_type": "listen_choose",
        "language": "en",
        "item": "horse",
        "response": "cow",
        "correct": seq % 3 == 0,
        "reaction_ms": 900 + seq % 2000,
        "answered_at": "2026-12-04T09:00:00.000+08:00",
        "tablet_seq": seq,
    }


def fill(store: ResultStore, learners: list[str], upto: int, state: dict) -> None:
    while state["count"] < upto:
        size = min(500, upto - state["count"])
        batch = [
            result(learners[(state["count"] + i) % len(learners)], state["count"] + i)
            for i in range(size)
        ]
        store.add_batch(batch, lambda _learner: True)
        state["count"] += size


def time_batches(store, learners, batches: int, state: dict) -> dict:
    took = []
    for number in range(batches):
        batch = [
            result(learners[number % len(learners)], state["count"] + i)
            for i in range(10)
        ]
        started = time.perf_counter()
        answer = store.add_batch(batch, lambda _learner: True)
        took.append(time.perf_counter() - started)
        assert len(answer.accepted) == 10
        state["count"] += 10
    per_result_ms = statistics.median(took) / 10 * 1000
    return {
        "stored_before": state["count"] - batches * 10,
        "batch_p50_ms": round(statistics.median(took) * 1000, 2),
        "batch_p95_ms": round(sorted(took)[int(len(took) * 0.95)] * 1000, 2),
        "per_result_ms": round(per_result_ms, 3),
        "results_per_s": round(10 / statistics.median(took)),
    }


def idle_rss_mb(data_dir: Path) -> float:
    ready = data_dir.parent / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not ready.exists() or not ready.read_text():
            time.sleep(0.05)
        port = json.loads(ready.read_text())["port"]
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/info").read()
        time.sleep(2)
        status = Path(f"/proc/{process.pid}/status").read_text()
        kb = next(
            int(l.split()[1]) for l in status.splitlines() if l.startswith("VmRSS")
        )
        return round(kb / 1024, 1)
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        store = ResultStore(data_dir / "results.sqlite3")
        learners = [f"l-{i:012x}" for i in range(500)]
        state = {"count": 0}
        levels = []
        for level in (1_000, 100_000, args.rows):
            fill(store, learners, level, state)
            levels.append(time_batches(store, learners, args.batches, state))
        store.close()
        size_mb = (data_dir / "results.sqlite3").stat().st_size / 1e6
        rss = idle_rss_mb(data_dir)

    report = {
        "levels": levels,
        "ratio_last_to_first": round(
            levels[-1]["per_result_ms"] / levels[0]["per_result_ms"], 2
        ),
        "database_mb": round(size_mb, 1),
        "idle_rss_mb": rss,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("stored before | batch p50 ms | batch p95 ms | per result ms | results/s")
    for row in levels:
        print(
            f"{row['stored_before']:>13,} | {row['batch_p50_ms']:>12} | "
            f"{row['batch_p95_ms']:>12} | {row['per_result_ms']:>13} | "
            f"{row['results_per_s']:>9}"
        )
    print(
        f"cost at {levels[-1]['stored_before']:,} / at 1,000: "
        f"{report['ratio_last_to_first']}x"
    )
    print(f"database: {report['database_mb']} MB; idle server RSS: {rss} MB")


if __name__ == "__main__":
    main()
