"""The SSRF rules one decision at a time (issue 12 items 5 and 17).

``tests/test_hostile_servers.py`` drives the rules end to end with a hostile remote server;
mutation testing showed which of their parts no test pinned: the name of each kind of address
(it is what the error tells the user), zone identifiers and brackets, the issuer's own host
and ``private_hosts`` compared without case, global literals left unresolved, and the port
each name is looked up on. These are the pure functions of ``_ssrf``, given their input.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mcp_oauth_dynamicclient._ssrf import (
    address_problem,
    hosts_to_resolve,
    literal_problems,
    remote_issuer,
    resolved_problems,
)

ISSUER = "https://as.example.com"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("[::1]", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # an IPv4-mapped address is judged as the IPv4
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("[fe80::1%eth0]", "link-local"),  # a zone identifier is not part of the address
        ("10.0.0.5", "private"),
        ("10.0.0.5%eth0", "private"),
        ("10.0.0.5%eth0%1", "private"),  # everything after the first % is the zone
        ("192.168.1.10", "private"),
        ("[::ffff:10.1.2.3]", "private"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "multicast"),  # multicast counts as global in ipaddress
        ("ff02::1", "multicast"),
        ("4000::1", "reserved"),
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT: neither private nor global
    ],
)
def test_each_kind_of_address_is_named(address: str, problem: str) -> None:
    assert address_problem(address) == problem


@pytest.mark.parametrize("address", ["8.8.8.8", "[2001:4860:4860::8888]", "1.1.1.1"])
def test_a_global_address_has_no_problem(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize(
    "host", ["as.example.com", "localhost", "", "10.0.0.5/8", "X10.0.0.5", "[::1]X"]
)
def test_a_name_is_no_address_literal(host: str) -> None:
    assert address_problem(host) is None


@pytest.mark.parametrize(
    ("issuer", "remote"),
    [
        ("https://as.example.com", True),
        ("https://8.8.8.8", True),
        ("http://127.0.0.1:9000", False),
        ("http://localhost:9000/tenant", False),
        ("http://[::1]:9000", False),
    ],
)
def test_only_a_loopback_issuer_is_exempt_from_the_rules(issuer: str, remote: bool) -> None:
    assert remote_issuer(issuer) is remote


def test_literal_problems_lists_every_endpoint_that_points_inside() -> None:
    endpoints = [
        ("authorization_endpoint", f"{ISSUER}/authorize"),  # the issuer's own host
        ("token_endpoint", "http://127.0.0.1:6379/token"),
        ("jwks_uri", "https://localhost/jwks"),
        ("revocation_endpoint", "https://10.0.0.5/revoke"),
        ("introspection_endpoint", "https://8.8.8.8/introspect"),  # global: fine
        ("userinfo_endpoint", "https://[fe80::1]/userinfo"),
    ]
    assert literal_problems(endpoints, ISSUER, []) == [
        "token_endpoint http://127.0.0.1:6379/token is loopback",
        "jwks_uri https://localhost/jwks is loopback",
        "revocation_endpoint https://10.0.0.5/revoke is private",
        "userinfo_endpoint https://[fe80::1]/userinfo is link-local",
    ]


def test_the_issuers_own_host_and_private_hosts_are_exempt_whatever_their_case() -> None:
    endpoints = [
        ("token_endpoint", "https://10.0.0.5/token"),
        ("jwks_uri", "https://intranet.corp/jwks"),
        ("revocation_endpoint", "https://192.168.1.10/revoke"),
    ]
    issuer = "https://10.0.0.5"  # an issuer on a private address may use its own host
    allowed = ["INTRANET.Corp", "192.168.1.10"]
    assert literal_problems(endpoints, issuer, allowed) == []
    assert hosts_to_resolve(endpoints, issuer, allowed) == {}
    # The issuer's host, as the application wrote it (any case), is its own host.
    assert (
        hosts_to_resolve(
            [("jwks_uri", "https://as.example.com/jwks")], "https://AS.Example.com", []
        )
        == {}
    )


def test_hosts_to_resolve_groups_names_with_the_port_they_are_used_on() -> None:
    endpoints = [
        ("authorization_endpoint", f"{ISSUER}/authorize"),  # the issuer's own: exempt
        ("introspection_endpoint", "https://8.8.8.8/introspect"),  # global literal: no lookup
        ("userinfo_endpoint", "https://[2001:4860:4860::8888]/userinfo"),
        ("revocation_endpoint", "https://10.0.0.5/revoke"),  # a literal problem, not a lookup
        ("token_endpoint", "https://tokens.example.net/token"),
        ("jwks_uri", "https://tokens.example.net/jwks"),
        ("registration_endpoint", "https://reg.example.net:8443/register"),
        ("device_authorization_endpoint", "http://plain.example.net/device"),
    ]
    assert hosts_to_resolve(endpoints, ISSUER, []) == {
        "tokens.example.net": (443, ["token_endpoint", "jwks_uri"]),
        "reg.example.net": (8443, ["registration_endpoint"]),
        "plain.example.net": (80, ["device_authorization_endpoint"]),
    }


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``socket.getaddrinfo`` answers, by host (an exception to raise, or addresses)."""
    answers: dict[str, Any] = {}

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        answer = answers[host]
        if isinstance(answer, BaseException):
            raise answer
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in answer
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_every_address_a_name_resolves_to_is_checked(resolver: dict[str, Any]) -> None:
    resolver["mixed.example"] = ["8.8.8.8", "10.9.8.7", "::1", "10.9.8.7", "169.254.1.1"]
    assert resolved_problems("mixed.example", 443) == [
        "10.9.8.7 (private)",
        "169.254.1.1 (link-local)",
        "::1 (loopback)",
    ]
    resolver["public.example"] = ["8.8.8.8", "2001:4860:4860::8888"]
    assert resolved_problems("public.example", 443) == []


@pytest.mark.parametrize(
    "failure", [socket.gaierror(socket.EAI_NONAME, "no such name"), OSError(), UnicodeError()]
)
def test_a_name_that_does_not_resolve_is_left_to_fail_when_used(
    resolver: dict[str, Any], failure: BaseException
) -> None:
    resolver["nowhere.example"] = failure
    assert resolved_problems("nowhere.example", 443) == []
