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

# Every (method, path) the simulator serves; each must exist in the spec.
SERVED: list[tuple[str, str]] = [
    ("GET", "/v1/apps/{id}/gameCenterDetail"),
    ("GET", "/v1/apps/{id}/relationships/gameCenterDetail"),
    ("GET", "/v1/gameCenterDetails/{id}"),
    ("GET", "/v1/gameCenterDetails/{id}/gameCenterGroup"),
    ("GET", "/v1/gameCenterDetails/{id}/relationships/gameCenterGroup"),
    ("GET", "/v1/gameCenterGroups/{id}"),
    ("GET", "/v1/gameCenterDetails/{id}/gameCenterAchievementsV2"),
    ("GET", "/v1/gameCenterDetails/{id}/relationships/gameCenterAchievementsV2"),
    ("GET", "/v1/gameCenterGroups/{id}/gameCenterAchievementsV2"),
    ("GET", "/v1/gameCenterGroups/{id}/relationships/gameCenterAchievementsV2"),
    ("GET", "/v1/gameCenterDetails/{id}/gameCenterAchievements"),
    ("GET", "/v1/gameCenterDetails/{id}/relationships/gameCenterAchievements"),
    ("GET", "/v1/gameCenterGroups/{id}/gameCenterAchievements"),
    ("GET", "/v1/gameCenterGroups/{id}/relationships/gameCenterAchievements"),
    # v2 achievements
    ("POST", "/v2/gameCenterAchievements"),
    ("GET", "/v2/gameCenterAchievements/{id}"),
    ("PATCH", "/v2/gameCenterAchievements/{id}"),
    ("DELETE", "/v2/gameCenterAchievements/{id}"),
    ("GET", "/v2/gameCenterAchievements/{id}/versions"),
    ("GET", "/v2/gameCenterAchievements/{id}/relationships/versions"),
    ("POST", "/v2/gameCenterAchievementVersions"),
    ("GET", "/v2/gameCenterAchievementVersions/{id}"),
    ("GET", "/v2/gameCenterAchievementVersions/{id}/localizations"),
    ("GET", "/v2/gameCenterAchievementVersions/{id}/relationships/localizations"),
    ("POST", "/v2/gameCenterAchievementLocalizations"),
    ("GET", "/v2/gameCenterAchievementLocalizations/{id}"),
    ("PATCH", "/v2/gameCenterAchievementLocalizations/{id}"),
    ("DELETE", "/v2/gameCenterAchievementLocalizations/{id}"),
    ("GET", "/v2/gameCenterAchievementLocalizations/{id}/image"),
    ("GET", "/v2/gameCenterAchievementLocalizations/{id}/relationships/image"),
    ("POST", "/v2/gameCenterAchievementImages"),
    ("GET", "/v2/gameCenterAchievementImages/{id}"),
    ("PATCH", "/v2/gameCenterAchievementImages/{id}"),
    ("DELETE", "/v2/gameCenterAchievementImages/{id}"),
    # v1 achievements (deprecated)
    ("POST", "/v1/gameCenterAchievements"),
    ("GET", "/v1/gameCenterAchievements/{id}"),
    ("PATCH", "/v1/gameCenterAchievements/{id}"),
    ("DELETE", "/v1/gameCenterAchievements/{id}"),
    ("GET", "/v1/gameCenterAchievements/{id}/localizations"),
    ("GET", "/v1/gameCenterAchievements/{id}/relationships/localizations"),
    ("POST", "/v1/gameCenterAchievementLocalizations"),
    ("GET", "/v1/gameCenterAchievementLocalizations/{id}"),
    ("PATCH", "/v1/gameCenterAchievementLocalizations/{id}"),
    ("DELETE", "/v1/gameCenterAchievementLocalizations/{id}"),
    ("GET", "/v1/gameCenterAchievementLocalizations/{id}/gameCenterAchievement"),
    ("GET", "/v1/gameCenterAchievementLocalizations/{id}/relationships/gameCenterAchievement"),
    ("GET", "/v1/gameCenterAchievementLocalizations/{id}/gameCenterAchievementImage"),
    ("GET", "/v1/gameCenterAchievementLocalizations/{id}/relationships/gameCenterAchievementImage"),
    ("POST", "/v1/gameCenterAchievementImages"),
    ("GET", "/v1/gameCenterAchievementImages/{id}"),
    ("PATCH", "/v1/gameCenterAchievementImages/{id}"),
    ("DELETE", "/v1/gameCenterAchievementImages/{id}"),
]


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Extract the served operations from the full spec."""
    operations: dict[str, Any] = {}
    for method, path in SERVED:
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
