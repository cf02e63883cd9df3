# SPDX-License-Identifier: AGPL-3.0-or-later
"""Assessment packs: what the hub refuses, and the bundled pack as committed.

Refusals go through ``validate_manifest`` (and one real install), each
checking that the error names the field. The bundled pack is read from
content_packs/ and rebuilt from its sources into a temporary folder, which
must give the same manifest.
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

from hub.assessments.checks import checks_of
from hub.packs import PackError, PackLibrary, validate_manifest, verify_pack
from tests.support.assessment_packs import (
    BUNDLED,
    assessment_manifest,
    make_assessment_pack,
)
from tests.support.packs import read_manifest, write_manifest

REPO_DIR = Path(__file__).resolve().parent.parent
FILES = [
    {"path": f"media/pictures/{word}.svg", "size": 1, "sha256": "0" * 64}
    for word in ("horse", "cow", "camel", "sheep", "goat", "dog")
] + [
    {"path": f"media/audio/en/{word}.wav", "size": 1, "sha256": "0" * 64}
    for word in ("horse", "cow", "camel", "sheep", "goat")
]


def manifest() -> dict:
    return assessment_manifest(copy.deepcopy(FILES))


def refusal(changed: dict) -> PackError:
    with pytest.raises(PackError) as caught:
        validate_manifest(changed, "usb/checks.zip")
    assert "usb/checks.zip: pack.json, field " in str(caught.value)
    return caught.value


def test_the_test_assessment_pack_is_accepted():
    validate_manifest(manifest(), "checks")


def test_an_assessment_pack_installs_and_keeps_its_kind(tmp_path):
    library = PackLibrary(tmp_path / "packs")
    pack = library.install(make_assessment_pack(tmp_path / "source"))

    assert pack.kind == "assessment"
    assert [c.id for c in checks_of(pack.manifest)] == [
        "receptive-en",
        "expressive-mn",
        "attention",
    ]


def test_an_assessment_pack_with_lessons_instead_of_checks_is_refused():
    changed = manifest()
    changed["lessons"] = changed.pop("checks")

    assert refusal(changed).field == "checks"


def test_an_unknown_check_type_asks_for_a_newer_hub():
    changed = manifest()
    changed["checks"][0]["type"] = "reading_fluency"

    error = refusal(changed)
    assert error.field == "checks[0].type"
    assert "update the hub" in error.message


@pytest.mark.parametrize(
    "field, value, named",
    [
        ("stimulus", "video", "checks[0].stimulus"),
        ("language", "fr", "checks[0].language"),
        ("scoring", {"rule": "count_correct"}, "checks[0].scoring.stop_after_misses"),
        ("scoring", {"rule": "irt", "stop_after_misses": 4}, "checks[0].scoring.rule"),
        (
            "scoring",
            {"rule": "count_correct", "stop_after_misses": 0},
            "checks[0].scoring.stop_after_misses",
        ),
        ("items", [], "checks[0].items"),
        ("practice", [], "checks[0].practice"),
    ],
)
def test_a_receptive_check_with_a_wrong_field_is_refused_naming_it(field, value, named):
    changed = manifest()
    changed["checks"][0][field] = value

    assert refusal(changed).field == named


def test_a_receptive_item_whose_choices_lack_its_word_is_refused():
    changed = manifest()
    changed["checks"][0]["items"][1]["choices"] = ["cow", "sheep", "goat", "dog"]

    error = refusal(changed)
    assert error.field == "checks[0].items[1].choices"
    assert "'camel'" in error.message


def test_a_receptive_item_with_one_choice_or_a_picture_twice_is_refused():
    changed = manifest()
    changed["checks"][0]["items"][0]["choices"] = ["cow"]
    assert refusal(changed).field == "checks[0].items[0].choices"

    changed = manifest()
    changed["checks"][0]["items"][0]["choices"] = ["cow", "cow", "goat"]
    assert "twice" in refusal(changed).message


def test_a_heard_check_needs_a_recording_of_every_word():
    changed = manifest()
    changed["checks"][0]["items"].append({"word": "dog", "choices": ["dog", "cow"]})

    error = refusal(changed)
    assert error.field == "checks[0].items[4].word"
    assert "stimulus 'examiner'" in error.message


def test_a_practice_word_that_is_also_a_test_item_is_refused():
    changed = manifest()
    changed["checks"][1]["practice"] = [{"word": "horse"}]

    error = refusal(changed)
    assert error.field == "checks[1].items[0].word"
    assert "appears twice" in error.message


def test_an_item_naming_a_word_the_pack_lacks_is_refused():
    changed = manifest()
    changed["checks"][1]["items"].append({"word": "yak"})

    assert refusal(changed).field == "checks[1].items[3].word"


def test_an_expressive_item_with_choices_is_refused_as_unknown_field():
    changed = manifest()
    changed["checks"][1]["items"][0]["choices"] = ["horse", "cow"]

    assert refusal(changed).field == "checks[1].items[0].choices"


@pytest.mark.parametrize(
    "change, named",
    [
        ({"go_word": "dog"}, "checks[2].go_word"),
        ({"words": ["horse"]}, "checks[2].words"),
        ({"trials": ["horse"] * 8}, "checks[2].trials"),
        ({"trials": ["horse", "cow", "horse"]}, "checks[2].trials"),
        ({"trials": ["horse", "cow", "dog", "horse"]}, "checks[2].trials[2]"),
        ({"stimulus_ms": 100}, "checks[2].stimulus_ms"),
        ({"gap_ms": 9000}, "checks[2].gap_ms"),
        (
            {"scoring": {"rule": "signal_detection", "min_reaction_ms": -1}},
            "checks[2].scoring.min_reaction_ms",
        ),
    ],
)
def test_an_attention_check_with_a_wrong_field_is_refused_naming_it(change, named):
    changed = manifest()
    changed["checks"][2].update(change)

    assert refusal(changed).field == named


def test_two_checks_with_one_id_are_refused():
    changed = manifest()
    changed["checks"][1]["id"] = "receptive-en"

    assert refusal(changed).field == "checks[1].id"


def test_an_assessment_title_without_every_language_is_refused():
    changed = manifest()
    changed["checks"][2]["title"] = {"en": "Attention"}

    assert refusal(changed).field == "checks[2].title"


def test_a_lessons_pack_may_not_carry_checks():
    changed = manifest()
    changed["kind"] = "lessons"

    assert refusal(changed).field in ("checks", "lessons")


def test_a_changed_pack_under_the_same_version_is_refused_on_install(tmp_path):
    library = PackLibrary(tmp_path / "packs")
    source = make_assessment_pack(tmp_path / "source")
    library.install(source)
    changed = read_manifest(source)
    changed["checks"][0]["scoring"]["stop_after_misses"] = 3
    write_manifest(source, changed)

    with pytest.raises(PackError, match="new version"):
        library.install(source)


# The bundled pack.


@pytest.fixture(scope="module")
def bundled() -> dict:
    return read_manifest(BUNDLED)


def test_the_bundled_assessment_pack_passes_the_hubs_own_check():
    assert verify_pack(BUNDLED)["kind"] == "assessment"


def test_the_bundled_pack_has_the_five_checks_mother_tongue_first(bundled):
    checks = [(c["id"], c["type"], c.get("language")) for c in bundled["checks"]]

    assert checks == [
        ("receptive-mn", "receptive_vocabulary", "mn"),
        ("receptive-en", "receptive_vocabulary", "en"),
        ("expressive-mn", "expressive_vocabulary", "mn"),
        ("expressive-en", "expressive_vocabulary", "en"),
        ("attention", "attention_go_no_go", None),
    ]


def test_mongolian_is_said_by_the_teacher_until_recordings_exist(bundled):
    receptive = {c["language"]: c for c in bundled["checks"][:2]}

    assert receptive["mn"]["stimulus"] == "examiner"
    assert receptive["en"]["stimulus"] == "audio"


def test_items_are_asked_easiest_level_first(bundled):
    levels = {}
    source = (REPO_DIR / "content_packs/source/assessment-items.csv").read_text()
    for line in source.splitlines()[1:]:
        word, level, _check = line.split(",")
        levels[word] = int(level)

    for check in bundled["checks"][:4]:
        asked = [levels[item["word"]] for item in check["items"]]
        assert asked == sorted(asked), check["id"]
        assert len(asked) >= 15


def test_the_right_picture_is_not_always_in_one_place(bundled):
    for check in bundled["checks"][:2]:
        places = [item["choices"].index(item["word"]) for item in check["items"]]
        assert set(places) == {0, 1, 2, 3}, check["id"]
        assert max(places.count(place) for place in range(4)) <= 6


def test_the_attention_check_is_three_quarters_go_and_never_two_no_go_in_a_row(
    bundled,
):
    check = bundled["checks"][4]
    go = [word == check["go_word"] for word in check["trials"]]

    assert len(go) == 40 and sum(go) == 30
    assert go[:3] == [True, True, True]
    assert all(go[n] or go[n + 1] for n in range(len(go) - 1))


def test_rebuilding_from_the_sources_gives_the_committed_manifest(bundled, tmp_path):
    path = REPO_DIR / "scripts" / "build-assessment-packs"
    loader = importlib.machinery.SourceFileLoader("build_assessment_packs", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    script = importlib.util.module_from_spec(spec)
    loader.exec_module(script)

    source = json.loads(script.SOURCE_PATH.read_text(encoding="utf-8"))
    vocab = read_manifest(script.VOCAB_DIR)
    rebuilt = script.assessment_manifest(tmp_path, source, vocab)

    assert {**bundled, "files": None} == {**rebuilt, "files": None}
    assert script.content.file_entries(tmp_path) == bundled["files"]
