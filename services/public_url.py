"""Our public base URL: the one answer to "where do outsiders reach this server", and whether they can."""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request

# Names only this machine or this network resolves (RFC 6761, RFC 6762 and common private zones).
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def public_base_url() -> str:
    """The base URL links and webhooks are built on, without a trailing slash.

    PUBLIC_BASE_URL when it is set. In development, when it is not, a request answers with the
    address its browser used (so links work on any port and host); jobs use the value derived
    from HOST and PORT.
    """
    config = current_app.config
    configured = config["PUBLIC_BASE_URL"]
    derived = config.get("PUBLIC_BASE_URL_DERIVED")
    # Any other value was chosen on purpose (environment, app overrides, a test server): keep it.
    if derived and configured == derived and has_request_context():
        return request.host_url.rstrip("/")
    return configured


def outside_reach_problem(url: str) -> str | None:
    """Why a server on the internet cannot reach `url` (a local name, loopback or private address), or None."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return "it is not a valid URL"
    if not host:
        return "it has no host name"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(LOCAL_SUFFIXES):
            return f"{host} names this machine or its local network"
        if "." not in host:
            return f"{host} is a name without dots, which only this network resolves"
        return None
    if address.is_loopback:
        return f"{host} is a loopback address (this machine only)"
    if address.is_private or address.is_link_local or address.is_unspecified or address.is_reserved:
        return f"{host} is a private network address"
    return None


def internet_reach_problem(url: str) -> str | None:
    """Why a provider calling from the internet (Meta) cannot use `url`: unreachable, or not https."""
    problem = outside_reach_problem(url)
    if problem is None and not url.startswith("https://"):
        problem = "it is not https, and Meta calls only https addresses"
    return problem


def unreachable(check: Callable[[str], str | None], path: str = "/") -> tuple[str, str] | None:
    """(our base URL, why `check` refuses it) when a reader would refuse our base URL + `path`, else None.

    `check(url)` answers None for an address its reader can use, else the reason it cannot.
    """
    base = public_base_url()
    reason = check(base + path)
    return None if reason is None else (base, reason)


def webhook_reach_problem() -> str | None:
    """The settings warning when Meta could not call our webhook URL, or None."""
    found = unreachable(internet_reach_problem, "/webhooks/")
    if found is None:
        return None
    base, reason = found
    return (f"Meta cannot deliver webhooks to {base}: {reason}. Set PUBLIC_BASE_URL to a public https address "
            "that reaches this server (for example https://crm.example.com, or a tunnel while you develop), "
            "then copy the new callback URL into Meta.")
