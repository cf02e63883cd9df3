# SPDX-License-Identifier: AGPL-3.0-or-later
"""The packs installed on a hub: install, look up, list and remove versions.

Every method may be called from any thread. Installs and removals take a
lock, and ``flock`` on ``packs_dir/.lock`` so that ``classroom-hub
install-pack`` and the running server take turns; lookups never wait for an
install. Lookups use an in-memory snapshot that is read again whenever
``packs_dir/.generation`` changes, so a pack installed by another process
shows without a restart.

On a crash or power cut: an install builds everything in ``.incoming``,
syncs it, renames it into place and writes the version's ``.installed``
marker last; a version without its marker does not exist. The next start
removes what an unfinished install or removal left behind.

Layout under ``packs_dir``::

    <id>/<version>/            pack.json and the listed files, never changed
    <id>/<version>.zip         the whole pack in one file, built at install
    <id>/<version>.installed   sizes and hashes; written last
    .incoming/                 work in progress, emptied at start
    .downloads/                for whoever fetches packs (sync); left alone
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import tempfile
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

from .archive import (
    check_members,
    copy_member,
    listed_in_zip_order,
    open_pack,
    read_manifest,
)
from .installed import (
    MARKER_SUFFIX,
    InstalledPack,
    content_sha256,
    load_installed,
    marker_bytes,
)
from .manifest import MANIFEST_NAME, PACK_ID, VERSION, PackError, parse_version
from ..durable import fsync_dir
from .packzip import PackZipWriter

log = logging.getLogger(__name__)

DEFAULT_MAX_PACK_BYTES = 2 * 1024**3
DEFAULT_RESERVE_BYTES = 200 * 1024**2

_INCOMING = ".incoming"
_DOWNLOADS = ".downloads"
_GENERATION = ".generation"
_LOCK = ".lock"


class PackLibrary:
    """Installed packs under packs_dir: <id>/<version>/ and <id>/<version>.zip.

    ``max_pack_bytes`` bounds the files a pack may declare; ``reserve_bytes``
    is the free space an install must leave on the disk for results.
    """

    def __init__(
        self,
        packs_dir: Path,
        max_pack_bytes: int = DEFAULT_MAX_PACK_BYTES,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
    ):
        self.packs_dir = Path(packs_dir)
        self.max_pack_bytes = max_pack_bytes
        self.reserve_bytes = reserve_bytes
        self._incoming = self.packs_dir / _INCOMING
        # For sync: on the disk whose free space the reserve protects, and
        # kept across restarts so that an interrupted download can resume.
        self.downloads_dir = self.packs_dir / _DOWNLOADS
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._snapshot: dict[str, list[InstalledPack]] | None = None
        self._generation: str | None = None

        self._incoming.mkdir(parents=True, exist_ok=True)
        self.downloads_dir.mkdir(exist_ok=True)
        self._recover()

    def catalog(self) -> list[InstalledPack]:
        """The newest version of each installed pack, by pack id."""
        return [versions[-1] for _, versions in sorted(self._packs().items())]

    def versions(self, pack_id: str) -> list[InstalledPack]:
        """Every installed version of a pack, oldest first."""
        return list(self._packs().get(pack_id, ()))

    def newest(self, pack_id: str) -> InstalledPack | None:
        versions = self._packs().get(pack_id)
        return versions[-1] if versions else None

    def get(self, pack_id: str, version: str) -> InstalledPack | None:
        for pack in self._packs().get(pack_id, ()):
            if pack.version == version:
                return pack
        return None

    def install(self, source: Path) -> InstalledPack:
        """Install a pack folder or zip, checked completely before it shows.

        Installing a version again with the same content returns the one
        installed and changes nothing; with other content it is refused.
        Raises PackError; nothing installed changes when it does.
        """
        source = Path(source)
        with open_pack(source) as reader:
            manifest, raw = read_manifest(reader)
            installed = self._same_version(source, manifest)
            if installed is not None:
                return installed

            self._check_pack_size(source, manifest, raw)
            check_members(reader, manifest)

            with self._writing():
                # Another thread or process may have installed it meanwhile.
                installed = self._same_version(source, manifest)
                if installed is not None:
                    return installed

                self._check_free_space(source, manifest, raw)
                self._install(source, reader, manifest, raw)

        installed = load_installed(self.packs_dir / manifest["id"], manifest["version"])
        log.info(
            "installed pack %s %s (%d files, %d bytes)",
            installed.id,
            installed.version,
            len(installed.files),
            installed.size,
        )
        return installed

    def remove(self, pack_id: str, version: str) -> None:
        """Remove one installed version; PackError if it is not installed."""
        with self._writing():
            pack = self.get(pack_id, version)
            if pack is None:
                others = ", ".join(p.version for p in self.versions(pack_id))
                raise PackError(
                    self.packs_dir / pack_id,
                    None,
                    "version",
                    f"{pack_id} {version} is not installed; installed versions: "
                    f"{others or 'none'}",
                )

            # The marker goes first: from then on the version does not exist,
            # whatever a power cut leaves of its files.
            id_dir = pack.root.parent
            (id_dir / f"{version}{MARKER_SUFFIX}").unlink()
            fsync_dir(id_dir)

            trash = Path(tempfile.mkdtemp(prefix="removed-", dir=self._incoming))
            os.rename(pack.root, trash / version)
            pack.zip_path.unlink(missing_ok=True)
            _remove(trash)
            if not any(id_dir.iterdir()):
                id_dir.rmdir()
            self._changed()

        log.info("removed pack %s %s", pack_id, version)

    def _same_version(self, source: Path, manifest: dict) -> InstalledPack | None:
        """The installed pack if this exact version is installed, else None."""
        installed = self.get(manifest["id"], manifest["version"])
        if installed is None:
            return None
        if installed.content_sha256 == content_sha256(manifest):
            return installed

        major, minor, patch = parse_version(manifest["version"])
        raise PackError(
            source,
            MANIFEST_NAME,
            "version",
            f"{manifest['id']} {manifest['version']} is already installed with "
            "other content; a changed pack needs a new version number, e.g. "
            f"{major}.{minor}.{patch + 1}",
        )

    def _check_pack_size(self, source: Path, manifest: dict, raw: bytes) -> None:
        total = len(raw) + sum(entry["size"] for entry in manifest["files"])
        if total > self.max_pack_bytes:
            raise PackError(
                source,
                MANIFEST_NAME,
                "files",
                f"the files add up to {_size_text(total)}; this hub takes packs of at "
                f"most {_size_text(self.max_pack_bytes)}: split it into smaller packs",
            )

    def _check_free_space(self, source: Path, manifest: dict, raw: bytes) -> None:
        # The files land twice: unpacked for serving, and again in the zip.
        needed = 2 * (len(raw) + sum(entry["size"] for entry in manifest["files"]))
        free = shutil.disk_usage(self.packs_dir).free
        if free - needed < self.reserve_bytes:
            reserve = _size_text(self.reserve_bytes)
            raise PackError(
                source,
                None,
                None,
                f"installing it needs about {_size_text(needed)} of disk space; "
                f"{_size_text(free)} is free and the hub keeps {reserve} free for "
                "learners' results: remove old pack versions, or use a larger SD "
                "card",
            )

    def _install(self, source: Path, reader, manifest: dict, raw: bytes) -> None:
        staging = Path(tempfile.mkdtemp(prefix="install-", dir=self._incoming))
        try:
            self._unpack(reader, manifest, raw, staging)
            self._commit(manifest, raw, staging)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            raise PackError(
                source,
                None,
                None,
                "the disk filled up while installing it; nothing was installed: "
                "free some space and try again",
            ) from error
        finally:
            _remove(staging)

    def _unpack(self, reader, manifest: dict, raw: bytes, staging: Path) -> None:
        """Copy and check every file into staging, and build the pack's zip."""
        tree = staging / "pack"
        tree.mkdir()
        _write_synced(tree / MANIFEST_NAME, raw)

        with PackZipWriter(staging / "pack.zip") as archive:
            archive.add_bytes(MANIFEST_NAME, raw)
            for index, entry in listed_in_zip_order(manifest):
                target = tree / entry["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                with (
                    open(target, "xb") as output,
                    archive.open(entry["path"], entry["size"]) as stream,
                ):
                    copy_member(reader, index, entry, output, stream)
                    output.flush()
                    os.fsync(output.fileno())

        for folder, _, _ in os.walk(tree, topdown=False):
            fsync_dir(Path(folder))

    def _commit(self, manifest: dict, raw: bytes, staging: Path) -> None:
        """Move a checked pack from staging into place, the marker last."""
        version = manifest["version"]
        id_dir = self.packs_dir / manifest["id"]
        if not id_dir.is_dir():
            id_dir.mkdir()
            fsync_dir(self.packs_dir)

        marker = staging / "marker"
        _write_synced(marker, marker_bytes(manifest, raw, staging / "pack.zip"))

        root = id_dir / version
        if root.exists():
            # Left by an install that stopped before its marker was written.
            os.rename(root, staging / "unfinished")
        os.replace(staging / "pack.zip", id_dir / f"{version}.zip")
        os.rename(staging / "pack", root)
        fsync_dir(id_dir)

        os.replace(marker, id_dir / f"{version}{MARKER_SUFFIX}")
        fsync_dir(id_dir)
        self._changed()

    def _changed(self) -> None:
        """Tell every library on this folder, in any process, to look again."""
        # Not synced: after a power cut every process starts with no snapshot.
        temporary = self._incoming / f"generation-{uuid.uuid4().hex}"
        temporary.write_text(uuid.uuid4().hex)
        os.replace(temporary, self.packs_dir / _GENERATION)

    def _packs(self) -> dict[str, list[InstalledPack]]:
        try:
            generation = (self.packs_dir / _GENERATION).read_text()
        except FileNotFoundError:
            generation = None

        with self._read_lock:
            if self._snapshot is None or generation != self._generation:
                self._snapshot = self._scan()
                self._generation = generation
            return self._snapshot

    def _scan(self) -> dict[str, list[InstalledPack]]:
        found = {}
        for id_dir in self._pack_dirs():
            versions = []
            for marker in id_dir.glob(f"*{MARKER_SUFFIX}"):
                version = marker.name[: -len(MARKER_SUFFIX)]
                if not VERSION.fullmatch(version):
                    continue
                try:
                    versions.append(load_installed(id_dir, version))
                except (OSError, ValueError, KeyError, TypeError) as error:
                    log.warning(
                        "pack %s %s is damaged on disk and is not served (%s); "
                        "install it again",
                        id_dir.name,
                        version,
                        error,
                    )
            if versions:
                versions.sort(key=lambda pack: parse_version(pack.version))
                found[id_dir.name] = versions
        return found

    def _pack_dirs(self) -> list[Path]:
        return sorted(
            path
            for path in self.packs_dir.iterdir()
            if PACK_ID.fullmatch(path.name) and path.is_dir()
        )

    @contextmanager
    def _writing(self):
        """Hold the right to change packs_dir against threads and processes."""
        with self._write_lock:
            descriptor = self._open_lock()
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                os.close(descriptor)

    def _open_lock(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        return os.open(self.packs_dir / _LOCK, flags, 0o644)

    def _recover(self) -> None:
        """Remove what an interrupted install or removal left behind.

        Skipped when another process is installing right now: its work in
        .incoming is not a leftover, and the next start cleans up instead.
        """
        descriptor = self._open_lock()
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("another process is installing packs; no clean-up now")
                return

            for leftover in self._incoming.iterdir():
                log.warning("removing %s, left by an unfinished install", leftover)
                _remove(leftover)
            for id_dir in self._pack_dirs():
                self._remove_unfinished(id_dir)
        finally:
            os.close(descriptor)

    def _remove_unfinished(self, id_dir: Path) -> None:
        for path in id_dir.iterdir():
            version = path.name.removesuffix(".zip").removesuffix(MARKER_SUFFIX)
            if not VERSION.fullmatch(version):
                continue
            if not (id_dir / f"{version}{MARKER_SUFFIX}").exists():
                log.warning("removing %s: its install or removal did not finish", path)
                _remove(path)
        if not any(id_dir.iterdir()):
            id_dir.rmdir()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "xb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
