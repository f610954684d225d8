# mypy: ignore-errors
"""The MCP Python SDK's half of ``bench_mcp_sdk.py``: a refresh storm through its OAuth provider.

Runs INSIDE the SDK's own virtual environment (``tests/interop/mcp_sdk_server/.venv``: ``mcp``
2.x needs ``httpx2``, which must never enter our process); ``bench_mcp_sdk.py`` starts it with
that interpreter, writes the parameters to its stdin as one JSON object (``issuer``,
``client_id``, ``client_secret``, ``auth_method``, ``access_token``, ``refresh_token``,
``resource_url``, ``concurrent``, ``mode``) and reads one JSON object back from its stdout.

``--mode storm``: an ``OAuthClientProvider`` (``mcp.client.auth``) whose ``TokenStorage`` holds
the pre-registered client and the token, behind ``httpx2.AsyncClient(auth=provider)``; N
concurrent GETs at the resource URL. The provider never restores an expiry from storage (its
``_initialize`` loads ``current_tokens`` and ``client_info`` only, and ``token_expiry_time``
stays ``None``, which ``is_token_valid`` reads as "never expires"), so the token is made expired
the only way it offers: ``provider.context.token_expiry_time`` set in the past before the first
request (``_initialize`` leaves that field alone). The first request through the provider then
refreshes, under ``context.lock``. Requests carry ``MCP-Protocol-Version: 2025-06-18`` as an MCP
transport's do after initialization, which makes the refresh send ``resource`` (RFC 8707).

``--mode restart``: the same provider without that assignment, as a process that just loaded
the token from storage; the caller has expired the access token at the server. Reports what the
provider does with the 401: the requests it makes, and the error it ends with.

Prints ``{"elapsed_ms", "ok", "statuses", "stored_tokens", "max_in_flight", "requests", "error"}``.
"""

import asyncio
import json
import sys
import time
from types import SimpleNamespace

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:8080/cb"


class Storage(TokenStorage):
    """Holds the pre-registered client and the token; counts the tokens the provider stores."""

    def __init__(self, client: OAuthClientInformationFull, token: OAuthToken) -> None:
        self.client = client
        self.token = token
        self.stored = 0

    async def get_tokens(self):
        return self.token

    async def set_tokens(self, tokens):
        self.token = tokens
        self.stored += 1

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


class Recording(httpx2.AsyncHTTPTransport):
    """Records every request the client sends and the most requests in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.max_in_flight = 0
        self.log = []

    async def handle_async_request(self, request):
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await super().handle_async_request(request)
        finally:
            self.in_flight -= 1
        self.log.append(f"{request.method} {request.url.path} {response.status_code}")
        return response


async def run(args) -> dict:
    client_info = OAuthClientInformationFull(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_endpoint_auth_method=args.auth_method,
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
    )
    token = OAuthToken(
        access_token=args.access_token, refresh_token=args.refresh_token, expires_in=3600
    )
    storage = Storage(client_info, token)
    provider = OAuthClientProvider(
        server_url=args.resource_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[REDIRECT_URI], grant_types=["authorization_code", "refresh_token"]
        ),
        storage=storage,
    )
    if args.mode == "storm":
        provider.context.token_expiry_time = time.time() - 10
    headers = {"MCP-Protocol-Version": "2025-06-18"}

    # Warm httpx2 up on a plain client (no provider, no token request) before timing.
    async with httpx2.AsyncClient() as plain:
        (
            await plain.get(f"{args.issuer}/.well-known/oauth-authorization-server")
        ).raise_for_status()

    transport = Recording()
    result = {"error": None}
    async with httpx2.AsyncClient(auth=provider, transport=transport) as client:
        count = args.concurrent if args.mode == "storm" else 1
        start = time.perf_counter()
        outcomes = await asyncio.gather(
            *(client.get(args.resource_url, headers=headers) for _ in range(count)),
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - start
    statuses = {}
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            key = type(outcome).__name__
            result["error"] = f"{key}: {outcome}"
        else:
            key = str(outcome.status_code)
        statuses[key] = statuses.get(key, 0) + 1
    result.update(
        elapsed_ms=elapsed * 1000,
        ok=statuses.get("200", 0) == count,
        statuses=statuses,
        stored_tokens=storage.stored,
        max_in_flight=transport.max_in_flight,
        requests=transport.log if args.mode == "restart" else [],
    )
    return result


def main() -> int:
    # Parameters arrive as one JSON object on stdin, not argv: they include a client secret
    # and tokens, which a process listing would show.
    args = SimpleNamespace(**json.load(sys.stdin))
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
