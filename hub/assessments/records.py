# SPDX-License-Identifier: AGPL-3.0-or-later
"""What an assessment answer adds to a result record, and its rules.

An answer to a baseline or endline check is a result like any other (see
``docs/api.md``) with four more fields: the attempt it belongs to, the
window it was given in, whether it was a practice item, and whether the
attempt repeats an earlier one. ``hub.results`` stores them as columns and
calls ``assessment_problem`` from its record check. Answers to practice
lessons leave the four out (or null); an assessment answer must give all.

Pure functions and constants: safe from any thread.
"""

from __future__ import annotations

import re
import uuid

RECEPTIVE = "receptive_vocabulary"
EXPRESSIVE = "expressive_vocabulary"
ATTENTION = "attention_go_no_go"
ASSESSMENT_TYPES = frozenset({RECEPTIVE, EXPRESSIVE, ATTENTION})

ASSESSMENT_FIELDS = ("attempt_id", "window_id", "practice", "repeat")
ASSESSMENT_COLUMNS = [
    ("attempt_id", "TEXT"),
    ("window_id", "TEXT"),
    ("practice", "INTEGER"),
    ("repeat", "INTEGER"),
]
BOOLEAN_FIELDS = ("practice", "repeat")

# baseline-<round> or endline-<round>: the phase and the round that pairs a
# baseline with its endline travel in the id itself (see ``windows``).
WINDOW_ID = re.compile(r"^(baseline|endline)-[0-9a-f]{8}$")

# The expressive check's answers, tapped by the teacher.
NAMED, NOT_NAMED = "named", "not_named"


def assessment_problem(clean: dict) -> tuple[str, str] | None:
    """``(field, reason)`` when the assessment fields are wrong, else None.

    ``clean`` is a result record whose other fields were already checked;
    its ``attempt_id`` is replaced by the UUID's canonical spelling.
    """
    given = [name for name in ASSESSMENT_FIELDS if clean.get(name) is not None]
    if clean["activity_type"] not in ASSESSMENT_TYPES:
        if given:
            return given[0], "belongs to assessment answers only; leave it out"
        return None

    missing = [name for name in ASSESSMENT_FIELDS if name not in given]
    if missing:
        return missing[0], "is needed in an assessment answer"
    try:
        clean["attempt_id"] = str(uuid.UUID(str(clean["attempt_id"])))
    except ValueError:
        return "attempt_id", "must be the attempt's UUID"
    if not isinstance(clean["window_id"], str) or not WINDOW_ID.match(
        clean["window_id"]
    ):
        return "window_id", "must be a window id such as baseline-3f9a0c1d"
    for name in BOOLEAN_FIELDS:
        if not isinstance(clean[name], bool):
            return name, "must be true or false"

    if clean["activity_type"] == EXPRESSIVE and clean["response"] not in (
        NAMED,
        NOT_NAMED,
    ):
        return "response", f"must be {NAMED!r} or {NOT_NAMED!r} (the teacher's tap)"
    return None
