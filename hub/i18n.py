# SPDX-License-Identifier: AGPL-3.0-or-later
"""The teacher pages' languages: gettext catalogues, numbers and dates.

Translations live in ``hub/translations/<lang>/LC_MESSAGES/hub.po``, plain
gettext files that translators edit with Poedit or a text editor. They are
read at start by the small parser below, so the hub needs neither Babel nor a
compile step, and an edited ``.po`` takes effect on the next restart.

How numbers and dates are written is part of each catalogue too (messages
with the context ``format``), so a translator can change it with the same
tools. Catalogues are read once and never changed after: safe from any
thread. A catalogue that cannot be parsed stops the hub at start with the
file and line named, rather than showing half-translated pages.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DOMAIN = "hub"

# Mongolian first: the page opens in it until a teacher chooses otherwise.
LANGUAGES = {"mn": "Монгол", "en": "English"}
DEFAULT_LANGUAGE = "mn"

FORMAT_CONTEXT = "format"
MONTH_CONTEXT = "month"
MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


class CatalogueError(Exception):
    """A ``.po`` file the parser cannot read; the message names file and line."""


@dataclass
class Catalogue:
    """The messages of one language: ``(context, msgid) -> msgstr``."""

    language: str
    messages: dict = field(default_factory=dict)

    def gettext(self, message: str, context: str | None = None) -> str:
        # An untranslated (empty) or missing entry shows the English msgid,
        # as gettext itself does: a page is never blank.
        return self.messages.get((context, message)) or message

    def translate(self, message: str, **values) -> str:
        text = self.gettext(message)
        return text.format(**values) if values else text

    def format_number(self, number, decimals: int = 0) -> str:
        """Digits grouped by three and the decimal mark of this language."""
        group = self.gettext("thousands separator", FORMAT_CONTEXT)
        point = self.gettext("decimal separator", FORMAT_CONTEXT)
        # The catalogue spells a space as the word, since Poedit would
        # hide a bare space; a narrow no-break space keeps digits together.
        group = {"space": "\u202f", "none": ""}.get(group, group)

        text = f"{abs(number):,.{decimals}f}"
        whole, _, fraction = text.partition(".")
        whole = whole.replace(",", group)
        sign = "-" if number < 0 and float(number) != 0 else ""
        return sign + (f"{whole}{point}{fraction}" if fraction else whole)

    def format_percent(self, fraction: float) -> str:
        return self.gettext("{number}%", FORMAT_CONTEXT).format(
            number=self.format_number(round(fraction * 100))
        )

    def format_datetime(self, moment: datetime, with_time: bool = True) -> str:
        """A date (and time) as this language writes it, with month names."""
        message = "date and time" if with_time else "date"
        pattern = self.gettext(message, FORMAT_CONTEXT)
        month_name = self.gettext(MONTHS[moment.month - 1], MONTH_CONTEXT)

        return pattern.format(
            year=moment.year,
            month=moment.month,
            month_name=month_name,
            day=moment.day,
            hour=moment.hour,
            minute=moment.minute,
        )


def parse_po(text: str, source: str = "<po>") -> dict:
    """Read the entries of a gettext ``.po`` file into a dictionary.

    Keys are ``(msgctxt or None, msgid)``; values are the translation (the
    first form, for plural entries). Fuzzy entries are left out, as
    ``msgfmt`` leaves them out: a translator marked them as not yet right.
    """
    messages = {}
    entry: dict = {}
    keyword = None
    flags: set = set()

    def finish() -> None:
        nonlocal entry, keyword, flags
        if "msgid" in entry:
            if "msgstr" not in entry:
                raise CatalogueError(f"{source}:{entry['line']}: msgid without msgstr")
            if "fuzzy" not in flags and entry["msgid"]:
                messages[(entry.get("msgctxt"), entry["msgid"])] = entry["msgstr"]
        entry, keyword, flags = {}, None, set()

    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()

        if not line:
            finish()
            continue
        if line.startswith("#,"):
            flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue

        if line.startswith('"'):
            if keyword is None:
                raise CatalogueError(f"{source}:{number}: text outside an entry")
            entry[keyword] += _po_string(line, source, number)
            continue

        word, _, rest = line.partition(" ")
        if word in ("msgctxt", "msgid") and "msgstr" in entry:
            # An entry may follow the previous one without a blank line.
            finish()
        entry.setdefault("line", number)
        if word.startswith("msgstr["):
            # Only the first plural form is kept; the hub's messages use
            # none (Mongolian nouns do not change after a numeral).
            word = "msgstr" if word == "msgstr[0]" else "ignored"
        if word not in ("msgctxt", "msgid", "msgid_plural", "msgstr", "ignored"):
            raise CatalogueError(f"{source}:{number}: unknown keyword {word!r}")
        keyword = word
        entry[keyword] = _po_string(rest.strip(), source, number)

    finish()
    return messages


def _po_string(token: str, source: str, number: int) -> str:
    if len(token) < 2 or not (token.startswith('"') and token.endswith('"')):
        raise CatalogueError(f"{source}:{number}: expected a quoted string")
    try:
        # A PO string uses C escapes, which Python's own string syntax
        # covers (\\n, \\t, \\", \\\\); literal_eval runs no code.
        value = ast.literal_eval(token)
    except (SyntaxError, ValueError):
        raise CatalogueError(f"{source}:{number}: bad escape in {token}") from None
    if not isinstance(value, str):
        raise CatalogueError(f"{source}:{number}: expected a quoted string")
    return value


def po_path(language: str, folder: Path = TRANSLATIONS_DIR) -> Path:
    return folder / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(language: str) -> Catalogue:
    """The catalogue of a language of ``LANGUAGES``, read once."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    path = po_path(language)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueError(f"cannot read {path}: {error.strerror}") from None
    return Catalogue(language, parse_po(text, str(path)))


def choose_language(wanted: str | None) -> str:
    return wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE
