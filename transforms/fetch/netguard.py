"""SSRF guard: decide whether the fetch step may connect to the address a URL resolves to.

Pages come from feeds and sitemaps written by others, so a URL (or a redirect) may point at the
machine itself, the private network or the cloud metadata service. ``resolve_checked`` resolves
a host once with ``getaddrinfo`` and refuses it when any of its addresses is not a public one,
unless an allowed network (setting ``allowed_private_networks``) contains it. The caller then
connects to the address returned, never resolving the name a second time (no DNS rebinding).

``getaddrinfo`` understands the odd IPv4 spellings (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
``127.1``), so they are classified by the address they really mean.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_HINT = "allow it with NEWSFLOW_ALLOWED_PRIVATE_NETWORKS"


class RefusedAddress(Exception):
    """The URL's host resolves to an address the fetch step must not connect to."""


class ResolveError(Exception):
    """The host name could not be resolved."""


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to ``address`` and name ``host`` in Host/SNI."""

    host: str
    address: IPAddress
    port: int


def parse_networks(networks: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDR strings to networks; raises ``ValueError`` naming the bad entry."""
    parsed = []
    for text in networks:
        try:
            parsed.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not a CIDR network: {text!r}") from exc
    return tuple(parsed)


def classify(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination (e.g. ``"loopback"``), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:127.0.0.1 reaches 127.0.0.1
            return classify(address.ipv4_mapped)
        if address.sixtofour is not None and classify(address.sixtofour):
            return "6to4-wrapped " + str(classify(address.sixtofour))
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unique-local", isinstance(address, ipaddress.IPv6Address) and address in _ULA),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        # Anything else IANA lists as special purpose (100.64/10 shared, 192.0.0/24, ...).
        ("non-public", not address.is_global),
    )
    return next((label for label, hit in checks if hit), None)


_ULA = ipaddress.ip_network("fc00::/7")


def check_address(
    address: IPAddress, allowed: tuple[IPNetwork, ...], host: str | None = None
) -> None:
    """Raise ``RefusedAddress`` unless ``address`` is public or inside an allowed network."""
    if any(address.version == net.version and address in net for net in allowed):
        return
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        mapped = address.ipv4_mapped
        if any(net.version == 4 and mapped in net for net in allowed):
            return
    kind = classify(address)
    if kind is None:
        return
    article = "an" if kind[0] in "aeiou" else "a"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # name the IPv4 address it really reaches
    if host and not _same_address(host, address):
        raise RefusedAddress(
            f"refused: {host} resolves to {address}, {article} {kind} address ({_HINT})"
        )
    raise RefusedAddress(f"refused: {address} is {article} {kind} address ({_HINT})")


def _same_address(host: str, address: IPAddress) -> bool:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(literal, ipaddress.IPv6Address) and literal.ipv4_mapped is not None:
        literal = literal.ipv4_mapped
    return literal == address


async def resolve_checked(host: str, port: int, allowed: tuple[IPNetwork, ...]) -> Target:
    """Resolve ``host`` once and check every address it has; return the one to connect to.

    Every address must pass: a name with one public and one private address is refused,
    since the connection could land on either.
    """
    name = host.strip("[]")
    try:
        literal: IPAddress | None = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ResolveError(f"cannot resolve {name}: {exc}") from exc
        addresses = list(
            # An inet address is a str (the sockaddr type also covers other families).
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
        )
        if not addresses:
            raise ResolveError(f"cannot resolve {name}: no address")
    for address in addresses:
        check_address(address, allowed, name)
    return Target(host=name, address=addresses[0], port=port)
