"""Every endpoint of server metadata is held to the URL rules (issue 12, item 17).

RFC 8414 §2 and OAuth 2.1 §1.5: the client sends its credentials and tokens to the endpoints a
server's metadata names, so each of them must use https, plain http being allowed only on
loopback. ``check_metadata`` walks ``_discovery.ENDPOINTS``; a mutation test found that only
the token and introspection endpoints were tested, so one missing from the list, or a check
that stopped early, went unnoticed. Each endpoint is tried here on its own, both ways: refused
as ``http://`` to a remote host, accepted as https or as http on loopback. Served by a scripted
loopback server, sync and async.
"""

from __future__ import annotations

from typing import Any

import pytest

from mcp_oauth_dynamicclient import DiscoveryError
from mcp_oauth_dynamicclient._discovery import ENDPOINTS, check_metadata
from mcp_oauth_dynamicclient._generated import AuthorizationServerMetadata
from tests.clients import REDIRECT
from tests.flavours import Flavour
from tests.scripted_server import Reply, ScriptedServer

METADATA_PATH = "/.well-known/oauth-authorization-server"

ALL_EIGHT = [
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "device_authorization_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
]


def metadata(issuer: str, **fields: Any) -> dict[str, Any]:
    """Metadata a scripted server serves for itself, every endpoint on its own origin."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "registration_endpoint": f"{issuer}/register",
        "code_challenge_methods_supported": ["S256"],
        **fields,
    }


def test_the_endpoint_list_is_the_eight_of_rfc_8414_and_oidc() -> None:
    """The parametrisations below cover every name ``check_metadata`` is meant to check."""
    assert sorted(ENDPOINTS) == sorted(ALL_EIGHT)


@pytest.mark.parametrize("name", ALL_EIGHT)
def test_an_http_endpoint_on_a_remote_host_is_refused(
    api: Flavour, scripted: ScriptedServer, name: str
) -> None:
    url = f"http://remote.example/{name}"
    scripted.reply(Reply.json(metadata(scripted.url, **{name: url})))
    client = api.client(auth_server=scripted.url, redirect_uris=[REDIRECT])
    with pytest.raises(DiscoveryError, match=f"^metadata {name} must use https") as caught:
        client.discover()
    assert url in str(caught.value)
    # Refused as it was read: nothing was sent anywhere else, and nothing was kept.
    assert [r.path for r in scripted.received] == [METADATA_PATH]
    scripted.reply(Reply.json(metadata(scripted.url)))
    assert client.discover().issuer == scripted.url  # the refused document was not cached


@pytest.mark.parametrize("name", ALL_EIGHT)
@pytest.mark.parametrize(
    "url",
    [
        "https://remote.example/{name}",
        "http://localhost:9/{name}",
        "http://127.0.0.2/{name}",
        "http://[::1]:9/{name}",
    ],
    ids=["https", "localhost", "127/8", "ipv6-loopback"],
)
def test_an_https_or_loopback_endpoint_is_accepted(
    api: Flavour, scripted: ScriptedServer, name: str, url: str
) -> None:
    endpoint = url.format(name=name)
    scripted.reply(Reply.json(metadata(scripted.url, **{name: endpoint})))
    client = api.client(auth_server=scripted.url, redirect_uris=[REDIRECT])
    assert getattr(client.discover(), name) == endpoint


@pytest.mark.parametrize("name", ALL_EIGHT)
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://remote.example/x", "must be an absolute https URL"),
        ("https:///x", "must be an absolute https URL"),
        ("https://remote.example/x#frag", "must not have a fragment"),
        ("https://remote.example:99999/x", "is not a TCP port"),
        ("https://[::1/x", "is not a valid URL"),
    ],
)
def test_check_metadata_refuses_each_endpoint_for_each_reason(
    name: str, url: str, why: str
) -> None:
    """The pure check, one endpoint and one fault at a time (no server needed to judge)."""
    issuer = "https://as.example"
    document = AuthorizationServerMetadata(**metadata(issuer, **{name: url}))
    with pytest.raises(DiscoveryError, match=f"metadata {name}.*{why}"):
        check_metadata(document, issuer)


def test_check_metadata_passes_a_document_with_all_eight_secure() -> None:
    issuer = "https://as.example"
    document = AuthorizationServerMetadata(
        **metadata(issuer, **{name: f"{issuer}/{name}?tenant=1" for name in ALL_EIGHT})
    )
    check_metadata(document, issuer)  # a query is allowed in an endpoint (RFC 8414 §2)
