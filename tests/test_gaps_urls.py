"""URL rules and discovery order, one decision at a time (issue 12, item 17).

Mutation testing found parts of ``_urls`` and ``_discovery`` that no test pinned: the redirect
URI rule, the ports at the edge of TCP's range, ``localhost`` in any case, the bound of the
bearer-URL cache, ``follow_redirects=False``, which failed fetch means "no document here"
(a 429 does not), the resource metadata URLs of a resource without a path, and which
``resource`` a document at the root may name. Pure functions, given their input.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import ConfigurationError, DiscoveryError, ValidationError, _urls
from mcp_oauth_dynamicclient._discovery import (
    absent,
    check_metadata,
    check_resource_metadata,
    discovery_urls,
    fallback_endpoints,
    origin_of,
    resource_metadata_urls,
)
from mcp_oauth_dynamicclient._generated import (
    AuthorizationServerMetadata,
    ProtectedResourceMetadata,
)
from mcp_oauth_dynamicclient._urls import (
    is_loopback,
    refuse_redirects,
    require_bearer_url,
    require_port,
    require_redirect_uri,
    require_secure_url,
    same_issuer,
)

# ---------------------------------------------------------------------------------- _urls


@pytest.mark.parametrize(
    "uri", ["https://app.example/cb", "http://127.0.0.1:8080/cb", "http://localhost/cb?x=1"]
)
def test_a_redirect_uri_is_https_or_loopback(uri: str) -> None:
    assert require_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("http://app.example/cb", "must use https"),
        ("https://app.example/cb#x", "must not have a fragment"),
        ("app://cb", "must be an absolute https URL"),
    ],
)
def test_a_redirect_uri_is_refused_naming_itself(uri: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        require_redirect_uri(uri)
    assert str(caught.value).startswith(f"redirect URI {uri!r} {why}")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "LocalHost", "127.0.0.1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["localhost.example", "10.0.0.1", "::2", "example.com", "", "X127.0.0.1", "[::1]X"]
)
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize(("port", "ok"), [(1, True), (65535, True), (0, False), (65536, False)])
def test_ports_are_1_to_65535(port: int, ok: bool) -> None:
    url = httpx.URL(f"https://as.example:{port}/x")
    if ok:
        assert require_port(url, "x") is url
    else:
        with pytest.raises(ValidationError, match=f"^x: port {port} is not a TCP port"):
            require_port(url, "x")


def test_require_secure_url_returns_the_parsed_url_and_raises_the_error_asked_for() -> None:
    parsed = require_secure_url("https://as.example:8443/a?b=1", "thing")
    assert (parsed.host, parsed.port, parsed.path, parsed.query) == (
        "as.example",
        8443,
        "/a",
        b"b=1",
    )
    with pytest.raises(ConfigurationError, match=r"^thing must not have a query"):
        require_secure_url("https://as.example/?b=1", "thing", allow_query=False)
    assert require_secure_url("https://as.example/#f", "thing", allow_fragment=True).fragment == "f"
    with pytest.raises(DiscoveryError, match=r"^thing: port 0 is not a TCP port"):
        require_secure_url("https://as.example:0/", "thing", error=DiscoveryError)


def test_the_bearer_url_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_urls, "_BEARER_ORIGINS", set())
    monkeypatch.setattr(_urls, "_BEARER_URLS", set())
    for port in range(1, 600):
        require_bearer_url(f"http://127.0.0.1:{port}/mcp")
        assert len(_urls._BEARER_ORIGINS) <= _urls._BEARER_ORIGINS_MAX
        assert len(_urls._BEARER_URLS) <= _urls._BEARER_ORIGINS_MAX
    assert _urls._BEARER_ORIGINS_MAX == 256
    with pytest.raises(ValidationError, match="only sent over https"):
        require_bearer_url("http://remote.example:1/mcp")  # nothing cached lets it through


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1", "http://127.0.0.1?x", "http://[::1]:9/a/b", "https://x.example"]
)
def test_a_bearer_url_on_loopback_or_https_is_accepted_twice(url: str) -> None:
    require_bearer_url(url)
    require_bearer_url(url)  # from the cache


def test_a_cached_loopback_url_lets_no_other_host_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cache is keyed by the text up to the path: a URL with no path is its own key, and
    a host that merely starts like a cached one is judged afresh."""
    monkeypatch.setattr(_urls, "_BEARER_ORIGINS", set())  # empty, whatever ran before
    monkeypatch.setattr(_urls, "_BEARER_URLS", set())
    require_bearer_url("http://localhost")
    require_bearer_url("http://127.0.0.1:9")
    for url in ["http://localhosx", "http://localhost.evil", "http://127.0.0.1:9@evil.example/"]:
        with pytest.raises(ValidationError, match="only sent over https"):
            require_bearer_url(url)


@pytest.mark.parametrize(
    "url", ["http://remote.example/mcp", "http://127.0.0.1.evil.example/", "http:///x", "ftp://x"]
)
def test_a_bearer_url_elsewhere_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match=f"not to {url!r}"):
        require_bearer_url(url)


def test_follow_redirects_is_taken_out_and_true_is_refused() -> None:
    options: dict[str, Any] = {"follow_redirects": False, "timeout": 3}
    refuse_redirects(options)
    assert options == {"timeout": 3}
    options = {"timeout": 3}
    refuse_redirects(options)
    assert options == {"timeout": 3}
    with pytest.raises(ValidationError) as caught:
        refuse_redirects({"follow_redirects": True})
    assert str(caught.value) == (
        "authenticated_request does not follow redirects (follow_redirects=True): a redirect "
        "would send the bearer token to a URL nobody checked (RFC 6750 §5.3). The 3xx "
        "response is returned: read its Location header, and call again with that URL if you "
        "trust it"
    )


def test_issuers_are_compared_as_strings() -> None:
    assert same_issuer("https://as.example", "https://as.example")
    assert not same_issuer("https://as.example", "https://as.example/")
    assert not same_issuer("https://as.example", "https://AS.example")


# ----------------------------------------------------------------------------- _discovery


@pytest.mark.parametrize(
    ("status", "no_document"),
    [
        (400, True),
        (404, True),
        (410, True),
        (499, True),
        (429, False),
        (500, False),
        (503, False),
        (None, False),
    ],
)
def test_which_failures_mean_no_document_here(status: int | None, no_document: bool) -> None:
    assert absent(DiscoveryError("x", status_code=status)) is no_document


@pytest.mark.parametrize(
    ("issuer", "urls"),
    [
        (
            "https://as.example",
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration",
            ],
        ),
        (
            "https://as.example:8443/",
            [
                "https://as.example:8443/.well-known/oauth-authorization-server",
                "https://as.example:8443/.well-known/openid-configuration",
            ],
        ),
        (
            "https://as.example/tenant/1/",
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant/1",
                "https://as.example/.well-known/openid-configuration/tenant/1",
                "https://as.example/tenant/1/.well-known/openid-configuration",
            ],
        ),
    ],
)
def test_the_discovery_order(issuer: str, urls: list[str]) -> None:
    assert discovery_urls(issuer) == urls


def test_the_discovery_order_keeps_the_path_and_drops_query_and_fragment() -> None:
    assert discovery_urls("https://as.example/TenantX/?x=1#f") == [
        "https://as.example/.well-known/oauth-authorization-server/TenantX",
        "https://as.example/.well-known/openid-configuration/TenantX",
        "https://as.example/TenantX/.well-known/openid-configuration",
    ]
    assert resource_metadata_urls("https://mcp.example/mcpX?x=1") == [
        "https://mcp.example/.well-known/oauth-protected-resource/mcpX",
        "https://mcp.example/.well-known/oauth-protected-resource",
    ]


def _metadata(issuer: str) -> AuthorizationServerMetadata:
    return AuthorizationServerMetadata(issuer=issuer, token_endpoint=f"{issuer}/token")


def test_metadata_for_another_issuer_is_refused_with_a_hint_only_for_a_slash() -> None:
    with pytest.raises(DiscoveryError) as slash:
        check_metadata(_metadata("https://as.example/X/"), "https://as.example/X")
    assert str(slash.value) == (
        "the metadata names issuer 'https://as.example/X/', not 'https://as.example/X' (RFC "
        "8414 §3.3 compares issuers as exact strings); refusing it; if that is your server, "
        "configure it as 'https://as.example/X/'"
    )
    with pytest.raises(DiscoveryError) as other:
        check_metadata(_metadata("https://evil.example"), "https://as.example")
    assert str(other.value) == (
        "the metadata names issuer 'https://evil.example', not 'https://as.example' (RFC "
        "8414 §3.3 compares issuers as exact strings); refusing it"
    )


@pytest.mark.parametrize(
    ("resource", "urls"),
    [
        ("https://mcp.example", ["https://mcp.example/.well-known/oauth-protected-resource"]),
        ("https://mcp.example/", ["https://mcp.example/.well-known/oauth-protected-resource"]),
        (
            "https://mcp.example:8443/v1/mcp",
            [
                "https://mcp.example:8443/.well-known/oauth-protected-resource/v1/mcp",
                "https://mcp.example:8443/.well-known/oauth-protected-resource",
            ],
        ),
    ],
)
def test_the_resource_metadata_order(resource: str, urls: list[str]) -> None:
    assert resource_metadata_urls(resource) == urls


def _prm(resource: str, *servers: str) -> ProtectedResourceMetadata:
    return ProtectedResourceMetadata(resource=resource, authorization_servers=list(servers))


RESOURCE = "https://mcp.example/v1/mcp"


@pytest.mark.parametrize("named", [RESOURCE, "https://mcp.example", "https://mcp.example/"])
def test_a_document_at_the_root_may_name_the_origin(named: str) -> None:
    issuer = "https://as.example"
    assert check_resource_metadata(_prm(named, issuer), RESOURCE, at_root=True) == issuer


@pytest.mark.parametrize(
    "named", ["https://mcp.example", "https://mcp.example/", "https://mcp.example/v1"]
)
def test_a_document_at_the_resources_path_must_name_the_resource(named: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        check_resource_metadata(_prm(named, "https://as.example"), RESOURCE, at_root=False)
    assert str(caught.value) == (
        f"the protected resource metadata is about {named!r}, not {RESOURCE!r} "
        "(RFC 9728 §3.3); refusing it"
    )


def test_the_first_authorization_server_is_the_issuer_and_must_be_secure() -> None:
    servers = ("https://a.example", "https://b.example")
    assert check_resource_metadata(_prm(RESOURCE, *servers), RESOURCE, at_root=False) == servers[0]
    with pytest.raises(DiscoveryError) as insecure:
        check_resource_metadata(_prm(RESOURCE, "http://a.example"), RESOURCE, at_root=False)
    named = (
        f"the authorization server the protected resource metadata of {RESOURCE!r} names "
        "(RFC 9728 §2 authorization_servers; fix that metadata, or configure auth_server)"
    )
    assert str(insecure.value) == (
        f"{named} must use https (http is allowed only on loopback), got 'http://a.example'"
    )
    for issuer, part in (
        ("https://a.example/?", "query"),
        ("https://a.example/t?x#y", "query"),
        ("https://a.example#", "fragment"),
        ("https://a.example#top", "fragment"),
    ):
        with pytest.raises(DiscoveryError) as issuer_identifier:
            check_resource_metadata(_prm(RESOURCE, issuer), RESOURCE, at_root=False)
        assert str(issuer_identifier.value) == (
            f"{named} must not have a {part}: an issuer identifier has neither a query nor a "
            f"fragment (RFC 8414 §2), got {issuer!r}"
        )
    with pytest.raises(DiscoveryError) as none:
        check_resource_metadata(_prm(RESOURCE), RESOURCE, at_root=False)
    assert str(none.value) == (
        f"the protected resource metadata of {RESOURCE!r} names no authorization server "
        "(RFC 9728 §2 authorization_servers); configure auth_server"
    )


def test_the_fallback_endpoints_are_at_the_origin_unless_configured() -> None:
    assert origin_of("https://as.example:8443/tenant/x?y#z") == "https://as.example:8443"
    configured: dict[str, str | None] = {
        "token_endpoint": "https://as.example/oauth/token",
        "authorization_endpoint": None,
    }
    assert fallback_endpoints("https://as.example/tenant", configured) == {
        "authorization_endpoint": "https://as.example/authorize",
        "token_endpoint": "https://as.example/oauth/token",
        "registration_endpoint": "https://as.example/register",
    }


# ---------------------------------------------------- RFC 8252 §7.3: the loopback port leniency


@pytest.mark.parametrize(
    ("requested", "registered"),
    [
        ("https://app.example/cb", "https://app.example/cb"),
        ("http://localhost:8080/cb", "http://localhost:8080/cb"),
        ("com.example.app:/cb", "com.example.app:/cb"),
    ],
)
def test_a_redirect_uri_matches_itself_whatever_it_is(requested: str, registered: str) -> None:
    """Exact string equality comes first: the port leniency only widens it."""
    assert _urls.redirect_matches(requested, registered) is True


@pytest.mark.parametrize(
    ("requested", "registered"),
    [
        # Both must be http: a registered https (or custom scheme) URI is matched exactly.
        ("http://127.0.0.1:54321/cb", "https://127.0.0.1:8080/cb"),
        ("https://127.0.0.1:54321/cb", "http://127.0.0.1:8080/cb"),
        ("http://127.0.0.1:54321/cb", "com.example.app://127.0.0.1:8080/cb"),
        # No fragment on either side (RFC 6749 §3.1.2).
        ("http://127.0.0.1:54321/cb#x", "http://127.0.0.1:8080/cb"),
        ("http://127.0.0.1:54321/cb", "http://127.0.0.1:8080/cb#x"),
        # A port no TCP connection has, on either side, is no match.
        ("http://127.0.0.1:5/cb", "http://127.0.0.1:99999/cb"),
        ("http://127.0.0.1:5/cb", "http://127.0.0.1:x/cb"),
        # No host at all, and a host name that only looks local.
        ("http:///cb", "http:///cb/"),
        ("http://localhost.:5/cb", "http://localhost.:8/cb"),
        # The same port leniency, but another host, path or query.
        ("http://127.0.0.1:5/cb", "http://[::1]:5/cb"),
        ("http://127.0.0.1:5/cb", "http://127.0.0.1:5/cb/"),
        ("http://127.0.0.1:5/cb?a=1", "http://127.0.0.1:5/cb?a=2"),
    ],
)
def test_only_the_port_is_lenient(requested: str, registered: str) -> None:
    assert _urls.redirect_matches(requested, registered) is False


def test_the_port_leniency_holds_for_queries_and_ipv6() -> None:
    assert _urls.redirect_matches("http://127.0.0.1:5/cb?a=1", "http://127.0.0.1:6/cb?a=1")
    assert _urls.redirect_matches("http://[::1]:5/cb", "http://[::1]:6/cb")
    assert _urls.redirect_matches("http://127.0.0.1/cb", "http://127.0.0.1:6/cb")


# ------------------------------------------------------------ RFC 8414 §2: issuer identifiers


def test_an_issuer_identifier_is_returned_parsed() -> None:
    parsed = _urls.require_issuer("https://as.example/tenant", "issuer")
    assert parsed == httpx.URL("https://as.example/tenant")
    assert _urls.require_issuer("http://127.0.0.1:9/", "issuer").port == 9


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("https://as.example?", "issuer must not have a query: an issuer identifier"),
        ("https://as.example/#", "issuer must not have a fragment: an issuer identifier"),
        ("https://as.example/#f?q", "issuer must not have a fragment: an issuer identifier"),
        ("https://as.example/?q#f", "issuer must not have a query: an issuer identifier"),
        ("http://as.example/?q", "issuer must use https"),
        ("https://as.example:0/", "issuer: port 0 is not a TCP port"),
    ],
)
def test_an_issuer_identifier_refused_by_default_as_configuration(
    issuer: str, message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _urls.require_issuer(issuer, "issuer")
    assert type(caught.value) is ConfigurationError
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(f"got {issuer!r}") or "port" in message
