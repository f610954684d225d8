"""Shared request reading and response writing for the mock server's endpoints.

Responses are built from the generated wire models (``OAuthErrorResponse``,
``ClientRegistrationErrorResponse``, …) through the package's converter, so the server speaks
exactly the shapes the spec describes. Errors follow RFC 6749 §5.2: a JSON object with
``error`` and an ``error_description`` limited to the characters §5.2 allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import cattrs
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._generated import ClientRegistrationErrorResponse, OAuthErrorResponse, converter

__all__ = [
    "CLIENT_AUTH_PARAMS",
    "NO_STORE",
    "OAuthProblem",
    "access_token_credentials",
    "auth_challenge",
    "bearer_challenge",
    "bearer_problem",
    "bearer_token",
    "content_type",
    "form_model",
    "json_object",
    "model_response",
    "oauth_error_response",
    "optional_param",
    "read_form",
    "registration_error_response",
    "sanitize",
    "shape_problem",
]

M = TypeVar("M")

#: RFC 6749 §5.1 (and RFC 7591 §3.2.1): responses carrying credentials are not cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_NOT_ALLOWED = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class OAuthProblem(Exception):
    """An error to answer with: an RFC 6749 §5.2 ``error`` code, a status and extra headers.

    ``error`` is None only for a 401 that names no error because the request carried no
    credentials at all (RFC 6750 §3.1); such a response has no body.
    """

    def __init__(
        self,
        error: str | None,
        description: str,
        *,
        status: int = 400,
        headers: Mapping[str, str] | None = None,
        challenges: Sequence[str] = (),
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})
        #: ``WWW-Authenticate`` challenges, one header line each (RFC 9110 §11.6.1).
        self.challenges = tuple(challenges)


def bearer_problem(
    error: str | None, description: str, *, status: int = 401, **params: str | None
) -> OAuthProblem:
    """A problem answered with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3).

    Without ``error`` (no credentials were sent) the challenge carries no error code.
    """
    detail = {"error": error, "error_description": description if error else None}
    challenge = bearer_challenge(**detail, **params)
    return OAuthProblem(error, description, status=status, headers={"WWW-Authenticate": challenge})


def sanitize(description: str) -> str:
    """Fit text into the ``error_description`` character set of RFC 6749 §5.2."""
    return _NOT_ALLOWED.sub("?", description.replace('"', "'").replace("\\", "/"))


def model_response(
    model: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON response whose body is a generated model, unset fields omitted."""
    return JSONResponse(converter.unstructure(model), status_code=status, headers=headers)


def oauth_error_response(problem: OAuthProblem, *, no_store: bool = False) -> Response:
    """The RFC 6749 §5.2 error response for ``problem``."""
    headers = {**(NO_STORE if no_store else {}), **problem.headers}
    response: Response
    if problem.error is None:
        response = Response(status_code=problem.status, headers=headers)
    else:
        body = OAuthErrorResponse(
            error=problem.error, error_description=sanitize(problem.description)
        )
        response = model_response(body, status=problem.status, headers=headers)
    for challenge in problem.challenges:
        response.headers.append("WWW-Authenticate", challenge)
    return response


def registration_error_response(problem: OAuthProblem) -> Response:
    """The RFC 7591 §3.2.2 client registration error response for ``problem``."""
    headers = {**NO_STORE, **problem.headers}
    if problem.error is None:
        return Response(status_code=problem.status, headers=headers)
    body = ClientRegistrationErrorResponse(
        error=problem.error, error_description=sanitize(problem.description)
    )
    return model_response(body, status=problem.status, headers=headers)


def content_type(request: Request) -> str:
    """The media type of the request body, lower-cased, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_form(request: Request) -> ImmutableMultiDict[str, str]:
    """The ``application/x-www-form-urlencoded`` body (RFC 6749 Appendix B), UTF-8 decoded.

    Raises:
        OAuthProblem: ``invalid_request`` for another content type or undecodable bytes.
    """
    if content_type(request) != "application/x-www-form-urlencoded":
        raise OAuthProblem("invalid_request", "the body must be application/x-www-form-urlencoded")
    body = await request.body()
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthProblem("invalid_request", "the form body is not UTF-8 form encoding") from None
    return ImmutableMultiDict(pairs)


def optional_param(params: ImmutableMultiDict[str, str], name: str) -> str | None:
    """One parameter; an empty value counts as absent (RFC 6749 §3.1).

    Raises:
        OAuthProblem: ``invalid_request`` when the parameter is repeated (RFC 6749 §3.1).
    """
    values = params.getlist(name)
    if len(values) > 1:
        raise OAuthProblem("invalid_request", f"the {name} parameter is repeated")
    return values[0] if values and values[0] != "" else None


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), or None without one.

    Raises:
        OAuthProblem: ``invalid_request`` (400) for a malformed or repeated header, or another
            authentication scheme (RFC 6750 §3.1).
    """
    found = access_token_credentials(request, ("Bearer",))
    return None if found is None else found[1]


def access_token_credentials(request: Request, schemes: Sequence[str]) -> tuple[str, str] | None:
    """The scheme (as spelled in ``schemes``) and token of an ``Authorization`` header that
    presents an access token: ``Bearer`` (RFC 6750 §2.1) or ``DPoP`` (RFC 9449 §7.1); None
    without the header.

    Raises:
        OAuthProblem: ``invalid_request`` (400) for a malformed or repeated header, or a scheme
            not in ``schemes`` (RFC 6750 §3.1).
    """
    values = request.headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise OAuthProblem("invalid_request", "more than one Authorization header")
    scheme, _, credentials = values[0].strip().partition(" ")
    credentials = credentials.strip()
    name = next((s for s in schemes if s.lower() == scheme.lower()), None)
    if name is None:
        raise OAuthProblem(
            "invalid_request", f"the Authorization scheme must be {' or '.join(schemes)}"
        )
    if not _TOKEN68.fullmatch(credentials):
        raise OAuthProblem("invalid_request", f"the {name} credentials are malformed")
    return name, credentials


def bearer_challenge(**params: str | None) -> str:
    """A ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3) with quoted auth-params."""
    return auth_challenge("Bearer", **params)


def auth_challenge(scheme: str, **params: str | None) -> str:
    """A ``WWW-Authenticate`` challenge (RFC 9110 §11.6.1) with quoted auth-params: ``Bearer``
    (RFC 6750 §3) or ``DPoP`` (RFC 9449 §7.1)."""
    parts = [f'{name}="{sanitize(value)}"' for name, value in params.items() if value is not None]
    return f"{scheme} " + ", ".join(parts) if parts else scheme


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def shape_problem(exc: cattrs.BaseValidationError) -> str:
    """A one-line account of why a body does not fit a wire model, fields named by JSON path."""
    return "; ".join(cattrs.transform_error(exc, "$"))


#: Client authentication parameters (RFC 6749 §2.3.1, RFC 7523 §2.2), not part of a request model.
CLIENT_AUTH_PARAMS = frozenset(
    {"client_id", "client_secret", "client_assertion", "client_assertion_type"}
)


def form_model(form: ImmutableMultiDict[str, str], model: type[M]) -> M:
    """Parse a form into a generated request model; ``resource`` may repeat (RFC 8707 §2).

    Raises:
        OAuthProblem: ``invalid_request`` for a repeated parameter, a missing required one or
            a value of the wrong kind (RFC 6749 §5.2).
    """
    data: dict[str, Any] = {}
    for name in dict.fromkeys(form.keys()):
        if name in CLIENT_AUTH_PARAMS:
            continue
        if name == "resource":
            data[name] = form.getlist(name)
            continue
        value = optional_param(form, name)
        if value is not None:
            data[name] = value
    try:
        return converter.structure(data, model)
    except cattrs.BaseValidationError as exc:
        raise OAuthProblem("invalid_request", shape_problem(exc)) from None
