"""Which URLs a webhook may be sent to (SSRF): HTTPS to public addresses only, checked at save and at send time.

A URL is refused when its scheme is not https, or when its host is (or resolves to) any address that is not
globally routable: private, loopback, link-local (cloud metadata at 169.254.169.254), shared, reserved,
multicast or unspecified, IPv4 and IPv6 alike, IPv4 hidden in IPv6 (mapped, 6to4, Teredo, NAT64) included.
Every address a name resolves to must pass, and the connection then goes to one of exactly those addresses
(see transport.py), so a name that answers differently the second time (DNS rebinding) gains nothing.

The install setting OUTBOUND_WEBHOOKS_ALLOW_PRIVATE lets plain http and private or loopback addresses through,
for receivers on the same network (and the tests); link-local and multicast addresses stay refused even then.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Cloud metadata services (AWS's IPv6 one sits in a private range, not a link-local one).
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class RefusedAddress(Exception):
    """The URL may not be called: the reason is fit to show to the workspace."""


def allow_private() -> bool:
    """Whether this install lets webhooks reach private and loopback addresses over plain http."""
    return bool(current_app.config.get("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE"))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(ip: IPAddress, allow_private_addresses: bool) -> str | None:
    """Why `ip` may not be called, or None."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return address_problem(inner, allow_private_addresses)
    if ip in _METADATA or ip.is_link_local:
        return f"{ip} is a link-local address (cloud metadata lives there)"
    if ip.is_multicast or ip.is_unspecified:
        return f"{ip} is not a host address"
    if ip.is_global:
        return None
    if allow_private_addresses:
        return None
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_reserved or not ip.is_private:
        return f"{ip} is a reserved address"
    return f"{ip} is a private address"


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (one lookup; an IP literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedAddress(f"The host {host} could not be found.") from exc
    # getaddrinfo gives IPv6 scope ids as "fe80::1%eth0"; the scope is irrelevant to the check.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def checked_addresses(host: str, port: int, allow_private_addresses: bool) -> list[IPAddress]:
    """Resolve `host` and return its addresses if every one may be called; refuse otherwise."""
    addresses = resolve(host, port)
    if not addresses:
        raise RefusedAddress(f"The host {host} has no address.")
    for ip in addresses:
        problem = address_problem(ip, allow_private_addresses)
        if problem is not None:
            where = "" if str(ip) == host else f"{host} resolves to "
            raise RefusedAddress(f"Webhooks cannot be sent there: {where}{problem}.")
    return addresses


def url_problem(url: str) -> tuple[str, int] | str:
    """(host, port) of a well-formed webhook URL, or why it is malformed (no address lookup)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL, like https://example.com/hooks."
    permissive = allow_private()
    if parts.scheme not in (("https", "http") if permissive else ("https",)):
        return "The URL must start with https://." if not permissive else "The URL must start with https:// or http://."
    if not parts.hostname:
        return "Enter a valid URL, like https://example.com/hooks."
    if parts.username is not None or parts.password is not None:
        return "Leave the user name and password out of the URL: requests are signed instead."
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_url(url: str) -> None:
    """Refuse (RefusedAddress) a URL that may not be called now: its form, then every address it resolves to."""
    found = url_problem(url)
    if isinstance(found, str):
        raise RefusedAddress(found)
    host, port = found
    checked_addresses(host, port, allow_private())
