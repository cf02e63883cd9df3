# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub under test: a data folder like a school's after years, and a server.

The template folder is built once and kept under ``.bench-cache/``: the
bundled packs, a video pack (random bytes named ``.mp4``: the bench measures
bytes moved, not playback), a class of 40 learners, and a million results
already stored, as a hub has after a few years. Each run copies it, so no
run sees another's writes. The results are inserted with ``sqlite3``
directly (the hub's own path fsyncs every batch and would take minutes);
the hub is then started once on the copy so that it builds its indexes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from .server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
HUB_PYTHON = ROOT / ".venv" / "bin" / "python"
BUNDLED = ROOT / "content_packs"
STAMP = "bench-template.json"
CLASS_NAME = "Bench 1A"
LEARNERS = 40
VIDEO_PACK = "bench-video"


def hub_env() -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLASSROOM_HUB_")
    }
    # Never advertise on the machine's real network from a benchmark.
    env["CLASSROOM_HUB_DISCOVERY_ENABLED"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _hub_cli(data_dir: Path, *args: str) -> None:
    subprocess.run(
        [str(HUB_PYTHON), "-m", "hub", "--data-dir", str(data_dir), *args],
        check=True,
        cwd=ROOT,
        env=hub_env(),
        stdout=subprocess.DEVNULL,
    )


def template(cache: Path, results: int, video_mb: int) -> Path:
    """The prepared data folder, built now unless a matching one is kept."""
    folder = cache / f"hub-{results}"
    wanted = {
        "results": results,
        "video_mb": video_mb,
        "learners": LEARNERS,
        "format": 1,
        "packs": _bundled_digest(),
    }
    stamp = folder / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return folder / "data"

    shutil.rmtree(folder, ignore_errors=True)
    data_dir = folder / "data"
    packs = sorted(str(p) for p in BUNDLED.iterdir() if (p / "pack.json").exists())
    video = _video_pack(folder / "video-pack", video_mb)
    print(f"preparing the hub's data folder in {folder} (once)", file=sys.stderr)
    _hub_cli(data_dir, "install-pack", *packs, str(video))
    learners = _add_class(data_dir)
    _fill_results(data_dir / "results.sqlite3", learners, results)
    shutil.rmtree(folder / "video-pack")

    # The first start builds the teacher pages' indexes over the results.
    server = HubServer(data_dir)
    server.start()
    server.stop()
    stamp.write_text(json.dumps(wanted))
    return data_dir


def _bundled_digest() -> str:
    """Changes when a bundled pack does, so that the template is rebuilt."""
    digest = hashlib.sha256()
    for manifest in sorted(BUNDLED.glob("*/pack.json")):
        digest.update(manifest.parent.name.encode())
        digest.update(manifest.read_bytes())
    return digest.hexdigest()[:16]


def _video_pack(folder: Path, video_mb: int) -> Path:
    media = folder / "media" / "video"
    media.mkdir(parents=True)
    digest = hashlib.sha256()
    with open(media / "story.mp4", "wb") as handle:
        for _ in range(video_mb):
            block = os.urandom(2**20)
            digest.update(block)
            handle.write(block)
    manifest = {
        "format": 1,
        "id": VIDEO_PACK,
        "version": "1.0.0",
        "kind": "guide",
        "title": {"en": "Benchmark video", "mn": "Туршилтын видео"},
        "languages": ["mn", "en"],
        "age_range": [3, 8],
        "license": "CC0-1.0",
        "attribution": [],
        "guides": [
            {
                "id": "watch",
                "title": {"en": "Watch"},
                "sections": [
                    {
                        "heading": {"en": "Watch"},
                        "paragraphs": {"en": ["A video."]},
                        "minutes": 1,
                    }
                ],
            }
        ],
        "files": [
            {
                "path": "media/video/story.mp4",
                "size": video_mb * 2**20,
                "sha256": digest.hexdigest(),
            }
        ],
    }
    (folder / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False))
    return folder


def _add_class(data_dir: Path) -> list[str]:
    """A class of LEARNERS children with their pictures, via the hub's state."""
    script = (
        "import json, sys\n"
        "from hub.state import HubState\n"
        "from hub.pictures import all_pictures\n"
        "state = HubState(sys.argv[1])\n"
        "group = state.add_class(sys.argv[2])\n"
        "pictures = all_pictures()\n"
        "ids = [state.add_learner(group['id'], f'Child {n + 1}',\n"
        "       pictures[n % len(pictures)])['id'] for n in range(int(sys.argv[3]))]\n"
        "state.close()\n"
        "print(json.dumps(ids))\n"
    )
    done = subprocess.run(
        [
            str(HUB_PYTHON),
            "-c",
            script,
            str(data_dir / "hub.json"),
            CLASS_NAME,
            str(LEARNERS),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def _fill_results(database: Path, learners: list[str], count: int) -> None:
    """``count`` results, all but the last thousand already synced."""
    import sqlite3

    conn = sqlite3.connect(database)
    conn.execute("PRAGMA synchronous = OFF")
    columns = (
        "id, learner_id, pack_id, pack_version, lesson_id, activity_id, "
        "activity_type, language, item, response, correct, reaction_ms, "
        "answered_at, tablet_seq, tablet_id, received_at, clock_trusted, "
        "status"
    )
    words = ("horse", "cow", "camel", "sheep", "goat")
    rows = (
        (
            str(uuid.uuid4()),
            learners[n % len(learners)],
            "vocab-early-mn-en",
            "1.0.0",
            "herd-animals",
            "herd-animals-listen-en",
            "listen_choose",
            "en",
            words[n % 5],
            words[(n * 7) % 5],
            int(n % 5 == (n * 7) % 5),
            500 + n % 5000,
            "2025-03-04T09:00:00.000+08:00",
            n,
            f"t-{n % 40}",
            "2025-03-04T09:00:01.000+08:00",
            1,
            0 if n >= count - 1000 else 1,
        )
        for n in range(count)
    )
    with conn:
        conn.executemany(
            f"INSERT INTO results ({columns}) VALUES ({', '.join('?' * 18)})", rows
        )
    conn.close()


def copy_template(source: Path, run_dir: Path) -> Path:
    target = run_dir / "hub-data"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HubServer(ServerProcess):
    """``classroom-hub serve`` on 127.0.0.1, optionally inside ``PiLimits``."""

    stop_grace_s = 20

    def __init__(self, data_dir: Path, limits=None, env: dict | None = None):
        self.data_dir = Path(data_dir)
        self.limits = limits
        self.env = env or {}
        self.port = free_port()
        self.process = None
        self.log_path = self.data_dir.parent / "hub-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        argv = [
            str(HUB_PYTHON),
            "-m",
            "hub",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        return self.limits.wrap("hub", argv) if self.limits else argv

    def launch(self) -> float:
        """Start the process; return the wall-clock time it was started."""
        with open(self.log_path, "ab") as log:
            launched = time.time()
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                stdout=log,
                stderr=log,
                env={**hub_env(), **self.env},
            )
        return launched

    def start(self, timeout: float = 60) -> HubServer:
        self.launch()
        wait_for_answer(f"{self.url}/api/v1/info", timeout, self.process)
        return self


def wait_for_answer(url: str, timeout: float, process=None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited early ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                answer.read()
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no answer from {url} in {timeout:.0f} s")
