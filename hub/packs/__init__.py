# SPDX-License-Identifier: AGPL-3.0-or-later
"""Lesson packs: the format's rules, safe reading, the installed library.

``manifest`` and ``lessons`` hold the rules of ``pack.json`` (pure functions);
``archive`` reads a pack folder or zip without trusting it; ``packzip``
writes pack zips byte for byte the same; ``installed`` is one installed
version; ``library`` keeps them all. Each module's docstring says what is
safe from several threads and what a crash leaves. The names below are what
the rest of the hub uses.
"""

from .archive import verify_pack
from .installed import InstalledPack, PackFile
from .library import PackLibrary
from .manifest import PackError, content_type, parse_version, validate_manifest
from .packzip import pack_zip_from_folder

__all__ = [
    "InstalledPack",
    "PackError",
    "PackFile",
    "PackLibrary",
    "content_type",
    "pack_zip_from_folder",
    "parse_version",
    "validate_manifest",
    "verify_pack",
]
