"""The product description's ``FastAPI Integration`` example, run as written.

The example's body is unchanged but for its placeholder URL (the mock server's) and where its
app is built: inside the test, so each run has its own ``OAuth2Client``. It leaves
``oauth_token`` to the reader; ``mcp_oauth_dynamicclient.fastapi.oauth_token`` is that
dependency (the bearer token of the request, unchecked), imported before the example.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mcp_oauth_dynamicclient.fastapi import oauth_token  # what the example leaves out
from mcp_oauth_dynamicclient.testing import MockAuthServer


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    with MockAuthServer() as mock:
        yield mock
    assert mock.errors == []


def seed_app(auth_server: str):  # type: ignore[no-untyped-def]  # the example is untyped
    # ---- the example, as written (its URL replaced) ----
    from fastapi import Depends, FastAPI, HTTPException

    from mcp_oauth_dynamicclient import OAuth2Client

    app = FastAPI()
    oauth_client = OAuth2Client(auth_server=auth_server)

    async def get_current_user(token: str = Depends(oauth_token)):  # type: ignore[no-untyped-def]
        try:
            user_info = await oauth_client.introspect_token(token)
            if not user_info["active"]:
                raise HTTPException(401, "Invalid token")
            return user_info
        except Exception:
            raise HTTPException(401, "Authentication failed")  # noqa: B904

    @app.get("/protected")
    async def protected_route(user=Depends(get_current_user)):  # type: ignore[no-untyped-def]  # noqa: B008
        return {"user": user["sub"], "scopes": user["scope"]}

    # ---- end of the example ----
    return app


def test_the_fastapi_example_runs_as_written(server: MockAuthServer) -> None:
    client_id = server.create_client({"redirect_uris": ["http://127.0.0.1/callback"]}).client_id
    token = server.issue_token(client_id, scope="mcp:read", resource=[server.resource_url])

    with TestClient(seed_app(server.url)) as http:
        response = http.get("/protected", headers={"Authorization": f"Bearer {token.access_token}"})
        assert response.status_code == 200
        assert response.json() == {"user": "test-user", "scopes": "mcp:read"}

        refused = http.get("/protected", headers={"Authorization": "Bearer not-a-real-token"})
        assert refused.status_code == 401
        assert refused.json() == {"detail": "Authentication failed"}

        missing = http.get("/protected")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"

        malformed = http.get("/protected", headers={"Authorization": "Bearer a b"})
        assert malformed.status_code == 400
        assert 'error="invalid_request"' in malformed.headers["www-authenticate"]
    # The example's client registered itself (RFC 7591) to introspect (RFC 7662 §2.1).
    assert server.requests.count("/register", method="POST") == 1
    assert server.requests.count("/introspect", method="POST") == 2
