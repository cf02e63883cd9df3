# SPDX-License-Identifier: AGPL-3.0-or-later
"""How a stored result becomes an xAPI 1.0.3 statement, and what makes one valid.

The statement for a result depends only on the stored result, the hub's id
and two settings, so sending it again gives the LRS the very same statement:
an LRS compares a repeated id with what it holds and answers 409 Conflict
when anything differs, even the timestamp. Keep every field deterministic.

Pure functions without shared state: safe from any thread, nothing to lose
on a crash.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from .assessments import statements as assessment_statements
from .assessments.records import ASSESSMENT_TYPES

XAPI_VERSION = "1.0.3"
PLATFORM = "Classroom Hub"

DEFAULT_ACCOUNT_HOMEPAGE = "https://classroom-hub.example/learners"
DEFAULT_ACTIVITY_BASE = "https://classroom-hub.example/xapi/activities"

ANSWERED = {
    "id": "http://adlnet.gov/expapi/verbs/answered",
    "display": {"en-US": "answered"},
}
EXPERIENCED = {
    "id": "http://adlnet.gov/expapi/verbs/experienced",
    "display": {"en-US": "experienced"},
}
CMI_INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
INTERACTION = "http://adlnet.gov/expapi/activities/interaction"
LESSON = "http://adlnet.gov/expapi/activities/lesson"
COURSE = "http://adlnet.gov/expapi/activities/course"

# activity type -> (verb, activity type IRI, interactionType or None)
SHAPES = {
    "listen_choose": (ANSWERED, CMI_INTERACTION, "choice"),
    "go_no_go": (ANSWERED, CMI_INTERACTION, "other"),
    "flashcards": (EXPERIENCED, INTERACTION, None),
}
# Baseline and endline checks start in the same shape and are then reshaped
# by hub.assessments.statements.
SHAPES.update((kind, SHAPES["go_no_go"]) for kind in ASSESSMENT_TYPES)

# Tablets and hubs both boot with clocks at 1970 or some saved moment; no
# result of this project can be older than this.
EARLIEST_PLAUSIBLE = datetime(2024, 1, 1, tzinfo=UTC)
TABLET_CLOCK_AHEAD_LIMIT = timedelta(days=1)

EXTENSION_NAMES = (
    "hub-id",
    "pack-version",
    "tablet-seq",
    "clock-trusted",
    "timestamp-source",
)


def learner_account(hub_id: str, record: dict) -> str:
    """The learner's pseudonym upstream: unique across every hub, no name.

    Learner ids are short and unique only within one hub; the hub's id
    (a UUID) before them makes the pair unique in a national LRS.
    """
    return f"{hub_id}/{record['learner_id']}"


def statement_for(result, hub_id: str, settings) -> dict:
    """The xAPI statement that reports one stored result.

    ``result`` is a ``hub.results.StoredResult``; ``settings`` any object
    with the ``XAPI_*`` attributes (missing ones take the defaults above).
    """
    record = result.record
    homepage = getattr(settings, "XAPI_ACCOUNT_HOMEPAGE", DEFAULT_ACCOUNT_HOMEPAGE)
    base = getattr(settings, "XAPI_ACTIVITY_BASE", DEFAULT_ACTIVITY_BASE).rstrip("/")
    verb, activity_type, interaction_type = SHAPES[record["activity_type"]]

    pack_iri = _iri(base, record["pack_id"])
    lesson_iri = _iri(pack_iri, record["lesson_id"])
    activity_iri = _iri(lesson_iri, record["activity_id"])
    item_iri = _iri(activity_iri, record["item"])

    definition = {
        "name": {"en-US": f"{record['item']} in {record['activity_id']}"},
        "type": activity_type,
    }
    if interaction_type is not None:
        definition["interactionType"] = interaction_type
    if record["activity_type"] == "listen_choose":
        # The child is right when the picture chosen is the word heard.
        definition["correctResponsesPattern"] = [record["item"]]

    timestamp, source = _timestamp(result)
    iris = extension_iris(base)
    facts = {
        "hub-id": hub_id,
        "pack-version": record["pack_version"],
        "tablet-seq": record.get("tablet_seq"),
        "clock-trusted": bool(result.clock_trusted),
        "timestamp-source": source,
    }
    statement = {
        "id": result.id,
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": homepage, "name": learner_account(hub_id, record)},
        },
        "verb": verb,
        "object": {"objectType": "Activity", "id": item_iri, "definition": definition},
        "timestamp": timestamp,
        "context": {
            "platform": PLATFORM,
            "revision": record["pack_version"],
            "contextActivities": {
                "parent": [_activity(activity_iri)],
                "grouping": [
                    _activity(lesson_iri, LESSON),
                    _activity(pack_iri, COURSE),
                ],
            },
            "extensions": {
                iris[name]: value for name, value in facts.items() if value is not None
            },
        },
    }

    if record.get("language"):
        statement["context"]["language"] = record["language"]

    outcome = {}
    if record.get("correct") is not None:
        outcome["success"] = bool(record["correct"])
    if record.get("response") is not None:
        outcome["response"] = str(record["response"])
    if record.get("reaction_ms") is not None:
        outcome["duration"] = duration_from_ms(record["reaction_ms"])
    if outcome:
        statement["result"] = outcome

    if record["activity_type"] in ASSESSMENT_TYPES:
        assessment_statements.reshape(statement, record, base, settings)
    return statement


def extension_iris(base: str) -> dict:
    """Extension name -> IRI, under the activity base.

    The ``_extensions`` folder cannot clash with an activity: pack ids never
    start with an underscore.
    """
    base = base.rstrip("/")
    return {name: f"{base}/_extensions/{name}" for name in EXTENSION_NAMES}


def duration_from_ms(milliseconds: int) -> str:
    """ISO 8601 duration such as ``PT2.14S`` or ``PT1M5S``; never negative."""
    milliseconds = max(0, int(milliseconds))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, fraction = divmod(rest, 1000)

    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if seconds or fraction or text == "PT":
        number = f"{seconds}.{fraction:03d}".rstrip("0").rstrip(".")
        text += f"{number}S"

    return text


def _timestamp(result) -> tuple[str, str]:
    """When the child answered, as text with an offset, and whose clock said so.

    The tablet's clock is taken when it is believable; the hub's receipt
    time otherwise. The receipt time can only judge the tablet's clock when
    the hub trusted its own clock at that moment. When neither clock is
    believable the earliest plausible moment stands in, marked ``none``, so
    that the statement never says 1970 and stays the same when sent again.
    """
    answered = _parse_time(result.record.get("answered_at"))
    # Set once sync learnt the true time in the boot the result arrived in.
    corrected = _parse_time(getattr(result, "received_at_corrected", None))
    received = corrected or _parse_time(result.received_at)
    hub_trusted = result.clock_trusted or corrected is not None

    tablet_ok = answered is not None and answered >= EARLIEST_PLAUSIBLE
    if tablet_ok and hub_trusted and received is not None:
        tablet_ok = answered <= received + TABLET_CLOCK_AHEAD_LIMIT
    if tablet_ok:
        return _format_time(answered), "tablet"

    if received is not None and received >= EARLIEST_PLAUSIBLE:
        return _format_time(received), "hub-corrected" if corrected else "hub"

    return _format_time(EARLIEST_PLAUSIBLE), "none"


def _parse_time(text) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _format_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _activity(iri: str, activity_type: str | None = None) -> dict:
    activity = {"objectType": "Activity", "id": iri}
    if activity_type is not None:
        activity["definition"] = {"type": activity_type}
    return activity


def _iri(base: str, segment) -> str:
    return f"{base}/{quote(str(segment), safe='')}"


# Validation: the rules of xAPI 1.0.3 that the hub's statements rely on. An
# LRS such as Ralph checks little, so its 200 proves little; tests run every
# statement the hub makes through this.

_DURATION = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_INTERACTION_TYPES = {"true-false", "choice", "fill-in", "long-fill-in", "matching"}
_INTERACTION_TYPES |= {"performance", "sequencing", "likert", "numeric", "other"}
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


def validate_statement(statement) -> list[str]:
    """Every way ``statement`` breaks the xAPI rules the hub relies on.

    An empty list means valid. Each problem names the field by its path.
    """
    if not isinstance(statement, dict):
        return ["statement: must be a JSON object"]

    problems = []
    _check_uuid(statement.get("id"), "id", problems)
    _check_actor(statement.get("actor"), problems)
    _check_verb(statement.get("verb"), problems)
    _check_object(statement.get("object"), problems)

    if "timestamp" in statement:
        _check_timestamp(statement["timestamp"], "timestamp", problems)
    if "result" in statement:
        _check_result(statement["result"], problems)
    if "context" in statement:
        _check_context(statement["context"], problems)

    return problems


def is_absolute_iri(value) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme)) and bool(
        parts.netloc or parts.path
    )


def _check_uuid(value, path: str, problems: list) -> None:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        problems.append(f"{path}: must be a UUID, got {value!r}")


def _check_actor(actor, problems: list) -> None:
    if not isinstance(actor, dict):
        problems.append("actor: must be an object")
        return
    if actor.get("objectType", "Agent") != "Agent":
        problems.append("actor.objectType: the hub sends only Agents")

    present = [key for key in _IFIS if key in actor]
    if len(present) != 1:
        problems.append(
            f"actor: must have exactly one identifier of {_IFIS}, has {present}"
        )
    account = actor.get("account")
    if "account" in actor:
        if not isinstance(account, dict):
            problems.append("actor.account: must be an object")
        else:
            if not is_absolute_iri(account.get("homePage")):
                problems.append("actor.account.homePage: must be an absolute IRI")
            if not isinstance(account.get("name"), str) or not account["name"]:
                problems.append("actor.account.name: must be a non-empty string")


def _check_verb(verb, problems: list) -> None:
    if not isinstance(verb, dict):
        problems.append("verb: must be an object")
        return
    if not is_absolute_iri(verb.get("id")):
        problems.append("verb.id: must be an absolute IRI")
    if "display" in verb:
        _check_language_map(verb["display"], "verb.display", problems)
    else:
        problems.append("verb.display: the hub always names its verbs")


def _check_object(obj, problems: list) -> None:
    if not isinstance(obj, dict):
        problems.append("object: must be an object")
        return
    if obj.get("objectType", "Activity") != "Activity":
        problems.append("object.objectType: the hub reports only Activities")
    _check_activity(obj, "object", problems)


def _check_activity(activity, path: str, problems: list) -> None:
    if not is_absolute_iri(activity.get("id")):
        problems.append(f"{path}.id: must be an absolute IRI")
    definition = activity.get("definition")
    if definition is None:
        return
    if not isinstance(definition, dict):
        problems.append(f"{path}.definition: must be an object")
        return

    for key in ("name", "description"):
        if key in definition:
            _check_language_map(definition[key], f"{path}.definition.{key}", problems)
    if "type" in definition and not is_absolute_iri(definition["type"]):
        problems.append(f"{path}.definition.type: must be an absolute IRI")
    interaction = definition.get("interactionType")
    if interaction is not None:
        if interaction not in _INTERACTION_TYPES:
            problems.append(
                f"{path}.definition.interactionType: unknown {interaction!r}"
            )
        if definition.get("type") != CMI_INTERACTION:
            problems.append(
                f"{path}.definition.type: interactions must be {CMI_INTERACTION}"
            )
    pattern = definition.get("correctResponsesPattern")
    if pattern is not None and not (
        isinstance(pattern, list) and all(isinstance(p, str) for p in pattern)
    ):
        problems.append(f"{path}.definition.correctResponsesPattern: list of strings")
    if "extensions" in definition:
        _check_extensions(definition["extensions"], f"{path}.definition", problems)


def _check_language_map(value, path: str, problems: list) -> None:
    if not isinstance(value, dict) or not value:
        problems.append(f"{path}: must be a non-empty language map")
        return
    for tag, text in value.items():
        if not isinstance(tag, str) or not _LANGUAGE_TAG.match(tag):
            problems.append(f"{path}: {tag!r} is not a language tag")
        if not isinstance(text, str):
            problems.append(f"{path}.{tag}: must be a string")


def _check_timestamp(value, path: str, problems: list) -> None:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        problems.append(f"{path}: must be ISO 8601 with a UTC offset, got {value!r}")
        return
    moment = _parse_time(value)
    if moment is None:
        problems.append(f"{path}: not a real moment: {value!r}")
    elif moment < EARLIEST_PLAUSIBLE:
        problems.append(f"{path}: {value} is before any result could exist")


def _check_result(result, problems: list) -> None:
    if not isinstance(result, dict):
        problems.append("result: must be an object")
        return
    for key, kind in (("success", bool), ("completion", bool), ("response", str)):
        if key in result and not isinstance(result[key], kind):
            problems.append(f"result.{key}: must be a {kind.__name__}")
    if "duration" in result:
        duration = result["duration"]
        if not isinstance(duration, str) or not _DURATION.match(duration):
            problems.append(f"result.duration: not an ISO 8601 duration: {duration!r}")
    if "extensions" in result:
        _check_extensions(result["extensions"], "result", problems)


def _check_context(context, problems: list) -> None:
    if not isinstance(context, dict):
        problems.append("context: must be an object")
        return
    for key in ("platform", "revision"):
        if key in context and not isinstance(context[key], str):
            problems.append(f"context.{key}: must be a string")
    language = context.get("language")
    if language is not None and (
        not isinstance(language, str) or not _LANGUAGE_TAG.match(language)
    ):
        problems.append(f"context.language: {language!r} is not a language tag")
    if "registration" in context:
        _check_uuid(context["registration"], "context.registration", problems)

    activities = context.get("contextActivities", {})
    if not isinstance(activities, dict):
        problems.append("context.contextActivities: must be an object")
        activities = {}
    for kind, listed in activities.items():
        path = f"context.contextActivities.{kind}"
        if kind not in ("parent", "grouping", "category", "other"):
            problems.append(f"{path}: unknown kind")
        for index, activity in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(activity, dict):
                _check_activity(activity, f"{path}[{index}]", problems)
            else:
                problems.append(f"{path}[{index}]: must be an object")

    if "extensions" in context:
        _check_extensions(context["extensions"], "context", problems)


def _check_extensions(extensions, path: str, problems: list) -> None:
    if not isinstance(extensions, dict):
        problems.append(f"{path}.extensions: must be an object")
        return
    for key in extensions:
        if not is_absolute_iri(key):
            problems.append(f"{path}.extensions: key {key!r} is not an absolute IRI")
