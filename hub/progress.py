# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the results say about learners: lesson states, attempts, hard words.

The queries read ``hub.results``' SQLite file and nothing else; they are
shaped so that a class of 40 children with a year of answers (1,000,000
results on the hub) is read in milliseconds, through two indexes this
module adds at start with ``CREATE INDEX IF NOT EXISTS``. On a hub that
already holds many results the first start after an update spends a few
seconds building them; later starts find them there.

Mastery is defined plainly, so a teacher can check it by hand: a lesson is
*mastered* when the learner's last ``answers`` scored answers in it (those
with a right or wrong, so flashcards do not count) number at least
``answers`` and at least ``percent`` of them are right. A lesson with any
answer that is not mastered is *in progress*; without any, *not started*.

Pure reads through ``ResultStore.query`` (one connection per thread), safe
from any number of threads. Building the indexes holds SQLite's write lock
for a moment; a crash during it leaves no index, and the next start builds
it again.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NOT_STARTED, IN_PROGRESS, MASTERED = "not_started", "in_progress", "mastered"

# Each index covers the columns its queries read, so SQLite answers from
# the index alone and never visits the (much wider) result rows.
_INDEXES = {
    "teacher_lessons": (
        "CREATE INDEX IF NOT EXISTS teacher_lessons ON results "
        "(learner_id, pack_id, lesson_id, seq, correct)"
    ),
    # Only listen-and-choose answers say whether a child knows a word:
    # go/no-go trials measure attention, flashcards have no right answer.
    # activity_type is a column too, or SQLite would still read the rows
    # to check the condition (it does not take it from the WHERE here).
    "teacher_words": (
        "CREATE INDEX IF NOT EXISTS teacher_words ON results "
        "(learner_id, activity_type, item, language, correct, response) "
        "WHERE activity_type = 'listen_choose'"
    ),
}


def ensure_indexes(database: Path) -> None:
    """Add the indexes the teacher pages need, once, to the results file."""
    conn = sqlite3.connect(database, timeout=60, isolation_level=None)
    try:
        present = {
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        missing = [name for name in _INDEXES if name not in present]
        if missing:
            log.info(
                "building the index(es) %s for the teacher pages; this happens "
                "once and may take a minute on a hub with many results",
                ", ".join(missing),
            )
        for name in missing:
            conn.execute(_INDEXES[name])
    finally:
        conn.close()


@dataclass(frozen=True)
class Mastery:
    answers: int
    percent: int


@dataclass(frozen=True)
class LessonCell:
    answers: int
    recent_scored: int
    recent_correct: int
    state: str


EMPTY_CELL = LessonCell(0, 0, 0, NOT_STARTED)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def lesson_grid(results, learner_ids: list[str], mastery: Mastery) -> dict:
    """``(learner_id, pack_id, lesson_id) -> LessonCell`` for every lesson
    in which any of the learners answered."""
    if not learner_ids:
        return {}
    counts = results.query(
        "SELECT learner_id, pack_id, lesson_id, count(*) AS answers "
        f"FROM results WHERE learner_id IN ({_marks(len(learner_ids))}) "
        "GROUP BY learner_id, pack_id, lesson_id",
        learner_ids,
    )

    grid = {}
    for row in counts:
        # One short walk down the index per learner and lesson: 40 children
        # and 20 lessons are 800 walks of at most ``answers`` steps each,
        # cheaper than ranking every answer of the class with a window.
        recent = results.query(
            "SELECT correct FROM results WHERE learner_id = ? AND pack_id = ? "
            "AND lesson_id = ? AND correct IS NOT NULL ORDER BY seq DESC LIMIT ?",
            [row["learner_id"], row["pack_id"], row["lesson_id"], mastery.answers],
        )
        right = sum(1 for answer in recent if answer["correct"])
        mastered = len(
            recent
        ) >= mastery.answers and right * 100 >= mastery.percent * len(recent)
        key = (row["learner_id"], row["pack_id"], row["lesson_id"])
        grid[key] = LessonCell(
            answers=row["answers"],
            recent_scored=len(recent),
            recent_correct=right,
            state=MASTERED if mastered else IN_PROGRESS,
        )
    return grid


@dataclass(frozen=True)
class HardWord:
    item: str
    language: str | None
    answers: int
    wrong: int
    confused_with: str | None

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.answers if self.answers else 0.0


def hardest_words(
    results, learner_ids: list[str], limit: int = 15, at_least: int = 5
) -> list[HardWord]:
    """The listen-and-choose words a group of learners gets wrong most often.

    Words answered fewer than ``at_least`` times are left out: two wrong
    answers out of two say little.
    """
    if not learner_ids:
        return []
    marks = _marks(len(learner_ids))
    rows = results.query(
        "SELECT item, language, count(*) AS answers, "
        "sum(correct = 0) AS wrong FROM results "
        f"WHERE activity_type = 'listen_choose' AND learner_id IN ({marks}) "
        "AND correct IS NOT NULL GROUP BY item, language "
        "HAVING count(*) >= ? AND sum(correct = 0) > 0 "
        "ORDER BY 1.0 * sum(correct = 0) / count(*) DESC, count(*) DESC LIMIT ?",
        [*learner_ids, at_least, limit],
    )

    words = []
    for row in rows:
        confused = results.query(
            "SELECT response, count(*) AS times FROM results "
            f"WHERE activity_type = 'listen_choose' AND learner_id IN ({marks}) "
            "AND item = ? AND language IS ? AND correct = 0 "
            "GROUP BY response ORDER BY times DESC, response LIMIT 1",
            [*learner_ids, row["item"], row["language"]],
        )
        words.append(
            HardWord(
                item=row["item"],
                language=row["language"],
                answers=row["answers"],
                wrong=row["wrong"],
                confused_with=confused[0]["response"] if confused else None,
            )
        )
    return words


ATTEMPT_COLUMNS = (
    "seq, pack_id, lesson_id, activity_id, activity_type, language, item, "
    "response, correct, reaction_ms, answered_at, received_at, tablet_id"
)


def attempts(
    results, learner_id: str, limit: int, before_seq: int | None = None
) -> list[sqlite3.Row]:
    """A learner's answers, newest first, ``limit`` at a time.

    Paging goes by ``seq`` (the order the hub received them) rather than by
    an offset, so a page costs the same however far back it is.
    """
    if before_seq is None:
        before_seq = 2**63 - 1
    return results.query(
        f"SELECT {ATTEMPT_COLUMNS} FROM results "
        "WHERE learner_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        [learner_id, before_seq, limit],
    )


@dataclass(frozen=True)
class AnswerGroup:
    answers: int
    correct: int
    median_reaction_ms: int | None


def recent_accuracy(
    results, learner_id: str, groups: int = 20, size: int = 10
) -> list[AnswerGroup]:
    """The learner's last ``groups * size`` scored answers, oldest group first.

    Grouped by count rather than by day: tablet and hub clocks are often
    wrong, while the order of answers is not.
    """
    rows = results.query(
        "SELECT correct, reaction_ms FROM results "
        "WHERE learner_id = ? AND correct IS NOT NULL ORDER BY seq DESC LIMIT ?",
        [learner_id, groups * size],
    )
    rows = list(reversed(rows))

    found = []
    # The oldest group may be short; it is dropped so every bar means the
    # same number of answers.
    start = len(rows) % size
    for offset in range(start, len(rows), size):
        chunk = rows[offset : offset + size]
        times = sorted(r["reaction_ms"] for r in chunk if r["reaction_ms"] is not None)
        found.append(
            AnswerGroup(
                answers=len(chunk),
                correct=sum(1 for r in chunk if r["correct"]),
                median_reaction_ms=times[len(times) // 2] if times else None,
            )
        )
    return found


@dataclass(frozen=True)
class SyncBacklog:
    pending: int
    oldest_received_at: str | None


def sync_backlog(results) -> SyncBacklog:
    """Results not yet confirmed by the LRS, read through the pending index."""
    row = results.query(
        "SELECT count(*) AS pending, min(seq) AS oldest FROM results WHERE status = 0"
    )[0]
    oldest = None
    if row["oldest"] is not None:
        oldest = results.query(
            "SELECT received_at FROM results WHERE seq = ?", [row["oldest"]]
        )[0]["received_at"]
    return SyncBacklog(pending=row["pending"], oldest_received_at=oldest)
