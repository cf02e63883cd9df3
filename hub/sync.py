# SPDX-License-Identifier: AGPL-3.0-or-later
"""One sync with the national side: results up, packs down, and its report.

A run pushes results (``hub.result_push``), then pulls packs
(``hub.pack_fetch``), over one ``Uplink`` that counts its bytes into the day's
and month's budget. A scheduled run first asks ``hub.sync_windows`` whether it
is due (window, this hub's turn, back-off, budget) and touches nothing when
it is not; a run asked for now skips those checks but keeps to the budget
unless forced. Each run that went ahead leaves its outcome in the ledger:
last attempt, last success, failures in a row and when the next scheduled run
may try again.

Not for concurrent use: one run at a time (``hub.sync_schedule`` holds the
lock that ensures it). Failures come back as plain words in the report, never
as tracebacks; a crash mid-run leaves the results and downloads to be resumed
by the next run.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from .pack_fetch import PullReport, pull_catalog
from .result_push import PushReport, push_results
from .sync_ledger import SyncLedger
from .sync_windows import ByteMeter, backoff_s, decide, parse_windows
from .uplink import LinkProblem, Uplink, network_problem, new_session

__all__ = [
    "PullReport",
    "PushReport",
    "SyncReport",
    "network_problem",
    "new_session",
    "pull_catalog",
    "push_results",
    "run_sync",
]

log = logging.getLogger(__name__)

# How a sync was started: by hand (`sync`), by the timer (`sync --scheduled`,
# which keeps windows, turns and back-off), or past the budget (`--force`).
NOW, SCHEDULED, FORCED = "now", "scheduled", "forced"


@dataclass
class SyncReport:
    push: PushReport = field(default_factory=PushReport)
    pull: PullReport = field(default_factory=PullReport)
    skipped: str | None = None
    trigger: str = NOW
    bytes_used: int = 0
    guides_sent: int = 0

    @property
    def ok(self) -> bool:
        return self.push.ok and self.pull.ok

    @property
    def waiting_for_budget(self) -> bool:
        return self.push.waiting_for_budget or self.pull.waiting_for_budget

    @property
    def failed(self) -> bool:
        """A failure of the link or the far side, worth backing off from."""
        return self.push.link_failed or self.pull.link_failed

    def as_json(self) -> dict:
        return {
            "ok": self.ok,
            "skipped": self.skipped,
            "trigger": self.trigger,
            "bytes": self.bytes_used,
            "guides_sent": self.guides_sent,
            "push": asdict(self.push),
            "pull": asdict(self.pull),
        }

    def summary(self) -> str:
        if self.skipped:
            return f"sync not run: {self.skipped}"
        lines = []
        push, pull = self.push, self.pull
        if push.skipped:
            lines.append(f"results: not sent ({push.skipped})")
        else:
            lines.append(
                f"results: {push.confirmed} confirmed by the LRS, "
                f"{push.pending} still waiting"
            )
        if self.guides_sent:
            lines.append(f"teacher guides read: {self.guides_sent} sent")
        for item in push.quarantined:
            lines.append(f"  set aside {item['id']}: {item['reason']}")
        if push.problem:
            lines.append(f"  stopped: {push.problem}")

        if pull.skipped:
            lines.append(f"packs: not fetched ({pull.skipped})")
        else:
            installed = ", ".join(pull.installed) or "none"
            lines.append(
                f"packs: installed {installed}; {pull.up_to_date} already up to date"
            )
        if pull.removed:
            lines.append(f"  removed old versions: {', '.join(pull.removed)}")
        lines.extend(f"  {problem}" for problem in pull.problems)
        return "\n".join(lines)

    def outcome(self) -> str:
        """One line for the status page: what the run did, in plain words."""
        if self.ok:
            words = f"sent {self.push.confirmed} results"
            if self.pull.installed:
                words += f", installed {', '.join(self.pull.installed)}"
            return words
        problems = [self.push.problem, *self.pull.problems]
        return "; ".join(problem for problem in problems if problem)


def run_sync(hub, *, trigger=NOW, clock=None, session=None, rng=None) -> SyncReport:
    """One sync of an open ``hub.app.Hub``; ``trigger`` is now, scheduled or
    forced (now, and past the byte budget)."""
    settings = hub.settings
    clock = clock if clock is not None else hub.results.clock.source
    rng = rng if rng is not None else random.Random()
    ledger = SyncLedger(hub.state)
    meter = ByteMeter(
        ledger,
        clock,
        settings.SYNC_BUDGET_DAY_BYTES,
        settings.SYNC_BUDGET_MONTH_BYTES,
        enforce=trigger != FORCED,
    )

    if trigger == SCHEDULED:
        decision = due(hub, meter, ledger, clock.wall())
        if not decision.due:
            # Nothing is written: the timer asks every few minutes, and an
            # SD card should not pay for each question.
            log.debug("scheduled sync not due: %s", decision.reason)
            return SyncReport(skipped=decision.reason, trigger=trigger)

    started = clock.wall()
    report = SyncReport(trigger=trigger)
    uplink = Uplink(settings, meter, clock, session=session, rng=rng)
    try:
        report.push = push_results(
            hub.results, hub.state.hub_id, settings, uplink=uplink, ledger=ledger
        )
        if report.push.ok and not report.push.skipped:
            report.guides_sent = _push_guides(hub, uplink, report)
        report.pull = pull_catalog(
            hub.packs, settings, uplink=uplink, ledger=ledger, state=hub.state
        )
    finally:
        uplink.close()
        meter.flush()
    report.bytes_used = meter.used

    _remember(report, ledger, started, clock.wall(), settings, rng)
    log.info("sync finished: %s", report.summary().replace("\n", "; "))
    return report


def _push_guides(hub, uplink, report) -> int:
    """Teachers' guide completions follow the learners' results up."""
    from .guide_push import push_guide_completions
    from .teachers import TeacherAccounts

    try:
        return push_guide_completions(
            TeacherAccounts(hub.state), hub.state.hub_id, hub.settings, uplink
        )
    except LinkProblem as problem:
        report.push.problem = str(problem)
        return 0


def due(hub, meter: ByteMeter, ledger: SyncLedger, moment: datetime):
    """Whether a scheduled run should go at ``moment`` (a ``Decision``)."""
    settings = hub.settings
    record = ledger.record()
    return decide(
        moment,
        parse_windows(settings.SYNC_WINDOWS),
        hub.state.hub_id,
        settings.SYNC_SPREAD_S,
        not_before=_moment(record.get("not_before")),
        last_success=_moment((record.get("last_success") or {}).get("started_at")),
        pending=hub.results.counts()["pending"],
        budget_left=meter.allowance(),
    )


def _remember(report, ledger, started, finished, settings, rng) -> None:
    """Keep the run's outcome, and when a scheduled run may try again."""
    record = ledger.record()
    not_before = None
    if report.failed:
        failures = record.get("failures", 0) + 1
        wait = backoff_s(failures, settings.SYNC_BACKOFF_MAX_S, rng)
        retry_after = max(
            report.push.retry_after_s or 0, report.pull.retry_after_s or 0
        )
        wait = max(wait, retry_after)
        not_before = (finished + timedelta(seconds=wait)).isoformat(timespec="seconds")

    attempt = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "trigger": report.trigger,
        "ok": report.ok,
        "outcome": report.outcome(),
        "bytes": report.bytes_used,
        "confirmed": report.push.confirmed,
        "installed": report.pull.installed,
    }
    ledger.finish_run(attempt, ok=not report.failed, not_before=not_before)
    _repeats.report("sync", None if report.ok else report.outcome())


class _QuietRepeats:
    """Log a sync problem at WARNING when it starts, at DEBUG while it lasts.

    A hub offline for weeks would otherwise write the same line to its SD
    card at every sync.
    """

    def __init__(self):
        self.last = {}

    def report(self, step: str, problem: str | None) -> None:
        if problem is None:
            if self.last.pop(step, None) is not None:
                log.info("%s works again", step)
            return
        repeated = self.last.get(step) == problem
        self.last[step] = problem
        log.log(logging.DEBUG if repeated else logging.WARNING, "%s: %s", step, problem)


_repeats = _QuietRepeats()


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
