# SPDX-License-Identifier: AGPL-3.0-or-later
"""Every tablet of a class sending a batch of results at the same moment.

This happens at the end of an activity, when the whole class finishes
together. Each round releases every tablet at once (a barrier), each posts
one batch of ``batch`` new results and waits for the answer; the next round
starts after a short pause. The ids the hub accepted are returned, so the
caller can check that each is stored exactly once.
"""

from __future__ import annotations

import json
import resource
import threading
import time
import uuid
from datetime import UTC, datetime

from .client import Connection, Recorder


def run_burst(
    base_url: str,
    plan: dict,
    tablets: int = 40,
    batch: int = 10,
    rounds: int = 20,
    pause_s: float = 0.5,
) -> dict:
    cpu_before = _cpu_seconds()
    barrier = threading.Barrier(tablets + 1, timeout=120)
    recorders = [Recorder() for _ in range(tablets)]
    accepted: list[list[str]] = [[] for _ in range(tablets)]
    lesson = plan["lessons"][0]
    activity = lesson["activities"][0]

    def tablet(number):
        conn = Connection(base_url, recorders[number])
        learner = plan["learners"][number % len(plan["learners"])]
        try:
            for round_number in range(rounds):
                records = [
                    _record(learner, lesson, activity, round_number * batch + i)
                    for i in range(batch)
                ]
                body = json.dumps(
                    {"tablet_id": f"t-burst-{number}", "results": records}
                ).encode()
                barrier.wait()
                answer = conn.fetch(
                    "results_burst", plan["results"], method="POST", body=body
                )
                if answer is not None:
                    accepted[number].extend(json.loads(answer[2])["accepted"])
                barrier.wait()
        except threading.BrokenBarrierError:
            recorders[number].error("results_burst", "the round never finished")
        finally:
            conn.close()

    threads = [
        threading.Thread(target=tablet, args=(n,), daemon=True) for n in range(tablets)
    ]
    for thread in threads:
        thread.start()
    round_seconds = []
    try:
        for _ in range(rounds):
            time.sleep(pause_s)
            barrier.wait()
            began = time.perf_counter()
            barrier.wait()
            round_seconds.append(time.perf_counter() - began)
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join(timeout=30)

    merged = Recorder()
    for recorder in recorders:
        merged.merge(recorder)
    busy = sum(round_seconds)
    ids = [result_id for found in accepted for result_id in found]
    row = merged.summary(busy)["results_burst"] if merged.latencies else {}
    return {
        "scenario": "results_burst",
        "tablets": tablets,
        "batch": batch,
        "rounds": rounds,
        "latency": row,
        "errors": sum(merged.errors.values()),
        "error_samples": merged.error_samples,
        "results_accepted": len(ids),
        "results_per_s": round(len(ids) / busy) if busy else 0,
        "round_p50_ms": round(sorted(round_seconds)[len(round_seconds) // 2] * 1000, 1)
        if round_seconds
        else 0,
        "generator_cpu_s": round(_cpu_seconds() - cpu_before, 2),
        "accepted_ids": ids,
    }


def _record(learner: str, lesson: dict, activity: dict, seq: int) -> dict:
    words = activity["words"] or ["horse"]
    return {
        "id": str(uuid.uuid4()),
        "learner_id": learner,
        "pack_id": lesson["pack_id"],
        "pack_version": lesson["pack_version"],
        "lesson_id": lesson["lesson_id"],
        "activity_id": activity["id"],
        "activity_type": activity["type"],
        "language": activity["language"],
        "item": words[seq % len(words)],
        "response": words[(seq + 1) % len(words)],
        "correct": False,
        "reaction_ms": 1000 + seq % 3000,
        "answered_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "tablet_seq": seq + 1,
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
