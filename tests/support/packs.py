# SPDX-License-Identifier: AGPL-3.0-or-later
"""Small valid lesson packs written into a test's own folder.

``make_pack(folder)`` writes a lessons pack of three herd animals (three SVG
pictures, one tiny English WAV, a lesson with one activity of each type) and
returns the folder; keyword arguments replace top-level manifest fields, e.g.
``make_pack(tmp_path / "p", version="1.1.0")``. ``make_guide_pack`` does the
same for a teacher's guide. To break a pack on purpose, change its files or
its manifest (``read_manifest``/``write_manifest``) and, when the change
should still be listed correctly, recompute ``files`` with ``list_files``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import wave
import zipfile
from pathlib import Path

PACK_ID = "test-vocab"
WORDS = {"horse": "морь", "cow": "үхэр", "camel": "тэмээ"}
COLOURS = {"horse": "#8b5a2b", "cow": "#222222", "camel": "#d2a45b"}


def make_pack(folder: Path, **overrides) -> Path:
    """Write a valid lessons pack into ``folder`` (created) and return it."""
    folder = Path(folder)
    for word, colour in COLOURS.items():
        _write(folder / f"media/pictures/{word}.svg", svg(colour))
    _write(folder / "media/audio/en/horse.wav", tiny_wav())

    word_ids = list(WORDS)
    manifest = {
        "format": 1,
        "id": PACK_ID,
        "version": "1.0.0",
        "kind": "lessons",
        "title": {"mn": "Малын амьтад", "en": "Herd animals"},
        "description": {
            "mn": "Гурван малын нэр.",
            "en": "The names of three herd animals.",
        },
        "languages": ["mn", "en"],
        "age_range": [3, 8],
        "license": "CC-BY-SA-4.0",
        "attribution": [
            {
                "work": "Animal pictures",
                "author": "Classroom Hub tests",
                "license": "CC0-1.0",
                "source": "made by tests/support/packs.py",
            }
        ],
        "words": [
            {
                "id": word,
                "topic": "herd_animals",
                "text": {"mn": mongolian, "en": word},
                "picture": f"media/pictures/{word}.svg",
                "audio": {
                    "en": "media/audio/en/horse.wav" if word == "horse" else None,
                    "mn": None,
                },
            }
            for word, mongolian in WORDS.items()
        ],
        "lessons": [
            {
                "id": "herd-animals",
                "title": {"mn": "Малын амьтад", "en": "Herd animals"},
                "topic": "herd_animals",
                "activities": [
                    {
                        "id": "herd-animals-listen-en",
                        "type": "listen_choose",
                        "language": "en",
                        "words": word_ids,
                        "choices": 3,
                    },
                    {
                        "id": "herd-animals-cards-mn",
                        "type": "flashcards",
                        "language": "mn",
                        "words": word_ids,
                    },
                    {
                        "id": "herd-animals-gonogo",
                        "type": "go_no_go",
                        "go_word": "horse",
                        "words": word_ids,
                        "trials": 20,
                        "go_ratio": 0.75,
                        "stimulus_ms": 1500,
                    },
                ],
            }
        ],
        "files": list_files(folder),
    }
    manifest.update(overrides)
    write_manifest(folder, manifest)
    return folder


def make_guide_pack(folder: Path, **overrides) -> Path:
    """Write a valid guide pack (one guide, one section); return the folder."""
    folder = Path(folder)
    _write(folder / "media/pictures/horse.svg", svg(COLOURS["horse"]))
    manifest = {
        "format": 1,
        "id": "test-guide",
        "version": "1.0.0",
        "kind": "guide",
        "title": {"mn": "Багшийн гарын авлага", "en": "Teacher's guide"},
        "languages": ["mn", "en"],
        "age_range": [3, 8],
        "license": "CC-BY-4.0",
        "attribution": [],
        "guides": [
            {
                "id": "vocabulary-session",
                "title": {"en": "A vocabulary session"},
                "sections": [
                    {
                        "heading": {"en": "Before the lesson"},
                        "paragraphs": {"en": ["Charge the tablets.", "Say hello."]},
                        "minutes": 3,
                    }
                ],
            }
        ],
        "files": list_files(folder),
    }
    manifest.update(overrides)
    write_manifest(folder, manifest)
    return folder


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / "pack.json").read_text(encoding="utf-8"))


def write_manifest(folder: Path, manifest: dict) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    (Path(folder) / "pack.json").write_text(text + "\n", encoding="utf-8")


def list_files(folder: Path) -> list[dict]:
    """``files`` entries for every file under ``folder`` but pack.json."""
    folder = Path(folder)
    entries = []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and not path.is_symlink() and name != "pack.json":
            data = path.read_bytes()
            entries.append(
                {
                    "path": name,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            )
    return entries


def zip_pack(folder: Path, out: Path, top_folder: str | None = None) -> Path:
    """Zip a pack folder as an ordinary zip tool would, and return ``out``.

    Names are ASCII-encoded without the UTF-8 flag where they can be, as
    Python's zipfile and most tools do; ``top_folder`` puts every entry under
    one folder, as zipping the folder itself does.
    """
    folder = Path(folder)
    prefix = f"{top_folder}/" if top_folder else ""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return Path(out)


def svg(colour: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="28" fill="{colour}"/></svg>\n'
    ).encode("ascii")


def tiny_wav(frames: int = 400) -> bytes:
    """A twentieth of a second of a 440 Hz tone: 8 kHz, mono, 16-bit."""
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 8000)))
        for n in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(samples)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
