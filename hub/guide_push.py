# SPDX-License-Identifier: AGPL-3.0-or-later
"""Teachers' completed guides, sent upstream as xAPI statements.

The programme must work for teachers who change often, so the national team
wants to know which teachers have read which training guides. A completion
becomes a "completed" statement whose actor is the teacher's pseudonymous
account (hub id and account id, never a name); its id is derived from the
completion's own id, so a resend after a lost answer is stored once.
Runs inside a sync, under the sync lock; a crash between the LRS's answer
and the "sent" mark only means the same statement is sent again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from .result_push import LrsClient, deliver
from .uplink import LinkProblem
from .xapi import PLATFORM, extension_iris, validate_statement

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
GUIDE_TYPE = "http://adlnet.gov/expapi/activities/module"
# Fixed forever: statement ids of completions already sent depend on it.
_COMPLETION_IDS = uuid.UUID("6a1f0e52-3c1b-4d0e-9b7a-2f4c8d1e5a90")


def completion_statement(row: dict, hub_id: str, settings) -> dict:
    base = settings.XAPI_ACTIVITY_BASE.rstrip("/")
    iris = extension_iris(base)
    guide_iri = f"{base}/{row['pack_id']}/guides/{row['guide_id']}"
    completed_at = datetime.fromtimestamp(row["completed_at"], UTC)

    return {
        "id": str(uuid.uuid5(_COMPLETION_IDS, f"{hub_id}/{row['id']}")),
        "actor": {
            "objectType": "Agent",
            "account": {
                "homePage": settings.XAPI_ACCOUNT_HOMEPAGE,
                "name": f"{hub_id}/{row['teacher_id']}",
            },
        },
        "verb": {"id": COMPLETED, "display": {"en-US": "completed"}},
        "object": {
            "objectType": "Activity",
            "id": guide_iri,
            "definition": {
                "type": GUIDE_TYPE,
                "name": {"en-US": f"teacher guide {row['guide_id']}"},
            },
        },
        "timestamp": completed_at.isoformat(timespec="milliseconds"),
        "context": {
            "platform": PLATFORM,
            "extensions": {
                iris["hub-id"]: hub_id,
                iris["pack-version"]: row["pack_version"],
            },
        },
    }


def push_guide_completions(accounts, hub_id: str, settings, uplink) -> int:
    """Send every completion not yet sent; return how many the LRS holds.

    Raises LinkProblem like the results push, so the sync reports it.
    """
    if not settings.LRS_URL:
        return 0
    rows = accounts.unsent_guide_completions()
    if not rows:
        return 0

    statements, by_statement = [], {}
    for row in rows:
        statement = completion_statement(row, hub_id, settings)
        if not validate_statement(statement):
            statements.append(statement)
            by_statement[statement["id"]] = row["id"]

    sent = []

    def confirmed(ids):
        done = [by_statement[statement_id] for statement_id in ids]
        accounts.mark_guide_completions_sent(done)
        sent.extend(done)

    def refused(_statement_id, reason):
        raise LinkProblem(f"the LRS refused a guide completion: {reason}")

    deliver(LrsClient(settings, uplink), statements, confirmed, refused)
    return len(sent)
