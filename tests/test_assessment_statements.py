# SPDX-License-Identifier: AGPL-3.0-or-later
"""Assessment answers as xAPI statements, and the national report read back.

Statements are made from results stored in a real results file and checked
against the hub's own xAPI rules; the report is run on statements made the
same way, and once against a real Ralph LRS after a real sync.
"""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime

import pytest

from hub.app import Hub
from hub.assessments import report
from hub.config import load_settings
from hub.xapi import statement_for, validate_statement
from tests.support.assessment_packs import PACK_ID, assessment_manifest
from tests.support.hub import run_cli

BASE = "https://classroom-hub.example/xapi/activities"
EXT = BASE + "/_extensions/"
HUB_ID = "5d0c7a3e-8f1b-4b7e-9a55-0e2f1c9b7d44"
ROUND = "0a1b2c3d"


class Settings:
    XAPI_ACTIVITY_BASE = BASE
    SCHOOL_ID = ""


def record(learner_id, attempt_id, phase, check, item, response, **changes):
    kind = {
        "receptive-en": "receptive_vocabulary",
        "expressive-mn": "expressive_vocabulary",
        "attention": "attention_go_no_go",
    }[check]
    made = {
        "id": str(uuid.uuid4()),
        "learner_id": learner_id,
        "pack_id": PACK_ID,
        "pack_version": "1.0.0",
        "lesson_id": check,
        "activity_id": check,
        "activity_type": kind,
        "language": {"receptive-en": "en", "expressive-mn": "mn"}.get(check),
        "item": item,
        "response": response,
        "correct": None,
        "reaction_ms": 640 if response != "no_tap" else None,
        "answered_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "tablet_seq": 1,
        "attempt_id": attempt_id,
        "window_id": f"{phase}-{ROUND}",
        "practice": False,
        "repeat": False,
    }
    made.update(changes)
    return made


@pytest.fixture
def hub(tmp_path):
    """A hub opened on a temporary folder, with two learners."""
    opened = Hub.open(load_settings(environ={}, DATA_DIR=str(tmp_path / "data")))
    group = opened.state.add_class("1A")
    opened.learners = [
        opened.state.add_learner(group["id"], name, "horse")["id"]
        for name in ("Болд", "Сарнай")
    ]
    yield opened
    opened.close()


def stored_statements(hub, records, settings=Settings):
    answer = hub.results.add_batch(records, hub.state.learner_exists, "t-1")
    assert not answer.rejected, answer.rejected
    return [statement_for(result, HUB_ID, settings) for result in hub.results.all()]


def test_an_assessment_answer_becomes_a_valid_statement_of_its_own_shape(hub):
    attempt = str(uuid.uuid4())
    [statement] = stored_statements(
        hub,
        [record(hub.learners[0], attempt, "baseline", "receptive-en", "cow", "camel")],
    )

    assert validate_statement(statement) == []
    context = statement["context"]
    assert context["registration"] == attempt
    assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert statement["object"]["id"] == f"{BASE}/{PACK_ID}/receptive-en/cow"
    assert statement["object"]["definition"]["correctResponsesPattern"] == ["cow"]
    assert context["contextActivities"]["parent"] == [
        {
            "objectType": "Activity",
            "id": f"{BASE}/{PACK_ID}/receptive-en",
            "definition": {"type": "http://adlnet.gov/expapi/activities/assessment"},
        }
    ]
    assert context["contextActivities"]["category"][0]["id"] == (
        BASE + "/_categories/outcome-check"
    )
    facts = context["extensions"]
    assert facts[EXT + "assessment-version"] == "1.0.0"
    assert facts[EXT + "window-id"] == f"baseline-{ROUND}"
    assert facts[EXT + "window-phase"] == "baseline"
    assert facts[EXT + "round"] == ROUND
    assert facts[EXT + "attempt-repeat"] is False
    assert facts[EXT + "practice"] is False
    assert EXT + "school-id" not in facts
    assert statement["result"] == {"response": "camel", "duration": "PT0.64S"}


def test_the_statement_names_no_child_and_is_the_same_when_made_again(hub):
    records = [
        record(
            hub.learners[0],
            str(uuid.uuid4()),
            "endline",
            "attention",
            "3-cow",
            "tap",
            practice=True,
            repeat=True,
        )
    ]
    first = stored_statements(hub, records)
    again = [statement_for(r, HUB_ID, Settings) for r in hub.results.all()]

    assert first == again
    assert "Болд" not in str(first)
    assert first[0]["actor"]["account"]["name"] == f"{HUB_ID}/{hub.learners[0]}"


def test_the_school_id_travels_when_it_is_set(hub):
    class School(Settings):
        SCHOOL_ID = "UB-0042"

    [statement] = stored_statements(
        hub,
        [
            record(
                hub.learners[0],
                str(uuid.uuid4()),
                "baseline",
                "expressive-mn",
                "horse",
                "named",
            )
        ],
        School,
    )

    assert statement["context"]["extensions"][EXT + "school-id"] == "UB-0042"


def test_a_practice_lesson_answer_keeps_its_old_shape(hub):
    lesson = {
        k: v
        for k, v in record(
            hub.learners[0], None, "baseline", "receptive-en", "cow", "cow"
        ).items()
        if k not in ("attempt_id", "window_id", "practice", "repeat")
    }
    lesson.update(
        activity_type="listen_choose",
        pack_id="vocab-early-mn-en",
        lesson_id="herd-animals",
        activity_id="herd-animals-listen-en",
    )
    [statement] = stored_statements(hub, [lesson])

    assert "registration" not in statement["context"]
    assert "category" not in statement["context"]["contextActivities"]


def baseline_and_endline(hub) -> list[dict]:
    """Bold: expressive 1/3 then 3/3; Sarnai: 2/3 then 3/3 (growth 2 and 1).
    Bold's receptive baseline stops at 0 after two misses; no endline."""
    bold, sarnai = hub.learners
    made = []
    for learner, before in (
        (bold, ["named", "not_named", "not_named"]),
        (sarnai, ["named", "named", "not_named"]),
    ):
        for phase, responses in (("baseline", before), ("endline", ["named"] * 3)):
            attempt = str(uuid.uuid4())
            made.append(
                record(
                    learner,
                    attempt,
                    phase,
                    "expressive-mn",
                    "dog",
                    "named",
                    practice=True,
                )
            )
            made += [
                record(learner, attempt, phase, "expressive-mn", item, response)
                for item, response in zip(("horse", "cow", "camel"), responses)
            ]
    attempt = str(uuid.uuid4())
    made += [
        record(bold, attempt, "baseline", "receptive-en", item, "goat")
        for item in ("cow", "camel")
    ]
    return made


def rows_by_check(rows) -> dict:
    return {(row["check"], row["measure"]): row for row in rows}


def test_the_report_pairs_baseline_and_endline_per_child_and_counts_n(hub):
    statements = stored_statements(hub, baseline_and_endline(hub))
    answers = [report.parse_statement(s) for s in statements]
    manifests = {(PACK_ID, "1.0.0"): assessment_manifest()}

    rows, skipped = report.growth_rows(answers, manifests)

    assert skipped == {}
    named = rows_by_check(rows)[("expressive-mn", "raw_score")]
    assert named["school"] == f"hub:{HUB_ID}" and named["hubs"] == 1
    assert (named["baseline_n"], named["baseline_mean"]) == (2, 1.5)
    assert (named["endline_n"], named["endline_mean"]) == (2, 3.0)
    assert (named["growth_n"], named["growth_mean"]) == (2, 1.5)
    heard = rows_by_check(rows)[("receptive-en", "raw_score")]
    assert (heard["baseline_n"], heard["endline_n"], heard["growth_n"]) == (1, 0, 0)


def test_the_report_never_scores_a_version_it_has_no_pack_for(hub):
    statements = stored_statements(hub, baseline_and_endline(hub))
    answers = [report.parse_statement(s) for s in statements]

    rows, skipped = report.growth_rows(answers, {})

    assert rows == [] and skipped == {(PACK_ID, "1.0.0"): len(statements)}


def test_statements_of_practice_lessons_are_not_read_as_checks():
    assert report.parse_statement({"context": {"contextActivities": {}}}) is None
    assert report.parse_statement({"id": "x"}) is None


@pytest.mark.slow
def test_synced_answers_come_back_from_the_lrs_as_growth_per_school(hub, lrs, tmp_path):
    stored_statements(hub, baseline_and_endline(hub))
    hub.close()
    data_dir = str(hub.data_dir)
    lrs_env = {
        "CLASSROOM_HUB_LRS_URL": lrs.url,
        "CLASSROOM_HUB_LRS_USERNAME": lrs.username,
        "CLASSROOM_HUB_LRS_PASSWORD": lrs.password,
        "CLASSROOM_HUB_SCHOOL_ID": "UB-0042",
    }
    run_cli(hub.data_dir, "sync", env=lrs_env)
    pack = tmp_path / "pack"
    from tests.support.assessment_packs import make_assessment_pack

    make_assessment_pack(pack)
    out = tmp_path / "growth.csv"

    done = run_cli(
        data_dir,
        "outcomes-report",
        "--lrs",
        lrs.url,
        "--user",
        lrs.username,
        "--password",
        lrs.password,
        "--packs",
        str(pack),
        "--out",
        str(out),
    )

    assert "rows from" in done.stdout
    with out.open(encoding="utf-8") as lines:
        rows = [row for row in csv.DictReader(lines) if row["school"] == "UB-0042"]
    named = rows_by_check(rows)[("expressive-mn", "raw_score")]
    assert (named["growth_n"], named["growth_mean"]) == ("2", "1.5")
