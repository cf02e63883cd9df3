# SPDX-License-Identifier: AGPL-3.0-or-later
"""Progress pages against a real hub fed through the tablet API, and the
queries behind them on a real results file."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

import pytest

from hub import progress
from hub.results import ResultStore
from tests.support.tablet import make_result
from tests.support.teacher import teacher_fixture, teacher_hub_fixture  # noqa: F401 (fixtures)

HERD_TITLE_MN = "Таван хошуу мал"


def post(hub, results, tablet_id="t-progress"):
    answer = hub.post(
        "/api/v1/results", json={"tablet_id": tablet_id, "results": results}
    )
    assert answer.status_code == 200 and not answer.json()["rejected"], answer.text


def answers(learner_id, pattern: str, **fields) -> list[dict]:
    """One listen-and-choose answer per character: R right, W wrong."""
    made = []
    for mark in pattern:
        right = mark == "R"
        made.append(
            make_result(
                learner_id,
                correct=right,
                response=fields.get("item", "horse") if right else "cow",
                **fields,
            )
        )
    return made


def read_csv(answer) -> list[list[str]]:
    assert answer.headers["Content-Type"].startswith("text/csv")
    text = answer.content.decode("utf-8")
    assert text.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def demo_class(teacher):
    group = teacher.hub.get("/api/v1/classes").json()["classes"][0]
    return group


def test_the_grid_shows_each_learner_state_per_lesson(teacher, demo_class):
    bold, sarnai, temuulen = demo_class["learners"][:3]
    post(teacher.hub, answers(bold["id"], "W" * 5 + "R" * 10))
    post(teacher.hub, answers(sarnai["id"], "RRWRWRRWRW"))
    post(
        teacher.hub,
        [
            make_result(
                temuulen["id"],
                activity_type="flashcards",
                activity_id="herd-animals-cards-mn",
                correct=None,
                response="next",
            )
        ],
    )

    page = teacher.get(f"/teacher/classes/{demo_class['id']}/progress")
    grid = read_csv(
        teacher.export(f"/teacher/classes/{demo_class['id']}/progress", table="grid")
    )

    assert page.status_code == 200
    assert HERD_TITLE_MN in page.text
    header, rows = grid[0], {row[0]: row for row in grid[1:]}
    column = header.index(HERD_TITLE_MN)
    assert rows[bold["name"]][column] == "Эзэмшсэн 10/10"
    assert rows[sarnai["name"]][column] == "Суралцаж байгаа 6/10"
    assert rows[temuulen["name"]][column] == "Суралцаж байгаа"
    untouched = demo_class["learners"][3]["name"]
    assert rows[untouched][column] == "Эхлээгүй"
    assert all(cell == "Эхлээгүй" for cell in rows[bold["name"]][column + 1 :])
    assert '<rect class="mastered"' in page.text


def test_mastery_follows_the_latest_answers(teacher, demo_class):
    learner = demo_class["learners"][0]
    path = f"/teacher/learners/{learner['id']}"
    post(teacher.hub, answers(learner["id"], "R" * 10))
    assert "Эзэмшсэн" in teacher.get(path).text

    post(teacher.hub, answers(learner["id"], "WWW"))

    page = teacher.get(path).text
    lessons = page.split("<h2>", 3)[1]
    assert "Суралцаж байгаа" in lessons and "7/10" in lessons
    assert '<rect class="correct"' in page, "no chart of the first 10 answers"


def test_a_learner_page_lists_answers_with_words_and_reaction_times(
    teacher, demo_class
):
    learner = demo_class["learners"][1]
    post(
        teacher.hub,
        [
            make_result(
                learner["id"],
                item="camel",
                response="horse",
                correct=False,
                reaction_ms=3120,
                language="en",
            ),
            make_result(
                learner["id"],
                item="camel",
                response="camel",
                correct=True,
                reaction_ms=1450,
                language="mn",
                activity_id="herd-animals-listen-mn",
            ),
        ],
    )

    page = teacher.get(f"/teacher/learners/{learner['id']}")
    rows = read_csv(teacher.export(f"/teacher/learners/{learner['id']}"))

    assert page.status_code == 200
    header = rows[0]
    newest, older = (dict(zip(header, row, strict=True)) for row in rows[1:3])
    assert newest["Асуусан үг"] == "тэмээ"
    assert newest["Зөв үү?"] == "зөв"
    assert newest["Хариу үйлдэл (мс)"] == "1450"
    assert older["Асуусан үг"] == "camel (тэмээ)"
    assert older["Хариулт"] == "horse (морь)"
    assert older["Хариу үйлдэл (мс)"] == "3120"


def test_the_hardest_words_name_what_children_pick_instead(teacher, demo_class):
    learners = demo_class["learners"]
    for learner in learners[:3]:
        post(
            teacher.hub,
            answers(learner["id"], "WWWR", item="goat", language="en")
            + answers(learner["id"], "RRRR", item="sheep", language="en"),
        )

    rows = read_csv(
        teacher.export(f"/teacher/classes/{demo_class['id']}/progress", table="words")
    )

    assert rows[0] == ["Үг", "Хариултууд", "Буруу", "Оронд нь ихэвчлэн сонгосон"]
    assert rows[1] == ["goat (ямаа)", "12", "9", "cow (үхэр)"]
    assert len(rows) == 2, "a word never missed is not hard"


def test_csv_exports_neutralise_formulas_and_name_the_file_in_cyrillic(teacher):
    class_id = teacher.create_class("Нарны анги")
    formulas = [
        '=HYPERLINK("http://x","y")',
        "+1+1",
        "-2",
        "@SUM(A1)",
        "  =cmd|' /C calc'!A0",
    ]
    for name in formulas:
        teacher.post(
            f"/teacher/classes/{class_id}/learners",
            {"name": name},
            page=f"/teacher/classes/{class_id}",
        )

    export = teacher.export(f"/teacher/classes/{class_id}")

    names = [row[0] for row in read_csv(export)[1:]]
    assert sorted(names) == sorted(["'" + " ".join(name.split()) for name in formulas])
    disposition = export.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "Нарны анги" in unquote(disposition.split("filename*=UTF-8''")[1])


def test_every_cell_a_spreadsheet_would_run_is_neutralised():
    from hub.teacher.tables import neutralise

    assert [neutralise(v) for v in ("=1", "+1", "-1", "@a", "\tx", "\rx")] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "'\rx",
    ]
    assert [neutralise(v) for v in (-3, 2.5, None, True, "Болд")] == [
        -3,
        2.5,
        "",
        1,
        "Болд",
    ]


# The queries themselves, on a results file without a server.


@pytest.fixture
def store(tmp_path):
    # As at the hub's start: the results file exists, then the teacher
    # pages add their indexes, then requests open their own connections.
    ResultStore(tmp_path / "results.sqlite3").close()
    progress.ensure_indexes(tmp_path / "results.sqlite3")
    store = ResultStore(tmp_path / "results.sqlite3")
    yield store
    store.close()


def test_the_queries_read_only_their_indexes(store):
    plans = {
        "grid": store.query(
            "EXPLAIN QUERY PLAN SELECT correct FROM results WHERE learner_id = ? "
            "AND pack_id = ? AND lesson_id = ? AND correct IS NOT NULL "
            "ORDER BY seq DESC LIMIT 10",
            ["l", "p", "x"],
        ),
        "counts": store.query(
            "EXPLAIN QUERY PLAN SELECT learner_id, pack_id, lesson_id, count(*) "
            "FROM results WHERE learner_id IN (?, ?) "
            "GROUP BY learner_id, pack_id, lesson_id",
            ["a", "b"],
        ),
        "words": store.query(
            "EXPLAIN QUERY PLAN SELECT item, language, count(*), sum(correct = 0) "
            "FROM results WHERE activity_type = 'listen_choose' "
            "AND learner_id IN (?, ?) AND correct IS NOT NULL "
            "GROUP BY item, language",
            ["a", "b"],
        ),
    }

    details = {
        name: " ".join(row["detail"] for row in plan) for name, plan in plans.items()
    }
    assert "COVERING INDEX teacher_lessons" in details["grid"]
    assert "COVERING INDEX teacher_lessons" in details["counts"]
    assert "COVERING INDEX teacher_words" in details["words"]


def test_adding_the_indexes_twice_changes_nothing(store):
    before = store.query("SELECT name, sql FROM sqlite_master ORDER BY name")

    progress.ensure_indexes(store.path)

    after = store.query("SELECT name, sql FROM sqlite_master ORDER BY name")
    assert [tuple(row) for row in before] == [tuple(row) for row in after]


def test_mastery_needs_enough_scored_answers(store):
    store.add_batch(
        [make_result("l-a", correct=True) for _ in range(9)]
        + [make_result("l-b", correct=True) for _ in range(8)]
        + [make_result("l-b", correct=False) for _ in range(2)],
        known_learner=lambda _id: True,
    )

    grid = progress.lesson_grid(store, ["l-a", "l-b"], progress.Mastery(10, 80))

    key = ("vocab-early-mn-en", "herd-animals")
    assert grid[("l-a", *key)].state == progress.IN_PROGRESS
    assert grid[("l-b", *key)].state == progress.MASTERED
    assert grid[("l-b", *key)].recent_correct == 8


def test_accuracy_groups_answers_by_ten_oldest_first(store):
    marks = [False] * 5 + [True] * 10 + [False] * 10
    store.add_batch(
        [
            make_result("l-a", correct=m, reaction_ms=1000 + i)
            for i, m in enumerate(marks)
        ],
        known_learner=lambda _id: True,
    )

    groups = progress.recent_accuracy(store, "l-a")

    assert [(g.answers, g.correct) for g in groups] == [(10, 10), (10, 0)]
    assert groups[0].median_reaction_ms == 1010
