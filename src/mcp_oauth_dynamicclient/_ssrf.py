"""Where a remote authorization server may send the client: not into this machine or its network.

A server's metadata names the endpoints the client then sends its credentials to (RFC 8414 §2).
A hostile or compromised remote server could name ``http://127.0.0.1:6379``, ``10.0.0.5`` or
the cloud metadata address ``169.254.169.254`` and turn the client into its proxy (server-side
request forgery, RFC 9700 §4.17 / OWASP SSRF). So, for an issuer that is not itself on loopback:

- an endpoint on another host than the issuer's may not be on loopback, a private network,
  link-local, or any other address that is not globally routable; names are resolved and every
  address they resolve to is checked, not only the text of the URL;
- hosts the application names (``private_hosts``) are exempt, for an authorization server run on
  a private network.

Plain http stays allowed only on loopback (``_urls.require_secure_url``), and with these rules,
only for a loopback issuer. The check is made when the metadata is read; a name that resolves
elsewhere later (DNS rebinding) is not caught here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection, Iterable

import httpx

from ._urls import is_loopback

__all__ = [
    "address_problem",
    "hosts_to_resolve",
    "literal_problems",
    "remote_issuer",
    "resolved_problems",
]


def address_problem(address: str) -> str | None:
    """Why the client must not be sent to ``address`` (an IP literal), or None when it may."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return name
    return None if ip.is_global else "not globally routable"


def remote_issuer(issuer: str) -> bool:
    """Whether the rules apply: the issuer is not on loopback."""
    return not is_loopback(httpx.URL(issuer).host)


def _exempt(host: str, issuer_host: str, private_hosts: Collection[str]) -> bool:
    host = host.lower()
    return host == issuer_host.lower() or host in {h.lower() for h in private_hosts}


def literal_problems(
    endpoints: Iterable[tuple[str, str]], issuer: str, private_hosts: Collection[str]
) -> list[str]:
    """What is wrong with the endpoints (``(name, url)``) of a remote ``issuer`` that the URLs
    alone show: a loopback name or an address literal that is not globally routable."""
    issuer_host = httpx.URL(issuer).host
    found = []
    for name, url in endpoints:
        host = httpx.URL(url).host
        if _exempt(host, issuer_host, private_hosts):
            continue
        problem = "loopback" if is_loopback(host) else address_problem(host)
        if problem is not None:
            found.append(f"{name} {url} is {problem}")
    return found


def hosts_to_resolve(
    endpoints: Iterable[tuple[str, str]], issuer: str, private_hosts: Collection[str]
) -> dict[str, tuple[int, list[str]]]:
    """The names among the endpoints' hosts to resolve and check: host -> (port, endpoints)."""
    issuer_host = httpx.URL(issuer).host
    names: dict[str, tuple[int, list[str]]] = {}
    for name, url in endpoints:
        parsed = httpx.URL(url)
        host = parsed.host
        if _exempt(host, issuer_host, private_hosts) or address_problem(host) is not None:
            continue
        try:
            ipaddress.ip_address(host.strip("[]"))
            continue  # a global address literal: nothing to resolve
        except ValueError:
            pass
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        names.setdefault(host, (port, []))[1].append(name)
    return names


def resolved_problems(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to that the client must not be sent to (blocking: a
    DNS lookup). A name that does not resolve is left to fail when it is used."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    problems = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        problem = address_problem(address)
        if problem is not None:
            problems.append(f"{address} ({problem})")
    return sorted(set(problems))
