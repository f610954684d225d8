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
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol, TypeVar, get_args, get_origin

import attrs
import cattrs
import httpx
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from .exceptions import NetworkError, OAuth2Error, ValidationError

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


def safe_url(url: httpx.URL | str) -> str:
    """A URL fit for a message or a log line: no query, no fragment, no user info."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))


# --------------------------------------------------------------------------- converter


def _strict(kind: type[Any], *, name: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        # bool is a subclass of int, but a JSON true is not a number.
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {name}, got a boolean")
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise TypeError(f"expected {name}, got {_json_type_name(value)}")
        return value

    return structure


def _json_type_name(value: Any) -> str:
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


def _is_union(kind: Any) -> bool:
    return get_origin(kind) in (typing.Union, types.UnionType)


def _is_sequence(kind: Any) -> bool:
    return get_origin(kind) in (list, Sequence)


def _is_object(kind: Any) -> bool:
    return get_origin(kind) in (dict, Mapping)


def _is_literal(kind: Any) -> bool:
    return get_origin(kind) is Literal


def _describe_type(kind: Any) -> str:
    """A JSON-flavoured name for a Python type, for messages."""
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    if kind in names:
        return names[kind]
    if _is_sequence(kind):
        return "an array"
    if attrs.has(kind):
        return f"an object ({kind.__name__})"
    return "an object" if _is_object(kind) else str(kind)


def _union_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    members = [arg for arg in get_args(kind) if arg is not type(None)]
    optional = len(members) != len(get_args(kind))
    names = " or ".join(_describe_type(member) for member in members)

    def structure(value: Any, _: Any) -> Any:
        if value is None:
            if optional:
                return None
            raise TypeError(f"expected {names}, got null")
        if len(members) == 1:  # an optional field: the member's own error says it best
            return converter.structure(value, members[0])
        for member in members:
            try:
                return converter.structure(value, member)
            except (cattrs.BaseValidationError, TypeError, ValueError):
                continue
        raise TypeError(f"expected {names}, got {_json_type_name(value)}")

    return structure


def _sequence_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    (item,) = get_args(kind) or (Any,)
    structure_items = list_structure_factory(list[item], converter)  # type: ignore[valid-type]

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {_json_type_name(value)}")
        return structure_items(value, list[item])  # type: ignore[valid-type]

    return structure


def _object_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {_json_type_name(value)}")
        return dict(value)

    return structure


def _literal_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    allowed = get_args(kind)

    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, bool) or value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(repr, allowed))}")
        return value

    return structure


def _model_structure_factory(cls: type[Any], converter: cattrs.Converter) -> Any:
    attrs.resolve_types(cls)
    has_extra = "extra" in attrs.fields_dict(cls)
    known = frozenset(f.name for f in attrs.fields(cls)) - {"extra"}
    overrides: dict[str, Any] = {"extra": override(omit=True)} if has_extra else {}
    structure_known = make_dict_structure_fn(cls, converter, **overrides)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {_json_type_name(value)}")
        model = structure_known(value, cls)
        if has_extra:
            extra = {key: item for key, item in value.items() if key not in known}
            if extra:
                model = attrs.evolve(model, extra=extra)
        return model

    return structure


def _model_unstructure_factory(cls: type[Any], converter: cattrs.Converter) -> Any:
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    has_extra = "extra" in attrs.fields_dict(cls)
    # A const field (grant_type, response_type) is sent even though it equals its default.
    overrides: dict[str, Any] = {
        f.name: override(omit_if_default=False) for f in fields if _is_literal(f.type)
    }
    if has_extra:
        overrides["extra"] = override(omit=True)
    unstructure_known = make_dict_unstructure_fn(
        cls, converter, _cattrs_omit_if_default=True, **overrides
    )

    def unstructure(model: Any) -> dict[str, Any]:
        payload: dict[str, Any] = unstructure_known(model)
        if has_extra:
            for key, item in model.extra.items():
                payload.setdefault(key, item)
        return payload

    return unstructure


def make_converter() -> cattrs.Converter:
    """A new converter for generated models: strict JSON types, ``extra`` kept, unset omitted."""
    converter = cattrs.Converter(detailed_validation=True)
    converter.register_structure_hook(str, _strict(str, name="a string"))
    converter.register_structure_hook(int, _strict(int, name="an integer"))
    converter.register_structure_hook(float, _strict(float, name="a number"))
    converter.register_structure_hook(bool, _strict(bool, name="a boolean"))
    converter.register_structure_hook_factory(_is_literal, _literal_factory)
    converter.register_structure_hook_factory(_is_union, _union_factory)
    converter.register_structure_hook_factory(_is_sequence, _sequence_factory)
    converter.register_structure_hook_factory(_is_object, _object_factory)
    converter.register_structure_hook_factory(attrs.has, _model_structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, _model_unstructure_factory)
    return converter


# ------------------------------------------------------------------------------ requests


def _form_value(name: str, value: Any) -> FormValue:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValidationError(f"form field {name!r} cannot be form-encoded: {_json_type_name(value)}")


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
    error that says what was received.
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
    )


def describe_problem(exc: BaseException, kind: type[Any] | None) -> str:
    """Our hooks' own words ("expected an integer, got a string"), else cattrs' default."""
    if isinstance(exc, (TypeError, ValueError)) and str(exc).startswith("expected "):
        return str(exc)
    return format_exception(exc, kind)


def parse_model(
    response: httpx.Response,
    model: type[T],
    converter: cattrs.Converter,
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
        found = _json_type_name(payload)
        raise error_class(f"{prefix} {found}, expected a JSON object", response=response)
    try:
        parsed: T = converter.structure(payload, model)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(cattrs.transform_error(exc, "$", describe_problem))
        message = f"{prefix} an invalid {model.__name__}: {problems}"
        raise error_class(message, response=response) from None
    return parsed


def parse_empty(response: httpx.Response, error_class: type[OAuth2Error], operation: str) -> None:
    """Accept any success response and ignore its body (RFC 7009 §2.2, RFC 7592 §2.3)."""
    if not response.is_success:
        raise error_from_response(response, error_class, operation)
