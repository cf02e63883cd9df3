# SPDX-License-Identifier: AGPL-3.0-or-later
"""A term of checks end to end: a teacher, a child's tablet in headless
Chromium, the hub, and a real Ralph LRS.

The teacher opens a baseline window; the child takes all five checks of a
short copy of the bundled pack (four items each, eight attention trials)
with the teacher judging the naming; a reload half-way through one check
shows it resumes where it stopped. The window closes, an endline follows
with better answers, the growth shows on the teacher's page, and after a
sync every answer is in the LRS once, from where the national report
reads the same growth back.
"""

from __future__ import annotations

import csv

import pytest

from tests.support.assessment_packs import short_bundled_pack
from tests.support.browsers import (
    TabletBrowser,
    browsers_available,
    new_profile_dir,
    start_chromium,
)
from tests.support.check_tablet import CheckTablet
from tests.support.checks import close_window, open_window, outcomes_path
from tests.support.hub import run_cli
from tests.support.teacher import teacher_fixture, teacher_hub_fixture  # noqa: F401

PACK_ID = "short-checks"
CHECKS = ["receptive-mn", "receptive-en", "expressive-mn", "expressive-en", "attention"]
SCHOOL = "TEST-E2E-7"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not browsers_available()["chromium"],
        reason="needs chromium and chromium-driver",
    ),
]


@pytest.fixture
def tablet(teacher, tmp_path):
    driver = start_chromium(teacher.hub.port, new_profile_dir(tmp_path, "checks"))
    browser = TabletBrowser(driver, teacher.hub.port, "check-tablet")
    yield CheckTablet(browser)
    browser.close()


def wrong(look) -> bool:
    # Practice is answered rightly, as a child shown how would; then every
    # item wrong and, in the attention check, a tap on every picture.
    return look["practice"] or (look["type"] == "attention_go_no_go" and look["go"])


def right(_look) -> bool:
    return True


def test_a_term_of_checks_from_baseline_to_growth_and_the_lrs(
    teacher, tablet, lrs, tmp_path
):
    hub = teacher.hub
    pack = short_bundled_pack(tmp_path / "pack", PACK_ID)
    hub.cli("install-pack", str(pack))
    group = hub.get("/api/v1/classes").json()["classes"][0]
    child = group["learners"][0]

    baseline = open_window(teacher, group["id"], "baseline", PACK_ID)
    tablet.tablet.open()
    tablet.tablet.sign_in(group["name"], child["picture"])
    assert tablet.cards() == {check: "new" for check in CHECKS}

    # Mongolian is said by the teacher: the word is shown for them to say.
    tablet.open_check("receptive-mn")
    first = tablet.take(wrong, stop_after=2)
    assert first[0]["practice"] and first[0]["examiner"] == "нохой"
    tablet.tablet.driver.refresh()  # the tablet drops out half-way
    assert tablet.cards()["receptive-mn"] == "started"
    tablet.open_check("receptive-mn")
    rest = tablet.take(wrong)
    assert [a["item"] for a in first + rest] == ["dog", "hand", "apple"]
    tablet.back_to_lessons()

    for check in CHECKS[1:]:
        tablet.open_check(check)
        tablet.take(wrong)
        tablet.back_to_lessons()
    assert set(tablet.cards().values()) == {"done"}
    tablet.tablet.wait_until_sent()
    close_window(teacher, group["id"], baseline)

    endline = open_window(teacher, group["id"], "endline", PACK_ID)
    assert endline == baseline.replace("baseline", "endline")
    tablet.tablet.driver.refresh()
    for check in CHECKS:
        tablet.open_check(check)
        tablet.take(right)
        tablet.back_to_lessons()
    tablet.tablet.wait_until_sent()
    close_window(teacher, group["id"], endline)

    # Baseline: two misses in a row stop each word check at 0 of 4; the
    # attention check, tapped throughout, scores its 5 go trials of 8.
    page = teacher.get(outcomes_path(group["id"])).text
    for check in CHECKS:
        section = page.split(f'data-check-id="{check}"')[1].split("</section>")[0]
        row = section.split(f'data-learner-id="{child["id"]}"')[1].split("</tr>")[0]
        expected = "+3" if check == "attention" else "+4"
        assert f'<td class="number growth">{expected}</td>' in row, (check, row)

    # Every answer reaches the LRS once, in the assessment shape.
    stored = [r for r in hub.stored_results() if r["learner_id"] == child["id"]]
    assert len(stored) == len({r["id"] for r in stored}) > 40
    env = {
        "CLASSROOM_HUB_LRS_URL": lrs.url,
        "CLASSROOM_HUB_LRS_USERNAME": lrs.username,
        "CLASSROOM_HUB_LRS_PASSWORD": lrs.password,
        "CLASSROOM_HUB_SCHOOL_ID": SCHOOL,
    }
    run_cli(hub.data_dir, "sync", env=env)
    run_cli(hub.data_dir, "sync", env=env)
    held = lrs.statements_by_id()
    assert all(len(held.get(r["id"], [])) == 1 for r in stored)
    mine = [held[r["id"]][0] for r in stored]
    assert {s["context"]["registration"] for s in mine} == {
        r["attempt_id"] for r in stored
    }

    out = tmp_path / "growth.csv"
    run_cli(
        hub.data_dir,
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
    with out.open(encoding="utf-8") as lines:
        rows = {
            (row["check"], row["measure"]): row
            for row in csv.DictReader(lines)
            if row["school"] == SCHOOL
        }
    assert rows[("receptive-mn", "raw_score")]["growth_mean"] == "4.0"
    assert rows[("attention", "false_alarm_rate")]["growth_mean"] == "-1.0"
    assert rows[("attention", "raw_score")]["growth_n"] == "1"
