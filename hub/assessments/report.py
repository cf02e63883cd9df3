# SPDX-License-Identifier: AGPL-3.0-or-later
"""The national team's growth figures: ``classroom-hub outcomes-report``.

Reads the assessment statements back from an LRS (``GET statements``,
following ``more`` page by page) or from hubs' USB bundles, scores every
attempt with the same rules as the hubs (``scoring``) and the pack
manifests given with ``--packs``, pairs each child's baseline with the
endline of the same round, and writes one CSV row per school, pack version,
check and measure, with the number of children behind every figure.

Statements are filtered here, not by the LRS: Ralph's file backend answers
``verb=`` and ``activity=`` queries with nothing, and the category that
marks the checks is read from each statement anyway. A statement voided
later still counts: the hub never voids one. Runs once in the person's
process; holds every assessment statement in memory (about 1 KB each, so a
phase of 22,000 children at some 150 answers each needs a few GB: split by
``--since`` when that grows too large).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit


from ..cli import CommandError
from .checks import checks_of
from .scoring import Answer, Attempt, growth, scored_attempt, summarise
from .statements import CATEGORY

PAGE_SIZE = 500
TIMEOUT_S = 60
XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}
COLUMNS = (
    "school", "hubs", "pack_id", "pack_version", "check", "check_type", "measure",
    "baseline_n", "baseline_mean", "baseline_sd", "endline_n", "endline_mean",
    "endline_sd", "growth_n", "growth_mean", "growth_sd",
)  # fmt: skip
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")


def add_commands(command) -> None:
    """Add ``outcomes-report`` through ``cli.build_parser``'s helper."""
    report = command(
        "outcomes-report",
        cmd_outcomes_report,
        "for the national team: read baseline and endline answers from an LRS "
        "or USB bundles and write growth figures per school to a CSV file",
    )
    report.add_argument("--lrs", help="the LRS's xAPI address, ending in /")
    report.add_argument("--user", default="", help="LRS user name")
    report.add_argument("--password", default="", help="LRS password")
    report.add_argument("--since", help="only statements stored after this time")
    report.add_argument(
        "--bundle",
        type=Path,
        nargs="+",
        default=[],
        help="results bundles written by export-results",
    )
    report.add_argument(
        "--packs",
        type=Path,
        nargs="+",
        default=[],
        help="assessment packs (folders or zips, or folders of them) whose "
        "versions the statements name; default: the packs installed on this hub",
    )
    report.add_argument("--out", type=Path, required=True, help="CSV file to write")


def cmd_outcomes_report(settings, args):
    if not args.lrs and not args.bundle:
        raise CommandError("give --lrs URL (with --user and --password) or --bundle")
    manifests = read_manifests(args.packs, settings)
    statements = []
    if args.lrs:
        statements += read_lrs(args.lrs, args.user, args.password, args.since)
    for path in args.bundle:
        statements += read_bundle_statements(path)

    answers = [found for found in map(parse_statement, statements) if found]
    rows, skipped = growth_rows(answers, manifests)
    for key, count in sorted(skipped.items()):
        print(
            f"skipped {count} answers of {key[0]} {key[1]}: pass that pack "
            "version with --packs",
            file=sys.stderr,
        )
    write_csv(args.out, rows)
    print(f"wrote {args.out}: {len(rows)} rows from {len(answers)} answers")


# Reading


def read_manifests(paths: list[Path], settings) -> dict:
    """(pack id, version) -> manifest of every assessment pack given."""
    from ..packs import PackError, PackLibrary, verify_pack

    found = {}
    if not paths:
        library = PackLibrary(settings.data_dir / "packs")
        for pack_id in {pack.id for pack in library.catalog()}:
            for pack in library.versions(pack_id):
                found[(pack.id, pack.version)] = pack.manifest
    for path in paths:
        for source in _pack_sources(path):
            try:
                manifest = verify_pack(source)
            except PackError as error:
                raise CommandError(f"--packs: {error}") from None
            found[(manifest["id"], manifest["version"])] = manifest
    return {key: m for key, m in found.items() if m.get("kind") == "assessment"}


def _pack_sources(path: Path) -> list[Path]:
    if not path.exists():
        raise CommandError(f"--packs: {path} does not exist")
    if path.is_file() or (path / "pack.json").exists():
        return [path]
    return sorted(
        p for p in path.iterdir() if p.suffix == ".zip" or (p / "pack.json").exists()
    )


def read_lrs(url: str, user: str, password: str, since=None) -> list[dict]:
    """Every statement of the LRS, page by page.

    XXX Holds them all in memory; the proper fix scores page by page,
    keeping only the open attempts.
    """
    # Imported here: every command loads this module, and the server
    # should not carry requests in memory for a report it never makes.
    import requests

    if urlsplit(url).scheme not in ("http", "https"):
        raise CommandError(f"--lrs {url!r} is not an http(s) address")
    address = urljoin(url if url.endswith("/") else url + "/", "statements")
    address += f"?limit={PAGE_SIZE}" + (f"&since={since}" if since else "")
    found = []
    with requests.Session() as session:
        session.trust_env = False
        while address:
            try:
                answer = session.get(
                    address,
                    auth=(user, password),
                    headers=XAPI_HEADERS,
                    timeout=TIMEOUT_S,
                )
            except requests.RequestException as error:
                raise CommandError(f"cannot reach the LRS at {url}: {error}") from None
            if answer.status_code in (401, 403):
                raise CommandError("the LRS refused the user name or password")
            if answer.status_code != 200:
                raise CommandError(
                    f"the LRS answered {answer.status_code} to {address}"
                )
            try:
                page = answer.json()
                found.extend(page["statements"])
            except (ValueError, KeyError, TypeError):
                raise CommandError(
                    f"{address} did not answer with statements"
                ) from None
            more = page.get("more")
            address = urljoin(url, more) if more else None
    return found


def read_bundle_statements(path: Path) -> list[dict]:
    from ..bundles import BundleError, read_bundle

    try:
        _manifest, statements = read_bundle(path)
    except BundleError as error:
        raise CommandError(str(error)) from None
    return statements


@dataclass(frozen=True)
class Statement:
    """One assessment answer, as read back from its statement."""

    school: str
    hub: str
    learner: str
    pack_id: str
    version: str
    check_id: str
    phase: str
    round: str
    attempt: str
    repeat: bool
    answer: Answer
    order: tuple


def parse_statement(statement: dict) -> Statement | None:
    """The answer a hub's assessment statement reports; None for others."""
    try:
        context = statement["context"]
        categories = context["contextActivities"].get("category", [])
        if not any(c["id"].endswith("/" + CATEGORY) for c in categories):
            return None
        facts = {
            key.rsplit("/", 1)[-1]: value
            for key, value in context["extensions"].items()
        }
        parent = context["contextActivities"]["parent"][0]["id"]
        pack_id, check_id = (unquote(part) for part in parent.rsplit("/", 2)[1:])
        item = unquote(statement["object"]["id"].rsplit("/", 1)[1])
        account = statement["actor"]["account"]["name"]
        result = statement.get("result", {})
        hub_id = facts.get("hub-id") or account.split("/")[0]
        return Statement(
            school=facts.get("school-id") or f"hub:{hub_id}",
            hub=hub_id,
            learner=account,
            pack_id=pack_id,
            version=facts["assessment-version"],
            check_id=check_id,
            phase=facts["window-phase"],
            round=facts["round"],
            attempt=context["registration"],
            repeat=bool(facts.get("attempt-repeat")),
            answer=Answer(
                item=item,
                response=result.get("response"),
                reaction_ms=_milliseconds(result.get("duration")),
                practice=bool(facts.get("practice")),
            ),
            order=(statement.get("timestamp", ""), facts.get("tablet-seq") or 0),
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None


def _milliseconds(duration) -> int | None:
    match = _DURATION.match(duration or "")
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return round(total * 1000)


# Scoring and pooling


def growth_rows(answers: list[Statement], manifests: dict) -> tuple[list, dict]:
    """The CSV rows, and the answers skipped per pack version without a pack."""
    checks = {
        (pack_id, version, check.id): check
        for (pack_id, version), manifest in manifests.items()
        for check in checks_of(manifest)
    }
    skipped: dict[tuple, int] = {}
    units: dict[tuple, dict] = {}  # (school, learner, round, check key) -> phases
    for found in sorted(answers, key=lambda a: a.order):
        key = (found.pack_id, found.version, found.check_id)
        if key not in checks:
            skipped[key[:2]] = skipped.get(key[:2], 0) + 1
            continue
        phases = units.setdefault((found.school, found.learner, found.round, key), {})
        attempts = phases.setdefault(found.phase, {})
        if found.attempt not in attempts:
            attempts[found.attempt] = (found.repeat, len(attempts), [])
        listed = attempts[found.attempt][2]
        listed.append(replace(found.answer, order=len(listed)))

    pooled: dict[tuple, dict] = {}
    for (school, learner, _round, key), phases in units.items():
        check = checks[key]
        taken = {
            phase: scored_attempt(
                check,
                [
                    Attempt(attempt_id, repeat, listed, order)
                    for attempt_id, (repeat, order, listed) in attempts.items()
                ],
            ).score
            for phase, attempts in phases.items()
        }
        group = pooled.setdefault(
            (school, key), {"check": check, "units": [], "hubs": set()}
        )
        group["units"].append(taken)
        group["hubs"].add(learner.split("/")[0])

    rows = []
    for (school, key), group in sorted(pooled.items()):
        rows.extend(_measure_rows(school, key, group))
    return rows, skipped


def _measure_rows(school, key, group) -> list[dict]:
    check = group["check"]
    measures = ["raw_score"]
    if check.type == "attention_go_no_go":
        measures += [
            "hit_rate",
            "false_alarm_rate",
            "rt_mean_ms",
            "rt_sd_ms",
            "d_prime",
        ]

    def value(score, measure):
        if score is None or not score.complete:
            return None
        return score.measures().get(measure)

    rows = []
    for measure in measures:
        baseline = summarise(
            [value(u.get("baseline"), measure) for u in group["units"]]
        )
        endline = summarise([value(u.get("endline"), measure) for u in group["units"]])
        change = summarise(
            [
                growth(u.get("baseline"), u.get("endline"), measure)
                for u in group["units"]
            ]
        )
        rows.append(
            {
                "school": school,
                "hubs": len(group["hubs"]),
                "pack_id": key[0],
                "pack_version": key[1],
                "check": key[2],
                "check_type": check.type,
                "measure": measure,
                **_figures("baseline", baseline),
                **_figures("endline", endline),
                **_figures("growth", change),
            }
        )
    return rows


def _figures(prefix: str, summary) -> dict:
    def rounded(number):
        return "" if number is None else round(number, 4)

    return {
        f"{prefix}_n": summary.n,
        f"{prefix}_mean": rounded(summary.mean),
        f"{prefix}_sd": rounded(summary.sd),
    }


def write_csv(path: Path, rows: list[dict]) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from None
