"""The slice of Apple's OpenAPI spec the simulator serves: query parameters, request and response schemas per operation.

`operations.json` (beside this module) is generated from `app_store_connect_api_4.4.1.json` by
`python -m bulkgc.sim.specdata SPEC.json`; the simulator only reads the generated file.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

OPERATIONS_FILE = Path(__file__).with_name("operations.json")

def served() -> list[tuple[str, str]]:
    """Every (method, path) the simulator serves (its route table); each must exist in the spec."""
    from .kinds import routes  # late: the route table imports the whole simulator

    return [(method, path) for method, path, _api, _handler in routes()]


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Extract the served operations from the full spec."""
    operations: dict[str, Any] = {}
    for method, path in served():
        op = spec["paths"][path][method.lower()]
        params: dict[str, Any] = {}
        for p in op.get("parameters", []):
            if p.get("in") != "query":
                continue
            schema = p["schema"]
            entry: dict[str, Any] = {"type": schema.get("type")}
            if schema.get("type") == "array":
                enum = schema.get("items", {}).get("enum")
                if enum:
                    entry["enum"] = enum
            if "maximum" in schema:
                entry["maximum"] = schema["maximum"]
            if p.get("required"):
                entry["required"] = True  # e.g. filter[app] of GET /v1/reviewSubmissions
            params[p["name"]] = entry
        responses = {}
        for status, resp in op["responses"].items():
            content = resp.get("content", {}).get("application/json", {})
            name = _ref_name(content.get("schema", {})) if content else None
            responses[status] = name
        request = None
        if "requestBody" in op:
            request = _ref_name(op["requestBody"]["content"]["application/json"]["schema"])
        operations[f"{method} {path}"] = {
            "operationId": op["operationId"],
            "deprecated": bool(op.get("deprecated")),
            "params": params,
            "request": request,
            "responses": responses,
        }
    # Request bodies are validated by bulkgc.sim.schema (schemas.json); only their names are kept here.
    return {"spec_version": spec["info"]["version"], "operations": operations}


@cache
def load() -> dict[str, Any]:
    """The generated operations table."""
    data: dict[str, Any] = json.loads(OPERATIONS_FILE.read_text(encoding="utf-8"))
    return data


def operation(method: str, path_template: str) -> dict[str, Any]:
    """The spec entry for one served operation (KeyError if the simulator does not serve it)."""
    ops: dict[str, Any] = load()["operations"]
    return ops[f"{method} {path_template}"]  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m bulkgc.sim.specdata app_store_connect_api.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    OPERATIONS_FILE.write_text(json.dumps(build(spec), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OPERATIONS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
