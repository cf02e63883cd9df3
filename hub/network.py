# SPDX-License-Identifier: AGPL-3.0-or-later
"""This machine's IPv4 addresses, read from the kernel without sending a packet.

The hub shows teachers the address tablets should open (Android tablets often
cannot resolve ``.local`` names), so it must know which addresses it has.
Pure reads of the kernel's interface table; safe from any thread.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

_SIOCGIFADDR = 0x8915


def interface_addresses() -> dict[str, str]:
    """Map each interface that has an IPv4 address to that address."""
    found = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue
            found[name] = socket.inet_ntoa(answer[20:24])
    return found


def tablet_addresses(host: str) -> list[str]:
    """Addresses tablets can use to reach a server listening on ``host``."""
    if host not in ("0.0.0.0", "", "::"):
        return [host]
    usable = [
        address
        for address in interface_addresses().values()
        if not ipaddress.ip_address(address).is_loopback
    ]
    return sorted(usable) or ["127.0.0.1"]
