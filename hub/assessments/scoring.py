# SPDX-License-Identifier: AGPL-3.0-or-later
"""Scores from answers: one attempt, one child's growth, a group's figures.

Everything here is a pure function of its arguments, so a score can be
checked by hand and the national team's report (``report``) computes the
very same numbers from statements as the hub does from its results.

The rules, also in ``docs/outcomes.md``:

- Right or wrong is decided here from the response, by the pack's rule,
  not taken from the tablet: receptive is right when the picture chosen is
  the word asked; expressive when the teacher tapped "named"; attention
  when the child tapped a go picture or held back for a no-go one.
- Practice answers never count. Of two answers to one item in one attempt
  (two tablets resuming one attempt at once), the first counts.
- Vocabulary: items are walked in the pack's order; an item without an
  answer is *not attempted* and neither a miss nor a break in a run of
  misses. After ``stop_after_misses`` misses in a row the check is
  *discontinued*; answers past that point are ignored, as a test's ceiling
  rule does. Raw score = items right; an attempt is complete when
  discontinued or every item has an answer.
- Attention: hit and false-alarm rates, mean and sample SD of reaction time
  over hits no faster than ``min_reaction_ms`` (faster taps began before the
  picture could be seen), raw score = hits + correct rejections, and d′
  with the log-linear correction (add 0.5 to hits and false alarms and 1 to
  both trial counts) so that rates of 0 or 1 give a finite value.
- The scored attempt of a child, window and check is the first attempt not
  flagged as a repeat; repeats are reported beside it, never merged.
- Growth = endline − baseline of the scored attempts, only when both are
  complete and of the same pack version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

from .checks import TAP, Check
from .records import ATTENTION, EXPRESSIVE, NAMED


@dataclass(frozen=True)
class Answer:
    item: str
    response: str | None
    reaction_ms: int | None = None
    practice: bool = False
    # Arrival order (the results store's seq): the earlier answer wins.
    order: int = 0


@dataclass(frozen=True)
class Score:
    """One attempt at one check, scored by that check's rule."""

    check: Check
    raw_score: int
    attempted: int
    items: int
    complete: bool
    discontinued: bool = False
    practice_answered: int = 0
    ignored: int = 0
    # Attention only.
    hits: int = 0
    misses: int = 0
    false_alarms: int = 0
    correct_rejections: int = 0
    hit_rate: float | None = None
    false_alarm_rate: float | None = None
    rt_mean_ms: float | None = None
    rt_sd_ms: float | None = None
    rt_count: int = 0
    d_prime: float | None = None

    def measures(self) -> dict:
        """The figures a report compares, by name (None where undefined)."""
        found = {"raw_score": self.raw_score}
        if self.check.type == ATTENTION:
            found.update(
                hit_rate=self.hit_rate,
                false_alarm_rate=self.false_alarm_rate,
                rt_mean_ms=self.rt_mean_ms,
                rt_sd_ms=self.rt_sd_ms,
                d_prime=self.d_prime,
            )
        return found


def is_right(check: Check, item: str, response: str | None) -> bool:
    if check.type == ATTENTION:
        return (response == TAP) == (item in check.go_items)
    if check.type == EXPRESSIVE:
        return response == NAMED
    return response is not None and response == check.words.get(item)


def score_attempt(check: Check, answers: list[Answer]) -> Score:
    """Score one attempt's answers (in any order) by the check's rule."""
    first, practice, ignored = _first_answers(check, answers)
    if check.type == ATTENTION:
        return _score_attention(check, first, practice, ignored)
    return _score_vocabulary(check, first, practice, ignored)


def _first_answers(check: Check, answers: list[Answer]):
    known = set(check.items)
    first: dict[str, Answer] = {}
    practice = ignored = 0
    for answer in sorted(answers, key=lambda answer: answer.order):
        if answer.practice:
            practice += 1
        elif answer.item not in known or answer.item in first:
            ignored += 1
        else:
            first[answer.item] = answer
    return first, practice, ignored


def _score_vocabulary(check, first, practice, ignored) -> Score:
    right = attempted = run = 0
    discontinued = False
    for item in check.items:
        answer = first.get(item)
        if answer is None:
            continue
        if discontinued:
            ignored += 1
            continue

        attempted += 1
        if is_right(check, item, answer.response):
            right += 1
            run = 0
        else:
            run += 1
            discontinued = run >= (check.stop_after_misses or math.inf)

    return Score(
        check=check,
        raw_score=right,
        attempted=attempted,
        items=len(check.items),
        complete=discontinued or attempted == len(check.items),
        discontinued=discontinued,
        practice_answered=practice,
        ignored=ignored,
    )


def _score_attention(check, first, practice, ignored) -> Score:
    hits = misses = false_alarms = rejections = 0
    times = []
    for item, answer in first.items():
        tapped = answer.response == TAP
        if item in check.go_items:
            hits += tapped
            misses += not tapped
            timed = tapped and answer.reaction_ms is not None
            if timed and answer.reaction_ms >= check.min_reaction_ms:
                times.append(answer.reaction_ms)
        else:
            false_alarms += tapped
            rejections += not tapped

    go, no_go = hits + misses, false_alarms + rejections
    mean, spread = _mean_sd(times)
    return Score(
        check=check,
        raw_score=hits + rejections,
        attempted=go + no_go,
        items=len(check.items),
        complete=go + no_go == len(check.items),
        practice_answered=practice,
        ignored=ignored,
        hits=hits,
        misses=misses,
        false_alarms=false_alarms,
        correct_rejections=rejections,
        hit_rate=hits / go if go else None,
        false_alarm_rate=false_alarms / no_go if no_go else None,
        rt_mean_ms=mean,
        rt_sd_ms=spread,
        rt_count=len(times),
        d_prime=d_prime(hits, go, false_alarms, no_go),
    )


def d_prime(hits: int, go: int, false_alarms: int, no_go: int) -> float | None:
    """z(hit rate) − z(false-alarm rate), log-linear corrected (Hautus 1995)."""
    if not go or not no_go:
        return None
    z = NormalDist().inv_cdf
    return z((hits + 0.5) / (go + 1)) - z((false_alarms + 0.5) / (no_go + 1))


def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    variance = sum((value - mean) ** 2 for value in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


# One child, one window, one check: which attempt counts.


@dataclass(frozen=True)
class Attempt:
    id: str
    repeat: bool
    answers: list
    # Where it stands among the child's attempts (first answer's order);
    # an attempt without answers sorts by when it was started.
    order: float = 0


@dataclass(frozen=True)
class Taken:
    """The scored attempt of one child at one check in one window."""

    score: Score | None
    attempt_id: str | None
    repeats: list = field(default_factory=list)  # (attempt id, Score)


def scored_attempt(check: Check, attempts: list[Attempt]) -> Taken:
    """The first attempt not flagged as a repeat counts; the others are
    kept beside it, scored, as repeats (a second unflagged attempt, which
    only two tablets offline at once could make, is one too)."""
    if not attempts:
        return Taken(None, None)
    ordered = sorted(attempts, key=lambda attempt: (attempt.repeat, attempt.order))
    chosen, others = ordered[0], ordered[1:]

    return Taken(
        score=score_attempt(check, chosen.answers),
        attempt_id=chosen.id,
        repeats=[
            (attempt.id, score_attempt(check, attempt.answers))
            for attempt in sorted(others, key=lambda attempt: attempt.order)
        ],
    )


# Growth and group figures.


def growth(baseline: Score | None, endline: Score | None, measure="raw_score"):
    """Endline minus baseline of one measure, or None when not comparable."""
    if baseline is None or endline is None:
        return None
    if not (baseline.complete and endline.complete):
        return None
    if baseline.check.key != endline.check.key:
        return None
    before = baseline.measures().get(measure)
    after = endline.measures().get(measure)
    if before is None or after is None:
        return None
    return after - before


@dataclass(frozen=True)
class Summary:
    """A group's figure: always with the number of children behind it."""

    n: int
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    low: float | None = None
    high: float | None = None


def summarise(values: list) -> Summary:
    """Mean, sample SD, median and range of the values that are not None."""
    present = sorted(value for value in values if value is not None)
    if not present:
        return Summary(0)
    mean, spread = _mean_sd(present)
    middle = len(present) // 2
    median = (
        present[middle]
        if len(present) % 2
        else (present[middle - 1] + present[middle]) / 2
    )
    return Summary(len(present), mean, spread, median, present[0], present[-1])
