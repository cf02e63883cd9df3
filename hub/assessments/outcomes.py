# SPDX-License-Identifier: AGPL-3.0-or-later
"""A round's scores on this hub: each child's baseline, endline and growth,
and the class's and the whole hub's figures, from the stored answers.

The answers are read from ``hub.results``' SQLite file through two partial
indexes on the assessment columns, which this module adds at start and
which hold only assessment answers, so they stay small however many
practice answers the hub keeps. Attempts come from ``windows``; an
attempt with no answer yet still shows (a child who answered nothing).

Read-only queries through ``ResultStore.query``: safe from any thread.
Building an index holds SQLite's write lock for a moment; a crash during
it leaves no index, and the next start builds it again.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .checks import Check, checks_of
from .scoring import Answer, Attempt, Summary, Taken, growth, scored_attempt, summarise
from .windows import BASELINE, ENDLINE, AssessmentWindows

log = logging.getLogger(__name__)

_INDEXES = {
    "assessment_window_answers": (
        "CREATE INDEX IF NOT EXISTS assessment_window_answers ON results "
        "(window_id, learner_id, seq) WHERE window_id IS NOT NULL"
    ),
    "assessment_attempt_answers": (
        "CREATE INDEX IF NOT EXISTS assessment_attempt_answers ON results "
        "(attempt_id, item) WHERE attempt_id IS NOT NULL"
    ),
}
_COLUMNS = "seq, learner_id, activity_id, attempt_id, item, response, "
_COLUMNS += "reaction_ms, practice, repeat"


def ensure_indexes(database: Path) -> None:
    """Add the indexes the assessment queries need, once."""
    conn = sqlite3.connect(database, timeout=60, isolation_level=None)
    try:
        for sql in _INDEXES.values():
            conn.execute(sql)
    finally:
        conn.close()


def attempt_answers(results, attempt_id: str) -> list[Answer]:
    rows = results.query(
        f"SELECT {_COLUMNS} FROM results WHERE attempt_id = ? ORDER BY seq",
        [attempt_id],
    )
    return [_answer(row) for row in rows]


def window_answers(results, window_ids: list[str]) -> list:
    if not window_ids:
        return []
    marks = ", ".join("?" * len(window_ids))
    return results.query(
        f"SELECT {_COLUMNS}, window_id FROM results "
        f"WHERE window_id IN ({marks}) ORDER BY seq",
        window_ids,
    )


def _answer(row) -> Answer:
    return Answer(
        item=row["item"],
        response=row["response"],
        reaction_ms=row["reaction_ms"],
        practice=bool(row["practice"]),
        order=row["seq"],
    )


@dataclass
class ChildRow:
    learner: dict
    baseline: Taken
    endline: Taken
    growth: float | None


@dataclass
class CheckOutcome:
    """One check of one round: every child's row and the group figures."""

    check: Check
    children: list = field(default_factory=list)
    baseline: Summary = field(default_factory=lambda: Summary(0))
    endline: Summary = field(default_factory=lambda: Summary(0))
    growth: Summary = field(default_factory=lambda: Summary(0))


@dataclass
class RoundOutcome:
    class_id: str
    round: str
    pack_id: str
    pack_version: str
    baseline_window: dict | None
    endline_window: dict | None
    checks: list = field(default_factory=list)  # CheckOutcome


def rounds_of(windows: AssessmentWindows, class_id: str) -> list[dict]:
    """``{"round", "baseline", "endline"}`` per round, newest first."""
    found: dict[str, dict] = {}
    for window in windows.windows(class_id):
        entry = found.setdefault(
            window["round"], {"round": window["round"], BASELINE: None, ENDLINE: None}
        )
        entry[window["phase"]] = window
    return list(reversed(found.values()))


def round_outcome(hub, learners: list[dict], entry: dict) -> RoundOutcome | None:
    """Score one round of one class; None when its pack is not installed."""
    first = entry[BASELINE] or entry[ENDLINE]
    pack = hub.packs.get(first["pack_id"], first["pack_version"])
    if pack is None:
        return None
    windows = AssessmentWindows(hub.state)
    outcome = RoundOutcome(
        class_id=first["class_id"],
        round=entry["round"],
        pack_id=pack.id,
        pack_version=pack.version,
        baseline_window=entry[BASELINE],
        endline_window=entry[ENDLINE],
    )

    phases = [(p, entry[p]) for p in (BASELINE, ENDLINE) if entry[p] is not None]
    rows = window_answers(hub.results, [window["id"] for _p, window in phases])
    attempts = {
        phase: _attempts(windows.attempts(window["id"]), rows, window["id"])
        for phase, window in phases
    }

    for check in checks_of(pack.manifest):
        result = CheckOutcome(check)
        for learner in learners:
            taken = {
                phase: scored_attempt(
                    check, attempts.get(phase, {}).get((learner["id"], check.id), [])
                )
                for phase in (BASELINE, ENDLINE)
            }
            result.children.append(
                ChildRow(
                    learner,
                    taken[BASELINE],
                    taken[ENDLINE],
                    growth(taken[BASELINE].score, taken[ENDLINE].score),
                )
            )
        _summarise(result)
        outcome.checks.append(result)
    return outcome


def _attempts(registered: list[dict], rows, window_id: str) -> dict:
    """(learner, check) -> [Attempt], from the registry and the answers.

    The registry knows attempts without answers and which are repeats; an
    attempt only the answers know (a hub restored from an older backup of
    its state) is kept too, after the registered ones.
    """
    answers: dict[str, list] = {}
    seen: dict[str, tuple] = {}
    for row in rows:
        if row["window_id"] != window_id:
            continue
        answers.setdefault(row["attempt_id"], []).append(_answer(row))
        seen.setdefault(
            row["attempt_id"],
            (row["learner_id"], row["activity_id"], bool(row["repeat"]), row["seq"]),
        )

    found: dict[tuple, list] = {}
    for attempt in registered:
        key = (attempt["learner_id"], attempt["check_id"])
        found.setdefault(key, []).append(
            Attempt(
                attempt["id"],
                attempt["repeat"],
                answers.pop(attempt["id"], []),
                order=attempt["number"],
            )
        )
    for attempt_id, listed in answers.items():
        learner_id, check_id, repeat, seq = seen[attempt_id]
        found.setdefault((learner_id, check_id), []).append(
            Attempt(attempt_id, repeat, listed, order=1e9 + seq)
        )
    return found


def _summarise(result: CheckOutcome) -> None:
    """Group figures count complete attempts only, each with its N."""

    def complete(taken: Taken):
        score = taken.score
        return score.raw_score if score is not None and score.complete else None

    result.baseline = summarise([complete(row.baseline) for row in result.children])
    result.endline = summarise([complete(row.endline) for row in result.children])
    result.growth = summarise([row.growth for row in result.children])


def class_outcomes(hub, class_id: str) -> list[RoundOutcome]:
    """Every round of a class, newest first."""
    windows = AssessmentWindows(hub.state)
    learners = hub.state.learners(class_id)
    found = []
    for entry in rounds_of(windows, class_id):
        outcome = round_outcome(hub, learners, entry)
        if outcome is not None:
            found.append(outcome)
    return found


def hub_outcomes(hub) -> tuple[list, dict]:
    """The whole hub (the school): the latest round of each class, and the
    same pooled per pack version and check, never across versions.

    Returns ``[(class, RoundOutcome)]`` and ``{(pack_id, version, check_id):
    CheckOutcome}`` with every child of every class in ``children``.
    """
    latest = []
    pooled: dict[tuple, CheckOutcome] = {}
    for group in hub.state.classes():
        rounds = class_outcomes(hub, group["id"])
        if not rounds:
            continue
        latest.append((group, rounds[0]))
        for result in rounds[0].checks:
            into = pooled.setdefault(result.check.key, CheckOutcome(result.check))
            into.children.extend(result.children)
    for result in pooled.values():
        _summarise(result)
    return latest, pooled
