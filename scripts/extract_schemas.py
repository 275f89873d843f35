"""Extract the Game Center request-body schemas from Apple's OpenAPI spec into ``bulkgc/sim/schemas.json``.

The simulator validates request bodies at runtime without the 3.4 MB spec and without jsonschema, so this
script copies only what it needs: the request-body schema of every operation that takes one on a path
containing ``gameCenter`` (create, update and relationship POST/PATCH/DELETE) plus the review-submission
paths used to submit Game Center versions, together with every ``#/components/schemas/...`` they reference.
Annotations the validator never reads (``title``, ``description``, ``deprecated``, ``example``,
``discriminator``) are dropped; ``$ref`` strings are kept verbatim.

Output shape (minified JSON)::

    {"spec_version": "4.4.1",
     "operations": {"POST /v2/gameCenterAchievementImages": "GameCenterAchievementImageV2CreateRequest", ...},
     "schemas": {"GameCenterAchievementImageV2CreateRequest": {...}, ...}}

Usage: ``python scripts/extract_schemas.py [--spec PATH] [--out PATH] [--check]``; the spec defaults to
``$BULKGC_ASC_SPEC`` or the copy shipped in ``tests/data/app_store_connect_api_4.4.1.json.gz``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT / "tests" / "data" / "app_store_connect_api_4.4.1.json.gz"
DEFAULT_OUT = REPO_ROOT / "bulkgc" / "sim" / "schemas.json"
SPEC_ENV = "BULKGC_ASC_SPEC"

# Not Game Center paths, but how Game Center versions reach App Review (GAME_CENTER_API.md A4.9).
EXTRA_PATHS = frozenset({"/v1/reviewSubmissions", "/v1/reviewSubmissions/{id}", "/v1/reviewSubmissionItems"})
BODY_METHODS = ("post", "patch", "delete")
SCHEMA_REF_PREFIX = "#/components/schemas/"
# Keywords with no effect on validation; dropped to keep the package data small.
ANNOTATIONS = frozenset({"title", "description", "deprecated", "example", "discriminator", "externalDocs"})


def default_spec_path() -> Path:
    """The spec path: ``$BULKGC_ASC_SPEC`` if set, else the copy shipped in ``tests/data/``."""
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else DEFAULT_SPEC.resolve()


def wanted_path(path: str) -> bool:
    """Whether an API path belongs to the simulator's surface."""
    return "gameCenter" in path or path in EXTRA_PATHS


def request_operations(spec: dict[str, Any]) -> dict[str, str]:
    """Map ``"<METHOD> <path>"`` to the component name of its JSON request-body schema."""
    operations: dict[str, str] = {}
    for path, item in spec["paths"].items():
        if not wanted_path(path):
            continue
        for method in BODY_METHODS:
            body = item.get(method, {}).get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"].get("$ref", "")
            if not ref.startswith(SCHEMA_REF_PREFIX):
                raise ValueError(f"{method.upper()} {path}: request body is not a named component ({ref!r})")
            operations[f"{method.upper()} {path}"] = ref.removeprefix(SCHEMA_REF_PREFIX)
    return dict(sorted(operations.items()))


def _refs(node: Any) -> Iterator[str]:
    """Every component name referenced anywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                if not value.startswith(SCHEMA_REF_PREFIX):
                    raise ValueError(f"unsupported reference {value!r}")
                yield value.removeprefix(SCHEMA_REF_PREFIX)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def ref_closure(components: dict[str, Any], roots: set[str]) -> set[str]:
    """The given component names plus everything they reference, transitively."""
    seen: set[str] = set()
    pending = sorted(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(ref for ref in _refs(components[name]) if ref not in seen)
    return seen


def strip_annotations(schema: Any) -> Any:
    """A copy of a schema without annotation keywords (property *names* such as ``title`` are kept)."""
    if isinstance(schema, list):
        return [strip_annotations(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key == "properties":
            out[key] = {name: strip_annotations(sub) for name, sub in value.items()}
        elif key == "enum":
            out[key] = value
        else:
            out[key] = strip_annotations(value)
    return out


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the ``schemas.json`` document from a parsed spec."""
    operations = request_operations(spec)
    components = spec["components"]["schemas"]
    names = ref_closure(components, set(operations.values()))
    return {
        "spec_version": spec["info"]["version"],
        "operations": operations,
        "schemas": {name: strip_annotations(components[name]) for name in sorted(names)},
    }


def render(document: dict[str, Any]) -> str:
    """The exact text written to ``schemas.json`` (minified, stable key order, trailing newline)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) ``bulkgc/sim/schemas.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=None,
                        help=f"spec JSON, plain or gzipped (default: ${SPEC_ENV} or tests/data/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    args = parser.parse_args(argv)
    spec_path: Path = args.spec or default_spec_path()
    if not spec_path.is_file():
        print(f"spec not found: {spec_path} (set {SPEC_ENV} or pass --spec)", file=sys.stderr)
        return 2
    raw = spec_path.read_bytes()
    text = render(extract(json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date; run scripts/extract_schemas.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    document = json.loads(text)
    print(f"wrote {args.out}: {len(document['operations'])} operations, "
          f"{len(document['schemas'])} schemas, {len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
