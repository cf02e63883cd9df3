# SPDX-License-Identifier: AGPL-3.0-or-later
"""Finding the hub on the classroom's network: its mDNS (DNS-SD) advertisement.

The hub announces one service of type ``_classroom-hub._tcp.local.`` whose TXT
records carry its id, name, API version and API path, on the addresses that
tablets can reach: never loopback, and not container bridges unless the
technician names them in ``DISCOVERY_INTERFACES``. When another device
already uses the hub's name, python-zeroconf picks ``NAME-2`` and so on.
Addresses are checked every ``DISCOVERY_CHECK_S`` seconds (a Wi-Fi link that
comes up late or a new DHCP lease); a change is announced anew. Checking
reads the kernel's interface table only: nothing is written to disk.

``Advertiser`` owns one daemon thread, and only that thread touches
python-zeroconf; ``start`` and ``stop`` may be called from any one thread.
``stop`` sends the goodbye packets so tablets drop the hub at once. If the
process is killed, no goodbye is sent and tablets forget the hub when its
records expire (two minutes for addresses).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading

from . import __version__
from .network import interface_addresses

log = logging.getLogger(__name__)

SERVICE_TYPE = "_classroom-hub._tcp.local."
API_VERSION = "1"
API_PATH = "/api/v1/"

# Interfaces made by container and VM tools: tablets are never behind them.
_CONTAINER_PREFIXES = (
    "docker",
    "br-",
    "veth",
    "virbr",
    "lxcbr",
    "lxdbr",
    "cni",
    "flannel",
    "podman",
    "vnet",
)

# DNS labels hold 63 bytes; zeroconf appends "-2", "-3" … on a clash.
_NAME_BYTES = 58


def advertised_addresses(host: str, interfaces: str) -> list[str]:
    """The IPv4 addresses to announce for a server listening on ``host``.

    ``interfaces`` is the ``DISCOVERY_INTERFACES`` setting: names separated
    by commas, or empty for every interface but loopback and containers.
    """
    if host not in ("0.0.0.0", "", "::"):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return []
        if address.is_loopback or address.version != 4:
            return []
        return [host]

    # XXX: IPv4 only; IPv6 link-local addresses would need the scope of
    # each interface in the records.
    wanted = {name.strip() for name in interfaces.split(",") if name.strip()}
    found = []
    for name, address in interface_addresses().items():
        if ipaddress.ip_address(address).is_loopback:
            continue
        if wanted and name not in wanted:
            continue
        if not wanted and name.startswith(_CONTAINER_PREFIXES):
            continue
        found.append(address)
    return sorted(found)


def instance_name(hub_name: str) -> str:
    """The hub's name cut to what a DNS label can hold, whole letters only."""
    name = " ".join(hub_name.replace(".", " ").split()) or "Classroom Hub"
    encoded = name.encode()[:_NAME_BYTES]
    return encoded.decode(errors="ignore").rstrip()


class Advertiser:
    """Keeps one hub advertised while the server runs."""

    def __init__(
        self,
        *,
        hub_id: str,
        hub_name: str,
        port: int,
        host: str,
        interfaces: str = "",
        check_s: float = 5,
    ):
        self.hub_id = hub_id
        self.hub_name = hub_name
        self.port = int(port)
        self.host = host
        self.interfaces = interfaces
        self.check_s = max(check_s, 1)
        self.name = instance_name(hub_name)
        self._stopping = threading.Event()
        self._thread = None
        self._zeroconf = None
        self._info = None
        self._addresses = []
        self._announced = []
        self._last_problem = None

    @classmethod
    def for_hub(cls, hub, port: int) -> Advertiser:
        settings = hub.settings
        return cls(
            hub_id=hub.state.hub_id,
            hub_name=settings.HUB_NAME,
            port=port,
            host=settings.HOST,
            interfaces=settings.DISCOVERY_INTERFACES,
            check_s=settings.DISCOVERY_CHECK_S,
        )

    def start(self) -> None:
        if self.host not in ("0.0.0.0", "", "::") and not advertised_addresses(
            self.host, self.interfaces
        ):
            log.info("listening on %s only; not advertised over mDNS", self.host)
            return

        self._thread = threading.Thread(target=self._run, name="discovery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 4) -> None:
        """Say goodbye on the network and end the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("mDNS did not stop within %ss; no goodbye sent", timeout)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                addresses = advertised_addresses(self.host, self.interfaces)
                if addresses != self._addresses:
                    try:
                        self._publish(addresses)
                    except Exception as error:  # noqa: BLE001
                        # Tablets can still be given the address by hand; a
                        # failure here must not take the server down.
                        self._problem(f"mDNS failed unexpectedly: {error!r}")
                self._stopping.wait(self.check_s)
        finally:
            self._withdraw()

    def _publish(self, addresses: list[str]) -> None:
        # A new address may sit on an interface the old sockets never joined,
        # so the advertisement is rebuilt whole rather than updated.
        from zeroconf import IPVersion, ServiceInfo, Zeroconf

        self._withdraw()
        if not addresses:
            log.info("no network address tablets could reach; mDNS waits for one")
            self._addresses = []
            return

        info = ServiceInfo(
            SERVICE_TYPE,
            f"{self.name}.{SERVICE_TYPE}",
            port=self.port,
            addresses=[socket.inet_aton(address) for address in addresses],
            properties={
                "id": self.hub_id,
                "name": self.hub_name,
                "api": API_VERSION,
                "path": API_PATH,
                "version": __version__,
            },
            # Hubs cloned from one SD image share a host name, so the
            # target name comes from the hub id, which is unique.
            server=f"classroom-hub-{self.hub_id[:8]}.local.",
        )
        try:
            zeroconf = Zeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
        except OSError as error:
            self._problem(
                f"cannot open mDNS sockets on {', '.join(addresses)}: "
                f"{error}; will try again"
            )
            return

        try:
            zeroconf.register_service(info, allow_name_change=True)
        # zeroconf raises its own errors and asyncio's; none may stop the hub.
        except Exception as error:  # noqa: BLE001
            zeroconf.close()
            self._problem(f"mDNS announcement failed: {error}; will try again")
            return

        stale = [address for address in self._announced if address not in addresses]
        if stale:
            self._say_goodbye_to(zeroconf, info.server, stale)
        self._zeroconf, self._info, self._addresses = zeroconf, info, addresses
        self._announced = addresses
        self._last_problem = None
        advertised = info.name[: -len(SERVICE_TYPE) - 1]
        if advertised != self.name:
            log.info(
                "another device on this network is called %r; advertised as %r instead",
                self.name,
                advertised,
            )
        log.info(
            "advertised over mDNS as %r on %s port %s",
            advertised,
            ", ".join(addresses),
            self.port,
        )

    def _say_goodbye_to(self, zeroconf, server: str, stale: list[str]) -> None:
        """Expire addresses that went away with the interface that had them.

        Their goodbye could not be sent from their own socket once the
        address was gone, so tablets would keep trying them for the records'
        lifetime; the new sockets send it for them.
        """
        from zeroconf import DNSAddress, DNSOutgoing
        from zeroconf.const import (
            _CLASS_IN_UNIQUE,
            _FLAGS_AA,
            _FLAGS_QR_RESPONSE,
            _TYPE_A,
        )

        out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
        for address in stale:
            record = DNSAddress(
                server, _TYPE_A, _CLASS_IN_UNIQUE, 0, socket.inet_aton(address)
            )
            out.add_answer_at_time(record, 0)
        zeroconf.send(out)
        log.info("withdrew %s from mDNS", ", ".join(stale))

    def _withdraw(self) -> None:
        if self._zeroconf is None:
            return

        # close() sends the goodbye packets for every registered service.
        try:
            self._zeroconf.close()
        except Exception as error:  # noqa: BLE001
            log.warning("mDNS goodbye failed: %s", error)
        self._zeroconf = None
        self._info = None

    def _problem(self, message: str) -> None:
        """Log at WARNING when a problem starts, at DEBUG while it lasts."""
        level = logging.DEBUG if message == self._last_problem else logging.WARNING
        self._last_problem = message
        log.log(level, "%s", message)
