# SPDX-License-Identifier: AGPL-3.0-or-later
"""The ``bench/classroom`` command: the full comparison, or one load alone.

The load commands print one JSON document on stdout, so that the full run
can start them as child processes, inside Kolibri's network namespace when
it loads Kolibri, and read what they measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .burst import run_burst
from .client import NotLocal, local_address
from .plan import read_plan
from .streams import run_streams
from .tablets import run_class

LOAD_COMMANDS = ("plan", "tablets", "streams", "burst", "first-answer")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if (
        argv[:1] == ["run"]
        or not argv
        or argv[0]
        not in LOAD_COMMANDS
        + (
            "-h",
            "--help",
        )
    ):
        from .run import main as run_main

        return run_main(argv[1:] if argv[:1] == ["run"] else argv)

    args = _parser().parse_args(argv)
    try:
        local_address(args.url)
        report = args.command(args)
    except NotLocal as error:
        print(f"bench/classroom: {error}", file=sys.stderr)
        return 1
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/classroom",
        description="Load a hub like a class of tablets. Without a command, "
        "run the whole comparison (bench/classroom --tablets 40 --compare "
        "kolibri,nginx; see bench/classroom run --help).",
    )
    commands = parser.add_subparsers(title="load commands", required=True)

    def command(name, func, help_text):
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(command=func)
        sub.add_argument("--url", required=True, help="server base URL on loopback")
        sub.add_argument(
            "--plan",
            type=Path,
            help="plan JSON (default: read it from the hub at --url)",
        )
        sub.add_argument("--out", type=Path, help="write the JSON here")
        return sub

    command("plan", _plan, "print what a class fetches from the hub at --url")

    tablets = command("tablets", _tablets, "a class of tablets for a while")
    tablets.add_argument("--tablets", type=int, default=40)
    tablets.add_argument("--seconds", type=float, default=60)
    tablets.add_argument("--video-tablets", type=int, default=0)
    tablets.add_argument(
        "--video-rate",
        type=int,
        default=200_000,
        help="bytes per second a video tablet reads",
    )
    tablets.add_argument(
        "--think-s", default="3,9", help="a child's time per answer, from,to seconds"
    )
    tablets.add_argument(
        "--ramp-s",
        type=float,
        default=1.0,
        help="seconds over which the class opens the page",
    )
    tablets.add_argument(
        "--ids", action="store_true", help="include every accepted result id"
    )

    streams = command("streams", _streams, "videos played while others poll")
    streams.add_argument("--streams", type=int, default=6)
    streams.add_argument("--pollers", type=int, default=10)
    streams.add_argument("--seconds", type=float, default=60)
    streams.add_argument("--rate", type=int, default=200_000)
    streams.add_argument(
        "--api", help="path the pollers call (default: the plan's class list)"
    )

    burst = command("burst", _burst, "every tablet posts a batch at once")
    burst.add_argument("--tablets", type=int, default=40)
    burst.add_argument("--batch", type=int, default=10)
    burst.add_argument("--rounds", type=int, default=20)
    burst.add_argument("--ids", action="store_true")

    first = command(
        "first-answer",
        _first_answer,
        "wait for the first 2xx answer at --url; print its time",
    )
    first.add_argument("--timeout", type=float, default=120)
    return parser


def _load_plan(args) -> dict:
    if args.plan:
        return json.loads(args.plan.read_text(encoding="utf-8"))
    return read_plan(args.url)


def _plan(args) -> dict:
    return _load_plan(args)


def _tablets(args) -> dict:
    low, high = (float(part) for part in args.think_s.split(","))
    report = run_class(
        args.url,
        _load_plan(args),
        args.tablets,
        args.seconds,
        video_tablets=args.video_tablets,
        video_rate=args.video_rate,
        think_s=(low, high),
        ramp_s=args.ramp_s,
    )
    if not args.ids:
        report.pop("accepted_ids")
    return report


def _streams(args) -> dict:
    plan = _load_plan(args)
    if not plan.get("video"):
        raise SystemExit("bench/classroom: the plan has no video to stream")
    return run_streams(
        args.url,
        plan["video"],
        args.api or plan["classes"],
        streams=args.streams,
        pollers=args.pollers,
        seconds=args.seconds,
        rate=args.rate,
    )


def _burst(args) -> dict:
    report = run_burst(
        args.url,
        _load_plan(args),
        tablets=args.tablets,
        batch=args.batch,
        rounds=args.rounds,
    )
    if not args.ids:
        report.pop("accepted_ids")
    return report


def _first_answer(args) -> dict:
    """Poll every 5 ms; the wall-clock time of the first 2xx answer."""
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(args.url, timeout=5) as answer:
                answer.read()
                if 200 <= answer.status < 300:
                    return {"answered_at": time.time()}
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.005)
    return {"answered_at": None}
