"""In-memory server state: clients, grants, codes, tokens and device authorizations.

A :class:`Grant` is one authorization decision (an approved ``/authorize`` request, an approved
device code, a client credentials request). Every code and token hangs off a grant, so revoking
the grant revokes them all at once: that is what RFC 6749 §4.1.2 asks when a code is replayed,
what RFC 7009 §2.1 asks when a refresh token is revoked, and what OAuth 2.1 §4.3.1 asks when a
rotated refresh token is replayed. A token whose client was deleted (RFC 7592 §2.3) is dead too.

Tokens are opaque random strings or RFC 9068 JWTs; either way the records here are the truth
about them (a JWT access token is remembered too, so revoking it works). A token bound to a
DPoP key (RFC 9449) records the key's thumbprint in ``jkt``. The event loop
thread and the test thread (``approve()``, ``create_client()``) share the state under one lock.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Literal

import attrs

from .._generated import ClientMetadata

__all__ = [
    "AccessToken",
    "AuthorizationCode",
    "ClientRecord",
    "DeviceAuthorization",
    "Grant",
    "McpSession",
    "RefreshToken",
    "ServerState",
    "new_secret",
    "normalize_user_code",
]

_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no look-alikes


def new_secret(nbytes: int = 32) -> str:
    """A random URL-safe string: a token, code, secret or identifier."""
    return secrets.token_urlsafe(nbytes)


def new_user_code() -> str:
    """An RFC 8628 §6.1 user code such as ``WDJB-MJHT`` (8 characters, 20-letter alphabet)."""
    letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalize_user_code(user_code: str) -> str:
    """Case and dashes do not matter when a user types a code (RFC 8628 §6.1)."""
    return user_code.replace("-", "").replace(" ", "").upper()


@attrs.define(eq=False)
class ClientRecord:
    """A registered client (RFC 7591 §3.2.1) and its management credential (RFC 7592 §3)."""

    client_id: str
    metadata: ClientMetadata
    client_secret: str | None = attrs.field(repr=False)
    client_secret_expires_at: int
    client_id_issued_at: int
    registration_access_token: str = attrs.field(repr=False)

    @property
    def auth_method(self) -> str:
        """The registered ``token_endpoint_auth_method`` (defaults filled in at registration)."""
        return self.metadata.token_endpoint_auth_method or "client_secret_basic"

    def allows_grant(self, grant_type: str) -> bool:
        """Whether ``grant_type`` is among the registered ``grant_types`` (RFC 7591 §2)."""
        return grant_type in (self.metadata.grant_types or ())

    def secret_expired(self, now: float) -> bool:
        """Whether the client secret has passed ``client_secret_expires_at`` (0 is never)."""
        return self.client_secret_expires_at != 0 and now >= self.client_secret_expires_at


@attrs.define(eq=False)
class Grant:
    """One authorization decision; its codes and tokens die with it."""

    client_id: str
    subject: str
    scope: tuple[str, ...]
    resources: tuple[str, ...]
    auth_time: int
    nonce: str | None = None
    revoked: bool = False


@attrs.define(eq=False)
class AuthorizationCode:
    """An authorization code (RFC 6749 §4.1.2) with its PKCE challenge (RFC 7636 §4.4)."""

    grant: Grant
    redirect_uri: str | None
    code_challenge: str = attrs.field(repr=False)
    expires_at: float
    used: bool = False
    #: The DPoP key thumbprint the code is bound to (RFC 9449 §10), if any.
    dpop_jkt: str | None = None


@attrs.define(eq=False)
class AccessToken:
    """An access token (RFC 6749 §1.4) and what introspection says about it; ``jkt`` is the
    RFC 7638 thumbprint of the DPoP key it is bound to (RFC 9449 §6), if any."""

    grant: Grant
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    issued_at: int
    expires_at: int
    token_id: str = attrs.field(factory=lambda: new_secret(12))
    revoked: bool = False
    jkt: str | None = None


@attrs.define(eq=False)
class RefreshToken:
    """A refresh token (RFC 6749 §1.5); ``retired`` once rotation replaced it."""

    grant: Grant
    issued_at: int
    expires_at: int | None
    retired: bool = False
    revoked: bool = False
    #: The DPoP key a public client's refresh token is bound to (RFC 9449 §5).
    jkt: str | None = None


DeviceStatus = Literal["pending", "approved", "denied", "redeemed"]


@attrs.define(eq=False)
class DeviceAuthorization:
    """A device authorization request (RFC 8628 §3.1-§3.5) and its polling state."""

    device_code: str = attrs.field(repr=False)
    user_code: str
    client_id: str
    scope: tuple[str, ...]
    resources: tuple[str, ...]
    expires_at: float
    interval: int
    last_poll: float
    status: DeviceStatus = "pending"
    subject: str | None = None


@attrs.define(eq=False)
class McpSession:
    """An MCP session (MCP 2025-11-25 Transports, "Session Management"): its ``Mcp-Session-Id``,
    the user it is bound to and the protocol version ``initialize`` agreed on."""

    session_id: str
    subject: str
    protocol_version: str
    initialized: bool = False


class ServerState:
    """Everything the server knows, guarded by :attr:`lock` (re-entrant)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clients: dict[str, ClientRecord] = {}
        self.registration_tokens: dict[str, str] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.devices: dict[str, DeviceAuthorization] = {}
        self.user_codes: dict[str, str] = {}
        self.assertion_ids: dict[tuple[str, str], float] = {}
        #: DPoP proof ``jti`` s seen (RFC 9449 §11.1), with when they may be forgotten.
        self.dpop_proof_ids: dict[str, float] = {}
        #: The current ``DPoP-Nonce`` (RFC 9449 §8, §9).
        self.dpop_nonce: str = new_secret(16)
        self.mcp_sessions: dict[str, McpSession] = {}

    # ------------------------------------------------------------------------- clients

    def add_client(self, record: ClientRecord) -> None:
        """Store a client and index its registration access token."""
        with self.lock:
            if record.client_id in self.clients:
                raise ValueError(f"client_id {record.client_id!r} is already registered")
            self.clients[record.client_id] = record
            self.registration_tokens[record.registration_access_token] = record.client_id

    def client_for_registration_token(self, token: str) -> ClientRecord | None:
        """The client a registration access token manages (RFC 7592 §3), if any."""
        with self.lock:
            client_id = self.registration_tokens.get(token)
            return None if client_id is None else self.clients.get(client_id)

    def rotate_registration_token(self, record: ClientRecord) -> None:
        """Replace the client's registration access token; the old one stops working."""
        with self.lock:
            self.registration_tokens.pop(record.registration_access_token, None)
            record.registration_access_token = new_secret()
            self.registration_tokens[record.registration_access_token] = record.client_id

    def delete_client(self, client_id: str) -> None:
        """Deprovision a client: it, its credentials and every token it holds (RFC 7592 §2.3)."""
        with self.lock:
            record = self.clients.pop(client_id, None)
            if record is None:
                return
            self.registration_tokens.pop(record.registration_access_token, None)
            grants = [c.grant for c in self.codes.values()]
            grants += [t.grant for t in self.access_tokens.values()]
            grants += [t.grant for t in self.refresh_tokens.values()]
            for grant in grants:
                if grant.client_id == client_id:
                    grant.revoked = True
            for code in [k for k, v in self.codes.items() if v.grant.client_id == client_id]:
                del self.codes[code]
            for device in [d for d in self.devices.values() if d.client_id == client_id]:
                self.devices.pop(device.device_code, None)
                self.user_codes.pop(normalize_user_code(device.user_code), None)

    # -------------------------------------------------------------------------- tokens

    def grant_alive(self, grant: Grant) -> bool:
        """Whether the grant stands: not revoked, and its client still exists."""
        return not grant.revoked and grant.client_id in self.clients

    def mint_access_token(
        self,
        grant: Grant,
        *,
        scope: tuple[str, ...],
        audience: tuple[str, ...],
        now: int,
        lifetime: int,
        jkt: str | None = None,
        encode: Callable[[AccessToken], str] | None = None,
    ) -> tuple[str, AccessToken]:
        """Issue an access token under ``grant``: random, or what ``encode`` makes of its
        record (an RFC 9068 JWT)."""
        record = AccessToken(
            grant, scope, audience, issued_at=now, expires_at=now + lifetime, jkt=jkt
        )
        token = new_secret() if encode is None else encode(record)
        with self.lock:
            self.access_tokens[token] = record
        return token, record

    def mint_refresh_token(
        self, grant: Grant, *, now: int, lifetime: int | None, jkt: str | None = None
    ) -> str:
        """Issue a refresh token under ``grant`` (bound to the DPoP key ``jkt``, if given)."""
        expires_at = None if lifetime is None else now + lifetime
        token = new_secret()
        with self.lock:
            self.refresh_tokens[token] = RefreshToken(grant, now, expires_at, jkt=jkt)
        return token

    def active_access_token(self, token: str, now: float) -> AccessToken | None:
        """The record of a usable access token: known, unexpired, unrevoked, client alive."""
        with self.lock:
            record = self.access_tokens.get(token)
            if record is None or record.revoked or not self.grant_alive(record.grant):
                return None
            return record if now < record.expires_at else None

    def active_refresh_token(self, token: str, now: float) -> RefreshToken | None:
        """The record of a usable refresh token: known, unexpired, not retired nor revoked."""
        with self.lock:
            record = self.refresh_tokens.get(token)
            if record is None or record.revoked or record.retired:
                return None
            if not self.grant_alive(record.grant):
                return None
            if record.expires_at is not None and now >= record.expires_at:
                return None
            return record

    # -------------------------------------------------------------------------- device

    def add_device(self, device: DeviceAuthorization) -> None:
        """Store a device authorization, findable by device code and by user code."""
        with self.lock:
            self.devices[device.device_code] = device
            self.user_codes[normalize_user_code(device.user_code)] = device.device_code

    def device_by_user_code(self, user_code: str) -> DeviceAuthorization | None:
        """The device authorization a user code belongs to, if any."""
        with self.lock:
            device_code = self.user_codes.get(normalize_user_code(user_code))
            return None if device_code is None else self.devices.get(device_code)

    def pending_devices(self, now: float) -> list[DeviceAuthorization]:
        """Device authorizations still waiting for the user, oldest first."""
        with self.lock:
            return [
                d for d in self.devices.values() if d.status == "pending" and now < d.expires_at
            ]

    # ---------------------------------------------------------------------- assertions

    def use_dpop_proof_id(self, jti: str, forget_at: float, now: float) -> bool:
        """Record a DPoP proof ``jti`` (RFC 9449 §11.1); False when it was already seen."""
        with self.lock:
            for key in [k for k, until in self.dpop_proof_ids.items() if until <= now]:
                del self.dpop_proof_ids[key]
            if jti in self.dpop_proof_ids:
                return False
            self.dpop_proof_ids[jti] = forget_at
            return True

    def rotate_dpop_nonce(self) -> str:
        """Replace the ``DPoP-Nonce``; proofs carrying the old one are refused from now on."""
        with self.lock:
            self.dpop_nonce = new_secret(16)
            return self.dpop_nonce

    def use_assertion_id(self, client_id: str, jti: str, expires_at: float, now: float) -> bool:
        """Record a JWT ``jti`` (RFC 7523 §3 item 7); False when it was already used."""
        with self.lock:
            for key in [k for k, exp in self.assertion_ids.items() if exp <= now]:
                del self.assertion_ids[key]
            if (client_id, jti) in self.assertion_ids:
                return False
            self.assertion_ids[(client_id, jti)] = expires_at
            return True
