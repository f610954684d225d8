"""The runtime of generated endpoint clients: requests built, sent through a sender, parsed.

Public and stable. Code that ``mcp-oauth-codegen`` writes, the package's own ``_generated/`` and
the packages users regenerate from their servers' specs alike, imports this module and
``mcp_oauth_dynamicclient.exceptions``, nothing else of the library. A regenerated package
keeps working across the patch releases of the library it was generated with.

It is the bottom layer: it imports only ``exceptions`` and leaves (``_json``, ``_lazy``,
``_www_authenticate``, and ``_converter`` on first use), never the retry policy, the clients
or the storage above it.

What it holds:

- Request building and response parsing, sans-I/O (:func:`build_request`, :func:`parse_model`,
  :func:`parse_empty`, :func:`error_from_response`): the generated ``operations`` module
  calls them; nothing here decides when or how often to send.
- The sender protocol (:class:`SenderProtocol`, :class:`AsyncSenderProtocol`): a generated
  endpoint client hands each operation to its sender as a ``build`` and a ``parse`` callable
  and says whether the request may be resent (the spec's ``x-idempotent``). The default
  senders (:class:`DirectSender`, :class:`AsyncDirectSender`) send once; the library's
  ``SyncSender`` / ``AsyncSender`` add retries, a rate limit, metrics and logs, for its own
  clients and for regenerated ones alike.
- The package-owned cattrs converter (:func:`make_converter`): strict about JSON types (a
  number is never silently turned into a string), unset optional fields omitted on output,
  unknown members of an object kept in the model's ``extra`` mapping, since RFC 8414 §2,
  RFC 7591 §3.2.1 and RFC 6749 §5.1 all let servers add members.
- ``Retry-After`` (RFC 9110 §10.2.3) read into an error's ``retry_after``; ``repr`` helpers
  that keep secrets out (:func:`redact`, :func:`redact_mapping`, :func:`safe_url`); and
  :func:`lazy_getattr`, with which a generated package builds its models on first use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from ._json import json_type_name
from ._lazy import lazy_getattr
from ._www_authenticate import parse_bearer_challenge
from .exceptions import NetworkError, OAuth2Error, ValidationError

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "AsyncDirectSender",
    "AsyncSenderProtocol",
    "ClientAuth",
    "DirectSender",
    "FormValue",
    "LazyConverter",
    "SenderProtocol",
    "build_request",
    "describe_problem",
    "error_from_response",
    "lazy_getattr",
    "make_converter",
    "parse_empty",
    "parse_model",
    "parse_retry_after",
    "redact",
    "redact_mapping",
    "retry_after_of",
    "safe_url",
    "send_errors",
    "transport_error",
]

T = TypeVar("T")
FormValue = str | list[str]
"""A form field's value: one string, or several for a repeated field (RFC 8707 ``resource``)."""


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


# ------------------------------------------------------------------------------- senders


class SenderProtocol(Protocol):
    """How a generated blocking endpoint client sends an operation: the transport policy.

    ``build`` makes the request; it is called again for every attempt, so each carries fresh
    client authentication (an assertion's ``jti`` is used once, RFC 7523 §3). ``parse`` turns
    the response into the result or raises the operation's typed error. ``idempotent`` is the
    spec's ``x-idempotent``: whether the request may be sent again once it may have reached
    the server. An implementation sends with ``http_client`` and turns transport failures into
    ``NetworkError`` (:func:`send_errors`).
    """

    def send(
        self,
        http_client: httpx.Client,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        """Build, send and parse ``operation``'s request; return what ``parse`` returns."""
        ...


class AsyncSenderProtocol(Protocol):
    """:class:`SenderProtocol` for the asyncio endpoint clients."""

    async def send(
        self,
        http_client: httpx.AsyncClient,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        """Build, send and parse ``operation``'s request; return what ``parse`` returns."""
        ...


class DirectSender:
    """The default sender: each request is sent once, with no retry, pacing or metrics."""

    def send(
        self,
        http_client: httpx.Client,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        """Build, send once and parse (see :class:`SenderProtocol`)."""
        request = build()
        with send_errors(operation, request):
            response = http_client.send(request)
        return parse(response)


class AsyncDirectSender:
    """The default asyncio sender: each request is sent once (see :class:`DirectSender`)."""

    async def send(
        self,
        http_client: httpx.AsyncClient,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        """Build, send once and parse (see :class:`SenderProtocol`)."""
        request = build()
        with send_errors(operation, request):
            response = await http_client.send(request)
        return parse(response)


# ---------------------------------------------------------------------------- redaction


def redact(value: object) -> str:
    """``repr`` of a secret field: says whether it is set, never what it is."""
    return "None" if value is None else "'***'"


def redact_mapping(value: Mapping[str, Any]) -> str:
    """``repr`` of an ``extra`` mapping: its keys only, since vendor fields may be secrets."""
    return "{" + ", ".join(f"{key!r}: ..." for key in value) + "}"


def safe_url(url: httpx.URL | str) -> str:
    """A URL fit for a message or a log line: no query, no fragment, no user info."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))


# --------------------------------------------------------------------------- Retry-After


def parse_retry_after(
    value: str | None, *, date: str | None = None, now: float | None = None
) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value (RFC 9110 §10.2.3); None if unusable.

    ``value`` is delay-seconds or an HTTP-date. A date is measured from the response's ``Date``
    header (``date``) when there is one, so the two clocks' skew does not matter, else from
    ``now`` (``time.time()``). A date in the past is 0 seconds; garbage is None.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    origin = now if now is not None else time.time()
    if date is not None:
        sent = _http_date(date)
        if sent is not None:
            origin = sent
    return max(0.0, when - origin)


def _http_date(value: str) -> float | None:
    """An HTTP-date (RFC 9110 §5.6.7, always GMT) as seconds since the epoch, or None."""
    # Imported here: email.utils costs milliseconds at import, and most programs never see an
    # HTTP-date Retry-After.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp()


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` of a response's headers, in seconds (see :func:`parse_retry_after`)."""
    return parse_retry_after(headers.get("retry-after"), date=headers.get("date"))


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
    """How a validation failure reads in a message, for ``cattrs.transform_error``."""
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
    except httpx.TransportError as exc:
        raise transport_error(operation, request, exc) from exc


def transport_error(
    operation: str, request: httpx.Request, error: httpx.TransportError
) -> NetworkError:
    """The ``NetworkError`` for a transport failure of ``request``; raise it ``from error``.

    For hot paths that catch ``httpx.TransportError`` themselves rather than enter
    :func:`send_errors`.
    """
    where = f"{operation}: {request.method} {safe_url(request.url)}"
    if isinstance(error, httpx.TimeoutException):
        return NetworkError(f"{where} timed out ({type(error).__name__})")
    return NetworkError(f"{where} failed: {type(error).__name__}: {error}")


# ----------------------------------------------------------------------------- responses


def _bearer_challenge(response: httpx.Response) -> Mapping[str, str]:
    """The auth-params of the response's ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3)."""
    challenge = parse_bearer_challenge(response.headers.get_list("www-authenticate"))
    return challenge.params if challenge is not None else {}


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
