"""Read an OpenAPI 3.1 document into the few shapes the templates need.

Only what an OAuth wire contract uses is supported: object schemas (with ``allOf`` of object
schemas), ``oneOf`` unions of them, arrays, the JSON primitives and ``const``; operations with a
JSON or form body, query parameters, Bearer or client authentication, and one success response.
Anything else is refused with a :class:`SpecError` that names where it is, rather than being
generated wrong.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import SpecError, missing

_PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_CONTENT_KINDS = {"application/json": "json", "application/x-www-form-urlencoded": "form"}
_METHODS = ("get", "put", "post", "delete", "patch")
_ERROR_CLASSES = (
    "OAuth2Error",
    "DiscoveryError",
    "RegistrationError",
    "AuthorizationError",
    "TokenError",
)


@dataclass(frozen=True)
class Field:
    """One attribute of a model: a property of an object schema."""

    name: str
    annotation: str
    required: bool
    const: str | None
    description: str
    secret: bool


@dataclass(frozen=True)
class Model:
    """An attrs class emitted for an object schema."""

    name: str
    description: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Alias:
    """A type alias emitted for a ``oneOf`` schema."""

    name: str
    description: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Argument:
    """A keyword argument of an endpoint method: a credential or a query parameter."""

    name: str
    annotation: str
    required: bool
    description: str


@dataclass(frozen=True)
class Operation:
    """One endpoint method: how its request is built and its response parsed."""

    name: str
    method: str
    path: str
    summary: str
    description: str
    error_class: str
    body_type: str | None
    body_kind: str | None
    bearer: Argument | None
    client_auth: Argument | None
    query: tuple[Argument, ...]
    result: str | None
    idempotent: str
    """Whether the request may be resent once it may have reached the server (``x-idempotent``),
    as a Python expression: ``True``, ``False``, or an ``isinstance`` test of the body when the
    shapes of a ``oneOf`` body differ."""
    idempotent_types: tuple[str, ...]
    """The body shapes that expression names."""

    @property
    def keyword_arguments(self) -> tuple[Argument, ...]:
        """Credentials first, then query parameters, required ones before optional ones."""
        arguments = [a for a in (self.client_auth, self.bearer) if a is not None]
        arguments += self.query
        return tuple(sorted(arguments, key=lambda a: not a.required))


@dataclass(frozen=True)
class Spec:
    """Everything the templates render."""

    title: str
    models: tuple[Model, ...]
    aliases: tuple[Alias, ...]
    operations: tuple[Operation, ...]

    @property
    def error_classes(self) -> tuple[str, ...]:
        """The exception classes the operations raise, sorted."""
        return tuple(sorted({op.error_class for op in self.operations}))

    @property
    def operation_types(self) -> tuple[str, ...]:
        """The models and aliases the operations take or return, sorted."""
        names = {op.body_type for op in self.operations} | {op.result for op in self.operations}
        names.update(name for op in self.operations for name in op.idempotent_types)
        return tuple(sorted(name for name in names if name is not None))


def load(path: Path) -> Spec:
    """Load and check the OpenAPI document at ``path``."""
    try:
        import yaml
    except ImportError as exc:
        raise missing("PyYAML") from exc
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc}") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise SpecError(f"{path}: not an OpenAPI 3 document")
    return _Reader(document).spec()


def _identifier(name: str, where: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise SpecError(f"{where}: {name!r} is not a Python identifier")
    return name


def _idempotent_flag(node: Mapping[str, Any], where: str, default: bool) -> bool:
    """The ``x-idempotent`` of ``node``, or ``default`` when it has none."""
    value = node.get("x-idempotent", default)
    if not isinstance(value, bool):
        raise SpecError(f"{where}: expected true or false, got {value!r}")
    return value


def _text(node: Mapping[str, Any], key: str) -> str:
    return " ".join(str(node.get(key, "")).split())


class _Reader:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        components = document.get("components") or {}
        self.schemas: dict[str, Any] = components.get("schemas") or {}
        self.security_schemes: dict[str, Any] = components.get("securitySchemes") or {}

    def spec(self) -> Spec:
        models: list[Model] = []
        aliases: list[Alias] = []
        for name, schema in self.schemas.items():
            where = f"components.schemas.{name}"
            _identifier(name, where)
            if "oneOf" in schema:
                members = tuple(self.annotation(s, f"{where}.oneOf") for s in schema["oneOf"])
                aliases.append(Alias(name, _text(schema, "description"), members))
            else:
                models.append(self.model(name, schema, where))
        operations = []
        for path, item in (self.document.get("paths") or {}).items():
            for method in _METHODS:
                if method in item:
                    operations.append(self.operation(path, method, item[method]))
        names = [op.name for op in operations]
        if len(set(names)) != len(names):
            raise SpecError(f"paths: duplicate operationId in {sorted(names)}")
        info = self.document.get("info") or {}
        return Spec(str(info.get("title", "")), tuple(models), tuple(aliases), tuple(operations))

    # ------------------------------------------------------------------ schemas

    def resolve(self, schema: Mapping[str, Any], where: str) -> tuple[str | None, Any]:
        ref = schema.get("$ref")
        if ref is None:
            return None, schema
        prefix = "#/components/schemas/"
        if not isinstance(ref, str) or not ref.startswith(prefix):
            raise SpecError(f"{where}: only local schema references are supported, got {ref!r}")
        name = ref[len(prefix) :]
        if name not in self.schemas:
            raise SpecError(f"{where}: reference to an unknown schema {name!r}")
        return name, self.schemas[name]

    def object_parts(self, schema: Mapping[str, Any], where: str) -> Iterable[Mapping[str, Any]]:
        """The object schemas that make up ``schema``, ``allOf`` flattened in order."""
        if "allOf" in schema:
            for index, part in enumerate(schema["allOf"]):
                _, resolved = self.resolve(part, f"{where}.allOf[{index}]")
                yield from self.object_parts(resolved, f"{where}.allOf[{index}]")
        else:
            if schema.get("type", "object") != "object":
                raise SpecError(f"{where}: expected an object schema")
            yield schema

    def model(self, name: str, schema: Mapping[str, Any], where: str) -> Model:
        properties: dict[str, Any] = {}
        required: set[str] = set()
        for part in self.object_parts(schema, where):
            properties.update(part.get("properties") or {})
            required.update(part.get("required") or [])
        missing = required - properties.keys() - {"extra"}
        if missing:
            raise SpecError(f"{where}: required but not defined: {sorted(missing)}")
        fields = []
        for prop, prop_schema in properties.items():
            prop_where = f"{where}.properties.{prop}"
            if _identifier(prop, prop_where) == "extra":
                raise SpecError(f"{prop_where}: 'extra' is reserved for unknown members")
            const = prop_schema.get("const")
            if const is not None and not isinstance(const, str):
                raise SpecError(f"{prop_where}: only string constants are supported")
            fields.append(
                Field(
                    name=prop,
                    annotation=self.annotation(prop_schema, prop_where),
                    required=prop in required,
                    const=const,
                    description=_text(prop_schema, "description"),
                    secret=bool(prop_schema.get("x-secret", False)),
                )
            )
        return Model(name, _text(schema, "description"), tuple(fields))

    def annotation(self, schema: Mapping[str, Any], where: str) -> str:
        """The Python type of a property or union member."""
        if "x-python-type" in schema:
            return str(schema["x-python-type"])
        name, _ = self.resolve(schema, where)
        if name is not None:
            return name
        if "oneOf" in schema:
            members = [self.annotation(s, f"{where}.oneOf") for s in schema["oneOf"]]
            return " | ".join(dict.fromkeys(members))
        kind = schema.get("type")
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if kind in _PRIMITIVES:
            return _PRIMITIVES[kind]
        if kind == "array":
            return f"Sequence[{self.annotation(schema.get('items') or {}, f'{where}.items')}]"
        if kind == "object" or kind is None:
            if schema.get("properties"):
                raise SpecError(f"{where}: move this inline object schema to components.schemas")
            return "Mapping[str, Any]" if kind == "object" else "Any"
        raise SpecError(f"{where}: unsupported schema type {kind!r}")

    # --------------------------------------------------------------- operations

    def operation(self, path: str, method: str, node: Mapping[str, Any]) -> Operation:
        where = f"paths.{path}.{method}"
        name = _identifier(str(node.get("operationId", "")), f"{where}.operationId")
        error_class = node.get("x-error-class", "OAuth2Error")
        if error_class not in _ERROR_CLASSES:
            raise SpecError(f"{where}.x-error-class: expected one of {', '.join(_ERROR_CLASSES)}")
        body_type, body_kind = self.request_body(node.get("requestBody"), f"{where}.requestBody")
        idempotent, idempotent_types = self.idempotent(node, body_type, where)
        bearer, client_auth = self.security(node.get("security"), where)
        query = []
        for index, param in enumerate(node.get("parameters") or []):
            param_where = f"{where}.parameters[{index}]"
            if param.get("in") == "query":
                query.append(
                    Argument(
                        name=_identifier(str(param.get("name", "")), param_where),
                        annotation=self.annotation(param.get("schema") or {}, param_where),
                        required=bool(param.get("required", False)),
                        description=_text(param, "description"),
                    )
                )
            elif param.get("in") != "path":
                raise SpecError(f"{param_where}: only query and path parameters are supported")
        return Operation(
            name=name,
            method=method.upper(),
            path=path,
            summary=_text(node, "summary") or name,
            description=_text(node, "description"),
            error_class=error_class,
            body_type=body_type,
            body_kind=body_kind,
            bearer=bearer,
            client_auth=client_auth,
            query=tuple(query),
            result=self.result(node.get("responses") or {}, f"{where}.responses"),
            idempotent=idempotent,
            idempotent_types=idempotent_types,
        )

    def idempotent(
        self, node: Mapping[str, Any], body_type: str | None, where: str
    ) -> tuple[str, tuple[str, ...]]:
        """The ``x-idempotent`` of an operation, refined per shape of a ``oneOf`` body."""
        default = _idempotent_flag(node, f"{where}.x-idempotent", default=False)
        body = self.schemas.get(body_type) if body_type is not None else None
        if not body or "oneOf" not in body:
            return repr(default), ()
        shapes = {}
        for index, member in enumerate(body["oneOf"]):
            member_where = f"components.schemas.{body_type}.oneOf[{index}]"
            name, schema = self.resolve(member, member_where)
            if name is None:
                raise SpecError(f"{member_where}: a body's oneOf members must be $refs")
            shapes[name] = _idempotent_flag(
                schema, f"components.schemas.{name}.x-idempotent", default
            )
        safe = [name for name, flag in shapes.items() if flag]
        if len(safe) in (0, len(shapes)):
            return repr(bool(safe)), ()
        return f"isinstance(body, ({', '.join(safe)},))", tuple(safe)

    def request_body(self, body: Any, where: str) -> tuple[str | None, str | None]:
        if not body:
            return None, None
        content = body.get("content") or {}
        if len(content) != 1 or next(iter(content)) not in _CONTENT_KINDS:
            raise SpecError(f"{where}: expected one of {sorted(_CONTENT_KINDS)} as the content")
        media_type, media = next(iter(content.items()))
        name, _ = self.resolve(media.get("schema") or {}, f"{where}.content")
        if name is None:
            raise SpecError(f"{where}: the body schema must be a $ref to components.schemas")
        return name, _CONTENT_KINDS[media_type]

    def security(self, requirements: Any, where: str) -> tuple[Argument | None, Argument | None]:
        if not requirements:
            return None, None
        optional = any(not requirement for requirement in requirements)
        bearer = client_auth = None
        for requirement in requirements:
            for scheme_name in requirement:
                scheme = self.security_schemes.get(scheme_name)
                if scheme is None:
                    raise SpecError(f"{where}.security: unknown scheme {scheme_name!r}")
                argument = Argument(
                    name=_identifier(
                        str(scheme.get("x-parameter-name", scheme_name)),
                        f"components.securitySchemes.{scheme_name}.x-parameter-name",
                    ),
                    annotation="ClientAuth" if scheme.get("x-client-authentication") else "str",
                    required=not optional,
                    description=_text(scheme, "description"),
                )
                if scheme.get("x-client-authentication"):
                    client_auth = argument
                elif scheme.get("type") == "http" and scheme.get("scheme") == "bearer":
                    bearer = argument
                else:
                    raise SpecError(f"{where}.security: scheme {scheme_name!r} is not supported")
        return bearer, client_auth

    def result(self, responses: Mapping[str, Any], where: str) -> str | None:
        success = [code for code in responses if str(code).startswith("2")]
        if not success:
            raise SpecError(f"{where}: no success (2XX) response")
        schemas = []
        for code in success:
            content = responses[code].get("content") or {}
            if content:
                if "application/json" not in content:
                    raise SpecError(
                        f"{where}.{code}: only application/json responses are supported"
                    )
                name, _ = self.resolve(content["application/json"].get("schema") or {}, where)
                if name is None:
                    raise SpecError(f"{where}.{code}: the schema must be a $ref")
                schemas.append(name)
        if len(set(schemas)) > 1:
            raise SpecError(f"{where}: success responses must share one schema")
        return schemas[0] if schemas else None
