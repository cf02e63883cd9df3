# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writing pack zips the same way every time: same folder, same bytes.

A publisher's zip and the zip a hub builds at install come from the same
writer, so their SHA-256 agree. A ``PackZipWriter`` belongs to one thread.
It writes ``OUT.partial``, syncs it and renames it when complete, so a crash
never leaves a half-written zip under the final name.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path
from typing import BinaryIO

from ..durable import fsync_dir
from .archive import (
    UTF8_NAME_FLAG,
    check_members,
    copy_member,
    listed_in_zip_order,
    open_pack,
    read_manifest,
)
from .manifest import MANIFEST_NAME, PackError

# The zip format cannot store dates before 1980; any fixed date makes the
# same folder give the same bytes, and so the same SHA-256, every time.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3

# Already compressed: deflating these again costs a Pi's CPU and saves nothing.
_STORED_EXTENSIONS = {".png", ".jpg", ".jpeg", ".mp3", ".m4a", ".mp4", ".zip"}


class PackZipWriter:
    """Writes a pack zip the same way every time: same files, same bytes.

    Every entry gets a fixed date, plain-file permissions and the UTF-8 name
    flag; callers add ``pack.json`` first, then the files in
    ``listed_in_zip_order``. Used as a context manager: on success ``out``
    appears complete and synced, on an error the partial file is removed.
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self._file = open(self.partial, "wb")
        self._zip = zipfile.ZipFile(self._file, "w")

    def __enter__(self) -> PackZipWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            self._zip.close()
            if kind is None:
                self._file.flush()
                os.fsync(self._file.fileno())
        finally:
            self._file.close()

        if kind is None:
            os.replace(self.partial, self.out)
            fsync_dir(self.out.parent)
        else:
            self.partial.unlink(missing_ok=True)

    def open(self, name: str, size: int) -> BinaryIO:
        """A writable stream for one entry of ``size`` bytes."""
        info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
        info.create_system = _UNIX
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        extension = os.path.splitext(name)[1].lower()
        stored = extension in _STORED_EXTENSIONS
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        # Known up front so that zipfile uses ZIP64 for files over 2 GiB.
        info.file_size = size

        stream = self._zip.open(info, "w")
        # zipfile clears flag_bits when it opens an entry and sets the UTF-8
        # flag only for non-ASCII names; set it now and zipfile writes it into
        # the local header it rewrites on close and into the central directory.
        info.flag_bits |= UTF8_NAME_FLAG
        return stream

    def add_bytes(self, name: str, data: bytes) -> None:
        with self.open(name, len(data)) as stream:
            stream.write(data)


def pack_zip_from_folder(folder: Path, out: Path) -> None:
    """Check the pack folder completely and write it as a pack zip at ``out``.

    The zip holds exactly ``pack.json`` and the listed files, written by
    ``PackZipWriter``, so a folder gives the same bytes on any computer, and
    the same bytes as the zip a hub builds when it installs the pack.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PackError(
            folder, None, None, "is not a folder; give the folder that holds pack.json"
        )

    with open_pack(folder) as source:
        manifest, raw = read_manifest(source)
        check_members(source, manifest)
        with PackZipWriter(out) as archive:
            archive.add_bytes(MANIFEST_NAME, raw)
            for index, entry in listed_in_zip_order(manifest):
                with archive.open(entry["path"], entry["size"]) as stream:
                    copy_member(source, index, entry, stream)
