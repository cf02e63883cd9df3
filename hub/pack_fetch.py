# SPDX-License-Identifier: AGPL-3.0-or-later
"""Packs down from the national catalog, or from a catalog on a USB stick.

For every pack whose newest listed version is newer than the one installed,
the zip is fetched into the library's downloads folder, resuming from the
bytes already there (HTTP Range) after a drop or a reboot, no faster than
``SYNC_MAX_BYTES_PER_S`` and no further than the byte budget allows (the
rest follows at the next run). It is checked against the catalog's size and
SHA-256 and only then installed; the library makes it visible to tablets in
one step, and the version before keeps serving until then. An older version
is removed once no class's assignment needs a lesson only it has. Free disk
space is checked first, keeping the library's reserve for results.

A catalog in a folder (``catalog.json`` beside the zips, as published) goes
through the same checks and install, the zips read from the folder instead of
the network.

One run on one thread. A crash leaves at most a partial download, resumed at
the next run, or one that fails its SHA-256 check and is deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from .packs import PackError
from .sync_ledger import SyncLedger
from .uplink import BudgetSpent, LinkProblem, Uplink

log = logging.getLogger(__name__)

CATALOG_MAX_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
_VERSION = re.compile(r"^\d{1,9}\.\d{1,9}\.\d{1,9}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


@dataclass
class PullReport:
    installed: list = field(default_factory=list)
    up_to_date: int = 0
    removed: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    skipped: str | None = None
    waiting_for_budget: bool = False
    link_failed: bool = False
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def pull_catalog(
    library,
    settings,
    session=None,
    *,
    uplink=None,
    ledger: SyncLedger | None = None,
    state=None,
) -> PullReport:
    """Install every pack the national catalog has in a newer version."""
    report = PullReport()
    if not settings.CATALOG_URL:
        report.skipped = "CATALOG_URL is not set"
        return report

    own = uplink is None
    uplink = uplink or Uplink(settings, session=session)
    ledger = ledger or SyncLedger()
    try:
        catalog, base = _fetch_catalog(settings.CATALOG_URL, uplink)
        fetch = _NetworkFetch(uplink)
        wanted = _newest_entries(catalog, base, report, ("http", "https"))
        _forget_old_downloads(library, wanted, ledger)
        _install_newer(wanted, fetch, library, ledger, state, report)
    except LinkProblem as problem:
        _note_problem(report, str(problem), problem)
    finally:
        if own:
            uplink.close()
    return report


def import_catalog_folder(library, folder: Path, *, ledger=None, state=None):
    """Install the newer packs of a catalog in a folder, such as a USB stick."""
    report = PullReport()
    folder = Path(folder)
    path = folder / "catalog.json"
    try:
        with open(path, "rb") as stream:
            body = stream.read(CATALOG_MAX_BYTES + 1)
    except OSError as error:
        report.problems.append(f"cannot read {path}: {error.strerror}")
        return report
    if len(body) > CATALOG_MAX_BYTES:
        report.problems.append(f"{path} is too large for a catalog")
        return report

    try:
        catalog = _parse_catalog(body, str(path))
    except LinkProblem as problem:
        report.problems.append(str(problem))
        return report
    # Only each url's file name counts: the zips sit beside catalog.json.
    wanted = _newest_entries(catalog, path.resolve().as_uri(), report, None)
    _install_newer(
        wanted, _FolderFetch(folder), library, ledger or SyncLedger(), state, report
    )
    return report


def _install_newer(wanted, fetch, library, ledger, state, report) -> None:
    for entry in wanted:
        installed = library.newest(entry["id"])
        if installed is not None and _version(installed.version) >= _version(
            entry["version"]
        ):
            report.up_to_date += 1
            continue

        name = f"{entry['id']} {entry['version']}"
        try:
            path = _download(entry, library, fetch, ledger)
        except BudgetSpent as spent:
            _note_problem(report, f"{name}: {spent}", spent)
            return
        except LinkProblem as problem:
            _note_problem(report, f"{name}: {problem}", problem)
            if problem.transient:
                # The link is failing: the other packs would fail alike.
                return
            continue
        except OSError as error:
            report.problems.append(f"{name}: could not save it: {error.strerror}")
            continue

        try:
            library.install(path)
        except (PackError, OSError) as error:
            # The checked download stays, so that the next sync tries the
            # install again (after an upgrade, or with more free space)
            # without fetching it again.
            report.problems.append(f"{name}: downloaded but refused: {error}")
            continue
        path.unlink(missing_ok=True)
        ledger.end_download(path.name)
        report.installed.append(name)
        log.info("installed pack %s", name)
        report.removed.extend(retire_old_versions(library, state, entry["id"]))


def retire_old_versions(library, state, pack_id: str) -> list[str]:
    """Remove the versions before the newest that no assignment needs.

    Assignments name a pack and a lesson, not a version; an old version is
    still needed when a class is assigned a lesson that only it has.
    Without the hub's state nothing is removed.
    """
    if state is None:
        return []
    from .teacher.assignments import assigned_lessons

    versions = library.versions(pack_id)
    if len(versions) < 2:
        return []
    newest_lessons = _lesson_ids(versions[-1])
    assigned = {
        lesson
        for group in state.classes(include_archived=True)
        for pack, lesson in assigned_lessons(state, group["id"])
        if pack == pack_id
    }

    removed = []
    for old in versions[:-1]:
        needed = (assigned & _lesson_ids(old)) - newest_lessons
        if needed:
            log.info(
                "kept %s %s: assigned lessons only it has: %s",
                pack_id,
                old.version,
                ", ".join(sorted(needed)),
            )
            continue
        try:
            library.remove(pack_id, old.version)
        except (PackError, OSError) as error:
            log.warning("could not remove %s %s: %s", pack_id, old.version, error)
            continue
        removed.append(f"{pack_id} {old.version}")
    return removed


def _lesson_ids(pack) -> set:
    return {lesson["id"] for lesson in pack.manifest.get("lessons", [])}


def _note_problem(report: PullReport, words: str, problem: LinkProblem) -> None:
    report.problems.append(words)
    if isinstance(problem, BudgetSpent):
        report.waiting_for_budget = True
    else:
        report.link_failed = True
    if problem.retry_after_s is not None:
        report.retry_after_s = problem.retry_after_s


def _fetch_catalog(address: str, uplink: Uplink) -> tuple[dict, str]:
    answer = uplink.exchange(
        "GET", address, what="the catalog", max_body=CATALOG_MAX_BYTES
    )
    if 300 <= answer.status < 400:
        raise LinkProblem(
            f"the catalog at {address} redirected to "
            f"{answer.headers.get('Location')!r}; a captive portal may be in the "
            "way, or CATALOG_URL needs updating"
        )
    if answer.status != 200:
        raise LinkProblem(f"the catalog at {address} answered {answer.status}")
    return _parse_catalog(answer.body, address), address


def _parse_catalog(body: bytes, where: str) -> dict:
    try:
        catalog = json.loads(body)
    except ValueError:
        raise LinkProblem(
            f"the catalog at {where} is not JSON; a captive portal may be in the way"
        ) from None
    if not isinstance(catalog, dict) or catalog.get("format") != 1:
        raise LinkProblem(f"the catalog at {where} is not a format 1 catalog")
    if not isinstance(catalog.get("packs"), list):
        raise LinkProblem(f"the catalog at {where} has no list of packs")
    return catalog


def _newest_entries(catalog: dict, base: str, report: PullReport, schemes) -> list:
    """The newest well-formed entry of each pack, its URL made absolute."""
    newest = {}
    for index, entry in enumerate(catalog["packs"]):
        reason = _entry_problem(entry)
        if reason:
            report.problems.append(f"catalog entry {index}: {reason}; skipped")
            continue
        entry = dict(entry, url=urljoin(base, entry["url"]))
        if schemes and urlsplit(entry["url"]).scheme not in schemes:
            report.problems.append(f"catalog entry {index}: url is not http(s)")
            continue
        known = newest.get(entry["id"])
        if known is None or _version(entry["version"]) > _version(known["version"]):
            newest[entry["id"]] = entry
    return list(newest.values())


def _entry_problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    checks = (
        ("id", lambda v: isinstance(v, str) and _PACK_ID.match(v)),
        ("version", lambda v: isinstance(v, str) and _VERSION.match(v)),
        ("url", lambda v: isinstance(v, str) and v),
        ("size", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
        ("sha256", lambda v: isinstance(v, str) and _SHA256.match(v)),
    )
    for name, check in checks:
        if not check(entry.get(name)):
            return f"{name} is missing or malformed"
    return None


def _version(text: str) -> tuple:
    return tuple(int(part) for part in text.split("."))


def _download(entry, library, fetch, ledger: SyncLedger) -> Path:
    """Bring the pack's zip into the downloads folder and check it.

    Returns the checked file; raises LinkProblem (BudgetSpent when the
    budget stopped it midway, the bytes so far kept).
    """
    downloads = Path(library.downloads_dir)
    part = downloads / download_name(entry)
    size, expected = entry["size"], entry["sha256"]

    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    # The zip, then about as much again unpacked and once more as the
    # served zip, must fit above the reserve kept for results.
    needed = (size - have) + 2 * size
    room = shutil.disk_usage(downloads).free - library.reserve_bytes
    if needed > room:
        raise LinkProblem(
            f"needs about {needed} bytes of disk space and {max(0, room)} are free "
            "above the reserve kept for results; nothing fetched"
        )

    ledger.begin_download(part.name, entry)
    if have < size:
        have = fetch.bring(entry, part, size)

    if have == size and _sha256(part) == expected:
        return part
    part.unlink(missing_ok=True)
    ledger.end_download(part.name)
    what = "size" if have != size else "SHA-256"
    raise LinkProblem(f"the download's {what} does not match the catalog; discarded")


class _NetworkFetch:
    def __init__(self, uplink: Uplink):
        self.uplink = uplink

    def bring(self, entry, part: Path, size: int) -> int:
        have = part.stat().st_size if part.exists() else 0
        stop = size
        allowance = self.uplink.meter.allowance()
        if allowance is not None:
            # Headers of the request and the answer take some of the budget.
            stop = min(size, have + max(0, allowance - 2048))
            if stop <= have:
                raise BudgetSpent(
                    f"the byte budget is used up; {have} of {size} bytes are "
                    "here, the rest follows when the budget allows"
                )
        have = self.uplink.download(
            entry["url"], part, stop, size, what="the pack server"
        )
        if have < size and stop < size:
            raise BudgetSpent(
                f"{have} of {size} bytes fetched; the rest follows when the "
                "byte budget allows"
            )
        return have


class _FolderFetch:
    """Copies a zip named by a catalog entry from the catalog's folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def bring(self, entry, part: Path, size: int) -> int:
        name = unquote(urlsplit(entry["url"]).path.rsplit("/", 1)[-1])
        source = self.folder / name
        if not source.is_file():
            raise LinkProblem(f"{name} is not in {self.folder}")
        # Copied whole, at most one byte past the size the catalog gives.
        with open(source, "rb") as reader, open(part, "wb") as writer:
            left = size + 1
            while left > 0 and (chunk := reader.read(min(CHUNK_BYTES, left))):
                writer.write(chunk)
                left -= len(chunk)
        return part.stat().st_size


def download_name(entry: dict) -> str:
    return f"{entry['id']}-{entry['version']}.zip"


def _forget_old_downloads(library, wanted: list, ledger: SyncLedger) -> None:
    """Delete downloads of versions the catalog no longer offers."""
    keep = {download_name(entry) for entry in wanted}
    for path in Path(library.downloads_dir).glob("*.zip"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
            ledger.end_download(path.name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
