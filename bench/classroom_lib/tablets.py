# SPDX-License-Identifier: AGPL-3.0-or-later
"""A class of tablets: sign in, open a lesson together, answer, send results.

Each tablet is a thread with its own keep-alive connection, as one browser
tab is. They all open the page within ``ramp_s`` of each other (a teacher
says "open the lesson" and 40 children tap at once), fetch the sign-in
pictures, the catalog, the lesson list, the lesson's manifest and every
picture and sound before the first activity (as the learner page does),
then answer at a child's pace and post batches as the page's queue does:
after 5 answers or 10 seconds. Sounds are played with ``Range: bytes=0-``
as a media element asks; a lesson opened again revalidates its files with
``If-None-Match``. Some tablets play the pack's video instead, reading it
at a steady bit rate. Every tablet stops at the deadline and then sends
what it still holds, so every answer given is posted.
"""

from __future__ import annotations

import itertools
import json
import random
import resource
import threading
import time
import uuid
from datetime import UTC, datetime

from .client import Connection, Recorder
from .streams import stream_video

# The learner page's queue: a batch after this many answers or this long.
SEND_AFTER_ANSWERS = 5
SEND_PERIOD_S = 10.0
BATCH_LIMIT = 50
ANSWERS_PER_LESSON = 10

API_NAMES = ("classes", "catalog", "lessons", "manifest", "results")
PAGE_NAMES = ("page", "asset")
MEDIA_NAMES = ("picture", "media", "media_304", "audio_range")


class Tablet(threading.Thread):
    def __init__(self, number: int, plan: dict, base_url: str, options: dict):
        super().__init__(name=f"tablet-{number}", daemon=True)
        self.number = number
        self.plan = plan
        self.options = options
        self.recorder = Recorder()
        self.conn = Connection(base_url, self.recorder)
        self.base_url = base_url
        self.random = random.Random(options["seed"] * 1000 + number)
        self.etags: dict[str, str] = {}
        self.queue: list[dict] = []
        self.accepted: list[str] = []
        self.rejected = 0
        self.answered = 0
        self.stream = None
        self.seq = itertools.count(1)
        self.learner = None
        if plan.get("learners"):
            self.learner = plan["learners"][number % len(plan["learners"])]

    def run(self) -> None:
        try:
            self._session()
        except Exception as error:  # noqa: BLE001 - a bench bug must show, not hang
            self.recorder.error("tablet", repr(error))
        finally:
            self.conn.close()

    def _session(self) -> None:
        options = self.options
        opens = options["start_at"] + self.random.uniform(0, options["ramp_s"])
        self._sleep_until(opens)
        self._get("page", self.plan["page"], expect=(200, 302))
        for asset in self.plan["assets"]:
            self._get("asset", asset)
        self._get("classes", self.plan["classes"])

        if self.number < options["video_tablets"] and self.plan.get("video"):
            video = self.plan["video"]
            self.stream = stream_video(
                self.base_url,
                video["url"],
                video["size"],
                options["video_rate"],
                options["deadline"],
                self.recorder,
            )
            return

        for picture in self.plan["sign_in_pictures"]:
            self._get("picture", picture)
        self._get("catalog", self.plan["catalog"])
        self._get("lessons", self.plan["lessons_list"])

        for number in itertools.count():
            if self._past_deadline():
                break
            lesson = self.plan["lessons"][number % len(self.plan["lessons"])]
            self._open_lesson(lesson)
            self._play_lesson(lesson)
            if not self._past_deadline():
                self._get("lessons", self.plan["lessons_list"])

        # The page keeps sending until its queue is empty.
        for _ in range(5):
            if not self.queue:
                break
            self._send_batch()

    def _open_lesson(self, lesson: dict) -> None:
        self._cached_get("manifest", "manifest", lesson["manifest"])
        for url in lesson["pictures"] + lesson["audio"]:
            self._cached_get("media", "media_304", url)

    def _play_lesson(self, lesson: dict) -> None:
        activities = lesson["activities"]
        last_sent = time.monotonic()
        for turn in range(ANSWERS_PER_LESSON):
            think = self.random.uniform(*self.options["think_s"])
            if not self._sleep_until(time.monotonic() + think):
                return
            activity = activities[turn % len(activities)]
            if activity["type"] != "go_no_go" and lesson["audio"]:
                sound = lesson["audio"][turn % len(lesson["audio"])]
                self._get(
                    "audio_range", sound, headers={"Range": "bytes=0-"}, expect=(206,)
                )
            self.queue.append(self._answer(lesson, activity, turn))
            self.answered += 1

            waited = time.monotonic() - last_sent
            if len(self.queue) >= SEND_AFTER_ANSWERS or waited >= SEND_PERIOD_S:
                self._send_batch()
                last_sent = time.monotonic()

    def _answer(self, lesson: dict, activity: dict, turn: int) -> dict:
        words = activity["words"] or ["horse"]
        item = words[turn % len(words)]
        response = self.random.choice(words)
        go_no_go = activity["type"] == "go_no_go"
        return {
            "id": str(uuid.uuid4()),
            "learner_id": self.learner,
            "pack_id": lesson["pack_id"],
            "pack_version": lesson["pack_version"],
            "lesson_id": lesson["lesson_id"],
            "activity_id": activity["id"],
            "activity_type": activity["type"],
            "language": activity["language"],
            "item": item,
            "response": ("tap" if turn % 4 else "no_tap") if go_no_go else response,
            "correct": response == item,
            "reaction_ms": self.random.randint(400, 6000),
            "answered_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tablet_seq": next(self.seq),
        }

    def _send_batch(self) -> None:
        batch = self.queue[:BATCH_LIMIT]
        if self.plan["results"] is None:
            # Kolibri takes no anonymous results: one API call stands in.
            self._get("results", self.plan["classes"])
            del self.queue[: len(batch)]
            return

        body = json.dumps({"tablet_id": f"t-bench-{self.number}", "results": batch})
        answer = self.conn.fetch(
            "results", self.plan["results"], method="POST", body=body.encode()
        )
        if answer is None:
            return
        settled = json.loads(answer[2])
        self.accepted.extend(settled["accepted"])
        self.rejected += len(settled["rejected"])
        done = set(settled["accepted"]) | {item["id"] for item in settled["rejected"]}
        self.queue = [record for record in self.queue if record["id"] not in done]

    def _cached_get(self, first_name: str, again_name: str, url: str) -> None:
        etag = self.etags.get(url)
        if etag is None:
            answer = self._get(first_name, url)
        else:
            answer = self._get(
                again_name, url, headers={"If-None-Match": etag}, expect=(304, 200)
            )
        if answer is not None and answer[1].getheader("ETag"):
            self.etags[url] = answer[1].getheader("ETag")

    def _get(self, name, url, headers=None, expect=(200,)):
        return self.conn.fetch(name, url, headers=headers, expect=expect)

    def _past_deadline(self) -> bool:
        return time.monotonic() >= self.options["deadline"]

    def _sleep_until(self, moment: float) -> bool:
        """Sleep until ``moment``; False when the deadline comes first."""
        deadline = self.options["deadline"]
        time.sleep(max(0.0, min(moment, deadline) - time.monotonic()))
        return moment < deadline


def run_class(
    base_url: str,
    plan: dict,
    tablets: int,
    seconds: float,
    video_tablets: int = 0,
    video_rate: int = 200_000,
    think_s=(3.0, 9.0),
    ramp_s: float = 1.0,
    seed: int = 1,
) -> dict:
    """Run ``tablets`` tablets for ``seconds``; return the figures and ids."""
    cpu_before = _cpu_seconds()
    started = time.monotonic()
    options = {
        "start_at": started,
        "deadline": started + seconds,
        "ramp_s": ramp_s,
        "think_s": think_s,
        "video_tablets": video_tablets,
        "video_rate": video_rate,
        "seed": seed,
    }
    crowd = [Tablet(number, plan, base_url, options) for number in range(tablets)]
    for tablet in crowd:
        tablet.start()
    # Bounded: the deadline, then the last batches, then give up.
    for tablet in crowd:
        tablet.join(timeout=max(1.0, options["deadline"] - time.monotonic()) + 60)
    elapsed = time.monotonic() - started

    merged = Recorder()
    for tablet in crowd:
        merged.merge(tablet.recorder)
    accepted = [result_id for tablet in crowd for result_id in tablet.accepted]
    streams = [tablet.stream for tablet in crowd if tablet.stream is not None]
    cpu = _cpu_seconds() - cpu_before
    return {
        "scenario": "class",
        "target": plan["target"],
        "tablets": tablets,
        "video_tablets": video_tablets,
        "seconds": round(elapsed, 2),
        "endpoints": merged.summary(elapsed),
        "groups": _groups(merged, elapsed),
        "error_samples": merged.error_samples,
        "answers": sum(tablet.answered for tablet in crowd),
        "results_accepted": len(accepted),
        "results_rejected": sum(tablet.rejected for tablet in crowd),
        "results_unsent": sum(len(tablet.queue) for tablet in crowd),
        "still_running": sum(tablet.is_alive() for tablet in crowd),
        "streams": streams,
        "generator_cpu_s": round(cpu, 2),
        "generator_cpu_share": round(cpu / elapsed, 3),
        "accepted_ids": accepted,
    }


def _groups(recorder: Recorder, seconds: float) -> dict:
    """API calls and pages together, and media, as the targets count them."""
    groups = {}
    for group, names in (
        ("api_and_pages", API_NAMES + PAGE_NAMES),
        ("media", MEDIA_NAMES),
    ):
        part = Recorder()
        for name in names:
            part.latencies[name] = recorder.latencies.get(name, [])
            part.errors[name] = recorder.errors.get(name, 0)
            part.bytes[name] = recorder.bytes.get(name, 0)
        groups[group] = part.summary(seconds)["all"]
    return groups


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
