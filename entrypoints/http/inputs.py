"""Edge validation of everything a client sends: strings, bodies, path ids, query strings.

One place decides what input is refused before a use case runs, the same on every
database: no U+0000 (NUL) anywhere (PostgreSQL text cannot hold it), JSON nested
no deeper than :data:`MAX_JSON_DEPTH` (400), path ids written canonically and within
the range the store holds (else 404), and a 422 naming **every** offending body field
at once, type errors and business rules (each request Struct's ``field_rules``) alike.

The usual request pays little: one typed decode, one substring test for an escaped
NUL, and the rules of the fields present. The slower, thorough passes only run on a
request that is already known to be wrong.
"""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.errors import InvalidInput
from domain.ids import MAX_ID
from entrypoints.http.schemas.common import FieldError, FieldRules

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects a JSON body may have (deeper: 400)."""

NUL_MESSAGE = "Must not contain the character U+0000 (NUL)"

SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
"""Where request values come from, as Litestar names them; clients see the same prefixes."""
_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MSGSPEC_KEY = re.compile(
    r"^Object (?:contains (?P<kind>unknown) field|missing required field) `(?P<key>[^`]*)`$"
)
# A NUL reaches a JSON string only escaped (a raw control character is malformed JSON).
_ESCAPED_NUL = b"\\u0000"
# For the depth check: escapes, then strings, then everything but brackets go.
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_JSON_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")
_PARAMETER = re.compile(r"^\{(?P<name>[^}]+)\}$")

S = TypeVar("S", bound=msgspec.Struct)


class RequestInvalid(Exception):
    """Input refused at the edge, with every offending field (422)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = errors


# --- strings --------------------------------------------------------------------------------


def nul_errors(value: Any, field: str) -> list[FieldError]:
    """One error per string inside ``value`` (keys included) holding a NUL."""
    if isinstance(value, str):
        return [FieldError(field=field, message=NUL_MESSAGE)] if "\x00" in value else []
    errors: list[FieldError] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                errors.append(FieldError(field=field, message=NUL_MESSAGE))
            else:
                errors.extend(nul_errors(item, f"{field}.{key}"))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            errors.extend(nul_errors(item, f"{field}[{index}]"))
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            errors.extend(nul_errors(getattr(value, name), f"{field}.{name}"))
    return errors


def _target_nul_errors(scope: Any) -> list[FieldError]:
    """NULs in the path or the query string (percent-encoded or not)."""
    errors: list[FieldError] = []
    if "\x00" in scope["path"]:
        errors.append(FieldError(field="path", message=NUL_MESSAGE))
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
        for name, value in pairs:
            if "\x00" in name:
                errors.append(FieldError(field="query", message=NUL_MESSAGE))
            elif "\x00" in value:
                errors.append(FieldError(field=f"query.{name}", message=NUL_MESSAGE))
    return errors


# --- path ids -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _parameter_segments(path_template: str) -> tuple[tuple[int, str], ...]:
    """Positions (among non-empty segments) and names of a route's path parameters."""
    segments = [segment for segment in path_template.split("/") if segment]
    return tuple(
        (index, match.group("name"))
        for index, segment in enumerate(segments)
        if (match := _PARAMETER.match(segment))
    )


def _non_canonical_id(scope: Any) -> bool:
    """Whether an integer path parameter was written other than ``str(n)``, or is out of range.

    Litestar parses ``{id:int}`` with ``int()``, which also takes ``+1``, ``01``, `` 1``
    and non-ASCII digits; each of those would name the same record as ``1``.
    """
    params: dict[str, Any] = scope.get("path_params") or {}
    template = scope.get("path_template")
    if not params or not template:
        return False
    segments = [segment for segment in scope["path"].split("/") if segment]
    for index, name in _parameter_segments(template):
        value = params.get(name)
        if type(value) is not int:
            continue
        if not 1 <= value <= MAX_ID or index >= len(segments) or segments[index] != str(value):
            return True
    return False


def edge_inputs(app: ASGIApp) -> ASGIApp:
    """App-wide middleware: NUL in the path or query (422); a non-canonical path id (404).

    Route middleware, so it runs once the route is known (its path parameters), after
    authentication and before every guard, as the app-wide guard it replaces did. Not a
    guard because Litestar copies the route handler for every guard call: 4-5 % of a
    request's CPU time for a check that needs only the scope.
    """

    async def check_inputs(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            if errors := _target_nul_errors(scope):
                raise RequestInvalid(errors)
            if _non_canonical_id(scope):
                raise NotFoundException(f"Nothing found at {scope['path']}")
        await app(scope, receive, send)

    return check_inputs


# --- JSON bodies ----------------------------------------------------------------------------


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` nests arrays and objects more than ``limit`` deep (or is unbalanced).

    Done with a few regular expressions (C speed) rather than a Python loop over bytes,
    and without decoding: a decoder would recurse once per level.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", _JSON_ESCAPE.sub(b"", body)))
    for _ in range(limit):
        brackets, removed = _INNERMOST_PAIR.subn(b"", brackets)
        if not brackets:
            return False
        if not removed:
            break
    return True


def decode_json(body: bytes) -> Any:
    """Any JSON document, or a 400 when it is malformed or too deeply nested."""
    if json_too_deep(body):
        raise ClientException(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ClientException(f"Malformed JSON body: {error}") from None


def decode_body(body: bytes, struct: type[S]) -> S:
    """``body`` as ``struct``, strictly typed; 400 if malformed, 422 naming every bad field."""
    try:
        decoded = msgspec.json.decode(body, type=struct, strict=True)
    except msgspec.ValidationError:
        # Typed decoding stops at the first wrong value, perhaps before a syntax error
        # further on: read the whole document before judging its fields.
        raise RequestInvalid(field_errors(struct, decode_json(body), prefix="body")) from None
    except msgspec.DecodeError as error:
        if json_too_deep(body):
            raise ClientException(
                f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        raise ClientException(f"Malformed JSON body: {error}") from None
    if _ESCAPED_NUL in body or _rule_errors(decoded, prefix="body"):
        raise RequestInvalid(field_errors(struct, decode_json(body), prefix="body"))
    return decoded


def convert_fields(fields: dict[str, str], struct: type[S]) -> S:
    """Form fields as ``struct``; 422 naming every bad field (NULs included)."""
    try:
        converted = msgspec.convert(fields, struct)
    except msgspec.ValidationError:
        raise RequestInvalid(field_errors(struct, fields, prefix="body")) from None
    if nul_errors(fields, "body") or _rule_errors(converted, prefix="body"):
        raise RequestInvalid(field_errors(struct, fields, prefix="body"))
    return converted


# --- field errors ---------------------------------------------------------------------------


def field_errors(struct_type: type[msgspec.Struct], raw: Any, *, prefix: str) -> list[FieldError]:
    """Validate ``raw`` against ``struct_type`` field by field, collecting every error.

    Each field is checked for its type and constraints, then for NULs, then against the
    business rules of the Struct's ``field_rules``, so one answer names every offending field.
    """
    if not isinstance(raw, dict):
        return [FieldError(field=prefix, message="Expected a JSON object")]
    errors: list[FieldError] = []
    config = struct_type.__struct_config__
    fields = msgspec.structs.fields(struct_type)
    known = {info.encode_name for info in fields}
    rules: FieldRules = getattr(struct_type, "field_rules", {})
    for info in fields:
        name = info.encode_name
        field = f"{prefix}.{name}"
        if name not in raw:
            if info.required:
                errors.append(FieldError(field=field, message="Field required"))
            continue
        if nul := nul_errors(raw[name], field):
            errors.extend(nul)
            continue
        try:
            value = msgspec.convert(raw[name], type=info.type, strict=True, str_keys=True)
        except msgspec.ValidationError as error:
            errors.append(_nested_error(field, str(error)))
            continue
        if (rule := rules.get(info.name)) is not None and (
            broken := _broken_rule(rule, value, prefix)
        ):
            errors.append(broken)
    if config.forbid_unknown_fields:
        errors.extend(
            FieldError(field=f"{prefix}.{key}", message="Unknown field")
            for key in raw
            if key not in known
        )
    return errors or [FieldError(field=prefix, message="Invalid request body")]


def _rule_errors(decoded: msgspec.Struct, *, prefix: str) -> list[FieldError]:
    rules: FieldRules = getattr(type(decoded), "field_rules", {})
    errors: list[FieldError] = []
    for name, rule in rules.items():
        if (broken := _broken_rule(rule, getattr(decoded, name), prefix)) is not None:
            errors.append(broken)
    return errors


def _broken_rule(rule: Any, value: Any, prefix: str) -> FieldError | None:
    """The error ``rule`` finds in ``value``; absent (UNSET) and null values are not checked."""
    if value is None or value is msgspec.UNSET:
        return None
    try:
        rule(value)
    except InvalidInput as error:
        return FieldError(field=qualified_field(error.field, prefix), message=error.detail)
    return None


def qualified_field(field: str | None, prefix: str = "body") -> str:
    """Use-case field names are body fields unless they say where they come from."""
    if not field:
        return prefix
    if field.partition(".")[0] in SOURCES:
        return field
    return f"{prefix}.{field}"


def _nested_error(field: str, text: str) -> FieldError:
    """A msgspec error inside a field, located precisely: ``body.items[0].quantity``."""
    match = _MSGSPEC_PATH.search(text)
    path = match.group("path") if match else ""
    message = text[: match.start()] if match else text
    # Errors about a key name the object, not the key: point at the key itself.
    if key := _MSGSPEC_KEY.search(message):
        path = f"{path}.{key.group('key')}"
        message = "Unknown field" if key.group("kind") == "unknown" else "Field required"
    return FieldError(field=f"{field}{path}", message=message)
