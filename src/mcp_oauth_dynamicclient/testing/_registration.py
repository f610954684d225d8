"""Dynamic client registration (RFC 7591 §3) and client management (RFC 7592 §2).

``POST /register`` takes ``ClientMetadata`` as JSON and answers 201 with a
``ClientInformationResponse``: the registered metadata with defaults filled in, ``client_id``,
``client_id_issued_at``, a ``client_secret`` with ``client_secret_expires_at`` for
``client_secret_basic``/``client_secret_post`` clients, the ``registration_access_token`` and
the ``registration_client_uri`` (RFC 7592 §3). When the server is configured with an initial
access token, registration requires it as a Bearer token (RFC 7591 §3).

At the ``registration_client_uri`` (``/register/{client_id}``), with the registration access
token as a Bearer token: ``GET`` reads the configuration (RFC 7592 §2.1); ``PUT`` replaces it
(§2.2: a full replacement, omitted fields fall back to their defaults; ``client_id`` must match;
a ``client_secret``, if sent, must match; the server-managed fields must not be sent), optionally
rotating the registration access token, and issuing a new secret when the old one expired;
``DELETE`` deprovisions the client and every token it holds (§2.3, 204). A bad token or an
unknown client is a 401 (§2.1).
"""

from __future__ import annotations

import hmac
from typing import Any, TypeVar
from urllib.parse import quote

import cattrs
from starlette.requests import Request
from starlette.responses import Response

from .._generated import (
    ClientInformationResponse,
    ClientMetadata,
    ClientUpdateRequest,
    converter,
)
from ._client_metadata import validate_client_metadata
from ._context import Context, Paths
from ._http import (
    NO_STORE,
    OAuthProblem,
    bearer_problem,
    bearer_token,
    content_type,
    json_object,
    model_response,
    registration_error_response,
    shape_problem,
)
from ._state import ClientRecord, new_secret

__all__ = ["client_information", "create_client_record", "manage_client", "register_client"]

M = TypeVar("M")

_SECRET_METHODS = ("client_secret_basic", "client_secret_post")
_SERVER_MANAGED = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)


def _metadata_error(description: str) -> OAuthProblem:
    return OAuthProblem("invalid_client_metadata", description)


def registration_client_uri(ctx: Context, client_id: str) -> str:
    """The client configuration endpoint of ``client_id`` (RFC 7592 §3)."""
    return ctx.url(f"{Paths.REGISTER}/{quote(client_id, safe='')}")


def client_information(ctx: Context, record: ClientRecord) -> ClientInformationResponse:
    """The RFC 7591 §3.2.1 / RFC 7592 §3 client information response for ``record``."""
    info: dict[str, Any] = converter.unstructure(record.metadata)
    info.update(
        client_id=record.client_id,
        client_id_issued_at=record.client_id_issued_at,
        registration_access_token=record.registration_access_token,
        registration_client_uri=registration_client_uri(ctx, record.client_id),
    )
    if record.client_secret is not None:
        info.update(
            client_secret=record.client_secret,
            client_secret_expires_at=record.client_secret_expires_at,
        )
    return converter.structure(info, ClientInformationResponse)


def _secret_expiry(ctx: Context, now: int) -> int:
    lifetime = ctx.settings.client_secret_lifetime
    return now + lifetime if lifetime else 0


def create_client_record(
    ctx: Context,
    metadata: ClientMetadata,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> ClientRecord:
    """Validate ``metadata`` and store a new client.

    Raises:
        OAuthProblem: the metadata breaks an RFC 7591 §2 rule.
        ValueError: ``client_secret`` for a client that gets none, or a taken ``client_id``.
    """
    normalized = validate_client_metadata(ctx, metadata)
    now = ctx.clock.timestamp()
    confidential = normalized.token_endpoint_auth_method in _SECRET_METHODS
    if client_secret is not None and not confidential:
        raise ValueError("only client_secret_basic and client_secret_post clients get a secret")
    record = ClientRecord(
        client_id=client_id if client_id is not None else new_secret(16),
        metadata=normalized,
        client_secret=(client_secret or new_secret()) if confidential else None,
        client_secret_expires_at=_secret_expiry(ctx, now) if confidential else 0,
        client_id_issued_at=now,
        registration_access_token=new_secret(),
    )
    ctx.state.add_client(record)
    return record


async def _read_json(request: Request, model: type[M]) -> tuple[dict[str, Any], M]:
    if content_type(request) != "application/json":
        raise _metadata_error("the body must be application/json")
    body = json_object(await request.body())
    if body is None:
        raise _metadata_error("the body must be a JSON object")
    try:
        return body, converter.structure(body, model)
    except cattrs.BaseValidationError as exc:
        raise _metadata_error(shape_problem(exc)) from None


def _check_initial_access_token(ctx: Context, request: Request) -> None:
    expected = ctx.settings.initial_access_token
    if expected is None:
        return
    token = bearer_token(request)
    if token is None:
        raise bearer_problem(None, "an initial access token is required")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise bearer_problem("invalid_token", "the initial access token is not valid")


async def register_client(ctx: Context, request: Request) -> Response:
    """``POST /register``: RFC 7591 §3.1 registration, 201 or a §3.2.2 error."""
    try:
        _check_initial_access_token(ctx, request)
        _, metadata = await _read_json(request, ClientMetadata)
        record = create_client_record(ctx, metadata)
    except OAuthProblem as problem:
        return registration_error_response(problem)
    return model_response(client_information(ctx, record), status=201, headers=NO_STORE)


def _managed_client(ctx: Context, request: Request) -> ClientRecord:
    token = bearer_token(request)
    if token is None:
        raise bearer_problem(None, "a registration access token is required")
    record = ctx.state.client_for_registration_token(token)
    if record is None or record.client_id != request.path_params["client_id"]:
        raise bearer_problem("invalid_token", "unknown client or invalid registration token")
    return record


async def manage_client(ctx: Context, request: Request) -> Response:
    """``GET``/``PUT``/``DELETE`` on the client configuration endpoint (RFC 7592 §2)."""
    try:
        record = _managed_client(ctx, request)
        if request.method == "DELETE":
            ctx.state.delete_client(record.client_id)
            return Response(status_code=204, headers=NO_STORE)
        if request.method == "PUT":
            await _update_client(ctx, request, record)
    except OAuthProblem as problem:
        return registration_error_response(problem)
    return model_response(client_information(ctx, record), headers=NO_STORE)


async def _update_client(ctx: Context, request: Request, record: ClientRecord) -> None:
    """RFC 7592 §2.2: replace the metadata of ``record``."""
    body, update = await _read_json(request, ClientUpdateRequest)
    managed = [name for name in _SERVER_MANAGED if name in body]
    if managed:
        raise _metadata_error(f"the server manages {', '.join(managed)}; leave it out")
    if update.client_id != record.client_id:
        raise _metadata_error("client_id does not match the client being updated")
    if update.client_secret is not None and not hmac.compare_digest(
        update.client_secret.encode(), (record.client_secret or "").encode()
    ):
        raise _metadata_error("client_secret does not match the issued secret")
    fields: dict[str, Any] = converter.unstructure(update)
    fields.pop("client_id")
    fields.pop("client_secret", None)
    metadata = validate_client_metadata(ctx, converter.structure(fields, ClientMetadata))
    now = ctx.clock.timestamp()
    with ctx.state.lock:
        record.metadata = metadata
        if metadata.token_endpoint_auth_method not in _SECRET_METHODS:
            record.client_secret, record.client_secret_expires_at = None, 0
        elif record.client_secret is None or record.secret_expired(now):
            record.client_secret = new_secret()
            record.client_secret_expires_at = _secret_expiry(ctx, now)
        if ctx.settings.rotate_registration_access_token:
            ctx.state.rotate_registration_token(record)
