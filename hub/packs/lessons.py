# SPDX-License-Identifier: AGPL-3.0-or-later
"""The rules for what a pack teaches: words, lessons, activities and guides.

Called by ``manifest.validate_manifest`` with its checker, whose methods
raise PackError at the first wrong field. Pure functions, safe from any
thread; nothing here touches a file.
"""

from __future__ import annotations

import math
import re

WORD_ID = re.compile(r"[a-z0-9_]{1,64}")
ITEM_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

ACTIVITY_FIELDS = {
    "listen_choose": {"language", "words", "choices"},
    "flashcards": {"language", "words"},
    "go_no_go": {"go_word", "words", "trials", "go_ratio", "stimulus_ms"},
}
ACTIVITY_TYPES = tuple(ACTIVITY_FIELDS)


def check_words(check, words) -> set[str]:
    """Check ``words`` and return the word ids."""
    ids: set[str] = set()
    for index, word in enumerate(check.list_of(words, "words", at_least=1)):
        field = f"words[{index}]"
        check.fields(word, field, {"id", "text", "picture", "audio"}, {"topic"})
        word_id = check.pattern(word["id"], f"{field}.id", WORD_ID, "a-z 0-9 _")
        check.unique(ids, word_id, f"{field}.id", "word")
        if "topic" in word:
            check.string(word["topic"], f"{field}.topic")
        check.text(word["text"], f"{field}.text")
        check.listed_file(word["picture"], f"{field}.picture", "image")

        # A language left out is the same as null: no recording yet, and the
        # tablet shows the written word without sound.
        audio = check.object(word["audio"], f"{field}.audio", "language → file")
        for code, path in audio.items():
            check.language(code, f"{field}.audio.{code}")
            if path is not None:
                check.listed_file(path, f"{field}.audio.{code}", "audio")
    return ids


def check_lessons(check, lessons, words: set[str]) -> None:
    lesson_ids: set[str] = set()
    activity_ids: set[str] = set()
    for index, lesson in enumerate(check.list_of(lessons, "lessons", at_least=1)):
        field = f"lessons[{index}]"
        check.fields(lesson, field, {"id", "title", "activities"}, {"topic"})
        lesson_id = check.pattern(lesson["id"], f"{field}.id", ITEM_ID, "a-z 0-9 _ -")
        check.unique(lesson_ids, lesson_id, f"{field}.id", "lesson")
        check.text(lesson["title"], f"{field}.title")
        if "topic" in lesson:
            check.string(lesson["topic"], f"{field}.topic")

        activities = check.list_of(lesson["activities"], f"{field}.activities", 1)
        for number, activity in enumerate(activities):
            where = f"{field}.activities[{number}]"
            activity_id = check_activity(check, activity, where, words)
            check.unique(activity_ids, activity_id, f"{where}.id", "activity")


def check_activity(check, activity, field: str, words: set[str]) -> str:
    """Check one activity and return its id."""
    check.object(activity, field, "activity")
    kind = activity.get("type")
    if kind not in ACTIVITY_TYPES:
        # An older hub refuses a pack it cannot play rather than show a
        # broken lesson to a child.
        check.fail(
            f"{field}.type",
            f"{kind!r} is not an activity this hub can play ("
            f"{', '.join(ACTIVITY_TYPES)}); update the hub, or correct the type",
        )
    check.fields(activity, field, {"id", "type"} | ACTIVITY_FIELDS[kind])
    activity_id = check.pattern(activity["id"], f"{field}.id", ITEM_ID, "a-z 0-9 _ -")

    named = check.list_of(activity["words"], f"{field}.words", at_least=1)
    for number, word_id in enumerate(named):
        if not isinstance(word_id, str) or word_id not in words:
            check.fail(
                f"{field}.words[{number}]",
                f"{word_id!r} is not a word of this pack; add it to words or "
                "correct the id",
            )
    if len(set(named)) != len(named):
        check.fail(f"{field}.words", "names a word twice; name each once")
    if "language" in activity:
        check.language(activity["language"], f"{field}.language")

    if kind == "listen_choose":
        choices = check.integer(activity["choices"], f"{field}.choices", 2, 6)
        if len(named) < choices:
            check.fail(
                f"{field}.words",
                f"has {len(named)} words; {choices} choices need at least "
                f"{choices} words",
            )
    if kind == "go_no_go":
        check_go_no_go(check, activity, field, named)
    return activity_id


def check_go_no_go(check, activity: dict, field: str, named: list) -> None:
    if activity["go_word"] not in named:
        check.fail(
            f"{field}.go_word",
            f"{activity['go_word']!r} must be one of the activity's words",
        )
    if len(named) < 2:
        check.fail(f"{field}.words", "needs the go word and at least one other")
    check.integer(activity["trials"], f"{field}.trials", 4, 200)
    check.integer(activity["stimulus_ms"], f"{field}.stimulus_ms", 300, 5000)

    ratio = activity["go_ratio"]
    is_number = isinstance(ratio, (int, float)) and not isinstance(ratio, bool)
    if not is_number or not math.isfinite(ratio) or not 0.5 <= ratio <= 0.9:
        check.fail(f"{field}.go_ratio", f"is {ratio!r}; it must be from 0.5 to 0.9")


def check_guides(check, guides) -> None:
    ids: set[str] = set()
    for index, guide in enumerate(check.list_of(guides, "guides", at_least=1)):
        field = f"guides[{index}]"
        check.fields(guide, field, {"id", "title", "sections"})
        guide_id = check.pattern(guide["id"], f"{field}.id", ITEM_ID, "a-z 0-9 _ -")
        check.unique(ids, guide_id, f"{field}.id", "guide")
        check.text(guide["title"], f"{field}.title")

        sections = check.list_of(guide["sections"], f"{field}.sections", 1)
        for number, section in enumerate(sections):
            where = f"{field}.sections[{number}]"
            check.fields(section, where, {"heading", "paragraphs"}, {"minutes"})
            check.text(section["heading"], f"{where}.heading")
            check_paragraphs(check, section["paragraphs"], f"{where}.paragraphs")
            if "minutes" in section:
                check.integer(section["minutes"], f"{where}.minutes", 1, 240)


def check_paragraphs(check, paragraphs, field: str) -> None:
    """Language → list of paragraphs, plain text: a pack never brings HTML."""
    check.object(paragraphs, field, "language → list of paragraphs")
    check.language_keys(paragraphs, field)
    for code, texts in paragraphs.items():
        for number, text in enumerate(check.list_of(texts, f"{field}.{code}", 1)):
            check.string(text, f"{field}.{code}[{number}]")
