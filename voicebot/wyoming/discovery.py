"""Zeroconf (mDNS) advertisement of the service as ``_wyoming._tcp.local.``, which is what Home
Assistant's Wyoming integration browses for: it then offers "voicebot" under Settings → Devices &
services, with the host and port filled in.

A listener on loopback is advertised on loopback only (a satellite elsewhere could not reach it
anyway); one on a wildcard address is advertised with the machine's LAN address on every
interface; one on a specific address, with that address. Advertising is a convenience: when it
fails (no multicast on the machine) the service keeps serving and says so once.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."


def lan_address() -> str:
    """The address this machine uses towards the LAN (no packet is sent: a UDP socket's route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("224.0.0.251", 5353))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def instance_name(name: str | None) -> str:
    label = (name or f"voicebot-{socket.gethostname()}").replace(".", "-")[:63]
    return f"{label}.{SERVICE_TYPE}"


def advertised_address(bound_host: str, configured: str | None) -> str:
    if configured:
        return configured
    try:
        ip = ipaddress.ip_address(bound_host)
    except ValueError:  # a host name
        return socket.gethostbyname(bound_host)
    if ip.is_unspecified:
        return lan_address()
    return str(ip)


class Advertisement:
    """One registered service; ``start`` and ``stop`` never raise."""

    def __init__(self, port: int, bound_host: str, name: str | None = None, host: str | None = None) -> None:
        self.address = advertised_address(bound_host, host)
        self.name = instance_name(name)
        self.port = port
        self.info = AsyncServiceInfo(
            SERVICE_TYPE,
            self.name,
            addresses=[socket.inet_aton(self.address)],
            port=port,
            properties={"program": "voicebot"},
            server=f"{self.name.split('.')[0]}.local.",
        )
        loopback = ipaddress.ip_address(self.address).is_loopback
        self._interfaces: list[str] | InterfaceChoice = [self.address] if loopback else InterfaceChoice.All
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> bool:
        try:
            self._zc = AsyncZeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
            await self._zc.async_register_service(self.info)
        except Exception as exc:  # no multicast, no interface: serving goes on without discovery
            log.warning("zeroconf: could not advertise %s (%s); Home Assistant must be given the host and port",
                        self.name, exc)
            await self.stop()
            return False
        log.info("zeroconf: advertising %s at %s:%d", self.name, self.address, self.port)
        return True

    async def stop(self) -> None:
        zc, self._zc = self._zc, None
        if zc is None:
            return
        try:
            await zc.async_unregister_all_services()
        except Exception:  # shutting down: a failed goodbye packet is not worth more than a line
            log.debug("zeroconf: unregistering failed", exc_info=True)
        await zc.async_close()
