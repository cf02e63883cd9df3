# SPDX-License-Identifier: AGPL-3.0-or-later
"""One installed pack version as the rest of the hub sees it, and its marker.

A version lives in ``<id>/<version>/`` with its zip beside it, and exists only
once ``<id>/<version>.installed`` is there: the marker holds the sizes and
hashes measured at install, so serving never hashes a file again. Objects
here are frozen and safe to share between threads; loading only reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .manifest import MANIFEST_NAME, content_type

MARKER_SUFFIX = ".installed"


@dataclass(frozen=True)
class PackFile:
    """One file a pack version serves, with what an HTTP answer needs."""

    path: Path
    size: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class InstalledPack:
    """One installed version of a pack; it never changes once installed."""

    id: str
    version: str
    kind: str
    manifest: dict = field(repr=False, compare=False)
    root: Path
    zip_path: Path
    size: int  # bytes of pack.json and every listed file
    zip_size: int
    zip_sha256: str
    # SHA-256 of the manifest as canonical JSON. The manifest holds every
    # file's SHA-256, so two packs with the same one have the same content.
    content_sha256: str = field(repr=False)
    files: Mapping[str, PackFile] = field(repr=False, compare=False)

    def file(self, relpath: str) -> PackFile | None:
        """``pack.json`` or a file the manifest lists, else None."""
        return self.files.get(relpath)

    def zip_file(self) -> PackFile:
        """The whole pack as one zip, for ``/packs/ID/VERSION.zip``."""
        return PackFile(
            self.zip_path, self.zip_size, self.zip_sha256, "application/zip"
        )


def content_sha256(manifest: dict) -> str:
    """Equal for two manifests with equal data, however they are spaced."""
    canonical = json.dumps(
        manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def marker_bytes(manifest: dict, raw_manifest: bytes, zip_path: Path) -> bytes:
    """What a version's marker holds, measured on the files going live."""
    details = {
        "manifest_size": len(raw_manifest),
        "manifest_sha256": hashlib.sha256(raw_manifest).hexdigest(),
        "zip_size": zip_path.stat().st_size,
        "zip_sha256": _file_sha256(zip_path),
        "content_sha256": content_sha256(manifest),
    }
    return json.dumps(details, indent=1).encode("utf-8")


def load_installed(id_dir: Path, version: str) -> InstalledPack:
    """Read one installed version; OSError or ValueError if it is damaged."""
    details = json.loads((id_dir / f"{version}{MARKER_SUFFIX}").read_bytes())
    root = id_dir / version
    manifest = json.loads((root / MANIFEST_NAME).read_bytes().decode("utf-8-sig"))
    if (manifest["id"], manifest["version"]) != (id_dir.name, version):
        raise ValueError("its pack.json names another pack")
    zip_path = id_dir / f"{version}.zip"
    if not zip_path.is_file():
        raise FileNotFoundError(f"{zip_path} is missing")

    files = {
        MANIFEST_NAME: PackFile(
            root / MANIFEST_NAME,
            details["manifest_size"],
            details["manifest_sha256"],
            content_type(MANIFEST_NAME),
        )
    }
    for entry in manifest["files"]:
        path = entry["path"]
        files[path] = PackFile(
            root / path, entry["size"], entry["sha256"], content_type(path)
        )

    return InstalledPack(
        id=id_dir.name,
        version=version,
        kind=manifest["kind"],
        manifest=manifest,
        root=root,
        zip_path=zip_path,
        size=sum(file.size for file in files.values()),
        zip_size=details["zip_size"],
        zip_sha256=details["zip_sha256"],
        content_sha256=details["content_sha256"],
        files=MappingProxyType(files),
    )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
