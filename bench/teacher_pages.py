#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Benchmark: the teacher pages with 500 learners and 1,000,000 results.

Run by hand (about ten minutes and ~700 MB of disk):

    .venv/bin/python bench/teacher_pages.py [--results 1000000] [--json]

It installs the bundled packs into a fresh data folder, adds 500 learners
in 14 classes and fills the results store as a year of tablets would
(2,000 answers per learner across the eight lessons: listen-and-choose,
flashcards and go/no-go), most already confirmed by the LRS. It then starts
the real hub on that folder, timing the first start (which builds the
teacher pages' indexes), signs a teacher in over HTTP and times each page
and CSV export, as a phone on the LAN would fetch it. Figures go to
docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.results import ResultStore  # noqa: E402
from hub.state import HubState  # noqa: E402

LEARNERS = 500
CLASS_SIZE = 36
RUNS = 20
PASSWORD = "bench-password"


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "hub", "--data-dir", str(data_dir), *args],
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )


def add_learners(data_dir: Path) -> dict[str, list[str]]:
    """Class id -> its learners' ids: 500 learners in classes of 36."""
    state = HubState(data_dir / "hub.json")
    classes: dict[str, list[str]] = {}
    for number in range(LEARNERS):
        if number % CLASS_SIZE == 0:
            group = state.add_class(f"Анги {number // CLASS_SIZE + 1}")
            classes[group["id"]] = []
        learner = state.add_learner(group["id"], f"Хүүхэд {number + 1}", "horse")
        classes[group["id"]].append(learner["id"])
    state.close()
    return classes


def lesson_plan(data_dir: Path) -> list[tuple]:
    manifest = json.loads(
        next((data_dir / "packs").glob("vocab-early-mn-en/*/pack.json")).read_text()
    )
    plan = []
    for lesson in manifest["lessons"]:
        for activity in lesson["activities"]:
            plan.append((manifest["id"], manifest["version"], lesson["id"], activity))
    return plan


def answer(learner_id: str, seq: int, plan: list, rng: random.Random) -> dict:
    pack_id, version, lesson_id, activity = plan[(seq // 40) % len(plan)]
    words = activity["words"]
    item = rng.choice(words)
    kind = activity["type"]
    correct = None if kind == "flashcards" else rng.random() < 0.75
    if kind == "listen_choose":
        response = item if correct else rng.choice(words)
    elif kind == "go_no_go":
        response = "tap" if rng.random() < 0.6 else "no_tap"
    else:
        response = "next"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "learner_id": learner_id,
        "pack_id": pack_id,
        "pack_version": version,
        "lesson_id": lesson_id,
        "activity_id": activity["id"],
        "activity_type": kind,
        "language": activity.get("language"),
        "item": item,
        "response": response,
        "correct": correct,
        "reaction_ms": rng.randint(300, 6000),
        "answered_at": "2026-12-04T09:00:00.000+08:00",
        "tablet_seq": seq,
    }


def fill(data_dir: Path, learners: list[str], total: int) -> float:
    """Store ``total`` answers, learners taking turns as in a class."""
    rng = random.Random(4)
    plan = lesson_plan(data_dir)
    store = ResultStore(data_dir / "results.sqlite3")
    started = time.monotonic()
    per_learner = total // len(learners)
    batch = []
    for seq in range(per_learner):
        for learner_id in learners:
            batch.append(answer(learner_id, seq, plan, rng))
            if len(batch) == 500:
                store.add_batch(batch, known_learner=lambda _id: True)
                batch = []
    if batch:
        store.add_batch(batch, known_learner=lambda _id: True)
    store.close()

    # Most of a year's answers have reached the LRS; the newest tenth waits.
    import sqlite3

    conn = sqlite3.connect(data_dir / "results.sqlite3")
    with conn:
        conn.execute("UPDATE results SET status = 1 WHERE seq <= ?", [int(total * 0.9)])
    conn.close()
    return time.monotonic() - started


class Hub:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.ready = data_dir.parent / "ready.json"
        self.process = None
        self.port = None

    def start(self) -> float:
        started = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--ready-file",
                str(self.ready),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        while not self.ready.exists() or not self.ready.read_text():
            if self.process.poll() is not None:
                raise SystemExit("the hub exited during start")
            time.sleep(0.05)
        self.port = json.loads(self.ready.read_text())["port"]
        return time.monotonic() - started

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        self.ready.unlink(missing_ok=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def sign_in(hub: Hub) -> requests.Session:
    session = requests.Session()
    page = session.get(hub.url("/teacher/sign-in")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = session.post(
        hub.url("/teacher/sign-in"),
        data={"csrf_token": token, "name": "Bench", "password": PASSWORD},
    )
    answer.raise_for_status()
    return session


def time_page(session, url: str) -> dict:
    times = []
    size = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        answer = session.get(url)
        times.append(time.perf_counter() - started)
        answer.raise_for_status()
        size = len(answer.content)
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="fill this folder once and keep it; later runs reuse it as it is",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="teacher-bench-") as tmp:
        data_dir = (args.keep or Path(tmp)) / "data"
        if (data_dir / "bench.json").exists():
            kept = json.loads((data_dir / "bench.json").read_text())
            classes, fill_s = kept["classes"], kept["fill_s"]
        else:
            packs = sorted(
                p
                for p in (ROOT / "content_packs").iterdir()
                if (p / "pack.json").exists()
            )
            cli(data_dir, "install-pack", *map(str, packs))
            classes = add_learners(data_dir)
            learners = [learner for group in classes.values() for learner in group]
            fill_s = fill(data_dir, learners, args.results)
            cli(data_dir, "add-teacher", "Bench", "--password-stdin", stdin=PASSWORD)
            (data_dir / "bench.json").write_text(
                json.dumps({"classes": classes, "fill_s": fill_s})
            )
        learners = [learner for group in classes.values() for learner in group]

        hub = Hub(data_dir)
        first_start_s = hub.start()
        hub.stop()
        second_start_s = hub.start()
        try:
            session = sign_in(hub)
            class_id = next(iter(classes))
            learner_id = classes[class_id][0]
            progress = f"/teacher/classes/{class_id}/progress"
            learner = f"/teacher/learners/{learner_id}"
            pages = {
                "hub at a glance": "/teacher/",
                "classes (14)": "/teacher/classes",
                "class of 36: learners": f"/teacher/classes/{class_id}",
                "class of 36: lessons": f"/teacher/classes/{class_id}/lessons",
                "class of 36: progress grid, chart, hard words": progress,
                "class grid as CSV": f"{progress}?export=csv&table=grid",
                "hard words as CSV": f"{progress}?export=csv&table=words",
                "learner: lessons, chart, last 50 answers": learner,
                "learner: all 2,000 answers as CSV": f"{learner}?export=csv",
                "guides": "/teacher/guides",
            }
            figures = {
                name: time_page(session, hub.url(path)) for name, path in pages.items()
            }
            size = (data_dir / "results.sqlite3").stat().st_size
        finally:
            hub.stop()

    report = {
        "results": args.results,
        "learners": len(learners),
        "fill_s": round(fill_s, 1),
        "first_start_s": round(first_start_s, 2),
        "second_start_s": round(second_start_s, 2),
        "results_file_bytes": size,
        "pages": figures,
        "cpu": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    print(
        f"{report['results']:,} results, {report['learners']} learners; "
        f"first start {report['first_start_s']} s (builds indexes), "
        f"next start {report['second_start_s']} s; "
        f"results file {size / 2**20:.0f} MiB"
    )
    print("| page | median | slowest of 20 | size |")
    print("| --- | --- | --- | --- |")
    for name, figure in figures.items():
        print(
            f"| {name} | {figure['median_ms']} ms | {figure['max_ms']} ms | "
            f"{figure['bytes'] / 1024:.0f} KiB |"
        )


if __name__ == "__main__":
    main()
