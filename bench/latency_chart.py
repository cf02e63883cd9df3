#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Draw latency against class size, hub and Kolibri, as SVG from a bench run.

    python3 bench/latency_chart.py RUN.json docs/performance-classroom.svg

RUN.json is what ``bench/classroom`` writes. The chart shows the p95 and
p50 of every API call and page a tablet made (``api_and_pages``) for each
class size, on a logarithmic axis, since the two servers differ by orders
of magnitude. Standard library only.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 40, 60
SERIES = (
    ("hub", "p95_ms", "#1b6ca8", ""),
    ("hub", "p50_ms", "#1b6ca8", "5,4"),
    ("kolibri", "p95_ms", "#c0392b", ""),
    ("kolibri", "p50_ms", "#c0392b", "5,4"),
)
NAMES = {"hub": "Classroom Hub", "kolibri": "Kolibri"}


def points(report: dict, server: str, key: str) -> list[tuple[int, float]]:
    found = []
    for size, run in (report.get(server, {}).get("classes") or {}).items():
        value = run.get("groups", {}).get("api_and_pages", {}).get(key)
        if value:
            found.append((int(size), max(value, 0.1)))
    return sorted(found)


def chart(report: dict) -> str:
    lines = {(server, key): points(report, server, key) for server, key, _, _ in SERIES}
    sizes = sorted({size for found in lines.values() for size, _ in found})
    values = [value for found in lines.values() for _, value in found]
    if not sizes or not values:
        raise SystemExit("latency_chart: the run has no class figures")

    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(size):
        if len(sizes) == 1:
            return LEFT + plot_w / 2
        return LEFT + plot_w * sizes.index(size) / (len(sizes) - 1)

    def y(value):
        share = (math.log10(value) - math.log10(low)) / (
            math.log10(high) - math.log10(low)
        )
        return TOP + plot_h * (1 - share)

    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            'font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        (
            f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">'
            "Latency of API calls and pages against tablets in the class</text>"
        ),
    ]

    # Grid: one line per power of ten, one column per class size.
    decade = low
    while decade <= high:
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(decade):.1f}" '
            f'y2="{y(decade):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{LEFT - 8}" y="{y(decade) + 4:.1f}" '
            f'text-anchor="end">{decade:g} ms</text>'
        )
        decade *= 10
    for size in sizes:
        out.append(
            f'<line x1="{x(size):.1f}" x2="{x(size):.1f}" y1="{TOP}" '
            f'y2="{TOP + plot_h}" stroke="#eee"/>'
        )
        out.append(
            f'<text x="{x(size):.1f}" y="{TOP + plot_h + 18}" '
            f'text-anchor="middle">{size}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + 36}" '
        'text-anchor="middle">tablets</text>'
    )

    for row, (server, key, colour, dash) in enumerate(SERIES):
        found = lines[(server, key)]
        if not found:
            continue
        path = " ".join(f"{x(size):.1f},{y(value):.1f}" for size, value in found)
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dashes}/>'
        )
        for size, value in found:
            out.append(
                f'<circle cx="{x(size):.1f}" cy="{y(value):.1f}" r="3" '
                f'fill="{colour}"><title>{escape(NAMES[server])} '
                f"{key[:3]} at {size} tablets: {value} ms</title></circle>"
            )
        legend_y = TOP + 16 + row * 20
        out.append(
            f'<line x1="{WIDTH - RIGHT + 12}" x2="{WIDTH - RIGHT + 40}" '
            f'y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{colour}" '
            f'stroke-width="2"{dashes}/>'
        )
        out.append(
            f'<text x="{WIDTH - RIGHT + 46}" y="{legend_y}">'
            f"{escape(NAMES[server])} {key[:3]}</text>"
        )

    note = f"{report.get('date', '')}, commit {report.get('commit', '')}"
    out.append(
        f'<text x="{WIDTH - 10}" y="{HEIGHT - 10}" text-anchor="end" '
        f'font-size="10" fill="#555">{escape(note)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[2].strip())
    report = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Path(sys.argv[2]).write_text(chart(report), encoding="utf-8")


if __name__ == "__main__":
    main()
