# SPDX-License-Identifier: AGPL-3.0-or-later
"""The class's distribution of scores as a small server-drawn SVG chart.

For every possible raw score, from 0 to the check's number of items, two
bars side by side: how many children had that score at baseline and at
endline. The server works out every rectangle; the template only writes
them out (the teacher pages run no script). Shapes are the teacher pages'
own (``hub.teacher.charts``). Pure functions: safe from any thread.
"""

from __future__ import annotations

from ..teacher.charts import Chart, Label, Rect

WIDTH, HEIGHT = 400, 150
LEFT, BOTTOM, TOP = 26, 128, 12


def distribution(baseline: list[int], endline: list[int], most: int) -> Chart:
    """Bars of children per score; ``most`` is the highest possible score."""
    chart = Chart(width=WIDTH, height=HEIGHT)
    counts = {
        kind: [scores.count(value) for value in range(most + 1)]
        for kind, scores in (("baseline", baseline), ("endline", endline))
    }
    tallest = max(counts["baseline"] + counts["endline"] + [1])

    # A line for no children and one for the tallest bar, with its count,
    # so the chart is read without a legend of its own.
    for count in (0, tallest):
        y = round(BOTTOM - (BOTTOM - TOP) * count / tallest, 1)
        chart.lines.append((LEFT, y, WIDTH, y))
        chart.labels.append(Label(LEFT - 4, y + 4, str(count), "end"))

    step = (WIDTH - LEFT) / (most + 1)
    label_every = 1 if most <= 20 else 5
    for value in range(most + 1):
        x = LEFT + value * step
        for offset, kind in ((0.1, "baseline"), (0.5, "endline")):
            count = counts[kind][value]
            if count:
                height = (BOTTOM - TOP) * count / tallest
                chart.rects.append(
                    Rect(
                        round(x + step * offset, 1),
                        round(BOTTOM - height, 1),
                        round(step * 0.4, 1),
                        round(height, 1),
                        kind,
                    )
                )
        if value % label_every == 0 or value == most:
            chart.labels.append(
                Label(round(x + step / 2, 1), BOTTOM + 14, str(value), "middle")
            )
    return chart
