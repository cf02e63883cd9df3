# SPDX-License-Identifier: AGPL-3.0-or-later
"""Backups of a hub's data, taken while it serves, and their careful restore.

A backup is a gzipped tar holding ``backup.json`` (what it is, and the SHA-256
of every other member), ``results.sqlite3`` made with SQLite's online backup
API (one read transaction: every result committed before it began, none
half-written), ``hub.json`` copied under the state lock, and the installed
packs' zips, or with ``packs="reference"`` only their ids and versions.

A restore checks the whole archive (hashes, SQLite integrity, hub.json) in a
folder beside the data before it changes anything, refuses while a hub runs
on the data unless forced, and moves the files it replaces into
``replaced-<time>/`` instead of deleting them. A crash mid-restore leaves
either the old files in place or the new ones, plus that folder.

Each call works on its own files; several may run at once from different
threads or processes, since the hub's own locks keep the snapshot consistent.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

from . import __version__, clock

FORMAT = 1
_PACK_MEMBER = re.compile(
    r"^packs/[a-z0-9][a-z0-9-]{0,63}/[0-9][0-9A-Za-z.+-]{0,63}\.zip$"
)
_DATA_FILES = ("results.sqlite3", "hub.json")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and the fix."""


def make_backup(hub, out, packs: str = "copy") -> dict:
    """Write a backup of an open ``hub.app.Hub`` to the binary file ``out``."""
    # XXX: not encrypted, and it holds learners' names; keep the stick safe.
    data_dir = hub.data_dir
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".backup-") as work:
        work = Path(work)

        # The online backup copies a snapshot page by page while tablets
        # keep writing: WAL readers never block the writer.
        source = sqlite3.connect(data_dir / "results.sqlite3", timeout=30)
        target = sqlite3.connect(work / "results.sqlite3")
        try:
            source.backup(target)
            results = target.execute("SELECT count(*) FROM results").fetchone()[0]
        finally:
            target.close()
            source.close()

        with hub.state.locked():
            state = (data_dir / "hub.json").read_bytes()
        (work / "hub.json").write_bytes(state)

        installed = [
            (pack.id, pack.version)
            for newest in hub.packs.catalog()
            for pack in hub.packs.versions(newest.id)
        ]
        members = {name: work / name for name in _DATA_FILES}
        if packs == "copy":
            for pack_id, version in installed:
                zip_path = hub.packs.packs_dir / pack_id / f"{version}.zip"
                members[f"packs/{pack_id}/{version}.zip"] = zip_path

        manifest = {
            "format": FORMAT,
            "hub_id": hub.state.hub_id,
            "hub_name": hub.settings.HUB_NAME,
            "hub_version": __version__,
            "made_at": clock.now_text(),
            "clock_trusted": clock.clock_is_trusted(),
            "results": results,
            "packs": packs,
            "installed_packs": [
                f"{pack_id} {version}" for pack_id, version in installed
            ],
            "sha256": {name: _sha256(path) for name, path in members.items()},
        }
        _write_tar(out, manifest, members)
    return manifest


def _write_tar(out, manifest: dict, members: dict) -> None:
    encoded = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    # Level 1: the packs are zips already, and a Pi's CPU is slow.
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as packed,
        tarfile.open(fileobj=packed, mode="w|") as archive,
    ):
        entry = tarfile.TarInfo("backup.json")
        entry.size, entry.mtime, entry.mode = len(encoded), int(time.time()), 0o640
        archive.addfile(entry, io.BytesIO(encoded))
        for name, path in members.items():
            entry = archive.gettarinfo(path, arcname=name)
            entry.uid = entry.gid = 0
            entry.uname = entry.gname = ""
            entry.mode = 0o640
            with open(path, "rb") as handle:
                archive.addfile(entry, handle)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_backup(archive_path: Path, into: Path) -> dict:
    """Unpack a backup into the empty folder ``into`` and prove it whole.

    Only the members ``backup.json`` names are taken, each under a name this
    code builds, so an archive cannot write outside ``into``.
    """
    try:
        return _unpack(archive_path, into)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise BackupError(
            f"{archive_path} is damaged or cut short ({error}); use another backup"
        ) from None


def _unpack(archive_path: Path, into: Path) -> dict:
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            manifest = _unpack_members(archive, archive_path, into)
    except OSError as error:
        raise BackupError(f"{archive_path} is not a hub backup ({error})") from None

    _check_results(into / "results.sqlite3")
    try:
        json.loads((into / "hub.json").read_text(encoding="utf-8"))
    except ValueError as error:
        raise BackupError(
            f"hub.json in {archive_path} cannot be read: {error}"
        ) from None
    return manifest


def _unpack_members(archive, archive_path: Path, into: Path) -> dict:
    try:
        manifest = json.load(archive.extractfile("backup.json"))
    except (KeyError, ValueError, AttributeError, tarfile.TarError):
        raise BackupError(
            f"{archive_path} has no readable backup.json; it is "
            "not a hub backup or it is damaged"
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{archive_path} is a backup of format "
            f"{manifest.get('format')}; this hub reads {FORMAT}"
        )

    expected = manifest.get("sha256", {})
    for name in expected:
        if name not in _DATA_FILES and not _PACK_MEMBER.match(name):
            raise BackupError(f"{archive_path} names an unexpected file {name!r}")
    for name in _DATA_FILES:
        if name not in expected:
            raise BackupError(f"{archive_path} lacks {name}")

    for name, digest in expected.items():
        target = into.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = archive.extractfile(name)
        except KeyError:
            source = None
        if source is None:
            raise BackupError(f"{archive_path} lacks {name}; the copy is cut short")
        with open(target, "wb") as handle:
            shutil.copyfileobj(source, handle)
        if _sha256(target) != digest:
            raise BackupError(
                f"{name} in {archive_path} is damaged (its "
                "SHA-256 differs); use another backup"
            )
    return manifest


def _check_results(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as error:
        verdict = str(error)
    if verdict != "ok":
        raise BackupError(f"the results in the backup are damaged: {verdict}")


def restore_backup(settings, archive_path: Path, force: bool = False) -> dict:
    """Replace the data in ``settings.data_dir`` with a checked backup."""
    from .server import hub_running

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if hub_running(data_dir) and not force:
        raise BackupError(
            f"a hub is running on {data_dir}; stop it first "
            "(sudo systemctl stop classroom-hub) or give --force"
        )

    staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
    try:
        manifest = check_backup(archive_path, staging)
        replaced = _swap_in(data_dir, staging)
        manifest["replaced"] = str(replaced) if replaced else None
        manifest["installed"] = _install_packs(settings, staging / "packs")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _swap_in(data_dir: Path, staging: Path) -> Path | None:
    from .durable import fsync_dir

    stamp = time.strftime("%Y%m%d-%H%M%S")
    replaced = data_dir / f"replaced-{stamp}"
    old = [
        data_dir / name
        for name in (
            "results.sqlite3",
            "results.sqlite3-wal",
            "results.sqlite3-shm",
            "hub.json",
            "hub.json.prev",
        )
    ]
    old = [path for path in old if path.exists()]
    if old:
        replaced.mkdir(exist_ok=True)
        for path in old:
            os.replace(path, replaced / path.name)

    for name in _DATA_FILES:
        with open(staging / name, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging / name, data_dir / name)
    fsync_dir(data_dir)
    return replaced if old else None


def _install_packs(settings, packs_dir: Path) -> list[str]:
    from .packs import PackError, PackLibrary

    if not packs_dir.is_dir():
        return []
    library = PackLibrary(
        settings.data_dir / "packs", reserve_bytes=settings.DISK_RESERVE_BYTES
    )
    installed = []
    for zip_path in sorted(packs_dir.glob("*/*.zip")):
        try:
            pack = library.install(zip_path)
        except PackError as error:
            raise BackupError(
                f"pack {zip_path.parent.name} from the backup was refused: {error}"
            ) from None
        installed.append(f"{pack.id} {pack.version}")
    return installed
