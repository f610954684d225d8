"""The issuer a resource's metadata names is an issuer identifier (issue 12: hostile servers).

RFC 9728 §2: each ``authorization_servers`` entry is an issuer identifier, and RFC 8414 §2
defines one as an https URL with no query and no fragment component, the rule the client
already applies to a configured ``auth_server``. A hostile resource that names
``https://as.example?tenant=evil`` (and an authorization server whose metadata repeats that
string as its issuer) would otherwise be taken for the server of the resource. Refused with a
``DiscoveryError`` before anything is asked of that server, and without touching what the
client already stored. Sync and async, against loopback servers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import ConfigurationError, DiscoveryError, OAuth2Config
from mcp_oauth_dynamicclient.testing import MockAuthServer, auto_approve
from tests.clients import REDIRECT, authorize
from tests.flavours import ClientProxy, Flavour
from tests.scripted_server import Reply, ScriptedServer

PRM = "/.well-known/oauth-protected-resource"

# What each issuer carries that an issuer identifier may not, and the word the error names.
HOSTILE = [
    ("?tenant=evil", "query"),
    ("/tenant?x=1", "query"),
    ("?", "query"),
    ("#top", "fragment"),
    ("#", "fragment"),
    ("/tenant?x=1#top", "query"),
]


def _client_of(api: Flavour, scripted: ScriptedServer, *servers: str) -> ClientProxy:
    """A client of the resource ``scripted`` plays: its metadata names ``servers``, and the
    first one's metadata repeats its issuer exactly (so RFC 8414 §3.3 would hold)."""
    resource = scripted.url + "/mcp"
    scripted.reply(
        Reply.json({"resource": resource, "authorization_servers": list(servers)}),
        Reply.json(
            {
                "issuer": servers[0],
                "authorization_endpoint": f"{scripted.url}/authorize",
                "token_endpoint": f"{scripted.url}/token",
                "code_challenge_methods_supported": ["S256"],
            }
        ),
    )
    return api.client(resource=resource, redirect_uris=[REDIRECT], storage=api.storage())


@pytest.mark.parametrize(("suffix", "part"), HOSTILE)
def test_an_issuer_with_a_query_or_fragment_is_refused(
    api: Flavour, scripted: ScriptedServer, suffix: str, part: str
) -> None:
    issuer = scripted.url + suffix
    client = _client_of(api, scripted, issuer)
    with pytest.raises(DiscoveryError) as caught:
        client.discover()
    message = str(caught.value)
    assert f"must not have a {part}" in message
    assert repr(issuer) in message
    assert "RFC 8414 §2" in message
    assert "auth_server" in message  # what to do: configure the server, or fix the resource
    # Refused from the resource's document alone: the named server is never asked, and the
    # client remembers nothing of it.
    assert [r.path for r in scripted.received] == [f"{PRM}/mcp"]
    assert _snapshot(client.storage_proxy()) == {}


@pytest.mark.parametrize("suffix", ["", "/tenant", "/"])
def test_an_issuer_identifier_is_still_taken(
    api: Flavour, scripted: ScriptedServer, suffix: str
) -> None:
    """The rule refuses the query and the fragment, nothing else an issuer may be."""
    issuer = scripted.url + suffix
    assert _client_of(api, scripted, issuer).discover().issuer == issuer


def test_only_the_entry_used_is_judged(api: Flavour, scripted: ScriptedServer) -> None:
    """The first entry is the issuer (RFC 9728 §2 lets the client choose); a later one with a
    query is never used, so it does not make the document unusable."""
    client = _client_of(api, scripted, scripted.url, scripted.url + "?x")
    assert client.discover().issuer == scripted.url


def _snapshot(storage: ClientProxy) -> dict[str, Any]:
    return {key: storage.retrieve_token(key) for key in storage.list_tokens()}


def _request(api: Flavour, client: ClientProxy, url: str) -> httpx.Response:
    """One request through the client's httpx auth (RFC 9728 §5.1 on a 401)."""
    if api.portal is None:
        with httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http:
            return http.get(url)

    async def run() -> httpx.Response:
        auth = client.client.httpx_auth(authorize=auto_approve)
        async with httpx.AsyncClient(auth=auth) as http:
            return await http.get(url)

    response: httpx.Response = api.portal.call(run)
    return response


def test_a_resource_that_moves_to_such_an_issuer_loses_nothing(
    api: Flavour, server: MockAuthServer, scripted: ScriptedServer
) -> None:
    """A resource (scripted) named MockAuthServer, and the client holds a registration and a
    token from it; then the resource refuses the token and names an issuer with a query. The
    client refuses to follow, sends nothing more, and keeps all it had."""
    resource = scripted.url + "/mcp"
    server.settings.resources = (resource,)
    prm_url = f"{scripted.url}{PRM}/mcp"
    scripted.reply(Reply.json({"resource": resource, "authorization_servers": [server.url]}))
    client = api.client(
        resource=resource,
        client_name="MCP App",
        redirect_uris=[REDIRECT],
        token_endpoint_auth_method="none",
        storage=api.storage(),
    )
    assert client.discover().issuer == server.url
    assert authorize(client).access_token
    before = _snapshot(client.storage_proxy())
    assert {key.split(":", 1)[0] for key in before} >= {"resource", "registration"}
    assert before[f"resource:{resource}"]["issuer"] == server.url

    evil = server.url + "?tenant=evil"
    challenge = f'Bearer resource_metadata="{prm_url}"'
    scripted.received.clear()
    scripted.reply(
        Reply(401, headers={"WWW-Authenticate": challenge}),
        Reply.json({"resource": resource, "authorization_servers": [evil]}),
    )
    server.requests.clear()
    with pytest.raises(DiscoveryError, match=r"must not have a query.*RFC 8414 §2"):
        _request(api, client, resource)
    assert [(r.method, r.path) for r in scripted.received] == [
        ("GET", "/mcp"),
        ("GET", f"{PRM}/mcp"),
    ]
    assert len(server.requests) == 0  # nothing sent to the server it had, nor to the new one
    assert _snapshot(client.storage_proxy()) == before
    assert client.issuer == server.url
    assert server.errors == []


@pytest.mark.parametrize(
    "issuer",
    [
        "https://as.example?",
        "https://as.example#",
        "https://as.example/?t=1",
        "https://as.example#f",
    ],
)
def test_a_configured_issuer_follows_the_same_rule(issuer: str) -> None:
    """``auth_server`` too: not even an empty query or fragment (RFC 8414 §2)."""
    with pytest.raises(ConfigurationError, match=r"RFC 8414 §2"):
        OAuth2Config(auth_server=issuer)
