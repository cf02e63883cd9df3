# SPDX-License-Identifier: AGPL-3.0-or-later
"""Reading a class list from a CSV file that a school office exported.

Accepted: UTF-8 with or without a byte order mark (Excel's "CSV UTF-8"),
commas, semicolons or tabs between cells, an optional header row naming
the columns in Mongolian or English. Without a header the first column is
the child's name and the others are left alone; a header may name a
``picture`` (``зураг``) column of sign-in pictures. With an
``Овог`` (family name) column beside ``Нэр``, a child is listed as Mongolian
class lists write it, ``Б.Болд``.

Every row that cannot be used is reported with its line number and a
reason code; the rest are imported. Pure functions: safe from any thread.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass

MAX_ROWS = 1000
MAX_NAME_LENGTH = 80

_NAME_HEADERS = {
    "name",
    "names",
    "learner",
    "learner name",
    "child",
    "first name",
    "given name",
    "нэр",
    "сурагч",
    "сурагчийн нэр",
    "хүүхэд",
    "хүүхдийн нэр",
}
_FAMILY_HEADERS = {"овог", "surname", "family name", "last name", "patronymic"}
_PICTURE_HEADERS = {"picture", "зураг"}


class ListRefused(Exception):
    """The whole file is unusable; ``code`` says why (e.g. ``not_utf8``)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ListedChild:
    line: int
    name: str
    picture: str | None


@dataclass(frozen=True)
class Unusable:
    line: int
    text: str
    reason: str  # empty_name, name_too_long, unreadable, too_many_rows


def read_class_list(data: bytes) -> tuple[list[ListedChild], list[Unusable]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old Windows code pages lack Ө and Ү, so a guess would damage
        # Mongolian names: better to ask for the file again as UTF-8.
        raise ListRefused("not_utf8") from None
    if not text.strip():
        raise ListRefused("empty")

    delimiter = _delimiter(text)
    children: list[ListedChild] = []
    unusable: list[Unusable] = []
    columns = None

    # Line by line: no name spans two lines, and a stray quote must spoil
    # only its own line, not swallow every child after it.
    for line, raw in enumerate(text.splitlines(), start=1):
        try:
            cells = next(csv.reader([raw], delimiter=delimiter, strict=True), [])
        except csv.Error:
            unusable.append(Unusable(line, raw[:120], "unreadable"))
            continue
        cells = [_clean(cell) for cell in cells]
        if not any(cells):
            continue

        if columns is None:
            columns = _columns_from_header(cells)
            if columns is not None:
                continue
            columns = {"name": 0, "family": None, "picture": None}

        if len(children) >= MAX_ROWS:
            unusable.append(Unusable(line, _shown(cells), "too_many_rows"))
            break
        child = _child(line, cells, columns)
        if isinstance(child, Unusable):
            unusable.append(child)
        else:
            children.append(child)

    return children, unusable


def _delimiter(text: str) -> str:
    # The first line decides: Excel writes semicolons where the comma is
    # the decimal mark, some tools write tabs.
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {mark: first.count(mark) for mark in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _clean(cell: str) -> str:
    # Control characters (a stray NUL, a carriage return in a cell) would
    # show as boxes on a tablet; the name keeps everything else.
    kept = "".join(ch for ch in cell if unicodedata.category(ch) != "Cc")
    return " ".join(kept.split())


def _columns_from_header(cells: list[str]) -> dict | None:
    names = [cell.casefold() for cell in cells]
    name = _find(names, _NAME_HEADERS)
    if name is None:
        return None
    return {
        "name": name,
        "family": _find(names, _FAMILY_HEADERS),
        "picture": _find(names, _PICTURE_HEADERS),
    }


def _find(names: list[str], wanted: set) -> int | None:
    for index, name in enumerate(names):
        if name in wanted:
            return index
    return None


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def _child(line: int, cells: list[str], columns: dict):
    name = _cell(cells, columns["name"])
    family = _cell(cells, columns["family"])
    if not name:
        return Unusable(line, _shown(cells), "empty_name")
    if family:
        name = f"{family[0].upper()}.{name}"
    if len(name) > MAX_NAME_LENGTH:
        return Unusable(line, _shown(cells), "name_too_long")

    picture = _cell(cells, columns["picture"]).casefold() or None
    return ListedChild(line, name, picture)


def _shown(cells: list[str]) -> str:
    return ", ".join(cells)[:120]
