# SPDX-License-Identifier: AGPL-3.0-or-later
"""Scoring on fixed answer sets, each worked out by hand in its comment.

The checks come from the small test pack (tests/support/assessment_packs):
receptive-en asks cow, camel, sheep, goat and stops after 2 misses in a
row; expressive-mn asks horse, cow, camel and stops after 3; attention has
eight trials, go on horse: G G n G G n G G (6 go, 2 no-go), RT floor 150 ms.
"""

from __future__ import annotations

import math

import pytest

from hub.assessments.checks import checks_of
from hub.assessments.scoring import (
    Answer,
    Attempt,
    d_prime,
    growth,
    score_attempt,
    scored_attempt,
    summarise,
)
from tests.support.assessment_packs import assessment_manifest

MANIFEST = assessment_manifest()
RECEPTIVE, EXPRESSIVE, ATTENTION = checks_of(MANIFEST)


def receptive(*responses, practice=("horse",)) -> list[Answer]:
    """Answers to receptive-en items in order; None leaves an item out."""
    answers = [Answer("horse", r, practice=True, order=0) for r in practice]
    for order, (item, response) in enumerate(zip(RECEPTIVE.items, responses), start=1):
        if response is not None:
            answers.append(Answer(item, response, 900, order=order))
    return answers


def attention(taps: str, times=None) -> list[Answer]:
    """One character per trial: T tapped, . held back, - no answer."""
    answers = []
    for number, (item, mark) in enumerate(zip(ATTENTION.items, taps)):
        if mark == "-":
            continue
        tapped = mark == "T"
        rt = (times or {}).get(number, 400) if tapped else None
        answers.append(Answer(item, "tap" if tapped else "no_tap", rt, order=number))
    return answers


def test_all_right_scores_every_item_and_is_complete():
    score = score_attempt(RECEPTIVE, receptive("cow", "camel", "sheep", "goat"))

    assert (score.raw_score, score.attempted, score.items) == (4, 4, 4)
    assert score.complete and not score.discontinued
    assert score.practice_answered == 1


def test_right_or_wrong_comes_from_the_response_not_the_tablet():
    # The tablet may say anything; only the picture chosen counts.
    answers = [Answer("cow", "cow"), Answer("camel", "goat", order=1)]

    score = score_attempt(RECEPTIVE, answers)

    assert score.raw_score == 1 and score.attempted == 2


def test_the_stopping_rule_ends_the_check_after_two_misses_in_a_row():
    # cow right, camel wrong, sheep wrong: stop. goat's answer (right, sent
    # by a tablet that did not stop) is past the ceiling and ignored.
    score = score_attempt(RECEPTIVE, receptive("cow", "goat", "cow", "goat"))

    assert score.raw_score == 1
    assert score.attempted == 3
    assert score.discontinued and score.complete
    assert score.ignored == 1


def test_a_miss_then_a_hit_resets_the_run_of_misses():
    # W R W R: never two in a row, so all four count: 2 right.
    score = score_attempt(RECEPTIVE, receptive("goat", "camel", "cow", "goat"))

    assert (score.raw_score, score.attempted, score.discontinued) == (2, 4, False)
    assert score.complete


def test_a_child_who_answers_nothing_scores_zero_and_is_not_complete():
    score = score_attempt(RECEPTIVE, [])

    assert (score.raw_score, score.attempted, score.complete) == (0, 0, False)
    assert score_attempt(ATTENTION, []).hit_rate is None
    assert score_attempt(ATTENTION, []).d_prime is None


def test_only_practice_answers_are_no_score_at_all():
    score = score_attempt(EXPRESSIVE, [Answer("dog", "named", practice=True)])

    assert (score.raw_score, score.attempted, score.complete) == (0, 0, False)
    assert score.practice_answered == 1


def test_resumption_after_a_dropped_tablet_scores_the_two_halves_as_one():
    # First sitting: practice, cow right, camel right; the tablet drops.
    # Resumed (the same attempt): sheep wrong, goat right. Arrival order is
    # mixed, as batches from two sittings arrive: the pack's order counts.
    first = receptive("cow", "camel")
    second = [Answer("goat", "goat", order=9), Answer("sheep", "cow", order=8)]

    score = score_attempt(RECEPTIVE, second + first)

    assert (score.raw_score, score.attempted, score.complete) == (3, 4, True)


def test_an_interrupted_attempt_that_never_resumed_is_incomplete():
    # cow right, camel wrong, then nothing: one miss, no stop, not done.
    score = score_attempt(RECEPTIVE, receptive("cow", "goat"))

    assert (score.raw_score, score.attempted, score.complete) == (1, 2, False)


def test_a_gap_neither_counts_as_a_miss_nor_breaks_a_run():
    # cow wrong, camel unanswered, sheep wrong: two misses in a row around
    # the gap, so the check stops there; goat is ignored.
    score = score_attempt(RECEPTIVE, receptive("goat", None, "cow", "goat"))

    assert score.attempted == 2 and score.raw_score == 0
    assert score.discontinued and score.ignored == 1


def test_of_two_answers_to_one_item_the_first_to_arrive_counts():
    answers = [Answer("cow", "camel", order=2), Answer("cow", "cow", order=1)]

    score = score_attempt(RECEPTIVE, answers)

    assert score.raw_score == 1 and score.ignored == 1


def test_expressive_counts_the_teachers_named_taps():
    # horse named, cow not, camel named: 2 of 3, complete.
    answers = [
        Answer("dog", "named", practice=True),
        Answer("horse", "named", order=1),
        Answer("cow", "not_named", order=2),
        Answer("camel", "named", order=3),
    ]

    score = score_attempt(EXPRESSIVE, answers)

    assert (score.raw_score, score.attempted, score.complete) == (2, 3, True)


def test_attention_counts_hits_misses_false_alarms_and_rejections():
    # Trials G G n G G n G G; taps T T T . T . T T:
    # go: T T . T T T = 5 hits, 1 miss; no-go: T . = 1 false alarm, 1 CR.
    score = score_attempt(ATTENTION, attention("TTT.T.TT"))

    assert (score.hits, score.misses) == (5, 1)
    assert (score.false_alarms, score.correct_rejections) == (1, 1)
    assert score.raw_score == 6 and score.attempted == 8 and score.complete
    assert score.hit_rate == pytest.approx(5 / 6)
    assert score.false_alarm_rate == pytest.approx(1 / 2)


def test_attention_reaction_times_are_over_hits_no_faster_than_the_floor():
    # Hits at trials 0, 1, 3, 4, 6, 7 with 300, 500, 100 (too fast), 400,
    # 600, 500 ms; the false alarm's time (trial 2) never counts.
    times = {0: 300, 1: 500, 2: 200, 3: 100, 4: 400, 6: 600, 7: 500}
    score = score_attempt(ATTENTION, attention("TTTTT.TT", times))

    kept = [300, 500, 400, 600, 500]
    mean = sum(kept) / 5  # 460
    sd = math.sqrt(sum((t - mean) ** 2 for t in kept) / 4)  # 114.0
    assert score.rt_count == 5
    assert score.rt_mean_ms == pytest.approx(460)
    assert score.rt_sd_ms == pytest.approx(sd)
    assert score.hits == 6  # the fast tap is still a hit


def test_d_prime_uses_the_log_linear_correction_for_perfect_rates():
    # 6/6 hits and 0/2 false alarms would be infinite; corrected:
    # H = 6.5/7, F = 0.5/3; z(0.928571) = 1.4652, z(0.166667) = -0.9674.
    score = score_attempt(ATTENTION, attention("TT.TT.TT"))

    assert score.hit_rate == 1.0 and score.false_alarm_rate == 0.0
    assert score.d_prime == pytest.approx(1.4652 + 0.9674, abs=1e-3)
    assert d_prime(3, 6, 1, 2) == pytest.approx(0.0, abs=1e-9)


def test_attention_with_trials_missing_is_incomplete():
    score = score_attempt(ATTENTION, attention("TT.T----"))

    assert score.attempted == 4 and not score.complete
    assert score.false_alarm_rate == 0.0


def test_a_repeated_attempt_is_reported_beside_the_first_never_merged():
    first = Attempt("a-1", False, receptive("goat", "cow"), order=1)
    again = Attempt("a-2", True, receptive("cow", "camel", "sheep", "goat"), order=9)

    taken = scored_attempt(RECEPTIVE, [again, first])

    assert taken.attempt_id == "a-1"
    assert taken.score.raw_score == 0 and taken.score.discontinued
    [(repeat_id, repeat_score)] = taken.repeats
    assert repeat_id == "a-2" and repeat_score.raw_score == 4


def test_an_attempt_started_without_answers_still_counts_as_taken():
    taken = scored_attempt(RECEPTIVE, [Attempt("a-1", False, [], order=5)])

    assert taken.attempt_id == "a-1"
    assert taken.score.attempted == 0 and not taken.score.complete


def test_no_attempt_is_no_score():
    taken = scored_attempt(RECEPTIVE, [])

    assert taken.score is None and taken.attempt_id is None


def test_growth_is_endline_minus_baseline_of_complete_attempts():
    baseline = score_attempt(RECEPTIVE, receptive("goat", "cow"))  # 0, stopped
    endline = score_attempt(RECEPTIVE, receptive("cow", "camel", "sheep", "goat"))

    assert growth(baseline, endline) == 4
    assert growth(endline, baseline) == -4


def test_growth_is_none_when_either_side_is_missing_or_incomplete():
    done = score_attempt(RECEPTIVE, receptive("cow", "camel", "sheep", "goat"))
    half = score_attempt(RECEPTIVE, receptive("cow"))

    assert growth(None, done) is None
    assert growth(done, None) is None
    assert growth(half, done) is None


def test_scores_of_different_pack_versions_never_make_a_growth():
    newer = checks_of(assessment_manifest(version="1.1.0"))[0]
    baseline = score_attempt(RECEPTIVE, receptive("cow", "camel", "sheep", "goat"))
    endline = score_attempt(newer, receptive("cow", "camel", "sheep", "goat"))

    assert baseline.check.key != endline.check.key
    assert growth(baseline, endline) is None


def test_attention_growth_of_each_measure():
    baseline = score_attempt(ATTENTION, attention("TTTTTTTT"))  # FA rate 1.0
    endline = score_attempt(ATTENTION, attention("TT.TT.TT"))  # FA rate 0.0

    assert growth(baseline, endline, "false_alarm_rate") == -1.0
    assert growth(baseline, endline, "raw_score") == 2
    assert growth(baseline, endline, "d_prime") > 0


def test_a_summary_names_its_n_and_skips_missing_values():
    summary = summarise([4, None, 2, 9, 5])

    assert summary.n == 4
    assert summary.mean == pytest.approx(5)
    assert summary.sd == pytest.approx(math.sqrt((1 + 9 + 16 + 0) / 3))
    assert summary.median == pytest.approx(4.5)
    assert (summary.low, summary.high) == (2, 9)


def test_a_summary_of_nothing_is_n_zero_and_of_one_has_no_spread():
    assert summarise([None]).n == 0 and summarise([]).mean is None
    single = summarise([3])
    assert (single.n, single.mean, single.sd, single.median) == (1, 3, None, 3)
