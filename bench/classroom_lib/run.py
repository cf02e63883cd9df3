# SPDX-License-Identifier: AGPL-3.0-or-later
"""The whole comparison: the hub, then Kolibri, then nginx, in one run.

Every server runs Pi-sized (one core, bounded memory; see ``PiLimits``)
and every load runs on the other core. The run's figures go to a JSON file
under ``.bench-runs/`` and its table, with the ratios and targets, to
stdout. Each step is bounded in time; a failed peer is reported and the
rest of the run goes on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from . import scenarios
from .hub_side import ROOT, HubServer, copy_template, template
from .kolibri import (
    CHEAPEST_API,
    Kolibri,
    in_namespace,
    make_namespace,
    remove_namespace,
)
from .machine import PiLimits, describe_machine, ensure_debian_packages, sample
from .nginx import Nginx
from .plan import kolibri_plan, media_paths, read_plan
from .report import render

SMALL_FILE = "/packs/vocab-early-mn-en/1.0.0/media/pictures/horse.svg"
HUB_API = ("/api/v1/classes", "/api/v1/info")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    compare = [name for name in args.compare.split(",") if name]
    run_dir = ROOT / ".bench-runs" / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    limits = PiLimits(cpu="0", memory_max=args.memory_max)

    notes = ensure_debian_packages(
        {
            "wrk": "wrk",
            "nginx": "nginx-light",
            "taskset": "util-linux",
            "ip": "iproute2",
        }
    )
    kolibri = Kolibri()
    if "kolibri" in compare:
        notes += kolibri.install()

    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "command": "bench/classroom " + " ".join(argv),
        "machine": describe_machine(ROOT),
        "limits": limits.describe(),
        "load_cpu": "taskset -c 1 (wrk and the Python load generator)",
        "settings": vars(args),
        "notes": notes,
    }
    started = time.monotonic()
    try:
        source = template(ROOT / ".bench-cache", args.results, args.video_mb)
        data_dir = copy_template(source, run_dir)
        report["hub"] = measure_hub(data_dir, run_dir, limits, args)
        plan = json.loads((run_dir / "plan-hub.json").read_text())
        if "kolibri" in compare:
            report["kolibri"] = _guarded(
                measure_kolibri, kolibri, plan, data_dir, run_dir, limits, args
            )
        if "nginx" in compare:
            report["nginx"] = _guarded(
                measure_nginx, data_dir, run_dir, limits, args, plan
            )
    finally:
        limits.cleanup()
        remove_namespace()
        if not args.keep_data:
            # A copy of the template: hundreds of MB per run.
            shutil.rmtree(run_dir / "hub-data", ignore_errors=True)
    report["run_minutes"] = round((time.monotonic() - started) / 60, 1)
    report["load_average_after"] = describe_machine(ROOT)["load_average"]

    out = Path(args.out) if args.out else run_dir / "classroom.json"
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(render(report))
    print(f"\nfigures: {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/classroom",
        description="A class of tablets against the hub, Kolibri and nginx, "
        "each Pi-sized, in one run. Load commands (tablets, streams, burst, "
        "plan, first-answer) run one load alone: bench/classroom tablets -h.",
    )
    parser.add_argument(
        "--tablets", type=int, default=40, help="tablets in the class run (default 40)"
    )
    parser.add_argument(
        "--compare",
        default="kolibri,nginx",
        help="peers to run beside the hub: kolibri,nginx or ''",
    )
    parser.add_argument(
        "--sweep", default="10,20,40,80", help="class sizes for the latency chart"
    )
    parser.add_argument(
        "--seconds", type=float, default=60, help="length of each class run"
    )
    parser.add_argument("--stream-seconds", type=float, default=60)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--burst-rounds", type=int, default=20)
    parser.add_argument(
        "--results",
        type=int,
        default=1_000_000,
        help="results already stored in the hub",
    )
    parser.add_argument("--video-mb", type=int, default=64)
    parser.add_argument(
        "--memory-max",
        default="512M",
        help="memory bound of each server (a Pi 3 has 1 GB)",
    )
    parser.add_argument(
        "--hub-env",
        action="append",
        default=[],
        help="KEY=VALUE for the hub's environment (settings)",
    )
    parser.add_argument("--out", help="JSON file (default in .bench-runs/)")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the run's copy of the hub's data folder",
    )
    return parser


def _sizes(args) -> list[int]:
    sizes = sorted(
        {int(size) for size in args.sweep.split(",") if size} | {args.tablets}
    )
    return sizes


def _video_tablets(tablets: int) -> int:
    """One tablet in ten plays the video instead of the lesson."""
    return max(1, tablets // 10)


def measure_hub(data_dir: Path, run_dir: Path, limits: PiLimits, args) -> dict:
    env = dict(item.split("=", 1) for item in args.hub_env)
    server = HubServer(data_dir, limits, env)
    figures: dict = {"env": env}
    try:
        figures["cold_start"] = scenarios.cold_start(
            server.launch,
            server.stop,
            f"{server.url}/api/v1/info",
            [],
            args.cold_starts,
        )
        figures["idle"] = scenarios.idle(server.pid, 5, args.idle_seconds)

        plan = read_plan(server.url)
        plan_file = run_dir / "plan-hub.json"
        plan_file.write_text(json.dumps(plan, ensure_ascii=False))
        target = scenarios.Target("hub", server.url, server.pid, [], plan_file)

        figures["wrk"] = {}
        for path in (*HUB_API, SMALL_FILE):
            figures["wrk"][path] = scenarios.raw_rate(
                target, path, run_dir, seconds=args.wrk_seconds
            )
        figures["wrk"]["large"] = scenarios.raw_rate(
            target,
            plan["video"]["url"],
            run_dir,
            connections=1,
            seconds=args.wrk_seconds,
        )

        figures["classes"] = {}
        ids = []
        for size in _sizes(args):
            run = scenarios.a_class(
                target, size, args.seconds, _video_tablets(size), keep_ids=True
            )
            ids += run.pop("accepted_ids")
            figures["classes"][str(size)] = run
        figures["streams"] = scenarios.streams(target, args.stream_seconds, HUB_API[0])
        figures["burst"] = scenarios.burst(target, args.tablets, args.burst_rounds)
        ids += figures["burst"].pop("accepted_ids")

        time.sleep(5)
        figures["rss_mb_after_run"] = round(sample(server.pid)["rss_bytes"] / 2**20, 1)
        figures["cgroup_peak_mb"] = _mb(limits.peak_bytes("hub"))
    finally:
        server.stop()
    figures["stored_once"] = scenarios.stored_once(data_dir / "results.sqlite3", ids)
    return figures


def measure_kolibri(
    kolibri: Kolibri, plan: dict, data_dir: Path, run_dir: Path, limits: PiLimits, args
) -> dict:
    files = {url: _local_file(url, data_dir) for url in media_paths(plan)}
    mapped = kolibri_plan(plan, kolibri.store_media(files))
    plan_file = run_dir / "plan-kolibri.json"
    plan_file.write_text(json.dumps(mapped, ensure_ascii=False))
    prefix = in_namespace([])
    # The first-answer poller starts inside it before Kolibri does.
    make_namespace()

    figures: dict = {"version": "0.19.5"}
    try:
        figures["cold_start"] = scenarios.cold_start(
            lambda: kolibri.launch(limits),
            kolibri.stop,
            kolibri.url + CHEAPEST_API,
            prefix,
            max(1, min(3, args.cold_starts)),
        )
        figures["idle"] = scenarios.idle(kolibri.pid, 5, args.idle_seconds)
        target = scenarios.Target(
            "kolibri", kolibri.url, kolibri.pid, prefix, plan_file
        )
        small = mapped["lessons"][0]["pictures"][0]
        figures["wrk"] = {
            CHEAPEST_API: scenarios.raw_rate(
                target, CHEAPEST_API, run_dir, seconds=args.wrk_seconds
            ),
            "small": scenarios.raw_rate(
                target, small, run_dir, seconds=args.wrk_seconds
            ),
        }
        figures["classes"] = {}
        for size in _sizes(args):
            figures["classes"][str(size)] = scenarios.a_class(
                target, size, args.seconds, _video_tablets(size)
            )
        figures["streams"] = scenarios.streams(
            target, args.stream_seconds, CHEAPEST_API
        )
        time.sleep(5)
        figures["rss_mb_after_run"] = round(sample(kolibri.pid)["rss_bytes"] / 2**20, 1)
    finally:
        kolibri.stop()
    return figures


def measure_nginx(
    data_dir: Path, run_dir: Path, limits: PiLimits, args, plan: dict
) -> dict:
    nginx = Nginx(data_dir / "packs", run_dir).start(limits)
    target = scenarios.Target("nginx", nginx.url, nginx.pid)
    try:
        return {
            "version": _nginx_version(),
            "wrk": {
                SMALL_FILE: scenarios.raw_rate(
                    target, SMALL_FILE, run_dir, seconds=args.wrk_seconds
                ),
                "large": scenarios.raw_rate(
                    target,
                    plan["video"]["url"],
                    run_dir,
                    connections=1,
                    seconds=args.wrk_seconds,
                ),
            },
        }
    finally:
        nginx.stop()


def _local_file(url: str, data_dir: Path) -> Path:
    path = url.split("?", 1)[0]
    if path.startswith("/packs/"):
        return data_dir / "packs" / path[len("/packs/") :]
    return ROOT / "hub" / path.lstrip("/")


def _guarded(step, *args) -> dict:
    try:
        return step(*args)
    except Exception as error:  # noqa: BLE001 - one peer failing must not lose the rest
        print(f"bench/classroom: {step.__name__} failed: {error}", file=sys.stderr)
        return {"failed": str(error)}


def _mb(value) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "hub"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return done.stdout.strip() + ("+changes in hub/" if dirty else "")


def _nginx_version() -> str:
    done = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False)
    return done.stderr.strip().split("/")[-1]
