"""The client the MCP conformance suite drives: ``client.py <mcp-server-url>``.

The harness (``@modelcontextprotocol/conformance client --command ...``) appends the scenario's
MCP server URL as the last argument and sets ``MCP_CONFORMANCE_SCENARIO`` (the scenario name),
``MCP_CONFORMANCE_PROTOCOL_VERSION`` (0.2.x only: the spec version the scenario runs at) and,
for some scenarios, ``MCP_CONFORMANCE_CONTEXT`` (JSON: pre-registered credentials and the like).
This script holds the MCP side only (JSON-RPC over Streamable HTTP) and the reading of that
context; every OAuth step is the library's, through its public API.

What it uses of the library:

- ``SyncOAuth2Client(resource=<mcp url>, ...)`` with no ``auth_server``: it discovers the
  authorization server from the MCP server (RFC 9728, then RFC 8414 / OIDC), and chooses its
  token endpoint authentication from what that server advertises
  (``token_endpoint_auth_method="auto"``, the default without ``auth_server``).
- Settings: ``client_name``, ``redirect_uris``, ``client_metadata_url`` (a client ID metadata
  document URL, used when the AS advertises ``client_id_metadata_document_supported``),
  ``client_id`` / ``client_secret`` (pre-registered), ``private_key`` (PEM, ``private_key_jwt``);
  ``scope`` left unset so that the challenge / PRM decide it (or it is omitted).
- ``SyncOAuth2Client.httpx_auth(authorize=...)`` -> ``httpx.Auth``: bearer token, discovery and
  authorization on a 401, refresh, step-up on a 403 ``insufficient_scope`` (bounded).
- ``mcp_oauth_dynamicclient.testing.auto_approve``: the ``authorize`` callback for tests
  (authorization URL in, callback URL out; follows the AS's redirect without a person).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import httpx

from mcp_oauth_dynamicclient import SyncOAuth2Client
from mcp_oauth_dynamicclient.testing import auto_approve

CLIENT_INFO = {"name": "mcp-oauth-dynamicclient-conformance", "version": "0.0.0"}
# The client ID metadata document URL the suite expects a CIMD-capable client to use
# (auth/basic-cimd checks the authorization request's client_id against exactly this).
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
REDIRECT_URI = "http://127.0.0.1:3000/callback"
# Spec versions with the initialize handshake; later ones are stateless (per-request _meta).
STATEFUL = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}


class Mcp:
    """JSON-RPC over Streamable HTTP, stateful (initialize first) or stateless (2026-07-28)."""

    def __init__(self, http: httpx.Client, url: str, version: str) -> None:
        self.http, self.url, self.version = http, url, version
        self.stateless = version not in STATEFUL
        self.headers = {"Accept": "application/json, text/event-stream"}
        self.next_id = 0

    def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self.next_id += 1
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        response = self.post(body)
        message = read_message(response)
        if "error" in message:
            raise SystemExit(f"{method}: {message['error']}")
        return message["result"]

    def notify(self, method: str) -> None:
        self.post({"jsonrpc": "2.0", "method": method})

    def post(self, body: dict[str, Any]) -> httpx.Response:
        if self.stateless:
            body.setdefault("params", {})["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": self.version,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
            }
            self.headers["MCP-Protocol-Version"] = self.version
        response = self.http.post(self.url, json=body, headers=self.headers)
        response.raise_for_status()
        if session := response.headers.get("mcp-session-id"):
            self.headers["Mcp-Session-Id"] = session
        return response

    def initialize(self) -> None:
        if self.stateless:
            return
        result = self.request(
            "initialize",
            {"protocolVersion": self.version, "capabilities": {}, "clientInfo": CLIENT_INFO},
        )
        self.headers["MCP-Protocol-Version"] = result["protocolVersion"]
        self.notify("notifications/initialized")


def read_message(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC response in a JSON body or in the ``data:`` of a ``text/event-stream``."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and (data := line[5:].strip()):
                message: dict[str, Any] = json.loads(data)
                if "id" in message:
                    return message
        raise SystemExit("no JSON-RPC response in the event stream")
    parsed: dict[str, Any] = response.json()
    return parsed


def settings_from(context: dict[str, Any], scenario: str) -> dict[str, Any]:
    """Library settings from the harness's context (pre-registered credentials, keys) and, for
    the extensions, the grant the scenario is about."""
    names = {"client_id": "client_id", "client_secret": "client_secret"}
    names["private_key_pem"] = "private_key"
    names["signing_algorithm"] = "client_assertion_algorithm"
    settings = {ours: context[theirs] for theirs, ours in names.items() if theirs in context}
    if "client-credentials" in scenario:  # SEP-1046: the context is a pre-registered client's
        settings["grant"] = "client_credentials"
    if "valid_jwt" in context:  # SEP-1933: the workload's JWT is the grant
        settings.update(grant="jwt_bearer", assertion=context["valid_jwt"])
    if "idp_id_token" in context:  # SEP-990: an ID-JAG from the enterprise IdP is the grant
        idp = SyncOAuth2Client(
            auth_server=context["idp_issuer"],
            client_id=context["idp_client_id"],
            token_endpoint_auth_method="none",
        )
        settings.update(grant="jwt_bearer", idp=idp, id_token=context["idp_id_token"])
    return settings


def main(url: str) -> None:
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION", "2025-11-25")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT", "{}"))
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    with SyncOAuth2Client(
        resource=url,
        client_name=CLIENT_INFO["name"],
        redirect_uris=[REDIRECT_URI],
        client_metadata_url=CLIENT_METADATA_URL,
        **settings_from(context, scenario),
    ) as oauth:
        auth = oauth.httpx_auth(authorize=auto_approve)
        with httpx.Client(auth=auth, timeout=10) as http:
            mcp = Mcp(http, url, version)
            mcp.initialize()
            tools = mcp.request("tools/list")["tools"]
            for tool in tools:
                mcp.request("tools/call", {"name": tool["name"], "arguments": {}})


if __name__ == "__main__":
    main(sys.argv[-1])
