"""Starting from the MCP server's URL alone (issue 11): RFC 9728 protected resource metadata.

``OAuth2Client(resource=<MCP server URL>)`` with no ``auth_server`` reads the resource's metadata
(path-inserted, then at the root), checks that it is about this resource (RFC 9728 §3.3), takes
its first authorization server, and then runs as a client configured with that issuer. Against
MockAuthServer's MCP endpoint for the whole flow, and a scripted server for what a well-behaved
one never serves.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import ConfigurationError, DiscoveryError, OAuth2Config
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, follow
from tests.flavours import ClientProxy, Flavour
from tests.scripted_server import Reply, ScriptedServer

PRM = "/.well-known/oauth-protected-resource"
INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "test", "version": "1"},
}


def _client(api: Flavour, server: MockAuthServer, **settings: Any) -> ClientProxy:
    options: dict[str, Any] = {
        "resource": server.resource_url,
        "client_name": "MCP App",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "clock": server.clock.now,
    }
    return api.client(**{**options, **settings})


def test_from_the_mcp_server_url_to_an_authorized_mcp_call(
    api: Flavour, server: MockAuthServer
) -> None:
    client = _client(api, server)
    assert client.discover().issuer == server.url
    assert client.issuer == server.url
    callback = httpx.URL(follow(client.get_authorization_url()))
    token = client.exchange_code(str(callback))
    assert token.access_token
    response = client.authenticated_request(
        "POST",
        server.resource_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INITIALIZE},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]


def test_the_authorization_request_names_the_resource_as_published(
    api: Flavour, server: MockAuthServer
) -> None:
    client = _client(api, server)
    url = httpx.URL(client.get_authorization_url())
    assert url.params.get_list("resource") == [server.resource_url]


def test_a_resource_without_metadata_is_taken_for_a_2025_03_26_server(
    api: Flavour, server: MockAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    """No protected resource metadata: the MCP server's origin is the authorization server."""
    server.settings.serve_resource_metadata = False
    client = _client(api, server)
    with caplog.at_level("WARNING", logger="mcp_oauth_dynamicclient"):
        assert client.discover().issuer == server.url
    (warning,) = [r for r in caplog.records if "MCP 2025-03-26" in r.getMessage()]
    assert f"{server.url}{PRM}/mcp (" in warning.getMessage()


def test_the_issuer_is_unknown_until_discovery(api: Flavour, server: MockAuthServer) -> None:
    client = _client(api, server)
    with pytest.raises(DiscoveryError, match="call discover"):
        client.issuer  # noqa: B018


def test_a_client_needs_a_server_or_a_resource() -> None:
    with pytest.raises(ConfigurationError, match="auth_server: required, or resource"):
        OAuth2Config(client_name="x")
    assert OAuth2Config(resource="https://mcp.example.com/mcp").issuer is None


# ----------------------------------------------------------------- what servers may serve


def _prm(resource: str, *servers: str, **fields: Any) -> Reply:
    return Reply.json({"resource": resource, "authorization_servers": list(servers), **fields})


def _as_metadata(issuer: str) -> Reply:
    return Reply.json(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "code_challenge_methods_supported": ["S256"],
        }
    )


def test_the_root_document_may_name_the_origin(api: Flavour, scripted: ScriptedServer) -> None:
    """RFC 9728 §3.3: the root document is about the resource identifier without a path."""
    resource = scripted.url + "/mcp"
    scripted.reply(Reply(404), _prm(scripted.url, scripted.url), _as_metadata(scripted.url))
    client = api.client(resource=resource, redirect_uris=[REDIRECT])
    assert client.discover().issuer == scripted.url
    assert [r.path for r in scripted.received] == [
        f"{PRM}/mcp",
        PRM,
        "/.well-known/oauth-authorization-server",
    ]
    # The RFC 8707 resource is the document's, exactly as published.
    registration_free = api.client(
        resource=resource,
        redirect_uris=[REDIRECT],
        client_id="c",
        token_endpoint_auth_method="none",
    )
    scripted.reply(Reply(404), _prm(scripted.url, scripted.url), _as_metadata(scripted.url))
    url = httpx.URL(registration_free.get_authorization_url())
    assert url.params.get_list("resource") == [scripted.url]


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ("https://evil.example/mcp", "path"),
        ("{base}/other", "path"),
        ("{base}/mcp/", "path"),
        ("{base}/other", "root"),
    ],
)
def test_metadata_about_another_resource_is_refused(
    api: Flavour, scripted: ScriptedServer, document: str, where: str
) -> None:
    about = document.format(base=scripted.url)
    replies = (
        [_prm(about, scripted.url)] if where == "path" else [Reply(404), _prm(about, scripted.url)]
    )
    scripted.reply(*replies)
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    with pytest.raises(DiscoveryError, match=r"is about .*RFC 9728 §3.3"):
        client.discover()
    assert "/.well-known/oauth-authorization-server" not in [r.path for r in scripted.received]


@pytest.mark.parametrize(
    ("servers", "message"),
    [((), "names no authorization server"), (("http://evil.example",), "must use https")],
)
def test_an_unusable_authorization_server_list_is_refused(
    api: Flavour, scripted: ScriptedServer, servers: tuple[str, ...], message: str
) -> None:
    scripted.reply(_prm(scripted.url + "/mcp", *servers))
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    with pytest.raises(DiscoveryError, match=message):
        client.discover()


def test_the_first_authorization_server_is_used(api: Flavour, scripted: ScriptedServer) -> None:
    first = scripted.url + "/tenant-a"
    scripted.reply(
        _prm(scripted.url + "/mcp", first, scripted.url + "/tenant-b"), _as_metadata(first)
    )
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    assert client.discover().issuer == first
    assert scripted.received[1].path == "/.well-known/oauth-authorization-server/tenant-a"


def test_a_server_error_while_looking_is_not_taken_for_no_metadata(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(Reply.json({"error": "server_error"}, status=503))
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    with pytest.raises(DiscoveryError) as caught:
        client.discover()
    assert caught.value.status_code == 503
    assert len(scripted.received) == 1


# ------------------------------------------------------- MCP 2025-03-26: servers without metadata


def test_without_resource_metadata_the_server_origin_is_the_authorization_server(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(Reply(404), Reply(404), _as_metadata(scripted.url))
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    assert client.discover().token_endpoint == f"{scripted.url}/token"
    assert client.issuer == scripted.url


def test_without_any_metadata_the_default_endpoints_are_used(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(Reply(404), Reply(404), Reply(404), Reply(404))
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    metadata = client.discover()
    assert (
        metadata.authorization_endpoint,
        metadata.token_endpoint,
        metadata.registration_endpoint,
    ) == (f"{scripted.url}/authorize", f"{scripted.url}/token", f"{scripted.url}/register")
    assert [r.path for r in scripted.received] == [
        f"{PRM}/mcp",
        PRM,
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ]


def test_configured_endpoints_stand_in_for_missing_metadata(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(Reply(404), Reply(404))
    client = api.client(
        auth_server=scripted.url,
        redirect_uris=[REDIRECT],
        token_endpoint=f"{scripted.url}/oauth/token",
    )
    metadata = client.discover()
    assert metadata.token_endpoint == f"{scripted.url}/oauth/token"
    assert metadata.authorization_endpoint == f"{scripted.url}/authorize"


def test_configured_endpoints_follow_the_url_rules() -> None:
    with pytest.raises(ConfigurationError, match="token_endpoint must use https"):
        OAuth2Config(auth_server="https://as.example", token_endpoint="http://as.example/token")


@pytest.mark.parametrize(("path", "accepted"), [("/oauth", True), ("", True), ("other", False)])
def test_a_2025_03_26_server_may_name_an_issuer_on_its_own_origin(
    api: Flavour, scripted: ScriptedServer, path: str, accepted: bool
) -> None:
    """Its issuer was only guessed from the MCP server's URL; a name on another origin is not
    taken (RFC 8414 §3.3 applies to it as to any other)."""
    issuer = "https://elsewhere.example" if path == "other" else scripted.url + path
    scripted.reply(Reply(404), Reply(404), _as_metadata(issuer))
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    if accepted:
        assert client.discover().issuer == issuer
        assert client.issuer == issuer
    else:
        with pytest.raises(DiscoveryError, match=r"names issuer 'https://elsewhere\.example'"):
            client.discover()


def test_a_document_that_is_not_metadata_is_passed_over(
    api: Flavour, scripted: ScriptedServer
) -> None:
    """A catch-all page at the path-inserted URL is no metadata; the root one is read next."""
    page = Reply(200, b"<html>app</html>", {"Content-Type": "text/html"})
    scripted.reply(page, _prm(scripted.url, scripted.url), _as_metadata(scripted.url))
    client = api.client(resource=scripted.url + "/mcp", redirect_uris=[REDIRECT])
    assert client.discover().issuer == scripted.url
    assert [r.path for r in scripted.received][:2] == [f"{PRM}/mcp", PRM]


def test_a_challenge_may_not_point_discovery_at_plain_http(server: MockAuthServer) -> None:
    """RFC 9728 §5.1's resource_metadata is fetched under the same URL rules as any other."""
    from mcp_oauth_dynamicclient import SyncOAuth2Client

    with (
        SyncOAuth2Client(resource=server.resource_url) as client,
        pytest.raises(DiscoveryError, match="resource_metadata must use https"),
    ):
        client._find_issuer("http://evil.example/.well-known/oauth-protected-resource")
