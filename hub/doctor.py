# SPDX-License-Identifier: AGPL-3.0-or-later
"""``classroom-hub doctor``: each part of a hub checked, with a verdict and a fix.

Every check returns a ``Finding``: ``ok``, ``warn`` (works, but look at it),
``bad`` (needs a person now) or ``skip`` (does not apply here), a plain
sentence, and what to do. Checks only read: they open the results database
read-only and never write the hub's files, so doctor is safe to run while
the hub serves. Network checks (port, mDNS, the national side) each have a
timeout. Functions here hold no state; call them from any thread.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from . import clock

OK, WARN, BAD, SKIP = "ok", "warn", "bad", "skip"

# How long results may wait before a hub that should sync is worth a look.
SYNC_LATE = timedelta(days=7)

# Bits of the Raspberry Pi firmware's get_throttled word.
_UNDER_VOLTAGE_NOW, _THROTTLED_NOW = 1 << 0, 1 << 2
_UNDER_VOLTAGE_SEEN, _THROTTLED_SEEN = 1 << 16, 1 << 18


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: str
    detail: str
    advice: str = ""

    def as_json(self) -> dict:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "detail": self.detail,
            "advice": self.advice,
        }


def examine(
    settings, hub=None, root: Path = Path("/"), timeout_s: float = 5
) -> list[Finding]:
    """Run every check; those that need the open ``hub.app.Hub`` are skipped
    when it could not be opened (a damaged file, which the checks name)."""
    from .identity import machine_problem

    data_dir = settings.data_dir
    findings = [
        disk(settings),
        clock_trust(root),
        results_file(data_dir / "results.sqlite3"),
        state_file(data_dir),
        national_side(settings, timeout_s),
        pi_power(root),
        temperature(root),
    ]
    if hub is None:
        findings += [
            Finding(check, SKIP, "the hub's data cannot be opened; see above")
            for check in ("sync", "port", "mDNS")
        ]
        return findings

    findings[2:2] = [sync_age(hub)]
    findings[5:5] = [listening(hub, timeout_s), mdns(hub, timeout_s)]
    problem = machine_problem(hub, root)
    if problem:
        findings.append(
            Finding(
                "identity",
                WARN,
                problem.split(". ")[0] + ".",
                problem.split(". ", 1)[1],
            )
        )
    return findings


def disk(settings) -> Finding:
    data_dir = settings.data_dir
    usage = shutil.disk_usage(data_dir)
    free = f"{usage.free / 1e9:.1f} GB free of {usage.total / 1e9:.1f} GB"
    reserve = settings.DISK_RESERVE_BYTES
    if _read_only(data_dir):
        return Finding(
            "disk",
            BAD,
            f"{data_dir} is mounted read-only; the card may be failing",
            "back up now (classroom-hub backup) and replace the SD card",
        )
    if usage.free < reserve:
        return Finding(
            "disk",
            BAD,
            f"{free} in {data_dir}; below the {reserve // 2**20} MB kept for results",
            "remove old packs or use a larger SD card",
        )
    if usage.free < 2 * reserve:
        return Finding(
            "disk",
            WARN,
            f"{free} in {data_dir}; nearly full",
            "remove packs no class uses any more",
        )
    return Finding("disk", OK, f"{free} in {data_dir}")


def _read_only(path: Path) -> bool:
    import os

    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def clock_trust(root: Path = Path("/")) -> Finding:
    now = clock.now()
    shown = now.strftime("%Y-%m-%d %H:%M %Z")
    if not clock.clock_is_trusted(now):
        return Finding(
            "clock",
            BAD,
            f"the clock shows {shown}, before this "
            "version was made, so it is wrong; results are marked "
            "as untrusted",
            "connect the hub to the internet once, or "
            "set the time: sudo date -s '2027-03-01 09:00'",
        )
    # systemd-timesyncd leaves this file once it has reached a time server.
    if (root / "run/systemd/timesync/synchronized").exists():
        return Finding("clock", OK, f"{shown}, checked with a time server since boot")
    return Finding(
        "clock",
        OK,
        f"{shown}, not checked with a time server since boot (normal offline)",
        "compare with a phone's time if results look dated wrongly",
    )


def sync_age(hub) -> Finding:
    from .sync_ledger import SyncLedger

    counts = hub.results.counts()
    oldest = hub.results.oldest_pending()
    success = (SyncLedger(hub.state).record().get("last_success") or {}).get(
        "started_at"
    )
    last = (
        f"last successful sync {_age(clock.now() - datetime.fromisoformat(success))} "
        "ago"
        if success
        else "no successful sync yet"
    )
    if oldest is None:
        return Finding(
            "sync",
            OK,
            f"nothing waits to be sent; {counts['confirmed']} results confirmed "
            f"by the national side; {last}",
        )

    waited = clock.now() - datetime.fromisoformat(oldest.received_at)
    text = (
        f"{counts['pending']} results wait to be sent, the oldest for "
        f"{_age(waited)}; {last}"
    )
    if not hub.settings.LRS_URL:
        return Finding(
            "sync",
            WARN,
            text + "; LRS_URL is not set",
            "set LRS_URL, LRS_USERNAME and LRS_PASSWORD in /etc/classroom-hub/hub.conf",
        )
    if waited > SYNC_LATE:
        return Finding(
            "sync",
            WARN,
            text,
            "bring the hub online (or the national side's address) and run: "
            "classroom-hub sync",
        )
    return Finding("sync", OK, text)


def _age(delta: timedelta) -> str:
    if delta.days >= 1:
        return f"{delta.days} days"
    hours = delta.seconds // 3600
    return f"{hours} hours" if hours else f"{delta.seconds // 60} minutes"


def results_file(path: Path) -> Finding:
    if not path.exists():
        return Finding(
            "results file", OK, "no results database yet (made at the first result)"
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as error:
        rows = [(str(error),)]
    if rows == [("ok",)]:
        return Finding(
            "results file", OK, f"{path.name} passed SQLite's integrity check"
        )
    return Finding(
        "results file",
        BAD,
        f"{path.name} is damaged: {rows[0][0]}",
        "stop the hub, keep a copy of the file, and restore the last "
        "backup (classroom-hub restore)",
    )


def state_file(data_dir: Path) -> Finding:
    path = data_dir / "hub.json"
    broken = sorted(data_dir.glob("hub.json*.broken-*"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ids = [
            row.get("value")
            for row in data.get("meta", {}).values()
            if row.get("key") == "hub_id"
        ]
    except FileNotFoundError:
        return Finding(
            "state file",
            WARN,
            "hub.json does not exist yet",
            "start the hub once: sudo systemctl start classroom-hub",
        )
    except (ValueError, AttributeError) as error:
        return Finding(
            "state file",
            BAD,
            f"hub.json cannot be read: {error}",
            "restore the last backup (classroom-hub restore)",
        )
    if broken:
        return Finding(
            "state file",
            WARN,
            f"hub.json is readable, but a damaged "
            f"copy was set aside earlier ({broken[-1].name})",
            "check the classes and learners on the teacher page; "
            "then delete the .broken file",
        )
    if not ids:
        return Finding(
            "state file", WARN, "hub.json holds no hub id yet", "start the hub once"
        )
    return Finding("state file", OK, f"hub.json is readable; hub id {ids[0]}")


def listening(hub, timeout_s: float) -> Finding:
    import requests

    from .server import hub_running, running_address

    # A hub started with --port listens elsewhere than the settings say.
    host, port = running_address(hub.data_dir) or (hub.settings.HOST, hub.settings.PORT)
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        answer = requests.get(f"http://{host}:{port}/api/v1/info", timeout=timeout_s)
        info = answer.json()
    except (requests.RequestException, ValueError):
        info = None

    if info is not None and info.get("hub_id") == hub.state.hub_id:
        return Finding("port", OK, f"the hub answers on port {port}")
    if info is not None or _port_taken(host, port):
        return Finding(
            "port",
            BAD,
            f"another program answers on port {port}",
            "stop it, or set another PORT in /etc/classroom-hub/hub.conf",
        )
    if hub_running(hub.data_dir):
        return Finding(
            "port",
            BAD,
            f"the hub runs but does not answer on port {port}",
            "look at: journalctl -u classroom-hub -n 50",
        )
    return Finding(
        "port",
        WARN,
        f"the hub is not running (nothing on port {port})",
        "sudo systemctl start classroom-hub; if it stops again, look "
        "at: journalctl -u classroom-hub -n 50",
    )


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def mdns(hub, timeout_s: float) -> Finding:
    from .discovery import SERVICE_TYPE, advertised_addresses

    settings = hub.settings
    if not settings.DISCOVERY_ENABLED:
        return Finding(
            "mDNS",
            SKIP,
            "discovery is off (DISCOVERY_ENABLED = no)",
            "give tablets the hub's address, e.g. as a QR code",
        )
    addresses = advertised_addresses(settings.HOST, settings.DISCOVERY_INTERFACES)
    if not addresses:
        return Finding(
            "mDNS",
            WARN,
            "the hub has no address tablets could reach",
            "check the cable or Wi-Fi to the classroom's access point",
        )

    from zeroconf import IPVersion, Zeroconf

    hub_id = hub.state.hub_id
    try:
        with Zeroconf(interfaces=addresses, ip_version=IPVersion.V4Only) as zc:
            found = [
                name
                for name in _browse(zc, SERVICE_TYPE, timeout_s)
                if _service_id(zc, SERVICE_TYPE, name) == hub_id
            ]
    except OSError as error:
        return Finding(
            "mDNS",
            WARN,
            f"cannot use mDNS on {', '.join(addresses)}: {error}",
            "tablets need the hub's address typed in",
        )
    if found:
        return Finding(
            "mDNS", OK, f"advertised as {found[0]!r} on {', '.join(addresses)}"
        )
    return Finding(
        "mDNS",
        WARN,
        f"not found on {', '.join(addresses)}",
        "is the hub running? Some access points block multicast "
        "between clients: give tablets the address instead",
    )


def _service_id(zc, service_type: str, name: str) -> str | None:
    info = zc.get_service_info(service_type, name, 1000)
    if info is None:
        return None
    return (info.properties.get(b"id") or b"").decode()


def _browse(zc, service_type: str, timeout_s: float) -> list[str]:
    import threading

    from zeroconf import ServiceBrowser

    names, seen = [], threading.Event()

    def on_change(zeroconf, service_type, name, state_change):
        names.append(name)
        seen.set()

    browser = ServiceBrowser(zc, service_type, handlers=[on_change])
    seen.wait(timeout_s)
    browser.cancel()
    return names


def national_side(settings, timeout_s: float) -> Finding:
    import requests

    if not settings.LRS_URL:
        return Finding(
            "national side",
            WARN,
            "LRS_URL is not set; results stay on this hub",
            "set LRS_URL, LRS_USERNAME and LRS_PASSWORD in /etc/classroom-hub/hub.conf",
        )
    address = settings.LRS_URL.rstrip("/") + "/about"
    try:
        answer = requests.get(address, timeout=timeout_s)
    except requests.exceptions.SSLError as error:
        return Finding(
            "national side",
            BAD,
            f"{address}: TLS failed ({error})",
            "check the hub's clock first: a wrong date breaks TLS",
        )
    except requests.RequestException as error:
        return Finding(
            "national side",
            WARN,
            f"cannot reach {address} ({type(error).__name__})",
            "normal when the school is "
            "offline; results wait here and go at the next sync",
        )

    if "json" not in answer.headers.get("Content-Type", ""):
        return Finding(
            "national side",
            WARN,
            f"{address} answered {answer.status_code} with a web page, not the LRS",
            "the network may need a log-in page (captive portal)",
        )
    skew = _clock_skew(answer.headers.get("Date"))
    if skew is not None and abs(skew) > timedelta(minutes=5):
        return Finding(
            "national side",
            WARN,
            f"reached the LRS; its clock and the hub's differ by {_age(abs(skew))}",
            "set the hub's time (sudo date -s …)",
        )
    return Finding(
        "national side", OK, f"the LRS at {address} answers ({answer.status_code})"
    )


def _clock_skew(header: str | None) -> timedelta | None:
    from email.utils import parsedate_to_datetime

    try:
        return clock.now() - parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None


def pi_power(root: Path = Path("/")) -> Finding:
    word = _throttled_word(root)
    if word is None:
        return Finding("power", SKIP, "not a Raspberry Pi, skipped")
    if word & (_UNDER_VOLTAGE_NOW | _THROTTLED_NOW):
        return Finding(
            "power",
            BAD,
            f"under-voltage now (0x{word:x}); SD cards get corrupted this way",
            "use the official power supply and a short, thick cable",
        )
    if word & (_UNDER_VOLTAGE_SEEN | _THROTTLED_SEEN):
        return Finding(
            "power",
            WARN,
            f"under-voltage happened since boot (0x{word:x})",
            "use the official power supply; avoid USB hubs without their own power",
        )
    return Finding("power", OK, "no under-voltage since boot")


def _throttled_word(root: Path) -> int | None:
    path = root / "sys/devices/platform/soc/soc:firmware/get_throttled"
    try:
        return int(path.read_text().strip(), 16)
    except (OSError, ValueError):
        pass
    if root != Path("/") or shutil.which("vcgencmd") is None:
        return None
    try:
        out = subprocess.run(
            ["vcgencmd", "get_throttled"],
            check=False,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        return int(out.strip().partition("=")[2], 16)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def temperature(root: Path = Path("/")) -> Finding:
    model = root / "proc/device-tree/model"
    try:
        is_pi = "Raspberry Pi" in model.read_text(errors="replace")
        degrees = (
            int((root / "sys/class/thermal/thermal_zone0/temp").read_text()) / 1000
        )
    except (OSError, ValueError):
        return Finding("temperature", SKIP, "not a Raspberry Pi, skipped")
    if not is_pi:
        return Finding("temperature", SKIP, "not a Raspberry Pi, skipped")
    if degrees >= 80:
        return Finding(
            "temperature",
            BAD,
            f"{degrees:.0f} °C: the Pi slows itself down",
            "move it out of the sun, give it air or a heat sink",
        )
    if degrees >= 70:
        return Finding(
            "temperature",
            WARN,
            f"{degrees:.0f} °C: warm",
            "keep it out of the sun and give it air",
        )
    return Finding("temperature", OK, f"{degrees:.0f} °C")
