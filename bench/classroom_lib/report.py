# SPDX-License-Identifier: AGPL-3.0-or-later
"""A run's figures as Markdown tables: the targets with ratios, then detail.

``render`` takes the JSON document ``run`` writes and returns text; it does
not measure anything, so it can render an old run again
(``python3 -m classroom_lib.report FILE`` from ``bench/``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SMALL_FILE = "/packs/vocab-early-mn-en/1.0.0/media/pictures/horse.svg"


def _get(data, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _ratio(mine, theirs):
    if not mine or not theirs:
        return None
    return mine / theirs


def targets(report: dict, tablets: str) -> list[dict]:
    """Each target of issue 6 with the hub's figure, the peer's, and the verdict."""
    hub, kolibri, nginx = (report.get(name, {}) for name in ("hub", "kolibri", "nginx"))
    run = _get(hub, "classes", tablets, default={})
    api = _get(run, "groups", "api_and_pages", default={})
    rows = []

    def add(name, figure, peer, ratio, goal, met):
        rows.append(
            {
                "target": name,
                "hub": figure,
                "peer": peer,
                "ratio": None if ratio is None else round(ratio, 2),
                "goal": goal,
                "met": met,
            }
        )

    errors = _get(run, "endpoints", "all", "errors", default=None)
    kolibri_api = _get(kolibri, "classes", tablets, "groups", "api_and_pages", "p95_ms")
    add(
        f"API and page p95, {tablets} tablets",
        f"{api.get('p95_ms')} ms",
        f"Kolibri {kolibri_api} ms",
        None,
        "< 100 ms, no errors",
        api.get("p95_ms") is not None and api["p95_ms"] < 100 and errors == 0,
    )

    for path in ("/api/v1/classes", "/api/v1/info"):
        mine = _get(hub, "wrk", path, "req_per_s")
        theirs = _get(kolibri, "wrk", "/api/public/info/", "req_per_s")
        ratio = _ratio(mine, theirs)
        add(
            f"JSON API req/s ({path} vs Kolibri /api/public/info/)",
            mine,
            theirs,
            ratio,
            ">= 15x Kolibri",
            ratio is not None and ratio >= 15,
        )

    mine = _get(hub, "wrk", SMALL_FILE, "req_per_s")
    theirs = _get(kolibri, "wrk", "small", "req_per_s")
    ratio = _ratio(mine, theirs)
    add(
        "small media req/s vs Kolibri static",
        mine,
        theirs,
        ratio,
        ">= 1.5x",
        ratio is not None and ratio >= 1.5,
    )
    theirs = _get(nginx, "wrk", SMALL_FILE, "req_per_s")
    ratio = _ratio(mine, theirs)
    add(
        "small media req/s vs nginx",
        mine,
        theirs,
        ratio,
        ">= 0.1x",
        ratio is not None and ratio >= 0.1,
    )

    mine = _get(hub, "wrk", "large", "mb_per_s")
    theirs = _get(nginx, "wrk", "large", "mb_per_s")
    ratio = _ratio(mine, theirs)
    add(
        "large file MB/s, one client, vs nginx",
        mine,
        theirs,
        ratio,
        ">= 0.8x",
        ratio is not None and ratio >= 0.8,
    )

    streams = hub.get("streams", {})
    poll = _get(streams, "endpoints", "api_poll", "p95_ms")
    add(
        "6 video streams + 10 API pollers: API p95, streams cut",
        f"{poll} ms, {streams.get('cut')} cut",
        f"Kolibri {_get(kolibri, 'streams', 'endpoints', 'api_poll', 'p95_ms')} ms, "
        f"{_get(kolibri, 'streams', 'cut')} cut",
        None,
        "< 50 ms, none cut",
        poll is not None and poll < 50 and streams.get("cut") == 0,
    )

    burst = hub.get("burst", {})
    once = hub.get("stored_once", {})
    p95 = _get(burst, "latency", "p95_ms")
    add(
        f"results: batches of {burst.get('batch')} from {burst.get('tablets')} "
        "tablets at once, p95",
        f"{p95} ms, {burst.get('results_per_s')} results/s",
        None,
        None,
        "< 100 ms, every acknowledged result on disk once",
        p95 is not None
        and p95 < 100
        and burst.get("errors") == 0
        and once.get("missing") == 0
        and once.get("distinct") == once.get("acknowledged"),
    )

    idle_rss = _get(hub, "idle", "rss_mb")
    add(
        "idle RSS with the results stored",
        f"{idle_rss} MB",
        f"Kolibri {_get(kolibri, 'idle', 'rss_mb')} MB",
        None,
        "<= 40 MB",
        idle_rss is not None and idle_rss <= 40,
    )
    after = hub.get("rss_mb_after_run")
    add(
        "RSS after the run",
        f"{after} MB",
        f"Kolibri {kolibri.get('rss_mb_after_run')} MB",
        None,
        "<= 60 MB",
        after is not None and after <= 60,
    )

    mine = _get(hub, "cold_start", "median_s")
    theirs = _get(kolibri, "cold_start", "median_s")
    ratio = _ratio(mine, theirs)
    add(
        "cold start to first answer, s",
        mine,
        theirs,
        ratio,
        "<= 0.25x Kolibri",
        ratio is not None and ratio <= 0.25,
    )

    written = _get(run, "server", "written_bytes")
    seconds = _get(run, "server", "seconds")
    per_hour = round(written * 3600 / seconds / 1e6, 1) if written is not None else None
    idle_written = _get(hub, "idle", "idle_written_bytes")
    per_minute = (
        round(
            run["answers"] / max(1, int(tablets) - run["video_tablets"]) / seconds * 60,
            1,
        )
        if run
        else None
    )
    add(
        "bytes written per class hour; while idle",
        f"{per_hour} MB/h ({per_minute} answers/tablet/min); idle {idle_written} B",
        None,
        None,
        "reported; 0 B idle",
        idle_written == 0,
    )
    return rows


def render(report: dict) -> str:
    tablets = str(_get(report, "settings", "tablets", default=40))
    lines = [
        f"Classroom bench, {report.get('date')}, commit {report.get('commit')}",
        f"machine: {_machine(report.get('machine', {}))}",
        f"servers: {report.get('limits')}; load: {report.get('load_cpu')}",
        (
            f"load average before {_get(report, 'machine', 'load_average')}, "
            f"after {report.get('load_average_after')}"
        ),
        "",
        "| target | hub | peer | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in targets(report, tablets):
        met = "yes" if row["met"] else "**no**"
        lines.append(
            f"| {row['target']} | {row['hub']} | {row['peer'] or ''} | "
            f"{'' if row['ratio'] is None else row['ratio']} | "
            f"{row['goal']} | {met} |"
        )

    for name in ("hub", "kolibri"):
        run = _get(report, name, "classes", tablets)
        if not run:
            continue
        lines += [
            "",
            (
                f"{name}, {tablets} tablets ({run['video_tablets']} playing "
                f"video), {run['seconds']} s: server CPU "
                f"{_get(run, 'server', 'cpu_share')} of a core, RSS peak "
                f"{_get(run, 'server', 'rss_mb_peak')} MB; load generator "
                f"{run['generator_cpu_share']} of a core"
            ),
            "",
            "| endpoint | requests | req/s | errors | p50 ms | p95 ms | p99 ms |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for endpoint, row in run["endpoints"].items():
            lines.append(
                f"| {endpoint} | {row['count']} | {row['per_s']} | "
                f"{row['errors']} | {row['p50_ms']} | {row['p95_ms']} | "
                f"{row['p99_ms']} |"
            )

    lines += [
        "",
        (
            "| server | URL (wrk, 40 connections; large: 1) | req/s | MB/s "
            "| p95 ms | errors | server CPU |"
        ),
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("hub", "kolibri", "nginx"):
        for label, row in (_get(report, name, "wrk", default={}) or {}).items():
            lines.append(
                f"| {name} | {label} | {row['req_per_s']} | {row['mb_per_s']} "
                f"| {row['p95_ms']} | {row['errors']} | "
                f"{_get(row, 'server', 'cpu_share')} |"
            )

    lines += [
        "",
        (
            "| tablets | hub API p95 ms | hub media p95 ms | Kolibri API p95 "
            "ms | Kolibri media p95 ms |"
        ),
        "| --- | --- | --- | --- | --- |",
    ]
    for size in sorted(_get(report, "hub", "classes", default={}), key=int):
        lines.append(
            f"| {size} | {_p95(report, 'hub', size, 'api_and_pages')} | "
            f"{_p95(report, 'hub', size, 'media')} | "
            f"{_p95(report, 'kolibri', size, 'api_and_pages')} | "
            f"{_p95(report, 'kolibri', size, 'media')} |"
        )
    for name in ("kolibri", "nginx"):
        if _get(report, name, "failed"):
            lines.append(f"\n{name} failed: {report[name]['failed']}")
    return "\n".join(lines)


def _p95(report, name, size, group):
    return _get(report, name, "classes", size, "groups", group, "p95_ms", default="")


def _machine(machine: dict) -> str:
    return (
        f"{machine.get('nproc')} cores, {machine.get('cpu_model')}, "
        f"{machine.get('memory_mb')} MB, disk {machine.get('disk')}, "
        f"Linux {machine.get('kernel')}, Python {machine.get('python')}"
    )


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
