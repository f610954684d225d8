"""The runtime of generated endpoint clients: requests built, sent through a sender, parsed.

Public and stable. Code that ``mcp-oauth-codegen`` writes, the package's own ``_generated/`` and
the packages users regenerate from their servers' specs alike, imports this module and
``mcp_oauth_dynamicclient.exceptions``, nothing else of the library (never a private module).

Compatibility promise: a package generated with version X.Y.Z keeps working, not regenerated,
with every X.Y patch release of the library. Patch releases may add names here and in
``exceptions``, but never remove or rename one, change a signature, or change what generated
code relies on a name to do. A minor release that does is listed in ``CHANGELOG.md``, and
regenerating the package with it brings the package up to date.

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
- Bounded exchanges (:meth:`DirectSender.exchange`), which every sender sends through: a
  response is read as a stream and refused past ``max_response_bytes``
  (``ResponseTooLarge``), and an operation must be over by its :class:`Deadline`
  (``DeadlineExceeded``), however slowly a server sends its bytes.
- The package-owned cattrs converter (:func:`make_converter`): strict about JSON types (a
  number is never silently turned into a string), unset optional fields omitted on output,
  unknown members of an object kept in the model's ``extra`` mapping, since RFC 8414 §2,
  RFC 7591 §3.2.1 and RFC 6749 §5.1 all let servers add members.
- ``Retry-After`` (RFC 9110 §10.2.3) read into an error's ``retry_after``; ``repr`` helpers
  that keep secrets out (:func:`redact`, :func:`redact_mapping`, :func:`safe_url`); and
  :func:`lazy_getattr`, with which a generated package builds its models on first use.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qsl, quote, unquote_plus

import httpx

from ._json import MAX_DEPTH, JsonTooDeep, json_type_name, loads
from ._lazy import lazy_getattr
from ._www_authenticate import parse_bearer_challenge
from .exceptions import (
    ConfigurationError,
    DeadlineExceeded,
    NetworkError,
    OAuth2Error,
    ResponseTooLarge,
    ValidationError,
)

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AsyncDirectSender",
    "AsyncSenderProtocol",
    "ClientAuth",
    "Deadline",
    "DirectSender",
    "FormValue",
    "LazyConverter",
    "SenderProtocol",
    "build_request",
    "check_limits",
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


# -------------------------------------------------------------- limits: size and deadline

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""Largest response body read from an authorization server by default (4 MiB). Its documents
(metadata, a JWK Set, a registration, tokens) are a few kilobytes; a larger body is refused."""

DEFAULT_DEADLINE = 120.0
"""Seconds one operation may take by default, its retries and their waits included."""


def check_limits(max_response_bytes: object, deadline: object) -> None:
    """Check the two limits of a sender (the settings of the same names).

    Raises:
        ConfigurationError: ``max_response_bytes`` is not a whole number >= 1, or
            ``deadline`` not a finite number of seconds > 0; the message names it.
    """
    size = max_response_bytes
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigurationError(
            f"max_response_bytes: expected a whole number of bytes >= 1, got {size!r}"
        )
    if (
        isinstance(deadline, bool)
        or not isinstance(deadline, (int, float))
        or not math.isfinite(deadline)
        or deadline <= 0
    ):
        raise ConfigurationError(f"deadline: expected a number of seconds > 0, got {deadline!r}")


class Deadline:
    """The instant an operation must be over by: ``seconds`` from now, on the monotonic clock.

    One is made per operation and handed to each of its exchanges, so retries share it.
    """

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def __repr__(self) -> str:
        return f"Deadline(seconds={self.seconds!r}, remaining={self.remaining():.3f})"

    def remaining(self) -> float:
        """Seconds left; 0 or less once it has passed."""
        return self.at - time.monotonic()


_PHASES: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


class _Reading:
    """The bookkeeping of one bounded exchange, shared by both senders (no I/O).

    Counts the body's bytes against the limit (after any ``Content-Encoding`` is undone, so a
    compressed body cannot expand past it), checks the deadline as parts arrive, shortens
    httpx's per-phase timeouts to the time left, and builds the typed errors.
    """

    __slots__ = ("chunks", "deadline", "limit", "operation", "read", "request", "shortened")

    def __init__(
        self,
        operation: str,
        request: httpx.Request,
        limit: int,
        deadline: Deadline | None,
        seconds: float,
    ) -> None:
        self.operation = operation
        self.request = request
        self.limit = limit
        self.deadline = deadline if deadline is not None else Deadline(seconds)
        self.chunks: list[bytes] = []
        self.read = 0
        self.shortened: set[str] = set()  # phases whose timeout is the deadline's time left

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline.remaining()

    def where(self) -> str:
        return f"{self.operation}: {self.request.method} {safe_url(self.request.url)}"

    def limit_timeouts(self, configured: httpx.Timeout) -> None:
        """Give the request httpx's timeouts, none longer than the time left.

        A blocking read cannot be interrupted, so this is what bounds the blocking sender's
        waits; the asyncio one is cancelled at the deadline besides.

        Raises:
            DeadlineExceeded: no time is left: nothing is sent.
        """
        left = self.remaining()
        if left <= 0:
            raise self.expired()
        given = self.request.extensions.get("timeout") or configured.as_dict()
        timeouts: dict[str, float | None] = {}
        for phase in _PHASES.values():
            value = given.get(phase)
            if value is None or value > left:
                value = left
                self.shortened.add(phase)
            timeouts[phase] = value
        # A new dict, not httpx's: httpcore reads it when each phase begins (see ``start``).
        self.request.extensions = {**self.request.extensions, "timeout": timeouts}

    def start(self, response: httpx.Response) -> None:
        """The headers are in: refuse a ``Content-Length`` over the limit before reading.

        Also cuts the body's read timeout to the time left now.
        """
        length = response.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > self.limit:
            raise self.too_large(f"its Content-Length is {int(length)} bytes; not read")
        timeouts = self.request.extensions.get("timeout")
        left = self.remaining()
        if left <= 0:
            raise self.expired()
        if isinstance(timeouts, dict):
            read = timeouts.get("read")
            if read is None or read > left:
                timeouts["read"] = left
                self.shortened.add("read")

    def add(self, chunk: bytes) -> None:
        """Keep a part of the body, unless it takes the body over the limit or the deadline
        has passed."""
        self.read += len(chunk)
        if self.read > self.limit:
            raise self.too_large(f"stopped reading at {self.read} bytes")
        if self.remaining() <= 0:
            raise self.expired()
        self.chunks.append(chunk)

    def finish(self, response: httpx.Response) -> httpx.Response:
        """``response`` with the body read (``.content``, ``.text``, ``.json()`` work)."""
        response._content = b"".join(self.chunks)
        return response

    def too_large(self, detail: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"{self.where()}: the response is larger than max_response_bytes "
            f"({self.limit} bytes): {detail}. Raise max_response_bytes if this server's "
            "responses are really that large"
        )

    def expired(self) -> DeadlineExceeded:
        seconds = self.deadline.seconds
        return DeadlineExceeded(
            f"{self.where()} did not complete within the deadline of {seconds:g}s (the "
            "deadline setting bounds an operation in all, its retries included; timeout "
            "bounds each wait for the network). Raise deadline if this server is that slow"
        )

    def failed(self, error: httpx.TransportError) -> NetworkError:
        """The error for a transport failure: ``DeadlineExceeded`` for a timeout the deadline
        set (or one after it passed), else :func:`transport_error`."""
        if isinstance(error, httpx.TimeoutException):
            phase = _PHASES.get(type(error))
            if phase in self.shortened or self.remaining() <= 0:
                return self.expired()
        return transport_error(self.operation, self.request, error)


# ------------------------------------------------------------------------------- senders


class SenderProtocol(Protocol):
    """How a generated blocking endpoint client sends an operation: the transport policy.

    ``build`` makes the request; it is called again for every attempt, so each carries fresh
    client authentication (an assertion's ``jti`` is used once, RFC 7523 §3). ``parse`` turns
    the response into the result or raises the operation's typed error. ``idempotent`` is the
    spec's ``x-idempotent``: whether the request may be sent again once it may have reached
    the server. An implementation sends with ``http_client`` and turns transport failures into
    ``NetworkError``; :meth:`DirectSender.exchange` does that, and bounds the response's size
    and the time it takes.
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
    """The default sender: each request is sent once, with no retry, pacing or metrics.

    Every exchange is bounded (see :meth:`exchange`): the response body is read up to
    ``max_response_bytes``, and the whole exchange must be over within ``deadline`` seconds.

    Raises:
        ConfigurationError: a limit is not a positive number (see :func:`check_limits`).
    """

    def __init__(
        self,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        check_limits(max_response_bytes, deadline)
        self.max_response_bytes = max_response_bytes
        self.deadline = deadline

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
        return parse(self.exchange(http_client, operation, build()))

    def exchange(
        self,
        http_client: httpx.Client,
        operation: str,
        request: httpx.Request,
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        """Send ``request`` and read its whole response, within the limits; return it read.

        ``deadline`` is the operation's (one that spans retries); by default a new one of
        ``self.deadline`` seconds. Each wait for the network is shortened to the time left;
        the deadline is checked again each time a part of the body arrives.

        Raises:
            ResponseTooLarge: the body (or its ``Content-Length``) is over the limit.
            DeadlineExceeded: the deadline passed before the response was read.
            NetworkError: any other transport failure.
        """
        reading = _Reading(operation, request, self.max_response_bytes, deadline, self.deadline)
        reading.limit_timeouts(http_client.timeout)
        try:
            response = http_client.send(request, stream=True)
            try:
                reading.start(response)
                for chunk in response.iter_bytes():
                    reading.add(chunk)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise reading.failed(exc) from exc
        return reading.finish(response)


class AsyncDirectSender:
    """The default asyncio sender: each request is sent once (see :class:`DirectSender`)."""

    def __init__(
        self,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        check_limits(max_response_bytes, deadline)
        self.max_response_bytes = max_response_bytes
        self.deadline = deadline

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
        return parse(await self.exchange(http_client, operation, build()))

    async def exchange(
        self,
        http_client: httpx.AsyncClient,
        operation: str,
        request: httpx.Request,
        deadline: Deadline | None = None,
    ) -> httpx.Response:
        """:meth:`DirectSender.exchange` for asyncio (or trio): the whole exchange, waits for a
        connection and for each byte included, is cancelled when the deadline passes."""
        import anyio  # httpx's own dependency, loaded by its transport already

        reading = _Reading(operation, request, self.max_response_bytes, deadline, self.deadline)
        reading.limit_timeouts(http_client.timeout)
        try:
            with anyio.fail_after(reading.remaining()) as scope:
                response = await http_client.send(request, stream=True)
                try:
                    reading.start(response)
                    async for chunk in response.aiter_bytes():
                        reading.add(chunk)
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            raise reading.failed(exc) from exc
        except TimeoutError:
            if scope.cancel_called:
                raise reading.expired() from None
            raise
        return reading.finish(response)


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


_MAX_DELAY = float(2**31)


def parse_retry_after(
    value: str | None, *, date: str | None = None, now: float | None = None
) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value (RFC 9110 §10.2.3); None if unusable.

    ``value`` is delay-seconds or an HTTP-date. A date is measured from the response's ``Date``
    header (``date``) when there is one, so the two clocks' skew does not matter, else from
    ``now`` (``time.time()``). A date in the past is 0 seconds; garbage is None.

    delay-seconds is ASCII digits only (``1*DIGIT``, RFC 9110 §10.2.3; a header decoded as
    Latin-1 may hold ``²``, which Python calls a digit). One too large to represent is read as
    2**31 seconds, as RFC 9111 §1.2.2 has caches do for delta-seconds, so the result is finite.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), _MAX_DELAY)  # float() of any length: at worst inf
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
        # In the try: year 9999 with a negative offset is past what a datetime can hold in UTC.
        return None if when.tzinfo is None else when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


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


def _decode_json(response: httpx.Response) -> tuple[Any, str | None]:
    """The JSON body and None, or None and what the body is when it is not JSON we read.

    A body nested deeper than ``_json.MAX_DEPTH`` is refused like one that is not JSON (RFC
    8259 §9), so a hostile server cannot exhaust the parser's stack.
    """
    try:
        return loads(response.content), None
    except JsonTooDeep:
        return None, f"a JSON body nested deeper than {MAX_DEPTH} levels"
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        if not response.content:
            return None, "an empty body"
        kind = _content_type(response) or "no content type"
        return None, f"a body that is not JSON ({kind})"


#: Request fields that carry secrets (RFC 6749 §4.1.3, §6, §2.3.1; RFC 7636 §4.5; RFC 7523
#: §2.1-2.2; RFC 8693 §2.1; RFC 8628 §3.4; RFC 7009 §2.1; RFC 7662 §2.1; RFC 7591 §2.3).
_SECRET_FIELDS = frozenset(
    {
        "code",
        "code_verifier",
        "refresh_token",
        "client_secret",
        "client_assertion",
        "assertion",
        "subject_token",
        "actor_token",
        "device_code",
        "token",
        "password",
        "software_statement",
        "registration_access_token",
    }
)
_SHORTEST_SECRET = 4  # shorter values are not secrets worth a search (and would mangle text)


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - a Response built by hand has none
    except RuntimeError:
        return False
    return True


def _sent_secrets(request: httpx.Request) -> list[str]:
    """The secrets ``request`` carried: its ``Authorization`` credentials and the values of
    its secret form or JSON fields (``_SECRET_FIELDS``), longest first."""
    found: set[str] = set()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if credentials:
        found.add(credentials)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            password = decoded.partition(":")[2]
            found.update({unquote_plus(password), password})
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = b""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and kind == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if name in _SECRET_FIELDS:
                found.add(value)
    elif body and kind == "application/json":
        try:
            document = loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            found.update(
                value
                for name, value in document.items()
                if name in _SECRET_FIELDS and isinstance(value, str)
            )
    secrets = {value for value in found if len(value) >= _SHORTEST_SECRET}
    secrets |= {quote(value, safe="") for value in secrets}  # as a server may echo it encoded
    return sorted(secrets, key=len, reverse=True)


def _redact_secrets(text: str, secrets: list[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def error_from_response(
    response: httpx.Response, error_class: type[OAuth2Error], operation: str
) -> OAuth2Error:
    """The typed error for an error status (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 6750 §3).

    The ``error``, ``error_description`` and ``error_uri`` come from a JSON body, or failing
    that from a ``WWW-Authenticate: Bearer`` challenge; a body that is neither still gives an
    error that says what was received. A ``Retry-After`` header (RFC 9110 §10.2.3) becomes the
    error's ``retry_after``, in seconds.
    """
    payload, problem = _decode_json(response)
    fields: dict[str, str] = {}
    if isinstance(payload, dict):
        fields = {k: v for k, v in payload.items() if isinstance(v, str)}
    if "error" not in fields:
        fields = {**_bearer_challenge(response), **fields}
    secrets = _sent_secrets(response.request) if _has_request(response) else []
    if secrets:  # a server that echoes what it was sent ("invalid refresh token: <token>")
        fields = {name: _redact_secrets(value, secrets) for name, value in fields.items()}
    code = fields.get("error")
    description = fields.get("error_description")
    message = f"{operation} failed with HTTP {response.status_code}"
    if code is not None:
        message += f": {code}"
        if description:
            message += f": {description}"
    elif problem is not None:
        message += f" and {problem}"
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
    payload, problem = _decode_json(response)
    prefix = f"{operation}: HTTP {response.status_code} with"
    if problem is not None:
        raise error_class(f"{prefix} {problem}", response=response)
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
