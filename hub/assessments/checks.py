# SPDX-License-Identifier: AGPL-3.0-or-later
"""An assessment pack's checks as the hub scores and offers them.

A ``Check`` is one check of one pack version, read from a manifest the pack
rules (``hub.packs.assessments``) have already accepted: its items in the
order they are asked, its practice items and its scoring rule. Answers
name an item by its id: a vocabulary item by its word, an attention trial
by its place and word (``7-fish``; practice trials ``p2-wolf``), since the
same picture comes back many times.

Frozen dataclasses built by pure functions: safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import ATTENTION, RECEPTIVE

TAP, NO_TAP = "tap", "no_tap"


@dataclass(frozen=True)
class Check:
    pack_id: str
    pack_version: str
    id: str
    type: str
    title: dict
    language: str | None
    items: tuple[str, ...]
    practice: tuple[str, ...]
    # The word each item asks for (the shown picture, for attention).
    words: dict = field(default_factory=dict)
    stop_after_misses: int | None = None
    go_items: frozenset = frozenset()
    min_reaction_ms: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        """What scores may be compared across: never two versions mixed."""
        return (self.pack_id, self.pack_version, self.id)


def attention_item(number: int, word: str, practice: bool = False) -> str:
    return f"{'p' if practice else ''}{number}-{word}"


def checks_of(manifest: dict) -> list[Check]:
    """Every check of an assessment pack's manifest, in the pack's order."""
    return [_check(manifest, entry) for entry in manifest.get("checks", [])]


def find_check(manifest: dict, check_id: str) -> Check | None:
    for entry in manifest.get("checks", []):
        if entry["id"] == check_id:
            return _check(manifest, entry)
    return None


def _check(manifest: dict, entry: dict) -> Check:
    common = {
        "pack_id": manifest["id"],
        "pack_version": manifest["version"],
        "id": entry["id"],
        "type": entry["type"],
        "title": entry["title"],
    }
    if entry["type"] == ATTENTION:
        trials = [
            (attention_item(n, word), word)
            for n, word in enumerate(entry["trials"], start=1)
        ]
        practice = [
            (attention_item(n, word, practice=True), word)
            for n, word in enumerate(entry["practice"], start=1)
        ]
        return Check(
            **common,
            language=None,
            items=tuple(item for item, _word in trials),
            practice=tuple(item for item, _word in practice),
            words=dict(trials + practice),
            go_items=frozenset(
                item for item, word in trials + practice if word == entry["go_word"]
            ),
            min_reaction_ms=entry["scoring"]["min_reaction_ms"],
        )

    items = [item["word"] for item in entry["items"]]
    practice = [item["word"] for item in entry["practice"]]
    return Check(
        **common,
        language=entry["language"],
        items=tuple(items),
        practice=tuple(practice),
        words={word: word for word in items + practice},
        stop_after_misses=entry["scoring"]["stop_after_misses"],
    )


def is_receptive(check: Check) -> bool:
    return check.type == RECEPTIVE
