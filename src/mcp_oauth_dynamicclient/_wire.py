"""Wire runtime shared by the generated endpoint clients: requests built, responses parsed.

Sans-I/O: nothing here sends a request. The generated ``operations`` module calls
:func:`build_request` to make an ``httpx.Request`` and :func:`parse_model` or
:func:`parse_empty` to turn the ``httpx.Response`` into a model or a typed error; the generated
sync and async clients only send. Hand-written code (retries, token management) drives the same
functions with its own sending.

It also makes the package-owned cattrs converter (:func:`make_converter`): strict about JSON
types (a number is never silently turned into a string), it omits unset optional fields on
output and keeps the unknown members of an object in the model's ``extra`` mapping, since RFC
8414 §2, RFC 7591 §3.2.1 and RFC 6749 §5.1 all let servers add members.

Code generated from a user's own spec imports this module too: it is the contract between the
generator and the installed library, versioned with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from ._retry import retry_after_of
from .exceptions import NetworkError, OAuth2Error, ValidationError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "ClientAuth",
    "build_request",
    "error_from_response",
    "make_converter",
    "parse_empty",
    "parse_model",
    "redact",
    "safe_url",
    "send_errors",
]

T = TypeVar("T")
FormValue = str | list[str]

_JSON_TYPES = ("application/json", "+json")


class ClientAuth(Protocol):
    """Client authentication at the token endpoint (RFC 6749 §2.3).

    An implementation adds its credentials to a form-encoded request: an ``Authorization``
    header (``client_secret_basic``), form fields (``client_secret_post``, ``none``), or a
    signed assertion (RFC 7523 §2.2). ``url`` is the endpoint the request goes to, the audience
    of an assertion.
    """

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """Add this client's credentials to ``form`` and ``headers`` in place."""
        ...


def redact(value: object) -> str:
    """``repr`` of a secret field: says whether it is set, never what it is."""
    return "None" if value is None else "'***'"


def redact_mapping(value: Mapping[str, Any]) -> str:
    """``repr`` of an ``extra`` mapping: its keys only, since vendor fields may be secrets."""
    return "{" + ", ".join(f"{key!r}: ..." for key in value) + "}"


def json_type_name(value: Any) -> str:
    """What kind of JSON value ``value`` is, for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def safe_url(url: httpx.URL | str) -> str:
    """A URL fit for a message or a log line: no query, no fragment, no user info."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))


# --------------------------------------------------------------------------- converter


class LazyConverter:
    """The package-owned cattrs converter, built on first use.

    Importing the package stays cheap (cattrs is loaded when a response is first parsed or a
    request first built). Only the two methods generated code calls are offered.
    """

    def __init__(self) -> None:
        self._converter: cattrs.Converter | None = None

    @property
    def cattrs(self) -> cattrs.Converter:
        """The underlying ``cattrs.Converter`` (built now if it was not yet)."""
        if self._converter is None:
            from ._converter import build_converter

            self._converter = build_converter()
        return self._converter

    def structure(self, obj: Any, cl: type[T]) -> T:
        """``obj`` (parsed JSON) as a ``cl``; raises ``cattrs.BaseValidationError``."""
        structured: T = self.cattrs.structure(obj, cl)
        return structured

    def unstructure(self, obj: Any) -> Any:
        """``obj`` as JSON-compatible data, unset optional fields left out."""
        return self.cattrs.unstructure(obj)


def make_converter() -> LazyConverter:
    """A new converter for generated models (see :mod:`._converter`)."""
    return LazyConverter()


def describe_problem(exc: BaseException, kind: type[Any] | None) -> str:
    """How a validation failure reads in a message (see :mod:`._converter`)."""
    from ._converter import describe_problem as describe

    return describe(exc, kind)


# ------------------------------------------------------------------------------ requests


def _form_value(name: str, value: Any) -> FormValue:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValidationError(f"form field {name!r} cannot be form-encoded: {json_type_name(value)}")


def build_request(
    method: str,
    url: str,
    *,
    json_body: Mapping[str, Any] | None = None,
    form_body: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    bearer: str | None = None,
    client_auth: ClientAuth | None = None,
) -> httpx.Request:
    """Build an ``httpx.Request``: a JSON or form body, Bearer (RFC 6750 §2.1) or client auth.

    Raises:
        ValidationError: the URL is not an absolute http(s) URL, or a value cannot be encoded.
    """
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValidationError(f"not a valid URL: {exc}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise ValidationError(f"expected an absolute http(s) URL, got {safe_url(target)!r}")
    headers = {"Accept": "application/json"}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    params = {k: _form_value(k, v) for k, v in (query or {}).items() if v is not None}
    form: dict[str, FormValue] | None = None
    if form_body is not None or client_auth is not None:
        form = {k: _form_value(k, v) for k, v in (form_body or {}).items() if v is not None}
        if client_auth is not None:
            client_auth.apply(str(target.copy_with(query=None, fragment=None)), form, headers)
    if json_body is not None:
        return httpx.Request(method, target, params=params, headers=headers, json=json_body)
    if form is not None:
        return httpx.Request(method, target, params=params, headers=headers, data=form)
    return httpx.Request(method, target, params=params, headers=headers)


@contextmanager
def send_errors(operation: str, request: httpx.Request) -> Iterator[None]:
    """Turn an ``httpx`` transport failure while sending ``request`` into a ``NetworkError``."""
    try:
        yield
    except httpx.TimeoutException as exc:
        message = f"{operation}: {request.method} {safe_url(request.url)} timed out"
        raise NetworkError(f"{message} ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        message = f"{operation}: {request.method} {safe_url(request.url)} failed"
        raise NetworkError(f"{message}: {type(exc).__name__}: {exc}") from exc


# ----------------------------------------------------------------------------- responses

_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _bearer_challenge(response: httpx.Response) -> dict[str, str]:
    """The auth-params of a ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3)."""
    header = response.headers.get("www-authenticate", "")
    if not header.lower().startswith("bearer"):
        return {}
    params = {}
    for match in _AUTH_PARAM.finditer(header[len("bearer") :]):
        quoted, token = match.group(2), match.group(3)
        params[match.group(1).lower()] = quoted.replace('\\"', '"') if quoted is not None else token
    return params


def _content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _decode_json(response: httpx.Response) -> Any:
    """The JSON body, or ``...`` when the body is not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return ...


def _describe_body(response: httpx.Response) -> str:
    if not response.content:
        return "an empty body"
    kind = _content_type(response) or "no content type"
    return f"a body that is not JSON ({kind})"


def error_from_response(
    response: httpx.Response, error_class: type[OAuth2Error], operation: str
) -> OAuth2Error:
    """The typed error for an error status (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3).

    The ``error``, ``error_description`` and ``error_uri`` come from a JSON body, or failing
    that from a ``WWW-Authenticate: Bearer`` challenge; a body that is neither still gives an
    error that says what was received. A ``Retry-After`` header (RFC 9110 §10.2.3) becomes the
    error's ``retry_after``, in seconds.
    """
    payload = _decode_json(response)
    fields: dict[str, str] = {}
    if isinstance(payload, dict):
        fields = {k: v for k, v in payload.items() if isinstance(v, str)}
    if "error" not in fields:
        fields = {**_bearer_challenge(response), **fields}
    code = fields.get("error")
    description = fields.get("error_description")
    message = f"{operation} failed with HTTP {response.status_code}"
    if code is not None:
        message += f": {code}"
        if description:
            message += f": {description}"
    elif payload is ...:
        message += f" and {_describe_body(response)}"
    else:
        message += " and no OAuth error code"
    return error_class(
        message,
        error_code=code,
        error_description=description,
        error_uri=fields.get("error_uri"),
        response=response,
        retry_after=retry_after_of(response.headers),
    )


def parse_model(
    response: httpx.Response,
    model: type[T],
    converter: LazyConverter,
    error_class: type[OAuth2Error],
    operation: str,
) -> T:
    """Parse a JSON success response into ``model``, or raise ``error_class``.

    An error status raises via :func:`error_from_response`; a success whose body is not JSON,
    not an object, or not the documented shape raises with the failing field named.
    """
    if not response.is_success:
        raise error_from_response(response, error_class, operation)
    payload = _decode_json(response)
    prefix = f"{operation}: HTTP {response.status_code} with"
    if payload is ...:
        raise error_class(f"{prefix} {_describe_body(response)}", response=response)
    if not isinstance(payload, dict):
        found = json_type_name(payload)
        raise error_class(f"{prefix} {found}, expected a JSON object", response=response)
    from cattrs import BaseValidationError, transform_error

    try:
        parsed: T = converter.structure(payload, model)
    except BaseValidationError as exc:
        problems = "; ".join(transform_error(exc, "$", describe_problem))
        message = f"{prefix} an invalid {model.__name__}: {problems}"
        raise error_class(message, response=response) from None
    return parsed


def parse_empty(response: httpx.Response, error_class: type[OAuth2Error], operation: str) -> None:
    """Accept any success response and ignore its body (RFC 7009 §2.2, RFC 7592 §2.3)."""
    if not response.is_success:
        raise error_from_response(response, error_class, operation)
