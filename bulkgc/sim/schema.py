"""Request-body validation for the simulator against Apple's Game Center request schemas (no jsonschema).

``schemas.json`` (written by ``scripts/extract_schemas.py`` from Apple's OpenAPI 4.4.1 spec) holds the
request-body schema of every Game Center create/update/relationship operation and the schemas they
reference. This module interprets the OpenAPI 3.0 subset those schemas use:

* ``type`` (``integer`` rejects floats, even ``3.0``, and booleans; ``number`` rejects booleans), ``nullable``
  (also honoured beside a ``$ref``, which is how Apple marks optional maps), ``enum`` (a one-value enum
  is how Apple pins ``type`` strings), ``required``, ``properties``, ``additionalProperties``,
  ``items``, ``oneOf``/``anyOf``/``allOf``, ``$ref`` into ``#/components/schemas/``, and the
  ``minimum``/``maximum``/``minLength``/``maxLength``/``minItems``/``maxItems`` bounds; ``format`` and
  annotations are ignored.
* Stricter than JSON Schema, like Apple: a member not declared by an object schema that declares
  ``properties`` (and has no ``additionalProperties``) is a violation of kind ``"unknown"``.

Each :class:`Violation` carries a JSON pointer into the request document (``/data/attributes/fileSize``),
ready for an Apple-style ``source.pointer``; a missing member points at where it should be. Kinds:
``"required"``, ``"type"``, ``"null"``, ``"enum"``, ``"unknown"``, ``"range"``, ``"oneOf"``.

One-time cost: parsing the ~90 kB ``schemas.json`` on first use (a few milliseconds); validating a
typical create body takes tens of microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Violation", "request_schema_for", "schema_names", "spec_version", "validate_body"]

_REF_PREFIX = "#/components/schemas/"
_TYPE_NAMES = {
    dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
    type(None): "null",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a request body breaks its schema."""

    pointer: str
    """JSON pointer into the request document ("" is the whole document)."""
    message: str
    kind: str
    """``"required"``, ``"type"``, ``"null"``, ``"enum"``, ``"unknown"``, ``"range"`` or ``"oneOf"``."""


@cache
def _document() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schemas.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _operation_index() -> dict[tuple[str, tuple[str, ...]], str]:
    """Operations keyed by method and path shape, with every ``{placeholder}`` reduced to ``{}``."""
    return {_operation_key(*key.split(" ", 1)): name for key, name in _document()["operations"].items()}


def _operation_key(method: str, path_template: str) -> tuple[str, tuple[str, ...]]:
    segments = tuple("{}" if s.startswith("{") and s.endswith("}") else s for s in path_template.split("/"))
    return method.upper(), segments


def request_schema_for(method: str, path_template: str) -> str | None:
    """The request-body schema name for an operation, or None if it takes no body (or is not modelled).

    Placeholders match by position, whatever their names: ``/v2/gameCenterAchievementImages/{image_id}``
    finds Apple's ``/v2/gameCenterAchievementImages/{id}``.
    """
    return _operation_index().get(_operation_key(method, path_template))


def schema_names() -> frozenset[str]:
    """Names of every schema ``validate_body`` accepts (request schemas and what they reference)."""
    return frozenset(_document()["schemas"])


def spec_version() -> str:
    """The Apple spec version ``schemas.json`` was extracted from."""
    version: str = _document()["spec_version"]
    return version


def validate_body(schema_name: str, body: object) -> list[Violation]:
    """Every violation of the named schema by a parsed JSON request body (empty list: valid).

    Raises KeyError for a schema name not in ``schema_names()``.
    """
    schemas = _document()["schemas"]
    if schema_name not in schemas:
        raise KeyError(f"unknown request schema {schema_name!r}")
    out: list[Violation] = []
    _check(schemas[schema_name], body, "", out)
    return out


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema["$ref"]
    if not ref.startswith(_REF_PREFIX):
        raise ValueError(f"unsupported reference {ref!r}")
    target: Mapping[str, Any] = _document()["schemas"][ref.removeprefix(_REF_PREFIX)]
    return target


def _type_matches(expected: str, value: object) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _describe(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _check(schema: Mapping[str, Any], value: object, pointer: str, out: list[Violation]) -> None:
    """Append every violation of ``schema`` by ``value`` (found at ``pointer``) to ``out``."""
    if value is None:
        if schema.get("nullable") is True:
            return
        if "$ref" in schema:
            _check(_resolve(schema), value, pointer, out)
            return
        if "type" in schema or "enum" in schema:
            out.append(Violation(pointer, "must not be null", "null"))
            return
    if "$ref" in schema:
        _check(_resolve(schema), value, pointer, out)
    expected = schema.get("type")
    if expected is not None and not _type_matches(expected, value):
        out.append(Violation(pointer, f"expected {expected}, got {_describe(value)}", "type"))
        return
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        allowed = ", ".join(map(repr, enum))
        out.append(Violation(pointer, f"{value!r} is not one of {allowed}", "enum"))
    if isinstance(value, dict):
        _check_object(schema, value, pointer, out)
    elif isinstance(value, list):
        _check_array(schema, value, pointer, out)
    else:
        _check_bounds(schema, value, pointer, out)
    for keyword in ("allOf", "anyOf", "oneOf"):
        if keyword in schema:
            _check_alternatives(keyword, schema[keyword], value, pointer, out)


def _check_object(
    schema: Mapping[str, Any], value: dict[str, Any], pointer: str, out: list[Violation]
) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            out.append(Violation(f"{pointer}/{_escape(name)}", f"'{name}' is required", "required"))
    properties: Mapping[str, Any] | None = schema.get("properties")
    extra = schema.get("additionalProperties")
    for name, member in value.items():
        member_pointer = f"{pointer}/{_escape(name)}"
        if properties is not None and name in properties:
            _check(properties[name], member, member_pointer, out)
        elif isinstance(extra, dict):
            _check(extra, member, member_pointer, out)
        elif extra is False or (extra is None and properties is not None):
            out.append(Violation(member_pointer, f"'{name}' is not a known member here", "unknown"))


def _check_array(schema: Mapping[str, Any], value: list[Any], pointer: str, out: list[Violation]) -> None:
    items = schema.get("items")
    if items is not None:
        for index, item in enumerate(value):
            _check(items, item, f"{pointer}/{index}", out)
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(Violation(pointer, f"needs at least {schema['minItems']} items", "range"))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        out.append(Violation(pointer, f"allows at most {schema['maxItems']} items", "range"))


def _check_bounds(schema: Mapping[str, Any], value: object, pointer: str, out: list[Violation]) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(Violation(pointer, f"{value} is below the minimum {schema['minimum']}", "range"))
        if "maximum" in schema and value > schema["maximum"]:
            out.append(Violation(pointer, f"{value} is above the maximum {schema['maximum']}", "range"))
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(Violation(pointer, f"shorter than {schema['minLength']} characters", "range"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(Violation(pointer, f"longer than {schema['maxLength']} characters", "range"))


def _check_alternatives(
    keyword: str, branches: list[Mapping[str, Any]], value: object, pointer: str, out: list[Violation]
) -> None:
    results: list[list[Violation]] = []
    for branch in branches:
        found: list[Violation] = []
        _check(branch, value, pointer, found)
        results.append(found)
    passing = sum(1 for found in results if not found)
    if keyword == "allOf":
        for found in results:
            out.extend(found)
    elif passing == 0:
        # Report the closest branch: its pointers say what to fix (e.g. the branch whose `type` matched).
        out.extend(min(results, key=_distance))
    elif keyword == "oneOf" and passing > 1:
        message = f"matches {passing} of the oneOf alternatives, expected exactly one"
        out.append(Violation(pointer, message, "oneOf"))


def _distance(found: list[Violation]) -> tuple[int, int]:
    """Rank a failing branch: an enum/type miss (a different alternative) is worse than a missing member."""
    return sum(1 for v in found if v.kind in ("enum", "type")), len(found)
