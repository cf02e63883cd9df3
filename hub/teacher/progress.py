# SPDX-License-Identifier: AGPL-3.0-or-later
"""Progress pages: a class's lesson grid and hard words, a learner's answers.

The numbers come from ``hub.progress``; this module turns them into tables
(each downloadable as CSV) and charts in the teacher's language. Words are
shown as the pack writes them, in the language the child answered in.
Read-only: safe from any thread.
"""

from __future__ import annotations

from flask import g, request, url_for

from .. import progress as queries
from . import _, bp, pack_text, page, problem, the_hub, when
from .assignments import class_lessons, installed_lessons
from .charts import accuracy, lesson_states
from .tables import Table, csv_response, wants_csv

ATTEMPTS_PER_PAGE = 50
ATTEMPTS_EXPORTED = 100_000
STATES = (queries.MASTERED, queries.IN_PROGRESS, queries.NOT_STARTED)


def state_names() -> dict:
    return {
        queries.MASTERED: _("Mastered"),
        queries.IN_PROGRESS: _("In progress"),
        queries.NOT_STARTED: _("Not started"),
    }


def _mastery() -> queries.Mastery:
    settings = the_hub().settings
    return queries.Mastery(
        settings.TEACHER_MASTERY_ANSWERS, settings.TEACHER_MASTERY_PERCENT
    )


def _words() -> dict:
    """Word id -> its texts by language, from every installed lessons pack."""
    words = {}
    for pack in the_hub().packs.catalog():
        for word in pack.manifest.get("words", []):
            words.setdefault(word["id"], word.get("text", {}))
    return words


def word_text(word_id: str | None, language: str | None, words: dict) -> str:
    if word_id is None:
        return ""
    texts = words.get(word_id)
    if not texts:
        return word_id
    shown = texts.get(language) or pack_text(texts)
    mine = texts.get(g.lang)
    # The word as the child heard it, and the teacher's own word beside it.
    return f"{shown} ({mine})" if mine and mine != shown else shown


def _cell_text(cell: queries.LessonCell) -> str:
    name = state_names()[cell.state]
    if cell.recent_scored:
        return f"{name} {cell.recent_correct}/{cell.recent_scored}"
    return name


@bp.get("/classes/<class_id>/progress")
def class_progress(class_id: str):
    hub = the_hub()
    group = hub.state.get_class(class_id)
    if group is None:
        return problem(404, _("There is no such class. Open Classes."))

    learners = hub.state.learners(class_id)
    lessons = class_lessons(hub, class_id)
    ids = [learner["id"] for learner in learners]
    grid = queries.lesson_grid(hub.results, ids, _mastery())

    columns = [("name", _("Name"))] + [
        (f"{lesson['pack_id']}/{lesson['lesson_id']}", pack_text(lesson["title"]))
        for lesson in lessons
    ]
    table = Table(f"progress-{group['name']}", columns)
    cells = {}
    for learner in learners:
        row = {
            "id": learner["id"],
            "name": learner["name"],
            "picture": learner["picture"],
        }
        for lesson in lessons:
            key = f"{lesson['pack_id']}/{lesson['lesson_id']}"
            cell = grid.get(
                (learner["id"], lesson["pack_id"], lesson["lesson_id"]),
                queries.EMPTY_CELL,
            )
            cells[(learner["id"], key)] = cell
            row[key] = _cell_text(cell)
        table.rows.append(row)

    words = _words()
    hard = queries.hardest_words(hub.results, ids)
    words_table = Table(
        f"hard-words-{group['name']}",
        [
            ("word", _("Word")),
            ("answers", _("Answers")),
            ("wrong", _("Wrong")),
            ("confused_with", _("Often chosen instead")),
        ],
        [
            {
                "word": word_text(word.item, word.language, words),
                "answers": word.answers,
                "wrong": word.wrong,
                "wrong_share": word.wrong_share,
                "confused_with": word_text(word.confused_with, word.language, words),
            }
            for word in hard
        ],
    )

    if wants_csv():
        if request.args.get("table") == "words":
            return csv_response(words_table, _("hard-words") + "-" + group["name"])
        return csv_response(table, _("progress") + "-" + group["name"])

    counts = []
    for lesson in lessons:
        key = f"{lesson['pack_id']}/{lesson['lesson_id']}"
        states = [cells[(learner["id"], key)].state for learner in learners]
        counts.append((pack_text(lesson["title"]), [states.count(s) for s in STATES]))

    return page(
        "class_progress.html",
        group=group,
        table=table,
        lessons=lessons,
        cells=cells,
        words_table=words_table,
        chart=lesson_states(counts, list(STATES)),
        states=state_names(),
        mastery=_mastery(),
    )


def _activity_names() -> dict:
    return {
        "listen_choose": _("Listen and choose"),
        "flashcards": _("Flashcards"),
        "go_no_go": _("Go / no-go"),
    }


def _special_responses() -> dict:
    return {"tap": _("tapped"), "no_tap": _("held back"), "next": _("next")}


def _response_text(row, words: dict, special: dict) -> str:
    response = row["response"]
    if response in special:
        return special[response]
    return word_text(response, row["language"], words)


def _seconds(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    return _("{seconds} s", seconds=g.i18n.format_number(milliseconds / 1000, 1))


def _verdicts() -> dict:
    return {None: "—", 1: _("right"), 0: _("wrong")}


@bp.get("/learners/<learner_id>")
def learner_progress(learner_id: str):
    hub = the_hub()
    from .classes import find_record

    learner = find_record("learners", learner_id)
    if learner is None:
        return problem(404, _("There is no such learner. Open Classes."))
    group = hub.state.get_class(learner["class_id"])

    exporting = wants_csv()
    try:
        before = int(request.args["before"]) if "before" in request.args else None
    except ValueError:
        before = None
    limit = ATTEMPTS_EXPORTED if exporting else ATTEMPTS_PER_PAGE
    rows = queries.attempts(hub.results, learner_id, limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]

    words = _words()
    titles = {
        (lesson["pack_id"], lesson["lesson_id"]): pack_text(lesson["title"])
        for lesson in installed_lessons(hub.packs)
    }
    activities = _activity_names()
    table = Table(
        f"answers-{learner['name']}",
        [
            ("answered_at", _("Answered (tablet clock)")),
            ("lesson", _("Lesson")),
            ("activity", _("Activity")),
            ("word", _("Word asked")),
            ("response", _("Answer")),
            ("verdict", _("Right?")),
        ],
    )
    # Seconds read at a glance on the page; a spreadsheet gets exact ms.
    if exporting:
        table.columns.append(("reaction_ms", _("Reaction (ms)")))
        table.columns.append(("received_at", _("Received (hub clock)")))
    else:
        table.columns.append(("reaction", _("Reaction time")))
    # Said once per page rather than once per answer: a CSV has thousands.
    special, verdicts = _special_responses(), _verdicts()
    for row in rows:
        table.rows.append(
            {
                "answered_at": row["answered_at"]
                if exporting
                else when(row["answered_at"]),
                "received_at": row["received_at"],
                "lesson": titles.get(
                    (row["pack_id"], row["lesson_id"]), row["lesson_id"]
                ),
                "activity": activities.get(row["activity_type"], row["activity_type"]),
                "word": word_text(row["item"], row["language"], words),
                "response": _response_text(row, words, special),
                "verdict": verdicts[row["correct"]],
                "correct": row["correct"],
                "row_class": "wrong" if row["correct"] == 0 else "",
                "reaction_ms": row["reaction_ms"],
                "reaction": "" if exporting else _seconds(row["reaction_ms"]),
            }
        )
    if exporting:
        return csv_response(table, _("answers") + "-" + learner["name"])

    lessons = class_lessons(hub, learner["class_id"])
    grid = queries.lesson_grid(hub.results, [learner_id], _mastery())
    summary = [
        (
            lesson,
            grid.get(
                (learner_id, lesson["pack_id"], lesson["lesson_id"]), queries.EMPTY_CELL
            ),
        )
        for lesson in lessons
    ]
    groups = queries.recent_accuracy(hub.results, learner_id)
    older = (
        url_for(
            "teacher.learner_progress", learner_id=learner_id, before=rows[-1]["seq"]
        )
        if more
        else None
    )
    return page(
        "learner_progress.html",
        learner=learner,
        group=group,
        summary=summary,
        states=state_names(),
        table=table,
        older=older,
        groups=groups,
        chart=accuracy(groups, g.i18n.format_percent),
    )
