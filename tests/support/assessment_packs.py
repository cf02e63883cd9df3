# SPDX-License-Identifier: AGPL-3.0-or-later
"""Small valid assessment packs, and the bundled one cut short for a browser.

``make_assessment_pack(folder)`` writes a pack of six words with one check
of each type: receptive English heard from a recording, expressive
Mongolian, and an attention check of eight trials. Keyword arguments
replace top-level manifest fields. ``assessment_manifest()`` is the same
manifest as a dict, for tests that need no files.

``short_bundled_pack(folder)`` copies the bundled assessment pack with its
checks cut to a few items and fast trials, under its own id, so that a
browser test takes seconds per check rather than minutes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .packs import list_files, svg, tiny_wav, write_manifest

PACK_ID = "test-checks"
WORDS = {
    "horse": ("морь", "#8b5a2b"),
    "cow": ("үхэр", "#222222"),
    "camel": ("тэмээ", "#d2a45b"),
    "sheep": ("хонь", "#eeeeee"),
    "goat": ("ямаа", "#999999"),
    "dog": ("нохой", "#aa7733"),
}
ATTENTION_TRIALS = ["horse", "horse", "cow", "horse", "horse", "cow", "horse", "horse"]
BUNDLED = (
    Path(__file__).resolve().parents[2] / "content_packs" / "assessment-vocab-attention"
)


def assessment_manifest(files: list | None = None, **overrides) -> dict:
    heard = {"horse", "cow", "camel", "sheep", "goat"}
    manifest = {
        "format": 1,
        "id": PACK_ID,
        "version": "1.0.0",
        "kind": "assessment",
        "title": {"mn": "Шалгалт", "en": "Checks"},
        "languages": ["mn", "en"],
        "age_range": [3, 8],
        "license": "CC-BY-SA-4.0",
        "attribution": [],
        "words": [
            {
                "id": word,
                "text": {"mn": mongolian, "en": word},
                "picture": f"media/pictures/{word}.svg",
                "audio": {
                    "en": f"media/audio/en/{word}.wav" if word in heard else None,
                    "mn": None,
                },
            }
            for word, (mongolian, _colour) in WORDS.items()
        ],
        "checks": [
            {
                "id": "receptive-en",
                "type": "receptive_vocabulary",
                "language": "en",
                "title": {"mn": "Сонсох", "en": "Hear"},
                "stimulus": "audio",
                "practice": [{"word": "horse", "choices": ["cow", "horse"]}],
                "items": [
                    {"word": "cow", "choices": ["cow", "camel", "sheep", "goat"]},
                    {"word": "camel", "choices": ["sheep", "camel", "cow", "goat"]},
                    {"word": "sheep", "choices": ["goat", "cow", "sheep", "camel"]},
                    {"word": "goat", "choices": ["camel", "sheep", "cow", "goat"]},
                ],
                "scoring": {"rule": "count_correct", "stop_after_misses": 2},
            },
            {
                "id": "expressive-mn",
                "type": "expressive_vocabulary",
                "language": "mn",
                "title": {"mn": "Нэрлэх", "en": "Name"},
                "practice": [{"word": "dog"}],
                "items": [{"word": w} for w in ("horse", "cow", "camel")],
                "scoring": {"rule": "count_correct", "stop_after_misses": 3},
            },
            {
                "id": "attention",
                "type": "attention_go_no_go",
                "title": {"mn": "Анхаарал", "en": "Attention"},
                "go_word": "horse",
                "words": ["horse", "cow"],
                "practice": ["horse", "cow"],
                "trials": list(ATTENTION_TRIALS),
                "stimulus_ms": 800,
                "gap_ms": 300,
                "scoring": {"rule": "signal_detection", "min_reaction_ms": 150},
            },
        ],
        "files": files or [],
    }
    manifest.update(overrides)
    return manifest


def make_assessment_pack(folder: Path, **overrides) -> Path:
    """Write a valid assessment pack into ``folder`` (created); return it."""
    folder = Path(folder)
    for word, (_mongolian, colour) in WORDS.items():
        _write(folder / f"media/pictures/{word}.svg", svg(colour))
        if word != "dog":
            _write(folder / f"media/audio/en/{word}.wav", tiny_wav())
    write_manifest(folder, assessment_manifest(list_files(folder), **overrides))
    return folder


def short_bundled_pack(folder: Path, pack_id="short-checks", items=4, trials=8):
    """The bundled pack with fewer items and faster trials, as ``pack_id``."""
    folder = Path(folder)
    shutil.copytree(BUNDLED, folder)
    manifest = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    manifest["id"] = pack_id
    for check in manifest["checks"]:
        if check["type"] == "attention_go_no_go":
            go, other = check["words"]
            check["trials"] = [go, go, other, go, other, go, go, other][:trials]
            check["practice"] = [go, other]
            check["stimulus_ms"] = 900
            check["gap_ms"] = 300
        else:
            check["items"] = check["items"][:items]
            check["scoring"]["stop_after_misses"] = 2
    write_manifest(folder, manifest)
    return folder


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
