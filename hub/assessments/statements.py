# SPDX-License-Identifier: AGPL-3.0-or-later
"""How an answer to a baseline or endline check looks as an xAPI statement.

``hub.xapi.statement_for`` builds the parts every statement shares (id,
pseudonymous actor, timestamp, result, the hub's extensions) and hands an
assessment answer's statement to ``reshape`` here, which makes it tell
apart from practice: the check is the parent activity (type *assessment*),
the attempt is the ``registration``, a category marks the hub's checks,
and extensions name the assessment version, the window and its phase, the
round, the repeat and practice flags and the school. ``docs/xapi.md``
shows the shape; ``report`` reads it back.

Like ``hub.xapi``, the statement depends only on the stored result and
the settings, so it is the same each time it is sent. Pure functions: safe
from any thread.
"""

from __future__ import annotations

from urllib.parse import quote

from .records import ATTENTION, EXPRESSIVE, NAMED, RECEPTIVE

ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
CMI_INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
# What a category activity under the hub's base names: "an answer to one of
# the hub's baseline and endline checks", whatever the pack.
CATEGORY = "_categories/outcome-check"

EXTENSION_NAMES = (
    "assessment-version",
    "check-type",
    "window-id",
    "window-phase",
    "round",
    "attempt-repeat",
    "practice",
    "school-id",
)
_INTERACTIONS = {RECEPTIVE: "choice", EXPRESSIVE: "other", ATTENTION: "other"}


def extension_iri(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/_extensions/{name}"


def category_iri(base: str) -> str:
    return f"{base.rstrip('/')}/{CATEGORY}"


def reshape(statement: dict, record: dict, base: str, settings) -> dict:
    """Turn a practice-shaped statement of an assessment answer into the
    assessment shape; returns the same dict, changed."""
    base = base.rstrip("/")
    kind = record["activity_type"]
    pack_iri = _iri(base, record["pack_id"])
    check_iri = _iri(pack_iri, record["activity_id"])
    item_iri = _iri(check_iri, record["item"])

    definition = {
        "name": {"en-US": f"{record['item']} in {record['activity_id']}"},
        "type": CMI_INTERACTION,
        "interactionType": _INTERACTIONS[kind],
    }
    if kind == RECEPTIVE:
        definition["correctResponsesPattern"] = [record["item"]]
    elif kind == EXPRESSIVE:
        definition["correctResponsesPattern"] = [NAMED]
    statement["object"] = {
        "objectType": "Activity",
        "id": item_iri,
        "definition": definition,
    }

    context = statement["context"]
    context["registration"] = record["attempt_id"]
    context["contextActivities"] = {
        "parent": [
            {
                "objectType": "Activity",
                "id": check_iri,
                "definition": {"type": ASSESSMENT},
            }
        ],
        "grouping": [{"objectType": "Activity", "id": pack_iri}],
        "category": [{"objectType": "Activity", "id": category_iri(base)}],
    }

    phase, _, round_id = record["window_id"].partition("-")
    facts = {
        "assessment-version": record["pack_version"],
        "check-type": kind,
        "window-id": record["window_id"],
        "window-phase": phase,
        "round": round_id,
        "attempt-repeat": bool(record["repeat"]),
        "practice": bool(record["practice"]),
        # Only when set: statements of a hub without it stay as they were.
        "school-id": getattr(settings, "SCHOOL_ID", "") or None,
    }
    for name, value in facts.items():
        if value is not None:
            context["extensions"][extension_iri(base, name)] = value
    return statement


def _iri(base: str, segment) -> str:
    return f"{base}/{quote(str(segment), safe='')}"
