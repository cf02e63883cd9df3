# SPDX-License-Identifier: AGPL-3.0-or-later
"""The geometry of the small charts teacher pages draw as inline SVG.

The server works out every rectangle and point; the templates only write
them out, so a chart needs no script and shows on any phone browser. Each
chart is drawn in its own coordinate box (``viewBox``) and scales to the
screen. Pure functions: safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..progress import AnswerGroup


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    kind: str  # a CSS class: mastered, in_progress, not_started, correct


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"
    kind: str = ""  # a CSS class, e.g. on-mastered for text on a dark bar


@dataclass
class Chart:
    width: int
    height: int
    rects: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    lines: list = field(default_factory=list)  # (x1, y1, x2, y2) grid lines
    points: str = ""  # a polyline, "x,y x,y ..."


def lesson_states(rows: list[tuple[str, list[int]]], kinds: list[str]) -> Chart:
    """One horizontal bar per lesson, split by how many learners are in
    each state; the lesson's title above its bar."""
    width, row_height, bar_height = 400, 34, 14
    chart = Chart(width=width, height=max(row_height, row_height * len(rows)))

    for index, (title, counts) in enumerate(rows):
        top = index * row_height
        chart.labels.append(Label(0, top + 12, title))
        total = sum(counts) or 1
        x = 0.0
        for kind, count in zip(kinds, counts, strict=True):
            if not count:
                continue
            span = width * count / total
            chart.rects.append(
                Rect(round(x, 1), top + 16, round(span, 1), bar_height, kind)
            )
            chart.labels.append(
                Label(
                    round(x + span / 2, 1), top + 27, str(count), "middle", f"on-{kind}"
                )
            )
            x += span
    return chart


def accuracy(groups: list[AnswerGroup], percent_text) -> Chart:
    """Bars of the share of right answers per group, and a line of the
    median reaction time per group scaled to the chart's height."""
    width, height, left, bottom = 400, 170, 34, 150
    chart = Chart(width=width, height=height)

    for share in (0, 50, 100):
        y = bottom - share * 1.3
        chart.lines.append((left, round(y, 1), width, round(y, 1)))
        chart.labels.append(
            Label(left - 4, round(y + 4, 1), percent_text(share / 100), "end")
        )
    if not groups:
        return chart

    # Room for a full set of groups, so one group is one narrow bar and not
    # a wall; bars fill in from the left as answers come.
    step = (width - left) / max(len(groups), 20)
    slowest = max((g.median_reaction_ms or 0) for g in groups) or 1
    points = []
    for index, group in enumerate(groups):
        share = group.correct / group.answers if group.answers else 0
        bar = share * 130
        x = left + index * step
        chart.rects.append(
            Rect(
                round(x + step * 0.15, 1),
                round(bottom - bar, 1),
                round(step * 0.7, 1),
                round(bar, 1),
                "correct",
            )
        )
        if group.median_reaction_ms is not None:
            y = bottom - 130 * group.median_reaction_ms / slowest
            points.append(f"{x + step / 2:.1f},{y:.1f}")
    chart.points = " ".join(points)
    return chart
