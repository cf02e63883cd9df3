# SPDX-License-Identifier: AGPL-3.0-or-later
"""The rules for what an assessment pack holds: its checks and their items.

An assessment pack (``kind: "assessment"``) carries words like a lessons
pack and, instead of lessons, ``checks``: receptive and expressive
vocabulary and a go/no-go attention check, each with its items in a fixed
order and its scoring rule, so that every child meets the same test and a
national team can publish a new version. ``docs/pack-format.md`` is the
specification; a rule added here belongs there too.

Called by ``manifest.validate_manifest`` with its checker, whose methods
raise PackError at the first wrong field. Pure functions, safe from any
thread; nothing here touches a file.
"""

from __future__ import annotations

from ..assessments.records import ATTENTION, EXPRESSIVE, RECEPTIVE
from .lessons import ITEM_ID

CHECK_TYPES = (RECEPTIVE, EXPRESSIVE, ATTENTION)

# What a receptive check's word is said by: the pack's recording, or the
# teacher reading it aloud from the tablet, as an examiner does.
STIMULI = ("audio", "examiner")

_CHECK_FIELDS = {
    RECEPTIVE: {"language", "stimulus", "practice", "items", "scoring"},
    EXPRESSIVE: {"language", "practice", "items", "scoring"},
    ATTENTION: {
        "go_word", "words", "practice", "trials", "stimulus_ms", "gap_ms", "scoring",
    },
}  # fmt: skip
_SCORING_FIELDS = {
    RECEPTIVE: ("count_correct", "stop_after_misses", 1, 200),
    EXPRESSIVE: ("count_correct", "stop_after_misses", 1, 200),
    ATTENTION: ("signal_detection", "min_reaction_ms", 0, 1000),
}
MAX_ITEMS = 200


def check_checks(check, checks, words: set[str], audio: dict) -> None:
    """Check ``checks``; ``audio`` maps (word, language) to its recording."""
    ids: set[str] = set()
    for index, entry in enumerate(check.list_of(checks, "checks", at_least=1)):
        field = f"checks[{index}]"
        check.object(entry, field, "check")
        kind = entry.get("type")
        if kind not in CHECK_TYPES:
            check.fail(
                f"{field}.type",
                f"{kind!r} is not a check this hub can give ("
                f"{', '.join(CHECK_TYPES)}); update the hub, or correct the type",
            )
        check.fields(entry, field, {"id", "type", "title"} | _CHECK_FIELDS[kind])
        check_id = check.pattern(entry["id"], f"{field}.id", ITEM_ID, "a-z 0-9 _ -")
        check.unique(ids, check_id, f"{field}.id", "check")
        check.text(entry["title"], f"{field}.title")
        _check_scoring(check, entry["scoring"], f"{field}.scoring", kind)

        if kind == ATTENTION:
            _check_attention(check, entry, field, words)
        else:
            _check_vocabulary(check, entry, field, words, audio)


def _check_scoring(check, scoring, field: str, kind: str) -> None:
    rule, number, low, high = _SCORING_FIELDS[kind]
    check.fields(scoring, field, {"rule", number})
    if scoring["rule"] != rule:
        check.fail(
            f"{field}.rule", f"is {scoring['rule']!r}; this check needs {rule!r}"
        )
    check.integer(scoring[number], f"{field}.{number}", low, high)


def _check_vocabulary(check, entry: dict, field: str, words, audio) -> None:
    language = entry["language"]
    check.language(language, f"{field}.language")
    choices = entry["type"] == RECEPTIVE
    heard = choices and entry["stimulus"] == "audio"
    if choices and entry["stimulus"] not in STIMULI:
        check.fail(
            f"{field}.stimulus",
            f"is {entry['stimulus']!r}; it must be 'audio' (the pack's recording) "
            "or 'examiner' (the teacher says the word)",
        )

    seen: set[str] = set()
    for part in ("practice", "items"):
        listed = check.list_of(entry[part], f"{field}.{part}", at_least=1)
        if len(listed) > MAX_ITEMS:
            check.fail(f"{field}.{part}", f"holds more than {MAX_ITEMS} items")
        for number, item in enumerate(listed):
            where = f"{field}.{part}[{number}]"
            check.fields(item, where, {"word", "choices"} if choices else {"word"})
            word = _word(check, item["word"], f"{where}.word", words)
            # A practice word among the test items would be taught first.
            check.unique(seen, word, f"{where}.word", "word")
            if heard and audio.get((word, language)) is None:
                check.fail(
                    f"{where}.word",
                    f"{word!r} has no {language} recording, which stimulus "
                    "'audio' needs; add one or use stimulus 'examiner'",
                )
            if choices:
                _check_choices(check, item, where, words)


def _check_choices(check, item: dict, where: str, words) -> None:
    shown = check.list_of(item["choices"], f"{where}.choices")
    if not 2 <= len(shown) <= 6:
        check.fail(f"{where}.choices", "must hold 2 to 6 pictures")
    for number, word in enumerate(shown):
        _word(check, word, f"{where}.choices[{number}]", words)
    if len(set(shown)) != len(shown):
        check.fail(f"{where}.choices", "names a picture twice")
    if item["word"] not in shown:
        check.fail(f"{where}.choices", f"must include the word {item['word']!r}")


def _check_attention(check, entry: dict, field: str, words) -> None:
    named = check.list_of(entry["words"], f"{field}.words", at_least=2)
    for number, word in enumerate(named):
        _word(check, word, f"{field}.words[{number}]", words)
    if len(set(named)) != len(named):
        check.fail(f"{field}.words", "names a word twice; name each once")
    go_word = entry["go_word"]
    if go_word not in named:
        check.fail(f"{field}.go_word", f"{go_word!r} must be one of the check's words")

    for part, least in (("practice", 1), ("trials", 4)):
        shown = check.list_of(entry[part], f"{field}.{part}", at_least=least)
        if len(shown) > MAX_ITEMS:
            check.fail(f"{field}.{part}", f"holds more than {MAX_ITEMS} trials")
        for number, word in enumerate(shown):
            if word not in named:
                check.fail(
                    f"{field}.{part}[{number}]",
                    f"{word!r} is not one of the check's words",
                )
    trials = entry["trials"]
    if go_word not in trials or all(word == go_word for word in trials):
        check.fail(
            f"{field}.trials",
            "needs at least one go and one no-go trial, or nothing is measured",
        )
    check.integer(entry["stimulus_ms"], f"{field}.stimulus_ms", 300, 5000)
    check.integer(entry["gap_ms"], f"{field}.gap_ms", 200, 5000)


def _word(check, word, field: str, words) -> str:
    if not isinstance(word, str) or word not in words:
        check.fail(
            field,
            f"{word!r} is not a word of this pack; add it to words or correct the id",
        )
    return word
