"""The address a request or socket comes from, as far as it can be believed.

Anyone can send ``X-Forwarded-For``, so it is read only when the direct peer is one of
``Settings.trusted_proxies`` (addresses or CIDR networks). Each proxy appends the
address it received the request from, so the header is read from the right: trusted
hops are skipped and the first untrusted one is the client. What a client wrote into
the header itself lies to the left of that and is never reached. (``loan-agent serve``
runs uvicorn with ``proxy_headers=False``: the peer we see is the real one.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """``proxies`` as networks; ValueError names an entry that is neither."""
    networks = []
    for entry in proxies:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"trusted proxy {entry!r} is not an IP address or network (CIDR)"
            ) from None
    return tuple(networks)


def parse_ip(text: str) -> IP | None:
    """An address as proxies write it: bare, ``a.b.c.d:port`` or ``[v6]:port``."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def forwarded_client(peer: str, forwarded_for: Iterable[str], trusted: Iterable[str]) -> str:
    """The client behind ``peer`` given the ``X-Forwarded-For`` header values (in order)."""
    networks = trusted_networks(tuple(trusted))
    current = parse_ip(peer)
    if current is None or not _is_trusted(current, networks):
        return str(current) if current is not None else peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        ip = parse_ip(hop)
        if ip is None:
            break  # garbage a trusted proxy passed on: the last good hop is the answer
        current = ip
        if not _is_trusted(ip, networks):
            break
    return str(current)


def client_address(conn: HTTPConnection, trusted_proxies: Iterable[str]) -> str:
    """The client address of an HTTP request or a websocket."""
    peer = conn.client.host if conn.client else UNKNOWN
    return forwarded_client(peer, conn.headers.getlist("x-forwarded-for"), trusted_proxies)


def _is_trusted(ip: IP, networks: tuple[Network, ...]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)
