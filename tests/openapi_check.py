"""Test-side conformance check: every simulator exchange against Apple's full OpenAPI 4.4.1 spec.

What ``check_exchange`` checks, for records of ``kind == "api"`` (routes under ``/sim/`` and ``/upload``
are skipped):

* the operation (method + path template, placeholders matched by position whatever their names) exists in
  the spec — a route Apple does not have is a violation;
* for a 2xx answer, the request body against the operation's ``requestBody`` schema (a body sent to an
  operation that takes none is a violation; a rejected request may legitimately be invalid, so 4xx/5xx
  requests are not checked);
* the response body against the schema declared for that status; 4xx/5xx against ``ErrorResponse``
  (declared or not); 204 must have no body; a 2xx status the operation does not declare is a violation.

Validation uses ``openapi_schema_validator.OAS30Validator`` (so ``nullable`` works) extended two ways:
``{"nullable": true, "$ref": ...}`` admits null (Apple's way of marking nullable maps), and, like Apple, a
member an object schema does not declare is an error unless the schema has ``additionalProperties`` (this
catches misspelt attributes, which plain JSON Schema lets through). ``format`` is not checked. The one
documented live-API departure from the spec (``assetDeliveryState.errors``/``warnings`` may be null) is
allowed; see ``DOCUMENTED_NULLABLE``.

One-time cost per session: reading and parsing the 3.4 MB spec (~50 ms) plus the path index; validators are
built lazily and cached per schema, so each exchange costs one dict lookup and one validation
(see ``STATS``; the session summary prints the count and timings).

The spec is ``$BULKGC_ASC_SPEC`` (plain or gzipped JSON) or the copy shipped in the repository,
``tests/data/app_store_connect_api_4.4.1.json.gz`` (see ``tests/data/PROVENANCE.md``); it is a required test
input, so a missing spec raises ``SpecMissingError`` instead of skipping.

Violations found while a test deliberately feeds the checker broken exchanges (the checker's own
self-tests, marked ``openapi_selftest``) are counted apart, so the session summary's violation count is
the count of real simulator departures from the spec.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator

SPEC_ENV = "BULKGC_ASC_SPEC"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT / "tests" / "data" / "app_store_connect_api_4.4.1.json.gz"
IGNORED_PREFIXES = ("/sim/", "/upload")
HTTP_METHODS = frozenset({"get", "post", "patch", "put", "delete", "head", "options"})
_REF_PREFIX = "#/components/schemas/"


class SpecMissingError(RuntimeError):
    """Apple's OpenAPI spec could not be found; it is a required test input."""


@dataclass
class CheckStats:
    """Counters printed in the pytest terminal summary."""

    exchanges: int = 0
    violations: int = 0
    # violations provoked on purpose by the checker's self-tests (see `selftest`), not simulator departures
    deliberate: int = 0
    selftest: bool = False
    seconds: float = 0.0
    spec_load_seconds: float | None = None

    def summary(self) -> str:
        """One line for the CI log."""
        per = f"{self.seconds / self.exchanges * 1e6:.0f} µs/exchange" if self.exchanges else "-"
        loaded = self.spec_load_seconds
        load = f"{loaded * 1e3:.0f} ms" if loaded is not None else "not loaded"
        selftest = (f" (+{self.deliberate} provoked on purpose by the checker's self-tests)"
                    if self.deliberate else "")
        return (f"openapi check: {self.exchanges} exchanges validated against Apple's spec, "
                f"{self.violations} violations{selftest}; spec load {load}, {per}")


STATS = CheckStats()


def spec_path() -> Path:
    """Where the spec is read from: ``$BULKGC_ASC_SPEC`` or the repository's ``tests/data/...json.gz``."""
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else DEFAULT_SPEC.resolve()


def read_spec() -> dict[str, Any]:
    """The spec exactly as stored (parsed fresh on every call); raises SpecMissingError if absent."""
    path = spec_path()
    if not path.is_file():
        raise SpecMissingError(
            f"Apple's OpenAPI spec not found at {path}. It is a required test input shipped with the "
            f"repository (tests/data/); restore it with git, or set {SPEC_ENV} to the spec's path."
        )
    raw = path.read_bytes()
    spec: dict[str, Any] = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    return spec


@cache
def load_spec() -> dict[str, Any]:
    """The spec used for checking, parsed once per process, with the documented live-API allowances."""
    started = time.perf_counter()
    spec = read_spec()
    _allow_documented_live_behaviour(spec)
    STATS.spec_load_seconds = time.perf_counter() - started
    return spec


# Where Apple's own documentation shows the live API departing from the spec, the documented behaviour is
# allowed (and only that): GET /v1/gameCenterAchievementImages/{id}'s example answers a COMPLETE image with
# "assetDeliveryState": {"errors": null, "warnings": null, ...} (GAME_CENTER_API.md A3), while the spec
# declares both as non-nullable arrays.
DOCUMENTED_NULLABLE = (("AppMediaAssetState", "errors"), ("AppMediaAssetState", "warnings"))


def _allow_documented_live_behaviour(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for schema_name, member in DOCUMENTED_NULLABLE:
        schemas[schema_name]["properties"][member]["nullable"] = True
    # GAME_CENTER_API.md A1 [INFER]: following JSON:API, an empty to-one relationship answers `"data": null`
    # (e.g. a detail without a Game Center group, a localization without an image); the spec declares the
    # linkage object non-nullable. Allowed in responses only (request schemas end in "Request").
    for name, schema in schemas.items():
        if name.endswith("Request"):
            continue
        for target in _to_one_linkages(schema):
            target["nullable"] = True


def _to_one_linkages(schema: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The `data` schemas of a resource schema's to-one relationships (objects, not arrays)."""
    props = schema.get("properties") or {}
    for sub in ((props.get("data") or {}),) if "relationships" not in props else (schema,):
        rels = ((sub.get("properties") or {}).get("relationships") or {}).get("properties") or {}
        for rel in rels.values():
            data = (rel.get("properties") or {}).get("data")
            if isinstance(data, dict) and data.get("type") == "object":
                yield data
    data = props.get("data")
    if isinstance(data, dict) and (data.get("type") == "object" or "$ref" in data) and "links" in props:
        # a to-one read (`GET …/image`, `…/relationships/image`) answers `data: null` when there is none;
        # the issue asks the simulator for exactly that (A1 [INFER])
        yield data


def _path_shape(template: str) -> tuple[str, ...]:
    """Path segments with every ``{placeholder}`` (aiohttp's ``{name:regex}`` too) reduced to ``{}``."""
    return tuple("{}" if s.startswith("{") and s.endswith("}") else s for s in template.split("/"))


@cache
def _path_index() -> dict[tuple[str, ...], str]:
    index: dict[tuple[str, ...], str] = {}
    for template in load_spec()["paths"]:
        index.setdefault(_path_shape(template), template)
    return index


def spec_path_for(route: str) -> str | None:
    """The spec's path template with the same shape as an aiohttp route template, or None."""
    return _path_index().get(_path_shape(route))


def _nullable_ref(
    validator: Any, ref: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``$ref`` that lets ``nullable: true`` beside it admit null (OAS 3.0 would ignore the sibling)."""
    if instance is None and schema.get("nullable") is True:
        return
    yield from validator._validate_reference(ref=ref, instance=instance)


def _strict_properties(
    validator: Any, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``properties`` that also rejects undeclared members when no ``additionalProperties`` is given."""
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name in instance:
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)
    if "additionalProperties" not in schema:
        unknown = sorted(set(instance) - set(properties))
        if unknown:
            yield ValidationError(f"undeclared member(s) {', '.join(map(repr, unknown))}")


StrictOAS30Validator = validators.extend(
    OAS30Validator, {"$ref": _nullable_ref, "properties": _strict_properties}
)


@cache
def _validator(schema_name: str) -> Any:
    """A compiled validator for one component schema, resolving refs inside the spec document."""
    spec = load_spec()
    root = {"$ref": _REF_PREFIX + schema_name, "components": spec["components"]}
    return StrictOAS30Validator(root)


def _schema_name(content: Mapping[str, Any] | None) -> str | None:
    if not content:
        return None
    ref: str = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.removeprefix(_REF_PREFIX) if ref.startswith(_REF_PREFIX) else None


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)


def describe_exchange(record: Any) -> str:
    """``METHOD route -> status`` for violation listings."""
    route = _field(record, "route") or _field(record, "path")
    return f"{_field(record, 'method')} {route} -> {_field(record, 'status')}"


def _parse(body: Any) -> Any:
    """Bodies may be recorded parsed or raw; b"" and "" mean no body."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8")
    if isinstance(body, str):
        return json.loads(body) if body.strip() else None
    return body


def _errors(schema_name: str, instance: Any, what: str) -> list[str]:
    found = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    messages = []
    for error in found:
        if error.validator == "type" and error.instance is None and error.message != "None for not nullable":
            continue  # OAS30's `type` reports null twice ("None for not nullable" + "not of type")
        pointer = "".join(f"/{part}" for part in error.absolute_path) or "/"
        messages.append(f"{what} {pointer}: {error.message} (schema {schema_name})")
    return messages


@dataclass
class _Exchange:
    method: str
    route: str
    status: int
    request_body: Any = field(repr=False)
    response_body: Any = field(repr=False)


def check_exchange(record: Any) -> list[str]:
    """Every way one recorded exchange departs from Apple's spec (empty: conforms or not checked).

    ``record`` is a ``bulkgc.sim`` RequestRecord or any object/mapping with ``method``, ``route``,
    ``status``, ``request_body``, ``response_body`` and ``kind``.
    """
    if _field(record, "kind") != "api":
        return []
    route = _field(record, "route") or _field(record, "path") or ""
    if route.startswith(IGNORED_PREFIXES):
        return []
    _path_index()  # the one-time spec load is reported on its own, not in the per-exchange time
    started = time.perf_counter()
    try:
        exchange = _Exchange(
            method=str(_field(record, "method")).lower(),
            route=route,
            status=int(_field(record, "status")),
            request_body=_field(record, "request_body"),
            response_body=_field(record, "response_body"),
        )
        problems = _check(exchange)
    finally:
        STATS.exchanges += 1
        STATS.seconds += time.perf_counter() - started
    if STATS.selftest:
        STATS.deliberate += len(problems)
    else:
        STATS.violations += len(problems)
    return problems


def _check(exchange: _Exchange) -> list[str]:
    template = spec_path_for(exchange.route)
    if template is None:
        return [f"path {exchange.route} is not in Apple's spec"]
    operation = load_spec()["paths"][template].get(exchange.method)
    if exchange.method not in HTTP_METHODS or operation is None:
        return [f"{exchange.method.upper()} {template} is not an operation in Apple's spec"]
    problems: list[str] = []
    try:
        request = _parse(exchange.request_body)
    except ValueError as exc:
        request, problems = None, [f"request body is not JSON: {exc}"]
    if 200 <= exchange.status < 300:
        problems += _check_request(operation, request)
    problems += _check_response(operation, exchange.status, exchange.response_body)
    return problems


def _check_request(operation: Mapping[str, Any], request: Any) -> list[str]:
    declared = operation.get("requestBody")
    if declared is None:
        return [] if request is None else ["request has a body but the operation takes none"]
    if request is None:
        return ["request body missing"] if declared.get("required") else []
    name = _schema_name(declared.get("content"))
    return _errors(name, request, "request") if name else []


def _check_response(operation: Mapping[str, Any], status: int, raw: Any) -> list[str]:
    try:
        body = _parse(raw)
    except ValueError as exc:
        return [f"response body is not JSON: {exc}"]
    declared = operation["responses"].get(str(status))
    if status >= 400:
        return ["error response has no body"] if body is None else _errors("ErrorResponse", body, "response")
    if declared is None:
        return [f"status {status} is not declared for this operation (declared: "
                f"{', '.join(sorted(operation['responses']))})"]
    name = _schema_name(declared.get("content"))
    if name is None:
        return [] if body is None else [f"status {status} declares no body but one was sent"]
    if body is None:
        return [f"status {status} requires a {name} body"]
    return _errors(name, body, "response")


def assert_all_conform(records: Iterable[Any], where: str = "simulator process") -> int:
    """Check every recorded exchange (e.g. fetched from a simulator running in another process through
    `/sim/requests`, which the in-process observer cannot see); fail listing each violation. Returns the
    number of API exchanges checked."""
    checked, violations = 0, []
    for record in records:
        if _field(record, "dropped"):
            continue  # the connection was cut (a fault): there is no answer to check, as the observer sees it
        if _field(record, "kind") == "api":
            checked += 1
        violations.extend(f"{describe_exchange(record)}: {problem}" for problem in check_exchange(record))
    assert not violations, f"{len(violations)} exchange(s) of the {where} do not conform to Apple's OpenAPI " \
                           "spec:\n  " + "\n  ".join(violations)
    return checked
