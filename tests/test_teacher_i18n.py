# SPDX-License-Identifier: AGPL-3.0-or-later
"""The teacher pages' languages: the .po reader, the catalogues' coverage,
numbers and dates per language, and switching language on a real hub."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import jinja2
import pytest

from hub import i18n
from tests.support.teacher import teacher_fixture, teacher_hub_fixture  # noqa: F401 (fixtures)

HUB = Path(i18n.__file__).parent


def used_messages() -> dict[str, str]:
    """Every message the teacher pages pass to ``_``, with where it is."""
    found = {}
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    for path in sorted((HUB / "templates" / "teacher").glob("*.html")):
        for line, _func, message in env.extract_translations(path.read_text()):
            message = message[0] if isinstance(message, tuple) else message
            assert isinstance(message, str), f"{path.name}:{line}: not a literal"
            found.setdefault(message, f"{path.name}:{line}")
    # The checks' pages (hub/assessments/pages.py) are teacher pages too.
    sources = [*(HUB / "teacher").glob("*.py"), HUB / "assessments" / "pages.py"]
    for path in sorted(sources):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
            ):
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path.name}:{node.lineno}"
                found.setdefault(first.value, f"{path.name}:{node.lineno}")
    return found


def test_the_po_reader_follows_gettext_rules():
    text = r"""
# a translator's comment
msgid ""
msgstr "Language: mn\n"

#: somewhere.py:3
msgid "Hello"
msgstr "Сайн уу"

msgctxt "format"
msgid "date"
msgstr "{year}.{month:02}"

msgid ""
"Two "
"lines with \"quotes\"\n"
msgstr "Хоёр "
"мөр"

#, fuzzy
msgid "Unsure"
msgstr "Эргэлзээтэй"

msgid "Untranslated"
msgstr ""
"""
    messages = i18n.parse_po(text)
    catalogue = i18n.Catalogue("mn", messages)

    assert messages[(None, "Hello")] == "Сайн уу"
    assert messages[("format", "date")] == "{year}.{month:02}"
    assert messages[(None, 'Two lines with "quotes"\n')] == "Хоёр мөр"
    assert catalogue.gettext("Unsure") == "Unsure"  # fuzzy is not yet right
    assert catalogue.gettext("Untranslated") == "Untranslated"
    assert (None, "") not in messages  # the header is not a message


@pytest.mark.parametrize(
    "broken, line",
    [
        ('msgid "a"\nmsgstr "b\n', 2),
        ('msgid "a"\n"loose', 2),
        ('msgid "a"\nmsgfoo "b"\n', 2),
        ('\nmsgid "a"\n\n', 2),
    ],
)
def test_a_broken_catalogue_names_its_line(broken, line):
    with pytest.raises(i18n.CatalogueError, match=f"x.po:{line}:"):
        i18n.parse_po(broken, "x.po")


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext is not installed")
@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_our_reader_agrees_with_gnu_msgfmt(language, tmp_path):
    compiled = tmp_path / "hub.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(i18n.po_path(language))],
        check=True,
    )
    with compiled.open("rb") as mo:
        gnu = gettext.GNUTranslations(mo)

    ours = i18n.catalogue(language)

    for (context, message), text in ours.messages.items():
        if context is None:
            assert gnu.gettext(message) == text
        else:
            assert gnu.pgettext(context, message) == text
    assert len(gnu._catalog) - 1 == len(ours.messages)  # less the header


def test_every_message_on_the_pages_is_in_both_catalogues():
    used = used_messages()

    for language in i18n.LANGUAGES:
        messages = {m for (ctx, m) in i18n.catalogue(language).messages if ctx is None}
        missing = {m: where for m, where in used.items() if m not in messages}
        unused = messages - set(used)
        assert not missing, f"{language}: not in the catalogue: {missing}"
        assert not unused, f"{language}: no longer used: {unused}"


def test_mongolian_keeps_every_placeholder_of_the_english():
    mongolian = i18n.catalogue("mn")
    for message in used_messages():
        translated = mongolian.gettext(message)
        assert (
            translated != message
            or not any(c.isalpha() for c in message)
            or message in {"Hub"}
        ), f"not translated: {message!r}"
        fields = sorted(re.findall(r"\{(\w+)", message))
        assert sorted(re.findall(r"\{(\w+)", translated)) == fields, message


def test_numbers_and_dates_follow_the_language():
    moment = datetime(2026, 3, 9, 8, 5)
    mongolian, english = i18n.catalogue("mn"), i18n.catalogue("en")

    assert mongolian.format_number(1234567) == "1.234.567"
    assert english.format_number(1234567) == "1,234,567"
    assert mongolian.format_number(12.5, 1) == "12,5"
    assert english.format_number(-0.25, 2) == "-0.25"
    assert mongolian.format_percent(0.834) == "83%"
    assert mongolian.format_datetime(moment) == "2026.03.09 08:05"
    assert english.format_datetime(moment) == "9 Mar 2026, 08:05"
    assert english.format_datetime(moment, with_time=False) == "9 Mar 2026"


def test_the_page_opens_in_mongolian_and_switches_to_english(teacher):
    first = teacher.get("/teacher/classes")

    switched = teacher.post(
        "/teacher/language",
        {"lang": "en", "next": "/teacher/classes"},
        page="/teacher/classes",
    )
    back = teacher.post(
        "/teacher/language",
        {"lang": "mn", "next": "//evil.test/"},
        page="/teacher/classes",
    )

    assert '<html lang="mn">' in first.text and "Ангиуд" in first.text
    assert switched.url.endswith("/teacher/classes")
    assert (
        '<html lang="en">' in switched.text and "Classes on this hub" in switched.text
    )
    assert back.url.endswith("/teacher/"), "next= may only point at teacher pages"
    assert '<html lang="mn">' in back.text
