#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Benchmark: results pushed to a real Ralph LRS, and bytes on the wire each.

Run by hand (about a minute; needs .venv-ralph from scripts/setup-test-lrs):

    .venv/bin/python bench/sync_push.py [--results 3000] [--json]

For each batch size it fills a fresh results store, pushes everything to a
Ralph LRS on 127.0.0.1 through the tests' counting proxy, and reports
statements per second and bytes on the wire per result (both ways, HTTP
heads included; TLS would add a little). It then asks Ralph to take a
gzip-compressed POST (xAPI does not define Content-Encoding) and reports
what gzip would save. Figures go to the Sync section of docs/performance.md
by hand.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.config import load_settings  # noqa: E402
from hub.result_push import encode, push_results  # noqa: E402
from hub.results import ResultStore  # noqa: E402
from hub.uplink import Uplink  # noqa: E402
from hub.xapi import statement_for  # noqa: E402
from tests.support.faultproxy import FaultProxy  # noqa: E402
from tests.support.lrs import RalphLRS  # noqa: E402
from tests.support.tablet import make_result  # noqa: E402

HUB_ID = "3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f"


WORDS = ("horse", "cow", "camel", "sheep", "goat", "yak", "dog", "cat")
LEARNERS = [f"l-{n:012x}" for n in range(30)]


def fill(store: ResultStore, count: int) -> None:
    """A class's answers: 30 learners, varied words, answers and times."""
    rng = random.Random(count)
    for start in range(0, count, 500):
        records = []
        for _ in range(min(500, count - start)):
            item, response = rng.choice(WORDS), rng.choice(WORDS)
            minute, second = rng.randint(0, 59), rng.randint(0, 59)
            records.append(
                make_result(
                    rng.choice(LEARNERS),
                    item=item,
                    response=response,
                    correct=item == response,
                    reaction_ms=rng.randint(400, 9000),
                    answered_at=f"2026-12-04T09:{minute:02d}:{second:02d}"
                    f".{rng.randint(0, 999):03d}+08:00",
                )
            )
        store.add_batch(records, known_learner=lambda _: True)


def push_once(lrs, folder: Path, count: int, batch: int) -> dict:
    store = ResultStore(folder / f"results-{batch}.sqlite3")
    fill(store, count)
    with FaultProxy(lrs.url) as proxy:
        settings = load_settings(
            environ={},
            DATA_DIR=str(folder),
            LRS_URL=proxy.url,
            LRS_USERNAME=lrs.username,
            LRS_PASSWORD=lrs.password,
            SYNC_BATCH_SIZE=batch,
            SYNC_RETRIES=0,
        )
        uplink = Uplink(settings)
        started = time.perf_counter()
        report = push_results(store, HUB_ID, settings, uplink=uplink)
        seconds = time.perf_counter() - started
        uplink.close()
        wire = proxy.bytes_from_client + proxy.bytes_to_client
        requests_made = len(proxy.exchanges)
    store.close()
    assert report.ok and report.confirmed == count, report
    return {
        "batch": batch,
        "results": count,
        "requests": requests_made,
        "seconds": round(seconds, 2),
        "statements_per_s": round(count / seconds),
        "wire_bytes_per_result": round(wire / count),
        "metered_bytes_per_result": round(uplink.meter.used / count),
    }


def gzip_check(lrs, folder: Path) -> dict:
    store = ResultStore(folder / "gzip.sqlite3")
    fill(store, 200)
    settings = load_settings(environ={})
    statements = [statement_for(r, HUB_ID, settings) for r in store.pending(200)]
    store.close()
    body = encode(statements)
    packed = gzip.compress(body)
    answer = requests.post(
        lrs.url + "statements",
        data=packed,
        auth=(lrs.username, lrs.password),
        headers={
            "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
        timeout=30,
    )
    return {
        "body_bytes_per_statement": round(len(body) / len(statements)),
        "gzip_bytes_per_statement": round(len(packed) / len(statements)),
        "ralph_answer_to_gzip": answer.status_code,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=3000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, RalphLRS(Path(folder) / "lrs") as lrs:
        rows = [
            push_once(lrs, Path(folder), args.results, batch)
            for batch in (50, 200, 500)
        ]
        compression = gzip_check(lrs, Path(folder))

    if args.json:
        print(json.dumps({"push": rows, "gzip": compression}, indent=2))
        return 0
    print("| batch | results | requests | seconds | statements/s | wire bytes/result |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['batch']} | {row['results']} | {row['requests']} | "
            f"{row['seconds']} | {row['statements_per_s']} | "
            f"{row['wire_bytes_per_result']} (metered "
            f"{row['metered_bytes_per_result']}) |"
        )
    print()
    print(
        f"statement body {compression['body_bytes_per_statement']} bytes, gzip "
        f"{compression['gzip_bytes_per_statement']} bytes; Ralph answers "
        f"{compression['ralph_answer_to_gzip']} to a gzip POST"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
