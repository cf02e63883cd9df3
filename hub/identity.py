# SPDX-License-Identifier: AGPL-3.0-or-later
"""This hub's identity, and whether its data was made on the machine it runs on.

The hub id is made on first start (``HubState.hub_id``). Hubs flashed from
one SD image share ``hub.json`` and so would share that id; copying the card
with ``dd`` also copies ``/etc/machine-id``. What does change is the serial
number burnt into each Raspberry Pi's chip, so the hub remembers the machine
it first ran on (the Pi's serial, else ``/etc/machine-id``) and compares at
each start. A copied image that never received a result takes a new id by
itself; one that holds results may be a card moved out of a broken Pi, so
the hub only warns and the technician decides with ``new-identity``.

Functions here go through ``HubState``, which is safe from any thread and
process; a crash between two writes leaves the old id or the new one.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


def machine_fingerprint(root: Path = Path("/")) -> str | None:
    """A text naming this machine, or None when nothing names it."""
    serial = _read(root / "sys/firmware/devicetree/base/serial-number")
    if not serial:
        for line in (_read(root / "proc/cpuinfo") or "").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Serial" and value.strip().strip("0"):
                serial = value.strip()
    if serial:
        return f"pi-serial:{serial}"

    machine_id = _read(root / "etc/machine-id")
    return f"machine-id:{machine_id}" if machine_id else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip("\0 \n") or None
    except OSError:
        return None


def machine_problem(hub, root: Path = Path("/")) -> str | None:
    """What is wrong with the identity on this machine, without changing it."""
    current = machine_fingerprint(root)
    stored = hub.state.get("machine")
    if current is None or stored is None or stored == current:
        return None
    return (
        f"this hub's data was made on another machine ({stored}, now {current}). "
        "If this SD card was copied from another hub, run `classroom-hub "
        "new-identity`; if it was moved out of a broken Pi, run `classroom-hub "
        "new-identity --moved` to keep the hub id"
    )


def check_machine(hub, root: Path = Path("/")) -> str | None:
    """At start: remember this machine, or notice that the data came from another.

    Writes only on a hub's first start and after a copy, never at an ordinary
    start. Returns the problem a person must settle, or None.
    """
    current = machine_fingerprint(root)
    if current is None:
        return None

    state = hub.state
    with state.locked():
        stored = state.get("machine")
        if stored is None:
            state.put("machine", current)
            return None
        if stored == current:
            return None

        # An image that never served a class is a fresh copy: nothing
        # upstream knows its id yet, so a new one harms no one.
        if sum(hub.results.counts().values()) == 0:
            old = state.hub_id
            new = new_identity(hub, root)
            log.warning(
                "this hub's data was copied from another machine and "
                "holds no results; its id changed from %s to %s",
                old,
                new,
            )
            return None

    problem = machine_problem(hub, root)
    log.warning("%s", problem)
    return problem


def new_identity(hub, root: Path = Path("/"), moved: bool = False) -> str:
    """Give the hub a new id (or, when ``moved``, keep it) on this machine."""
    state = hub.state
    with state.locked():
        hub_id = state.hub_id
        if not moved:
            earlier = list(state.get("earlier_hub_ids", []))
            state.put("earlier_hub_ids", [*earlier, hub_id])
            hub_id = str(uuid.uuid4())
            state.put("hub_id", hub_id)
        current = machine_fingerprint(root)
        if current is not None:
            state.put("machine", current)
    return hub_id
