"""The storage keys of a client: one scheme for its registration, tokens and pending requests.

One ``TokenStorage`` may serve many clients and servers, so every key names the issuer:

- ``registration:<issuer>``: the client's registration with that server (RFC 7591 §3.2.1);
- ``token:<issuer>:<client_id>``: the tokens of that client (RFC 6749 §5.1);
- ``pending:<issuer>:<sha256(state)>``: an authorization request waiting for its callback.
  The state is hashed: a key may be listed or logged, and the state must stay unguessable
  (RFC 6749 §10.12);
- ``resource:<resource>``: what the protected resource's metadata said (RFC 9728 §2): its
  authorization server, so a restarted client sends its stored token at once.
"""

from __future__ import annotations

import hashlib

__all__ = ["client_id_of", "pending_key", "registration_key", "resource_key", "token_key"]


def registration_key(issuer: str) -> str:
    """Where the registration with ``issuer`` is kept."""
    return f"registration:{issuer}"


def token_key(issuer: str, client_id: str) -> str:
    """Where the tokens of ``client_id`` at ``issuer`` are kept."""
    return f"token:{issuer}:{client_id}"


def pending_key(issuer: str, state: str) -> str:
    """Where the authorization request with ``state`` waits for its callback."""
    return f"pending:{issuer}:{hashlib.sha256(state.encode()).hexdigest()}"


def resource_key(resource: str) -> str:
    """Where what the metadata of the protected ``resource`` named is kept."""
    return f"resource:{resource}"


def client_id_of(key: str) -> str | None:
    """The client id in a token key (``token:<issuer>:<client_id>``), else None."""
    return key.rsplit(":", 1)[-1] if key.startswith("token:") else None
