# SPDX-License-Identifier: AGPL-3.0-or-later
"""A tablet as the hub sees it over HTTP: it makes results and posts batches."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timezone

_seq = itertools.count(1)


def make_result(learner_id: str, **overrides) -> dict:
    """One valid listen-and-choose answer from the bundled vocabulary pack."""
    record = {
        "id": str(uuid.uuid4()),
        "learner_id": learner_id,
        "pack_id": "vocab-early-mn-en",
        "pack_version": "1.0.0",
        "lesson_id": "herd-animals",
        "activity_id": "herd-animals-listen-en",
        "activity_type": "listen_choose",
        "language": "en",
        "item": "horse",
        "response": "cow",
        "correct": False,
        "reaction_ms": 1840,
        "answered_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "tablet_seq": next(_seq),
    }
    record.update(overrides)
    return record


def make_batch(learner_id: str, count: int, tablet_id: str = "t-test") -> dict:
    return {
        "tablet_id": tablet_id,
        "results": [make_result(learner_id) for _ in range(count)],
    }


def store_results(store, learner_id: str, count: int, **overrides) -> list[str]:
    """Put ``count`` answers straight into a result store, as a post would."""
    records = [make_result(learner_id, **overrides) for _ in range(count)]
    answer = store.add_batch(records, known_learner=lambda _: True)
    assert not answer.rejected, answer.rejected
    return answer.accepted
