# SPDX-License-Identifier: AGPL-3.0-or-later
"""The pack manifest (``pack.json``, format 1): its rules and PackError.

What a pack teaches (words, lessons, guides) is checked in ``lessons``, an
assessment pack's checks in ``assessments``; the rest is here. Everything
is a pure function of its arguments, safe from any thread; no file is
touched. ``docs/pack-format.md`` is the specification these checks
implement: a rule added here belongs there too.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from .assessments import check_checks
from .lessons import check_guides, check_lessons, check_words

FORMAT = 1
MANIFEST_NAME = "pack.json"

# A manifest is read whole into memory before anything else is trusted, so it
# needs its own bound; a thousand words and their lessons take about 1 MiB.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

PACK_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
# Digits are spelled [0-9] because \d also matches Mongolian and other digits.
# No leading zeros, so that each version has one spelling and one folder.
VERSION = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")
LANGUAGE = re.compile(r"[a-z]{2}")
SHA256 = re.compile(r"[0-9a-f]{64}")
LICENSE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+()\- ]{0,199}")

KINDS = ("lessons", "guide", "assessment")

CONTENT_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".zip": "application/zip",
    ".txt": "text/plain; charset=utf-8",
}

_COMMON_FIELDS = {
    "format", "id", "version", "kind", "title", "languages", "age_range",
    "license", "attribution", "files",
}  # fmt: skip
_KIND_FIELDS = {
    "lessons": {"words", "lessons"},
    "guide": {"guides"},
    "assessment": {"words", "checks"},
}


class PackError(Exception):
    """A pack the hub refuses, with where the problem is and what to do.

    ``path`` is the pack file or folder, ``member`` the file inside it (or
    ``pack.json``, or None for the pack as a whole), ``field`` the manifest
    field (or None) and ``message`` says what is wrong and how to fix it.
    """

    def __init__(self, path, member: str | None, field: str | None, message: str):
        self.path = Path(path)
        self.member = member
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.member is not None:
            where += f": {self.member}"
        if self.field is not None:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


def parse_version(version: str) -> tuple[int, int, int]:
    """``"1.10.0"`` as ``(1, 10, 0)``, so that 1.10.0 sorts after 1.9.0."""
    match = VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not a MAJOR.MINOR.PATCH version")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def content_type(path: str) -> str:
    """The HTTP Content-Type of a pack file, from its extension."""
    extension = posixpath.splitext(path)[1].lower()
    return CONTENT_TYPES.get(extension, "application/octet-stream")


def path_problem(path: str) -> str | None:
    """Why ``path`` may not name a file inside a pack, or None when it may.

    The same rule serves ``files[].path`` and the names found in a zip or
    folder, so a name that passes can be joined under a folder safely.
    """
    if path == "":
        return "is an empty path"
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return "has control characters in its name; rename the file"
    if "\\" in path:
        return "uses backslashes; paths in a pack use '/' between folders"
    if path.startswith("/"):
        return "is an absolute path; paths in a pack are relative to its root"
    if re.match(r"[A-Za-z]:", path):
        return "starts with a drive letter; paths in a pack are relative"

    parts = path.split("/")
    if ".." in parts:
        return "has a '..' part, which would leave the pack's folder"
    if "." in parts or "" in parts:
        return "has an empty or '.' part; write it as folder/file"
    return None


def validate_manifest(manifest: dict, source_name: str) -> None:
    """Check a parsed ``pack.json``; raise PackError naming the first problem.

    ``source_name`` is the pack file or folder the manifest came from, used
    in the error. Only the manifest is checked here; that the files it lists
    exist with the right size and SHA-256 is checked when they are read.
    """
    check = ManifestChecker(source_name)
    check.object(manifest, None, "fields")
    check_format(check, manifest)

    kind = manifest.get("kind")
    if kind not in KINDS:
        check.fail(
            "kind", f"is {kind!r}; it must be 'lessons', 'guide' or 'assessment'"
        )
    check.fields(manifest, None, _COMMON_FIELDS | _KIND_FIELDS[kind], {"description"})

    check.pattern(manifest["id"], "id", PACK_ID, "lower-case letters, digits, -")
    version = manifest["version"]
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        check.fail(
            "version",
            f"is {version!r}; write MAJOR.MINOR.PATCH with whole numbers and no "
            "leading zeros, e.g. '1.0.0'",
        )

    check_languages(check, manifest["languages"])
    # A child's lesson or check must work in every language it teaches; a
    # guide for teachers may be written in only one of them.
    check.every_language = kind != "guide"
    check.text(manifest["title"], "title")
    if "description" in manifest:
        check.text(manifest["description"], "description")

    check_age_range(check, manifest["age_range"])
    check.license(manifest["license"], "license")
    check_attribution(check, manifest["attribution"])
    check_files(check, manifest["files"])

    if kind == "lessons":
        words = check_words(check, manifest["words"])
        check_lessons(check, manifest["lessons"], words)
    elif kind == "assessment":
        words = check_words(check, manifest["words"])
        audio = {
            (word["id"], code): path
            for word in manifest["words"]
            for code, path in word["audio"].items()
        }
        check_checks(check, manifest["checks"], words, audio)
    else:
        check_guides(check, manifest["guides"])


def check_format(check: ManifestChecker, manifest: dict) -> None:
    if "format" not in manifest:
        check.fail("format", 'is missing; add "format": 1')
    found = manifest["format"]
    if not _is_int(found):
        check.fail("format", f"is {found!r}; it must be the number 1")
    if found > FORMAT:
        check.fail("format", f"is {found}: the pack needs a newer hub; update the hub")
    if found != FORMAT:
        check.fail("format", f"is {found}; it must be 1")


def check_languages(check: ManifestChecker, languages) -> None:
    check.list_of(languages, "languages", at_least=1)
    for index, code in enumerate(languages):
        check.pattern(code, f"languages[{index}]", LANGUAGE, "ISO 639-1, e.g. mn")
        if code in check.languages:
            check.fail(f"languages[{index}]", f"{code!r} is listed twice")
        check.languages.append(code)


def check_age_range(check: ManifestChecker, ages) -> None:
    if not isinstance(ages, list) or len(ages) != 2:
        check.fail("age_range", f"is {ages!r}; it must be [min, max], e.g. [3, 8]")
    low = check.integer(ages[0], "age_range[0]", 0, 99)
    high = check.integer(ages[1], "age_range[1]", 0, 99)
    if low > high:
        check.fail("age_range", f"is {ages!r}; the first age must not be larger")


def check_attribution(check: ManifestChecker, attribution) -> None:
    for index, work in enumerate(check.list_of(attribution, "attribution")):
        field = f"attribution[{index}]"
        check.fields(work, field, {"work", "author", "license", "source"})
        for key in ("work", "author", "source"):
            check.string(work[key], f"{field}.{key}")
        check.license(work["license"], f"{field}.license")


def check_files(check: ManifestChecker, files) -> None:
    folders = set()
    for index, entry in enumerate(check.list_of(files, "files")):
        field = f"files[{index}]"
        check.fields(entry, field, {"path", "size", "sha256"})
        path = entry["path"]
        if not isinstance(path, str):
            check.fail(f"{field}.path", f"is {path!r}; it must be a string")
        problem = path_problem(path)
        if problem:
            check.fail(f"{field}.path", f"{path!r} {problem}")
        if path == MANIFEST_NAME:
            check.fail(f"{field}.path", "pack.json itself is not listed in files")
        if path in check.files:
            check.fail(f"{field}.path", f"{path!r} is listed twice")
        check.files.add(path)
        parts = path.split("/")
        folders.update("/".join(parts[:end]) for end in range(1, len(parts)))

        if not _is_int(entry["size"]) or entry["size"] < 0:
            check.fail(
                f"{field}.size",
                f"is {entry['size']!r}; it must be the file's size in bytes",
            )
        check.pattern(entry["sha256"], f"{field}.sha256", SHA256, "lower-case hex")

    clash = sorted(check.files & folders)
    if clash:
        check.fail(
            "files",
            f"{clash[0]!r} is listed as a file and is also the folder of other files",
        )


class ManifestChecker:
    """The state of one manifest check; each method raises at a wrong field."""

    def __init__(self, source_name: str):
        self.source_name = source_name
        self.languages: list[str] = []
        self.every_language = True
        self.files: set[str] = set()

    def fail(self, field: str | None, message: str):
        raise PackError(self.source_name, MANIFEST_NAME, field, message)

    def object(self, value, field: str | None, what: str) -> dict:
        if not isinstance(value, dict):
            self.fail(
                field, f"must be an object ({{...}}) of {what}, not {_json_type(value)}"
            )
        return value

    def fields(self, value, field: str | None, required: set, optional=frozenset()):
        """Refuse an object with a missing or an unknown field."""
        name = field or "the manifest"
        self.object(value, field, "fields")
        for key in sorted(required - value.keys()):
            self.fail(_join(field, key), f"is missing from {name}; add it")
        for key in sorted(value.keys() - required - optional):
            # Refused, not ignored, so that a misspelt field is noticed.
            self.fail(
                _join(field, key),
                f"is not a field of {name}; check its spelling against the pack format",
            )

    def pattern(self, value, field: str, regex: re.Pattern, allowed: str) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            self.fail(field, f"is {value!r}; it must match {regex.pattern} ({allowed})")
        return value

    def string(self, value, field: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(field, f"is {value!r}; it must be a non-empty string")
        return value

    def integer(self, value, field: str, low: int, high: int) -> int:
        if not _is_int(value) or not low <= value <= high:
            self.fail(field, f"is {value!r}; it must be a whole number {low}-{high}")
        return value

    def list_of(self, value, field: str, at_least: int = 0) -> list:
        if not isinstance(value, list):
            self.fail(field, f"must be a list ([...]), not {_json_type(value)}")
        if len(value) < at_least:
            self.fail(field, f"must hold at least {at_least} item(s)")
        return value

    def unique(self, seen: set, value: str, field: str, what: str) -> None:
        if value in seen:
            self.fail(field, f"{what} {value!r} appears twice; ids must be unique")
        seen.add(value)

    def license(self, value, field: str) -> None:
        self.pattern(value, field, LICENSE, "an SPDX identifier, e.g. CC-BY-SA-4.0")

    def language(self, code, field: str) -> None:
        if code not in self.languages:
            self.fail(
                field,
                f"{code!r} is not one of the pack's languages "
                f"{self.languages}; add it there or correct it here",
            )

    def language_keys(self, value: dict, field: str) -> None:
        for code in value:
            self.language(code, f"{field}.{code}")
        missing = [code for code in self.languages if code not in value]
        if self.every_language and missing:
            self.fail(
                field,
                f"has no {missing[0]!r} text; a lessons pack needs "
                "every language it lists",
            )
        if not value:
            self.fail(field, "holds no language; give at least one text")

    def text(self, value, field: str) -> None:
        """A language → text object, e.g. ``{"mn": "морь", "en": "horse"}``."""
        self.object(value, field, "language → text")
        self.language_keys(value, field)
        for code, text in value.items():
            self.string(text, f"{field}.{code}")

    def listed_file(self, path, field: str, media: str) -> None:
        if not isinstance(path, str) or path not in self.files:
            self.fail(
                field,
                f"{path!r} is not listed in files; list the file "
                "there or correct the path",
            )
        if not content_type(path).startswith(media + "/"):
            self.fail(
                field,
                f"{path!r} is not {media} by its extension: pictures "
                "are svg, png or jpg, audio is wav, mp3 or m4a",
            )


def _join(field: str | None, key: str) -> str:
    return key if field is None else f"{field}.{key}"


def _is_int(value) -> bool:
    # JSON true and false arrive as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    names = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)
