# SPDX-License-Identifier: AGPL-3.0-or-later
"""A tablet looking for hubs: ``python mdns_browser.py`` prints one JSON line
per change it sees (added, updated, removed), with addresses and TXT records.
A service name written to its stdin is looked up again ("resolved"), from
what the browser holds at that moment.

Run inside a test's network namespace (``ip netns exec``), never on the
machine's real interfaces. Stops on SIGTERM or when stdin closes.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading

from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

SERVICE_TYPE = "_classroom-hub._tcp.local."


def main() -> None:
    zeroconf = Zeroconf()
    printing = threading.Lock()

    def report(event: dict) -> None:
        with printing:
            print(json.dumps(event, ensure_ascii=False), flush=True)

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            report({"event": "removed", "name": name})
            return
        # Looked up on another thread: handlers must not block the browser.
        event = state_change.name.lower()
        threading.Thread(target=describe, args=(name, event), daemon=True).start()

    def describe(name, event):
        info = zeroconf.get_service_info(SERVICE_TYPE, name, timeout=3000)
        if info is None:
            return
        txt = {
            key.decode(): (value or b"").decode()
            for key, value in info.properties.items()
        }
        report(
            {
                "event": event,
                "name": name,
                "port": info.port,
                "server": info.server,
                "addresses": sorted(socket.inet_ntoa(a) for a in info.addresses),
                "txt": txt,
            }
        )

    browser = ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[on_change])
    report({"event": "browsing"})

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def read_requests():
        for line in sys.stdin:
            describe(line.strip(), "resolved")
        stop.set()

    threading.Thread(target=read_requests, daemon=True).start()
    stop.wait()
    browser.cancel()
    zeroconf.close()


if __name__ == "__main__":
    main()
