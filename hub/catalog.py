# SPDX-License-Identifier: AGPL-3.0-or-later
"""The publishable pack catalog: ``catalog.json`` for a folder of pack zips.

A national team member puts pack zips in a folder, runs ``classroom-hub
build-catalog DIR --base-url URL`` and serves the folder over HTTPS; hubs
read ``catalog.json`` from ``CATALOG_URL``. Every zip is checked with the
same code a hub runs at install, every byte included. Building only reads;
writing ``catalog.json`` goes through a temporary file and a rename, so a
crash leaves the old catalog or the new one, never half of one. Nothing here
keeps state between calls: any thread may call it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from .packs import PackError, pack_zip_from_folder, parse_version, verify_pack
from .durable import fsync_dir

CATALOG_FORMAT = 1
CATALOG_NAME = "catalog.json"

__all__ = ["build_catalog", "write_catalog", "pack_zip_from_folder"]


def build_catalog(folder: Path, base_url: str) -> dict:
    """The catalog of every ``*.zip`` pack in ``folder``, each checked fully.

    Raises PackError for the first zip that is not a valid pack, or when two
    zips hold the same pack version, and ValueError for a base URL that is
    not http(s).
    """
    folder = Path(folder)
    base = _base_url(base_url)

    entries = []
    seen: dict[tuple[str, str], Path] = {}
    for zip_path in sorted(folder.glob("*.zip")):
        if not zip_path.is_file():
            continue
        manifest = verify_pack(zip_path)

        key = (manifest["id"], manifest["version"])
        if key in seen:
            raise PackError(
                zip_path,
                "pack.json",
                "version",
                f"{key[0]} {key[1]} is also in {seen[key].name}; keep one of the "
                "two zips in the folder",
            )
        seen[key] = zip_path

        size, sha256 = _size_and_sha256(zip_path)
        entries.append(
            {
                "id": manifest["id"],
                "version": manifest["version"],
                "kind": manifest["kind"],
                "title": manifest["title"],
                "languages": manifest["languages"],
                "age_range": manifest["age_range"],
                "url": base + quote(zip_path.name),
                "size": size,
                "sha256": sha256,
            }
        )

    entries.sort(key=lambda entry: (entry["id"], parse_version(entry["version"])))
    return {
        "format": CATALOG_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "packs": entries,
    }


def write_catalog(folder: Path, base_url: str) -> Path:
    """Build the catalog of ``folder`` and write ``folder/catalog.json``."""
    folder = Path(folder)
    catalog = build_catalog(folder, base_url)
    text = json.dumps(catalog, ensure_ascii=False, indent=2) + "\n"

    path = folder / CATALOG_NAME
    descriptor, temporary = tempfile.mkstemp(prefix=".catalog-", dir=folder)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private; the web server must read it.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    return path


def _base_url(base_url: str) -> str:
    """The base URL ending in '/', so that a zip's name is joined under it."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(
            f"--base-url {base_url!r} must be an https:// URL of the folder that "
            "is served, e.g. https://packs.example.mn/v1/"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"--base-url {base_url!r} must not have a ? or # part")
    return base_url if base_url.endswith("/") else base_url + "/"


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
