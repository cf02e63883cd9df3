# SPDX-License-Identifier: AGPL-3.0-or-later
"""Reading a pack from a folder or a zip without trusting anything in it.

A pack comes from a USB stick, a download or a teacher's laptop, so nothing in
it is believed until checked: names, entry types, sizes, hashes. Every byte is
read through ``copy_member``, which stops one byte past the size ``pack.json``
declares whatever a zip header says. A ``PackSource`` belongs to one thread;
the functions share no state and may run in several threads at once.
Reading changes nothing on disk, so a crash during it leaves nothing to undo.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from .manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    PackError,
    path_problem,
    validate_manifest,
)

CHUNK_BYTES = 1024 * 1024

UTF8_NAME_FLAG = 0x800
_ENCRYPTED = 0x1

# What zipfile raises for a damaged or unreadable entry, beside OSError.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)

_REPACK = "repack the folder with a current zip tool, e.g. python3 -m zipfile -c"


class PackSource:
    """The files of one pack in a folder or a zip, by path from the pack root.

    ``members`` maps each plain file's path (``pack.json`` included) to where
    it is read from; ``folders`` holds the folder paths. Both are checked when
    the source is opened: safe names, no links, no devices.
    """

    path: Path
    members: dict
    folders: set[str]

    def open_member(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> PackSource:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def error(self, member: str | None, message: str, field=None) -> PackError:
        return PackError(self.path, member, field, message)

    def read(self, stream: BinaryIO, name: str, limit: int) -> bytes:
        """Up to ``limit`` bytes of a member; a damaged member is refused."""
        try:
            return stream.read(limit)
        except (OSError, *_ZIP_ERRORS) as error:
            raise self.error(
                name,
                f"cannot be read ({error}); copy the pack again, "
                "or if it is a zip, make it again",
            ) from error


def open_pack(path: Path) -> PackSource:
    """The pack at ``path``, a folder or a zip; PackError if it is neither."""
    path = Path(path)
    if path.is_dir():
        return _FolderSource(path)
    if path.is_file():
        return _ZipSource(path)
    raise PackError(
        path,
        None,
        None,
        "is neither a folder nor a zip file; "
        "give the path of a pack folder or a pack .zip",
    )


class _FolderSource(PackSource):
    def __init__(self, path: Path):
        self.path = path
        self.members = {}
        self.folders = set()

        # Checked first, so that a wrong path such as / is not walked whole.
        if not (path / MANIFEST_NAME).is_file():
            inner = sorted(path.glob(f"*/{MANIFEST_NAME}"))
            hint = f" (did you mean {inner[0].parent}?)" if len(inner) == 1 else ""
            raise self.error(
                MANIFEST_NAME,
                f"is missing{hint}; a pack folder holds pack.json at its top",
            )

        # A stack, not recursion: folders nested thousands deep cannot hit
        # Python's recursion limit.
        pending = [(path, "")]
        while pending:
            folder, prefix = pending.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = prefix + entry.name
                    self.check_name(name)
                    if entry.is_symlink():
                        raise self.error(
                            name,
                            "is a symbolic link; a pack holds only "
                            "plain files: copy the file itself there",
                        )
                    if entry.is_dir(follow_symlinks=False):
                        self.folders.add(name)
                        pending.append((Path(entry.path), name + "/"))
                    elif entry.is_file(follow_symlinks=False):
                        self.members[name] = Path(entry.path)
                    else:
                        raise self.error(
                            name,
                            "is a device, pipe or socket, not a "
                            "plain file; remove it from the folder",
                        )

    def check_name(self, name: str) -> None:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            # os.scandir hands undecodable bytes over as lone surrogates.
            raw = os.fsencode(name).decode("ascii", "backslashreplace")
            raise self.error(
                raw, "has a name that is not UTF-8; rename the file"
            ) from None
        problem = path_problem(name)
        if problem:
            raise self.error(name, f"{problem}; rename it")

    def open_member(self, name: str) -> BinaryIO:
        # O_NOFOLLOW: a file swapped for a link after the folder was listed
        # is refused rather than followed out of the pack.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            descriptor = os.open(self.members[name], flags)
        except OSError as error:
            raise self.error(
                name,
                f"cannot be opened ({error.strerror}); check the "
                "file is still there and is not a link",
            ) from error
        stream = os.fdopen(descriptor, "rb")
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            stream.close()
            raise self.error(name, "is no longer a plain file; copy the pack again")
        return stream


class _ZipSource(PackSource):
    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except UnicodeDecodeError:
            raise self.error(
                None, f"its entry names are marked UTF-8 but are not; {_REPACK}"
            ) from None
        except (OSError, *_ZIP_ERRORS) as error:
            raise self.error(
                None,
                f"is not a readable zip file ({error}); give a "
                "pack .zip or folder, or copy the zip again",
            ) from error
        try:
            self.index()
        except BaseException:
            self._zip.close()
            raise

    def index(self) -> None:
        files: dict[str, zipfile.ZipInfo] = {}
        folders: set[str] = set()
        for info in self._zip.infolist():
            name = self.check_entry(info)
            if info.orig_filename.endswith("/"):
                folders.add(name)
            elif name in files:
                raise self.error(name, f"is in the zip twice; {_REPACK}")
            else:
                files[name] = info

        prefix = self.top_folder(files, folders)
        self.members = {name[len(prefix) :]: info for name, info in files.items()}
        self.folders = {
            name[len(prefix) :] for name in folders if name.startswith(prefix)
        } - {""}

    def check_entry(self, info: zipfile.ZipInfo) -> str:
        """The entry's name without a trailing '/', once it is safe to use."""
        raw = info.orig_filename
        if not info.flag_bits & UTF8_NAME_FLAG and not raw.isascii():
            # zipfile decoded the name as cp437; encoding back gives its bytes.
            shown = raw.encode("cp437").decode("ascii", "backslashreplace")
            raise self.error(
                shown,
                "has a name that is not UTF-8: an old zip tool "
                "wrote it in a legacy code page such as cp866; "
                f"{_REPACK} PACK.zip FOLDER/",
            )

        is_folder = raw.endswith("/")
        name = raw[:-1] if is_folder else raw
        problem = path_problem(name)
        if problem:
            raise self.error(raw, f"{problem}; {_REPACK}")

        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise self.error(
                raw,
                "is a symbolic link; a pack holds only plain files: "
                "put the file itself in the zip",
            )
        if is_folder and kind not in (0, stat.S_IFDIR):
            raise self.error(
                raw, f"is a folder entry marked as a special file; {_REPACK}"
            )
        if not is_folder and kind == stat.S_IFDIR:
            raise self.error(
                raw, f"is marked as a folder but named like a file; {_REPACK}"
            )
        if not is_folder and kind not in (0, stat.S_IFREG):
            raise self.error(
                raw,
                "is a device, pipe or socket, not a plain file; "
                "remove it and make the zip again",
            )
        if info.flag_bits & _ENCRYPTED:
            raise self.error(raw, "is encrypted; make the zip again without a password")
        return name

    def top_folder(self, files: dict, folders: set[str]) -> str:
        """'' when pack.json is at the top, else the one folder holding all."""
        if MANIFEST_NAME in files:
            return ""

        tops = {name.split("/")[0] for name in [*files, *folders]}
        if len(tops) == 1:
            prefix = tops.pop() + "/"
            if prefix + MANIFEST_NAME in files and all(
                name.startswith(prefix) for name in files
            ):
                return prefix
        raise self.error(
            MANIFEST_NAME,
            "is missing: a pack zip holds pack.json at its "
            "top, or in one folder that holds everything else",
        )

    def open_member(self, name: str) -> BinaryIO:
        try:
            return self._zip.open(self.members[name])
        except (OSError, *_ZIP_ERRORS) as error:
            raise self.error(name, f"cannot be read ({error}); {_REPACK}") from error

    def close(self) -> None:
        self._zip.close()


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list) -> dict:
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def read_manifest(source: PackSource) -> tuple[dict, bytes]:
    """The pack's manifest, parsed and validated, and its bytes as found."""
    with source.open_member(MANIFEST_NAME) as stream:
        raw = source.read(stream, MANIFEST_NAME, MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise source.error(
            MANIFEST_NAME,
            f"is larger than {MAX_MANIFEST_BYTES} bytes; "
            "split the pack into smaller packs",
        )

    try:
        # Windows Notepad starts UTF-8 files with a byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise source.error(
            MANIFEST_NAME,
            f"is not UTF-8 text (byte "
            f"0x{raw[error.start]:02X} at offset {error.start}); save "
            "it as UTF-8",
        ) from error

    try:
        manifest = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as error:
        raise source.error(
            MANIFEST_NAME,
            f"is not valid JSON ({error.msg} at line "
            f"{error.lineno}, column {error.colno}); correct it there",
        ) from error
    except _DuplicateKey as error:
        raise source.error(
            MANIFEST_NAME, "appears twice in one object; keep one", field=str(error)
        ) from error
    except RecursionError:
        raise source.error(
            MANIFEST_NAME, "is nested too deeply to be a manifest"
        ) from None

    try:
        json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # JSON may escape half of a surrogate pair (\ud800) alone, which is
        # no character at all: nothing could store or show such text.
        raise source.error(
            MANIFEST_NAME,
            "holds a \\u escape of half a character (a lone surrogate such "
            "as \\ud800); write the character itself",
        ) from None

    validate_manifest(manifest, str(source.path))
    return manifest, raw


def check_members(source: PackSource, manifest: dict) -> None:
    """Refuse a pack whose files are not exactly those ``files`` lists."""
    listed = {entry["path"]: index for index, entry in enumerate(manifest["files"])}
    present = source.members.keys() - {MANIFEST_NAME}

    unlisted = sorted(present - listed.keys())
    if unlisted:
        raise source.error(
            unlisted[0],
            f"is not listed in files (the pack holds "
            f"{len(present)} files, files lists {len(listed)}); remove "
            "it, or list it with its size and SHA-256",
            field="files",
        )

    for path, index in listed.items():
        if path in source.folders:
            raise source.error(
                path,
                "is a folder, but files lists it as a file",
                field=f"files[{index}].path",
            )
        if path not in source.members:
            raise source.error(
                path,
                "is listed in files but is not in the pack; add "
                "the file or remove it from files",
                field=f"files[{index}].path",
            )


def copy_member(source: PackSource, index: int, entry: dict, *outputs) -> None:
    """Read one listed file, check its size and SHA-256, write it to outputs.

    Reads at most one byte past the declared size: a zip bomb or a lying zip
    header costs that much and no more. Nothing past the declared size is
    written. The outputs may hold a partial file when this raises.
    """
    name, size = entry["path"], entry["size"]
    digest = hashlib.sha256()
    total = 0

    with source.open_member(name) as stream:
        while True:
            chunk = source.read(stream, name, min(CHUNK_BYTES, size + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > size:
                raise source.error(
                    name,
                    f"holds more than the {size} bytes pack.json "
                    "declares: a damaged or hostile zip, or a wrong "
                    "size in pack.json",
                    field=f"files[{index}].size",
                )
            digest.update(chunk)
            for output in outputs:
                output.write(chunk)

    if total < size:
        raise source.error(
            name,
            f"has {total} bytes, but pack.json declares {size}; "
            "correct the size or the file",
            field=f"files[{index}].size",
        )
    if digest.hexdigest() != entry["sha256"]:
        raise source.error(
            name,
            f"has SHA-256 {digest.hexdigest()}, not the one "
            "pack.json declares: the file changed after pack.json was "
            "written; correct the hash or the file",
            field=f"files[{index}].sha256",
        )


def listed_in_zip_order(manifest: dict) -> list[tuple[int, dict]]:
    """The ``files`` entries and their indexes, in the order zips hold them."""
    return sorted(enumerate(manifest["files"]), key=lambda pair: pair[1]["path"])


def verify_pack(path: Path) -> dict:
    """Check a pack completely, every byte of it, and return its manifest."""
    with open_pack(path) as source:
        manifest, _ = read_manifest(source)
        check_members(source, manifest)
        for index, entry in listed_in_zip_order(manifest):
            copy_member(source, index, entry)
    return manifest
