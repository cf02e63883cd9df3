# SPDX-License-Identifier: AGPL-3.0-or-later
"""The sign-in pictures children recognise themselves by, and who has which.

The pictures ship with the hub in ``static/pictures``; their order in
``index.json`` is the order they are handed out in a class. Read-only after
import; safe from any thread.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

PICTURES_DIR = Path(__file__).parent / "static" / "pictures"


@cache
def all_pictures() -> tuple[str, ...]:
    index = json.loads((PICTURES_DIR / "index.json").read_text(encoding="utf-8"))
    return tuple(index["pictures"])


def is_picture(name: str) -> bool:
    return name in all_pictures()


def next_free_picture(taken: set[str]) -> str:
    """The first picture nobody in the class has; repeats only past the set."""
    pictures = all_pictures()
    for name in pictures:
        if name not in taken:
            return name
    return pictures[len(taken) % len(pictures)]
