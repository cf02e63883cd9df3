# SPDX-License-Identifier: AGPL-3.0-or-later
"""The bundled content as committed: both packs and the sign-in pictures.

Reads the real files under content_packs/ and hub/static/pictures/; nothing
is generated here except a copy of a pack in a temporary folder for the
--refresh-files check. Regenerate the content with scripts/build-content-packs.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import wave
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
PACKS_DIR = REPO_DIR / "content_packs"
SOURCE_DIR = PACKS_DIR / "source"
PICTURES_DIR = REPO_DIR / "hub" / "static" / "pictures"
BUILD_SCRIPT = REPO_DIR / "scripts" / "build-content-packs"

VOCAB_PACK = PACKS_DIR / "vocab-early-mn-en"
GUIDE_PACK = PACKS_DIR / "guide-vocab-session"
BUNDLED_PACKS = [VOCAB_PACK, GUIDE_PACK]

SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
CYRILLIC_WORD = re.compile(r"[а-яёөүА-ЯЁӨҮ]+(?:[ -][а-яёөүА-ЯЁӨҮ]+)*")
# Latin a Mongolian sentence may hold: names of things that are spelled so
# on the device or in the room.
LATIN_IN_MONGOLIAN = re.compile(r"Wi-Fi|QR|IP|Classroom Hub")


def manifest_of(pack_dir: Path) -> dict:
    return json.loads((pack_dir / "pack.json").read_text(encoding="utf-8"))


def files_on_disk(pack_dir: Path) -> set[str]:
    return {
        path.relative_to(pack_dir).as_posix()
        for path in pack_dir.rglob("*")
        if not path.is_dir() and path.name != "pack.json"
    }


def is_mongolian_text(text: str) -> bool:
    """Cyrillic words, with no Latin letters beyond the allowed names."""
    return bool(re.search("[а-яөү]", text)) and not re.search(
        "[A-Za-z]", LATIN_IN_MONGOLIAN.sub("", text)
    )


@pytest.fixture(scope="module")
def vocab() -> dict:
    return manifest_of(VOCAB_PACK)


@pytest.fixture(scope="module")
def guide() -> dict:
    return manifest_of(GUIDE_PACK)


@pytest.mark.parametrize("pack_dir", BUNDLED_PACKS, ids=lambda path: path.name)
def test_every_file_of_a_bundled_pack_is_listed_with_its_size_and_sha256(pack_dir):
    manifest = manifest_of(pack_dir)
    listed = {entry["path"]: entry for entry in manifest["files"]}

    assert len(listed) == len(manifest["files"])
    assert set(listed) == files_on_disk(pack_dir)
    for path, entry in listed.items():
        content = (pack_dir / path).read_bytes()
        assert entry["size"] == len(content), path
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), path


@pytest.mark.parametrize("pack_dir", BUNDLED_PACKS, ids=lambda path: path.name)
def test_a_bundled_pack_holds_only_plain_files(pack_dir):
    for path in pack_dir.rglob("*"):
        assert not path.is_symlink(), path
        assert not path.name.startswith("."), path


@pytest.mark.parametrize("pack_dir", BUNDLED_PACKS, ids=lambda path: path.name)
def test_a_bundled_manifest_is_written_the_one_way_the_build_writes_it(pack_dir):
    text = (pack_dir / "pack.json").read_text(encoding="utf-8")
    manifest = json.loads(text)

    canonical = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
    assert text == canonical + "\n"
    assert manifest["files"] == sorted(manifest["files"], key=lambda f: f["path"])


@pytest.mark.parametrize("pack_dir", BUNDLED_PACKS, ids=lambda path: path.name)
def test_the_hubs_own_check_accepts_a_bundled_pack(pack_dir):
    from hub.packs import verify_pack

    manifest = verify_pack(pack_dir)

    assert manifest["id"] == pack_dir.name


def test_the_vocabulary_pack_is_a_version_1_lessons_pack_in_both_languages(vocab):
    assert vocab["format"] == 1
    assert vocab["kind"] == "lessons"
    assert vocab["version"] == "1.0.0"
    assert vocab["languages"] == ["mn", "en"]
    assert vocab["license"] == "CC-BY-SA-4.0"
    assert is_mongolian_text(vocab["title"]["mn"])
    assert is_mongolian_text(vocab["description"]["mn"])


def test_the_vocabulary_pack_has_every_word_of_the_source_list(vocab):
    source = SOURCE_DIR / "vocabulary-mn-en.csv"
    with source.open(encoding="utf-8", newline="") as rows:
        expected = [
            (row["en"], row["mn"], row["en"], row["topic"])
            for row in csv.DictReader(rows)
        ]

    words = [
        (word["id"], word["text"]["mn"], word["text"]["en"], word["topic"])
        for word in vocab["words"]
    ]
    assert words == expected
    assert len(words) >= 40
    assert len({word["topic"] for word in vocab["words"]}) >= 4


def test_every_mongolian_word_is_written_in_cyrillic_only(vocab):
    for word in vocab["words"]:
        assert CYRILLIC_WORD.fullmatch(word["text"]["mn"]), word["id"]


def test_every_word_has_an_svg_picture_in_the_pack(vocab):
    listed = {entry["path"] for entry in vocab["files"]}
    for word in vocab["words"]:
        assert word["picture"] in listed, word["id"]
        root = ElementTree.parse(VOCAB_PACK / word["picture"]).getroot()
        assert root.tag == SVG_ROOT, word["picture"]


def test_every_word_has_english_speech_as_a_short_mono_wav(vocab):
    listed = {entry["path"] for entry in vocab["files"]}
    for word in vocab["words"]:
        path = word["audio"]["en"]
        assert path in listed, word["id"]
        header = (VOCAB_PACK / path).read_bytes()[:12]
        assert header[:4] == b"RIFF" and header[8:12] == b"WAVE", path

        with wave.open(str(VOCAB_PACK / path)) as sound:
            seconds = sound.getnframes() / sound.getframerate()
            assert sound.getnchannels() == 1, path
            assert sound.getframerate() <= 22050, path
            assert 0.2 < seconds < 3, path


def test_mongolian_audio_is_an_empty_slot_or_a_file_of_the_pack(vocab):
    listed = {entry["path"] for entry in vocab["files"]}
    for word in vocab["words"]:
        assert set(word["audio"]) == {"mn", "en"}
        recording = word["audio"]["mn"]
        assert recording is None or recording in listed, word["id"]


def test_each_topic_is_one_lesson_with_its_five_activities(vocab):
    topics = list(dict.fromkeys(word["topic"] for word in vocab["words"]))
    assert [lesson["topic"] for lesson in vocab["lessons"]] == topics

    for lesson in vocab["lessons"]:
        kinds = [
            (activity["type"], activity.get("language"))
            for activity in lesson["activities"]
        ]
        assert kinds == [
            ("listen_choose", "en"),
            ("listen_choose", "mn"),
            ("flashcards", "en"),
            ("flashcards", "mn"),
            ("go_no_go", None),
        ], lesson["id"]
        assert is_mongolian_text(lesson["title"]["mn"]), lesson["id"]
        assert lesson["title"]["en"]


def test_the_attention_game_has_the_agreed_timing(vocab):
    for lesson in vocab["lessons"]:
        game = lesson["activities"][-1]
        assert game["trials"] == 20
        assert game["go_ratio"] == 0.75
        assert game["stimulus_ms"] == 1500
        assert game["go_word"] in game["words"]


def test_every_word_an_activity_names_is_in_the_pack(vocab):
    word_ids = {word["id"] for word in vocab["words"]}
    ids = [lesson["id"] for lesson in vocab["lessons"]]
    for lesson in vocab["lessons"]:
        for activity in lesson["activities"]:
            ids.append(activity["id"])
            assert set(activity["words"]) <= word_ids, activity["id"]
            assert activity.get("go_word", activity["words"][0]) in word_ids

    assert len(ids) == len(set(ids))


def test_every_picture_is_credited_to_its_author_under_its_licence(vocab):
    credits = {}
    for credit in vocab["attribution"]:
        assert set(credit) == {"work", "author", "license", "source"}
        assert all(credit.values()), credit
        credits[credit["work"].rsplit(" ", 1)[-1]] = credit

    for word in vocab["words"]:
        credit = credits[word["picture"]]
        assert credit["license"] == "CC-BY-SA-4.0"
        assert "OpenMoji" in credit["author"]
    assert any("eSpeak NG" in credit["author"] for credit in vocab["attribution"])


def test_the_guide_pack_is_a_version_1_guide_without_media(guide):
    assert guide["format"] == 1
    assert guide["kind"] == "guide"
    assert guide["version"] == "1.0.0"
    assert guide["files"] == []
    assert len(guide["guides"]) == 1


def test_the_timed_sections_of_the_guide_add_up_to_fifteen_minutes(guide):
    sections = guide["guides"][0]["sections"]

    assert sum(section.get("minutes", 0) for section in sections) == 15


def test_every_guide_text_is_in_mongolian_and_english_alike(guide):
    texts = [guide["title"], guide["description"], guide["guides"][0]["title"]]
    for section in guide["guides"][0]["sections"]:
        paragraphs = section["paragraphs"]
        assert len(paragraphs["mn"]) == len(paragraphs["en"]) > 0
        texts.append(section["heading"])
        texts.extend(
            {"mn": mn, "en": en}
            for mn, en in zip(paragraphs["mn"], paragraphs["en"], strict=True)
        )

    for text in texts:
        assert set(text) == {"mn", "en"}
        assert is_mongolian_text(text["mn"]), text["mn"]
        assert re.search("[A-Za-z]", text["en"]), text["en"]
        assert not re.search("[а-яөүА-ЯӨҮ]", text["en"]), text["en"]


def test_the_sign_in_pictures_index_matches_the_pictures_there():
    index = json.loads((PICTURES_DIR / "index.json").read_text(encoding="utf-8"))
    names = index["pictures"]
    files = {path.stem for path in PICTURES_DIR.glob("*.svg")}

    assert len(names) == len(set(names)) >= 30
    assert set(names) == files
    for name in names:
        assert re.fullmatch("[a-z_]+", name), name
        root = ElementTree.parse(PICTURES_DIR / f"{name}.svg").getroot()
        assert root.tag == SVG_ROOT, name


def test_every_sign_in_picture_is_credited_and_none_is_a_lesson_answer(vocab):
    index = json.loads((PICTURES_DIR / "index.json").read_text(encoding="utf-8"))
    credits = (PICTURES_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")

    assert "CC BY-SA 4.0" in credits
    for name in index["pictures"]:
        assert f"| {name}.svg |" in credits, name
    assert not set(index["pictures"]) & {word["id"] for word in vocab["words"]}


def test_the_bundled_content_stays_small():
    size = sum(path.stat().st_size for path in PACKS_DIR.rglob("*") if path.is_file())

    assert size < 5 * 1024 * 1024


def test_refresh_files_lists_a_recording_added_by_hand(tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(VOCAB_PACK, pack)
    recording = pack / "media" / "audio" / "mn" / "horse.wav"
    recording.parent.mkdir(parents=True)
    shutil.copyfile(pack / "media" / "audio" / "en" / "horse.wav", recording)

    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--refresh-files", str(pack)],
        check=True,
        capture_output=True,
    )

    listed = {entry["path"]: entry for entry in manifest_of(pack)["files"]}
    assert listed["media/audio/mn/horse.wav"]["size"] == recording.stat().st_size
    assert set(listed) == files_on_disk(pack)


def test_refresh_files_leaves_an_unchanged_pack_byte_for_byte(tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(VOCAB_PACK, pack)

    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--refresh-files", str(pack)],
        check=True,
        capture_output=True,
    )

    before = (VOCAB_PACK / "pack.json").read_bytes()
    assert (pack / "pack.json").read_bytes() == before
