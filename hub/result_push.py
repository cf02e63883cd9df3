# SPDX-License-Identifier: AGPL-3.0-or-later
"""Results up to the LRS, each exactly once, resuming where the LRS confirmed.

Pending results are sent oldest first, ``SYNC_BATCH_SIZE`` at a time, as the
xAPI statements ``hub.xapi`` makes; a result is marked confirmed only after
the LRS said it holds it. The pending index is the durable cursor: a run cut
off at any byte (link drop, reboot, ``kill -9``) starts again at the first
result not confirmed, never at the start of the history, and a batch the LRS
stored but whose answer was lost is sent again and taken as a no-op, since
each statement keeps its result's id. Before a batch leaves, the ledger notes
its highest sequence number: those statements must never change again, so
later clock corrections skip them.

A statement the LRS refuses alone (400, 409, another 4xx, too large) is set
aside with the LRS's reason; the rest go on. An answer that is not an LRS's
(a web page, a redirect, a cut-off body) confirms nothing. ``deliver`` is
shared with USB bundles uploaded at the district office.

One run on one thread; the result store and ledger are themselves safe.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from .sync_ledger import SyncLedger
from .uplink import BudgetSpent, LinkProblem, Uplink
from .xapi import XAPI_VERSION, statement_for, validate_statement

log = logging.getLogger(__name__)

# Statements of a refused batch sent alone before deciding that the LRS
# refuses everything rather than a few bad ones.
ALONE_TRIES = 5
# Room kept in the byte budget for a POST's headers and the LRS's answer.
REQUEST_OVERHEAD_BYTES = 2048


@dataclass
class PushReport:
    confirmed: int = 0
    quarantined: list = field(default_factory=list)
    pending: int = 0
    problem: str | None = None
    skipped: str | None = None
    waiting_for_budget: bool = False
    retry_after_s: float | None = None
    corrected_times: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def link_failed(self) -> bool:
        return self.problem is not None and not self.waiting_for_budget


class Refused(LinkProblem):
    """The LRS looked at the statements and would not store them."""


class TooLarge(Refused):
    """The LRS found the request too large (413)."""


class LrsClient:
    """POSTs statements and judges whether the answer came from an LRS."""

    def __init__(self, settings, uplink: Uplink, clock_watch=None):
        self.address = settings.LRS_URL.rstrip("/") + "/statements"
        self.auth = (settings.LRS_USERNAME, settings.LRS_PASSWORD)
        self.uplink = uplink
        self.clock_watch = clock_watch
        self.took_some = False

    def send(self, statements: list) -> None:
        """Return when the LRS holds every statement; raise LinkProblem if not."""
        answer = self.uplink.exchange(
            "POST",
            self.address,
            what="the LRS",
            body=encode(statements),
            headers={
                "X-Experience-API-Version": XAPI_VERSION,
                "Content-Type": "application/json",
            },
            auth=self.auth,
            max_body=64 * 1024 + 64 * len(statements),
        )
        self._judge(answer, {statement["id"] for statement in statements})
        self.took_some = True

        # Only an answer judged to be the LRS's may set the hub's clock.
        if self.clock_watch is not None and answer.server_time is not None:
            self.clock_watch.learn_true_time(
                answer.server_time, answer.boot_ms, "the national LRS"
            )

    def _judge(self, answer, sent_ids: set) -> None:
        status = answer.status
        if status == 204:
            return
        if status == 200:
            try:
                ids = answer.json()
            except ValueError:
                ids = None
            if isinstance(ids, list) and all(
                isinstance(i, str) and i in sent_ids for i in ids
            ):
                return
            raise LinkProblem(
                f"{self.address} answered 200 but not with statement ids "
                f"({answer.content_type}); LRS_URL may not be an xAPI endpoint, "
                "or a captive portal is in the way"
            )
        if 300 <= status < 400:
            raise LinkProblem(
                f"{self.address} redirected to {answer.headers.get('Location')!r}; "
                "a captive portal may be in the way, or LRS_URL needs updating"
            )
        if status in (401, 403, 407):
            raise LinkProblem(
                f"the LRS refused the hub's credentials ({status}); "
                "check LRS_USERNAME and LRS_PASSWORD"
            )
        if status in (404, 405):
            raise LinkProblem(
                f"{self.address} answered {status}; LRS_URL must name the xAPI "
                "endpoint, ending in /"
            )
        if status == 413:
            raise TooLarge("the LRS found the request too large (413)")
        if 400 <= status < 500:
            raise Refused(
                f"the LRS refused the statements ({status}): {answer.detail()}"
            )
        raise LinkProblem(
            f"the LRS answered {status}: {answer.detail()}; "
            "the results stay waiting for the next sync"
        )


def encode(statements: list) -> bytes:
    # XXX Sent uncompressed: gzip would cut a batch to 1/30, but xAPI defines
    # no compressed requests and Ralph refuses them; ask the national LRS.
    return json.dumps(statements, ensure_ascii=False, separators=(",", ":")).encode()


def deliver(lrs: LrsClient, statements: list, confirmed, refused) -> None:
    """Send ``statements`` in one request, finding any the LRS will not take.

    Calls ``confirmed(ids)`` for what the LRS holds and ``refused(id,
    reason)`` for each statement refused alone; raises LinkProblem when the
    run must stop. An LRS stores a batch whole or not at all, so a refused
    batch is halved (413) or sent one statement at a time; one refused alone
    is set aside only once the LRS has taken some other, so an LRS that
    refuses everything sets nothing aside.
    """
    try:
        lrs.send(statements)
    except TooLarge as too_large:
        if len(statements) == 1:
            refused(statements[0]["id"], str(too_large))
            return
        half = len(statements) // 2
        deliver(lrs, statements[:half], confirmed, refused)
        deliver(lrs, statements[half:], confirmed, refused)
        return
    except Refused as refusal:
        _one_by_one(lrs, statements, confirmed, refused, refusal)
        return
    confirmed([statement["id"] for statement in statements])


def _one_by_one(lrs, statements, confirmed, refused, refusal) -> None:
    turned_down = {}
    for statement in statements:
        if len(turned_down) >= ALONE_TRIES and not lrs.took_some:
            break
        try:
            lrs.send([statement])
        except Refused as alone:
            turned_down[statement["id"]] = str(alone)
            continue
        confirmed([statement["id"]])

    if not lrs.took_some:
        raise LinkProblem(f"{refusal}; nothing was sent")
    for statement_id, reason in turned_down.items():
        refused(statement_id, reason)


def push_results(
    store,
    hub_id: str,
    settings,
    session=None,
    *,
    uplink=None,
    ledger: SyncLedger | None = None,
) -> PushReport:
    """Send pending results to the LRS until none is left or a step fails."""
    report = PushReport()
    if not settings.LRS_URL:
        report.skipped = "LRS_URL is not set"
        report.pending = store.counts()["pending"]
        return report

    own = uplink is None
    uplink = uplink or Uplink(settings, session=session)
    ledger = ledger or SyncLedger()
    try:
        _push(store, hub_id, settings, uplink, ledger, report)
    except LinkProblem as problem:
        report.problem = str(problem)
        report.waiting_for_budget = isinstance(problem, BudgetSpent)
        report.retry_after_s = problem.retry_after_s
    finally:
        if own:
            uplink.close()

    report.pending = store.counts()["pending"]
    return report


def correct_times(store, ledger: SyncLedger) -> int:
    """Date pending results anew in each boot whose true time is now known."""
    changed = 0
    for boot_id, true_epoch in store.clock.true_epochs().items():
        changed += store.correct_received_times(
            boot_id, true_epoch, ledger.sent_through
        )
    return changed


def _push(store, hub_id, settings, uplink, ledger, report: PushReport) -> None:
    lrs = LrsClient(settings, uplink, store.clock)
    batch_size = max(1, settings.SYNC_BATCH_SIZE)
    report.corrected_times += correct_times(store, ledger)
    known_times = store.clock.true_epochs()

    def confirmed(ids):
        store.mark_confirmed(ids)
        report.confirmed += len(ids)

    def refused(result_id, reason):
        quarantine(store, report, result_id, reason)

    # While this boot's true time is unknown, the first request carries one
    # statement: its answer's Date lets every later one go out dated right.
    probe = store.clock.source.boot_id() not in known_times

    after_seq = 0
    while True:
        batch = store.pending(limit=1 if probe else batch_size, after_seq=after_seq)
        probe = False
        if not batch:
            return

        statements, seqs = [], {}
        for result in batch:
            statement = statement_for(result, hub_id, settings)
            problems = validate_statement(statement)
            if problems:
                # Records were checked on arrival, so this is a hub bug; the
                # result waits aside rather than blocking every later one.
                quarantine(store, report, result.id, "; ".join(problems))
                continue
            statements.append(statement)
            seqs[result.id] = result.seq

        statements = _within_budget(statements, uplink.meter.allowance())
        if statements:
            ledger.raise_sent_through(max(seqs[s["id"]] for s in statements))
            deliver(lrs, statements, confirmed, refused)
        after_seq = (
            max(seqs[s["id"]] for s in statements) if statements else (batch[-1].seq)
        )

        # The first answer may have told the true time: date what waits.
        if store.clock.true_epochs() != known_times:
            known_times = store.clock.true_epochs()
            report.corrected_times += correct_times(store, ledger)


def _within_budget(statements: list, allowance: int | None) -> list:
    """The first statements whose request fits the byte budget left."""
    if allowance is None or not statements:
        return statements
    room = allowance - REQUEST_OVERHEAD_BYTES
    fitting = []
    for statement in statements:
        room -= len(encode([statement]))
        if room < 0:
            break
        fitting.append(statement)
    if not fitting:
        raise BudgetSpent(
            "the byte budget is used up; the results wait for the next day or month"
        )
    return fitting


def quarantine(store, report: PushReport, result_id: str, reason: str) -> None:
    # XXX No command puts a set-aside result back in the queue once its cause
    # is fixed; the proper fix is a `requeue` command beside `status`.
    store.quarantine(result_id, reason)
    report.quarantined.append({"id": result_id, "reason": reason})
    log.error("result %s set aside, not sent: %s", result_id, reason)
