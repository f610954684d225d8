"""The README's Quick Start, run against the embedded MockAuthServer, step by step.

    python examples/quickstart.py

The mock server approves every authorization at once, so where a person would open the
authorization URL in a browser, the script follows the server's redirect itself.
"""

from __future__ import annotations

import asyncio

import httpx

from mcp_oauth_dynamicclient import OAuth2Client
from mcp_oauth_dynamicclient.testing import MockAuthServer


def step(title: str, detail: object = "") -> None:
    print(f"- {title}{': ' if detail != '' else ''}{detail}")


async def main() -> None:
    async with MockAuthServer() as server:
        step("authorization server", server.url)
        async with OAuth2Client(
            auth_server=server.url,
            client_name="My MCP Application",
            redirect_uris=["http://localhost:8080/callback"],
            resource=f"{server.url}/mcp",
        ) as client:
            metadata = await client.discover()
            step("discovered (RFC 8414)", metadata.token_endpoint)

            registration = await client.register()
            step("registered (RFC 7591), client ID", registration.client_id)

            info = await client.get_client_info(registration.client_id)
            step("read back (RFC 7592), client name", info["client_name"])

            updated = await client.update_client(client_name="My MCP Application v2")
            step("updated (RFC 7592), client name", updated["client_name"])

            auth_url = await client.get_authorization_url(scope="mcp:read mcp:write")
            step("authorization URL (PKCE S256)", auth_url.split("?")[0] + "?…")

            async with httpx.AsyncClient() as browser:  # the mock approves without a person
                callback = (await browser.get(auth_url)).headers["location"]
            step("callback received", callback.split("?")[0] + "?code=…&state=…&iss=…")

            token = await client.exchange_code(callback)
            step("tokens received, expires in", f"{token.expires_in} s")

            response = await client.authenticated_request("GET", f"{server.url}/mcp", token=token)
            step("protected MCP resource", f"HTTP {response.status_code} {response.json()}")

            refreshed = await client.refresh_token()
            step(
                "refreshed (RFC 6749 §6), new token differs",
                refreshed.access_token != token.access_token,
            )

            introspection = await client.introspect_token(refreshed)
            step("introspected (RFC 7662), active", introspection["active"])

            await client.revoke_token(refreshed)
            after = await client.introspect_token(refreshed)
            step("revoked (RFC 7009), active now", after["active"])

            await client.delete_client()
            step("client deleted (RFC 7592)", registration.client_id)


if __name__ == "__main__":
    asyncio.run(main())
