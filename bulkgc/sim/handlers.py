"""The App Store Connect operations the simulator serves, with Apple's rules (and documented [INFER] ones).

Each handler gets a `Call` (validated query, parsed body, path id) and returns (status, body, headers).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import errors as E
from .jsonapi import TYPES, Query, apply_filters, base_path, paged_links, self_url
from .render import Renderer, collection_of, rel_of
from .state import EDITABLE_STATES, NEW_VERSION_STATES
from .uploads import new_upload_token, plan_parts

if TYPE_CHECKING:
    from .app import Simulator

# App Store Connect locale codes (the App Store localization list) [DOC App Store Connect Help, "App Store localizations"].
LOCALES = frozenset(
    """ar-SA ca cs da de-DE el en-AU en-CA en-GB en-US es-ES es-MX fi fr-CA fr-FR he hi hr hu id it ja ko ms nl-NL no
    pl pt-BR pt-PT ro ru sk sv th tr uk vi zh-Hans zh-Hant""".split()
)
MAX_VENDOR_ID = 100  # [DOC] achievement IDs are at most 100 characters


@dataclass
class Call:
    sim: Simulator
    method: str
    path: str
    route: str
    api: str
    query: Query
    items: list[tuple[str, str]]
    body: Any
    rid: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def renderer(self, api: str | None = None) -> Renderer:
        return Renderer(self.sim.state, self.sim.base_url, api or self.api, self.query, self.sim.config.default_included_limit)

    @property
    def self_url(self) -> str:
        return self_url(self.sim.base_url, self.path, self.items)


Result = tuple[int, Any, dict[str, str]]


def _find(call: Call, kind: str, rid: str | None) -> dict[str, Any]:
    rec = call.sim.state.get(collection_of(kind), rid or "")
    if rec is None:
        raise E.not_found(TYPES[kind], rid or "")
    return rec


# ------------------------------------------------------------------ generic reads


def get_instance(kind: str) -> Any:
    async def handler(call: Call) -> Result:
        rec = _find(call, kind, call.rid)
        return 200, call.renderer().document(kind, rec, {"self": call.self_url}), {}

    return handler


def get_related(parent: str, rel_name: str, *, linkage: bool = False) -> Any:
    """GET /{parent}/{id}/{rel} (resources) or /{parent}/{id}/relationships/{rel} (linkage only)."""

    async def handler(call: Call) -> Result:
        parent_rec = _find(call, parent, call.rid)
        r = call.renderer()
        rel = rel_of(call.api, parent, rel_name)
        target = r.resolve(parent, parent_rec, rel)
        assert rel.target is not None
        if not rel.many:
            if linkage:
                data = r.linkage(rel.target, target) if target else None
                return 200, {"data": data, "links": {"self": call.self_url}}, {}
            return 200, r.document(rel.target, target, {"self": call.self_url}), {}
        target = apply_filters(target, call.query.filters, lambda rec, name: r.attribute(rel.target, rec, name))  # type: ignore[arg-type]
        limit = call.query.limit or call.sim.config.default_limit
        page = target[call.query.offset : call.query.offset + limit]
        next_offset = call.query.offset + limit if call.query.offset + limit < len(target) else None
        links = paged_links(call.sim.base_url, call.path, call.items, limit, next_offset)
        paging: dict[str, Any] = {"total": len(target), "limit": limit}
        if next_offset is not None:
            paging["nextCursor"] = links["next"].split("cursor=", 1)[1].split("&", 1)[0]
        if linkage:
            doc = {"data": [r.linkage(rel.target, t) for t in page], "links": links}
        else:
            doc = r.document(rel.target, page, links)
        doc["meta"] = {"paging": paging}
        return 200, doc, {}

    return handler


# ------------------------------------------------------------------ helpers for writes


def _check_id(call: Call) -> None:
    if call.body["data"].get("id") != call.rid:
        raise E.SimError(
            409,
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            "The provided entity includes an attribute with an invalid value",
            f"The id in the request body ('{call.body['data'].get('id')}') does not match the id in the URL ('{call.rid}').",
            pointer="/data/id",
        )


def _related_id(call: Call, name: str) -> str | None:
    rels = call.body["data"].get("relationships") or {}
    data = (rels.get(name) or {}).get("data")
    return data.get("id") if isinstance(data, dict) else None


def _require_editable(version: dict[str, Any], what: str) -> None:
    # [INFER] Apple answers 409 STATE_ERROR when content of a submitted/live version is edited.
    if version["state"] not in EDITABLE_STATES:
        raise E.state_invalid(
            f"Version {version['version']} of this achievement is {version['state']}; {what} can only be changed while "
            f"the version is {', '.join(sorted(EDITABLE_STATES))}. Create a new version first."
        )


def _created(call: Call, kind: str, rec: dict[str, Any]) -> Result:
    r = call.renderer()
    doc = r.document(kind, rec, {"self": r.self_link(kind, rec)})
    return 201, doc, {"Location": r.self_link(kind, rec)}


def _ok(call: Call, kind: str, rec: dict[str, Any]) -> Result:
    r = call.renderer()
    return 200, r.document(kind, rec, {"self": call.self_url}), {}


# ------------------------------------------------------------------ achievements


def _owner(call: Call) -> tuple[str, str]:
    s = call.sim.state
    detail_id = _related_id(call, "gameCenterDetail")
    group_id = _related_id(call, "gameCenterGroup")
    if detail_id and group_id:
        raise E.relationship_invalid("/data/relationships", "Relate the achievement to a gameCenterDetail or a gameCenterGroup, not both.")
    if not detail_id and not group_id:
        raise E.SimError(
            409,
            "ENTITY_ERROR.RELATIONSHIP.REQUIRED",
            "The provided entity is missing a required relationship",
            "An achievement needs a gameCenterDetail or a gameCenterGroup relationship.",
            pointer="/data/relationships/gameCenterDetail",
        )
    if detail_id:
        detail = s.get("details", detail_id)
        if detail is None:
            raise E.relationship_invalid("/data/relationships/gameCenterDetail", f"There is no gameCenterDetails with id '{detail_id}'.")
        if detail.get("group_id"):
            # [INFER] a grouped detail's achievements belong to its group.
            raise E.relationship_invalid(
                "/data/relationships/gameCenterDetail",
                f"This Game Center detail belongs to group '{detail['group_id']}'; create achievements in the group "
                "(relationships.gameCenterGroup).",
            )
        return "detail", detail_id
    assert group_id is not None
    if s.get("groups", group_id) is None:
        raise E.relationship_invalid("/data/relationships/gameCenterGroup", f"There is no gameCenterGroups with id '{group_id}'.")
    return "group", group_id


def _check_points(call: Call, owner: tuple[str, str], points: int, exclude: str | None = None) -> None:
    cfg = call.sim.config
    if not 1 <= points <= cfg.max_points:
        raise E.attribute_invalid("/data/attributes/points", f"points must be between 1 and {cfg.max_points}; got {points}.")
    others = sum(a["attributes"]["points"] for a in call.sim.state.achievements_of(*owner) if a["id"] != exclude)
    if others + points > cfg.max_total_points:
        raise E.attribute_invalid(
            "/data/attributes/points",
            f"The achievements would total {others + points} points; at most {cfg.max_total_points} are allowed.",
        )


def create_achievement(api: str) -> Any:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        data = call.body["data"]
        attrs = data["attributes"]
        owner = _owner(call)
        if api == "v2":
            local_ids = [v.get("id") for v in data["relationships"]["versions"]["data"]]
            included = call.body.get("included") or []
            inline_ids = [i.get("id") for i in included]
            if len(local_ids) != 1:
                raise E.relationship_invalid("/data/relationships/versions", "Create exactly one inline version with the achievement.")
            if local_ids[0] not in inline_ids:
                raise E.relationship_invalid(
                    "/data/relationships/versions/data/0/id",
                    f"The version '{local_ids[0]}' is not in 'included' (its id must match an included gameCenterAchievementVersions).",
                )
            if len(included) != 1:
                raise E.SimError(
                    409, "ENTITY_ERROR.INCLUDED.INVALID", "The provided entity includes an invalid included resource",
                    "Every included resource must be referenced by relationships.versions (exactly one).", pointer="/included",
                )
        vendor = attrs["vendorIdentifier"]
        if not vendor.strip() or len(vendor) > MAX_VENDOR_ID:
            raise E.attribute_invalid("/data/attributes/vendorIdentifier", f"vendorIdentifier must be 1 to {MAX_VENDOR_ID} characters.")
        if not attrs["referenceName"].strip():
            raise E.attribute_invalid("/data/attributes/referenceName", "referenceName must not be empty.")
        used = {a["attributes"]["vendorIdentifier"] for a in s.achievements_of(*owner)} | set(s.meta.get("retired_vendor_ids", []))
        if vendor in used:
            # [DOC] achievement IDs are permanent: even a deleted achievement's ID cannot be used again.
            raise E.duplicate("/data/attributes/vendorIdentifier", f"An achievement with vendorIdentifier '{vendor}' already exists or existed.")
        if len(s.achievements_of(*owner)) >= call.sim.config.max_achievements:
            raise E.relationship_invalid(
                f"/data/relationships/{'gameCenterDetail' if owner[0] == 'detail' else 'gameCenterGroup'}",
                f"At most {call.sim.config.max_achievements} achievements are allowed.",
            )
        _check_points(call, owner, attrs["points"])
        with s.lock:
            aid = s.new_id("numeric")
            rec = {
                "id": aid, "seq": s.next_seq(), "owner_kind": owner[0], "owner_id": owner[1], "created": time.time(),
                "attributes": {
                    "referenceName": attrs["referenceName"], "vendorIdentifier": vendor, "points": attrs["points"],
                    "showBeforeEarned": attrs["showBeforeEarned"], "repeatable": attrs["repeatable"], "archived": False,
                    "activityProperties": attrs.get("activityProperties") or {},
                },
            }
            s.data["achievements"][aid] = rec
            _new_version(call, aid, 1)
        return _created(call, "achievement", rec)

    return handler


def _new_version(call: Call, achievement_id: str, number: int) -> dict[str, Any]:
    s = call.sim.state
    vid = s.new_id("uuid")
    version = {"id": vid, "achievement_id": achievement_id, "version": number, "state": "PREPARE_FOR_SUBMISSION", "created": time.time()}
    s.data["versions"][vid] = version
    return version


def update_achievement(api: str) -> Any:
    async def handler(call: Call) -> Result:
        _check_id(call)
        rec = _find(call, "achievement", call.rid)
        attrs = {k: v for k, v in (call.body["data"].get("attributes") or {}).items() if v is not None}
        if "points" in attrs:
            _check_points(call, (rec["owner_kind"], rec["owner_id"]), attrs["points"], exclude=rec["id"])
        if "referenceName" in attrs and not attrs["referenceName"].strip():
            raise E.attribute_invalid("/data/attributes/referenceName", "referenceName must not be empty.")
        rec["attributes"].update(attrs)
        return _ok(call, "achievement", rec)

    return handler


def delete_achievement(api: str) -> Any:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        rec = _find(call, "achievement", call.rid)
        shipped = [v for v in s.versions_of(rec["id"]) if v["state"] not in EDITABLE_STATES]
        if shipped:
            # [INFER] a submitted or live achievement cannot be deleted (archive it instead).
            raise E.state_invalid(f"The achievement has a {shipped[-1]['state']} version and cannot be deleted; archive it instead.")
        with s.lock:
            s.meta.setdefault("retired_vendor_ids", []).append(rec["attributes"]["vendorIdentifier"])
            s.delete_achievement(rec["id"])
        return 204, None, {}

    return handler


# ------------------------------------------------------------------ versions


async def create_version(call: Call) -> Result:
    s = call.sim.state
    aid = _related_id(call, "achievement")
    ach = s.get("achievements", aid or "")
    if ach is None:
        raise E.relationship_invalid("/data/relationships/achievement", f"There is no gameCenterAchievements with id '{aid}'.")
    latest = s.latest_version(ach["id"])
    if latest is not None and latest["state"] not in NEW_VERSION_STATES:
        # [INFER] one version in flight at a time: a new version needs the latest one to be LIVE.
        raise E.state_invalid(
            f"Version {latest['version']} is {latest['state']}; a new version can only be created when the latest version is LIVE.",
            pointer="/data/relationships/achievement",
        )
    with s.lock:
        version = _new_version(call, ach["id"], (latest["version"] + 1) if latest else 1)
        if latest is not None:
            _copy_content(call, latest, version)
    return _created(call, "version", version)


def _copy_content(call: Call, source: dict[str, Any], target: dict[str, Any]) -> None:
    """[INFER] a new version starts with copies of the previous version's localizations and processed images."""
    s = call.sim.state
    for loc in s.localizations_of(source["id"]):
        new_loc = {**loc, "id": s.new_id("uuid"), "seq": s.next_seq(), "version_id": target["id"]}
        s.data["localizations"][new_loc["id"]] = new_loc
        img = s.image_of(loc["id"])
        if img and (img.get("result") or {}).get("state") == "COMPLETE":
            new_img = {**img, "id": s.new_id("uuid"), "localization_id": new_loc["id"], "token": new_upload_token()}
            s.data["images"][new_img["id"]] = new_img
            for op in img["operations"]:
                chunk = s.parts.get(img["id"], op["part"])
                if chunk is not None:
                    s.parts.put(new_img["id"], op["part"], chunk)


# ------------------------------------------------------------------ localizations


def create_localization(api: str) -> Any:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        attrs = call.body["data"]["attributes"]
        if api == "v2":
            vid = _related_id(call, "version")
            version = s.get("versions", vid or "")
            if version is None:
                raise E.relationship_invalid("/data/relationships/version", f"There is no gameCenterAchievementVersions with id '{vid}'.")
        else:
            aid = _related_id(call, "gameCenterAchievement")
            ach = s.get("achievements", aid or "")
            version = s.latest_version(ach["id"]) if ach else None
            if version is None:
                raise E.relationship_invalid("/data/relationships/gameCenterAchievement", f"There is no gameCenterAchievements with id '{aid}'.")
        _require_editable(version, "localizations")
        locale = attrs["locale"]
        if locale not in LOCALES:
            raise E.attribute_invalid("/data/attributes/locale", f"'{locale}' is not a valid App Store Connect locale (e.g. en-US, fr-FR, ja, zh-Hans).")
        if any(loc["locale"] == locale for loc in s.localizations_of(version["id"])):
            raise E.duplicate("/data/attributes/locale", f"Entity with locale: '{locale}' already exists. Try updating.")
        for name in ("name", "beforeEarnedDescription", "afterEarnedDescription"):
            if not attrs[name].strip():
                raise E.attribute_invalid(f"/data/attributes/{name}", f"{name} must not be empty.")
        with s.lock:
            rec = {
                "id": s.new_id("uuid"), "seq": s.next_seq(), "version_id": version["id"], "locale": locale,
                "name": attrs["name"], "beforeEarnedDescription": attrs["beforeEarnedDescription"],
                "afterEarnedDescription": attrs["afterEarnedDescription"],
            }
            s.data["localizations"][rec["id"]] = rec
        return _created(call, "localization", rec)

    return handler


def update_localization(api: str) -> Any:
    async def handler(call: Call) -> Result:
        _check_id(call)
        rec = _find(call, "localization", call.rid)
        _require_editable(call.sim.state.version_of_localization(rec), "localizations")
        attrs = {k: v for k, v in (call.body["data"].get("attributes") or {}).items() if v is not None}
        for name, value in attrs.items():
            if not value.strip():
                raise E.attribute_invalid(f"/data/attributes/{name}", f"{name} must not be empty.")
        rec.update(attrs)
        return _ok(call, "localization", rec)

    return handler


def delete_localization(api: str) -> Any:
    async def handler(call: Call) -> Result:
        rec = _find(call, "localization", call.rid)
        _require_editable(call.sim.state.version_of_localization(rec), "localizations")
        with call.sim.state.lock:
            call.sim.state.delete_localization(rec["id"])
        return 204, None, {}

    return handler


# ------------------------------------------------------------------ images


def create_image(api: str) -> Any:
    rel_name = "localization" if api == "v2" else "gameCenterAchievementLocalization"

    async def handler(call: Call) -> Result:
        s = call.sim.state
        cfg = call.sim.config
        attrs = call.body["data"]["attributes"]
        lid = _related_id(call, rel_name)
        loc = s.get("localizations", lid or "")
        if loc is None:
            raise E.relationship_invalid(f"/data/relationships/{rel_name}", f"There is no gameCenterAchievementLocalizations with id '{lid}'.")
        _require_editable(s.version_of_localization(loc), "images")
        existing = s.image_of(loc["id"])
        if existing is not None:
            # [INFER] one image per localization: delete the old one first.
            raise E.relationship_invalid(
                f"/data/relationships/{rel_name}",
                f"The localization already has image '{existing['id']}'. Delete it before reserving a new one.",
            )
        if attrs["fileSize"] < 1:
            raise E.attribute_invalid("/data/attributes/fileSize", "fileSize must be a positive number of bytes.")
        if not attrs["fileName"].strip():
            raise E.attribute_invalid("/data/attributes/fileName", "fileName must not be empty.")
        now = time.time()
        expired = call.sim.faults.pick({"expire_upload"}, call.method, call.path, call.route) is not None
        with s.lock:
            rec = {
                "id": s.new_id("uuid"), "localization_id": loc["id"], "fileName": attrs["fileName"],
                "fileSize": attrs["fileSize"], "created": now,
                "expires": int(now - 1) if expired else int(now + cfg.upload_url_ttl),
                "token": new_upload_token(), "operations": plan_parts(attrs["fileSize"], cfg.part_size),
                "received": {}, "committed_at": None, "done_at": None, "outcome": None, "result": None,
            }
            s.data["images"][rec["id"]] = rec
            call.sim.upload_tokens[rec["token"]] = rec["id"]
        return _created(call, "image", rec)

    return handler


def update_image(api: str) -> Any:
    async def handler(call: Call) -> Result:
        _check_id(call)
        s = call.sim.state
        img = _find(call, "image", call.rid)
        uploaded = (call.body["data"].get("attributes") or {}).get("uploaded")
        if uploaded is not True or img["committed_at"] is not None:
            # [INFER] uploaded false/null changes nothing; committing twice answers the current state (safe retries).
            return _ok(call, "image", img)
        loc = s.get("localizations", img["localization_id"])
        assert loc is not None
        _require_editable(s.version_of_localization(loc), "images")
        if time.time() > img["expires"]:
            raise E.state_invalid("The upload reservation has expired. Delete the image and reserve it again.", pointer="/data/attributes/uploaded")
        received = sum(img["received"].values())
        if received != img["fileSize"]:
            missing = [str(op["part"]) for op in img["operations"] if str(op["part"]) not in img["received"]]
            # [INFER] 409 with a pointer at `uploaded`: the commit cannot succeed until every part is uploaded.
            raise E.attribute_invalid(
                "/data/attributes/uploaded",
                f"{received} of {img['fileSize']} bytes were uploaded (missing parts: {', '.join(missing) or 'none'}). "
                "Upload every operation before committing.",
                code="ENTITY_ERROR.ATTRIBUTE.INVALID",
            )
        cfg = call.sim.config
        rng: random.Random = call.sim.rng
        now = time.time()
        jitter = rng.uniform(-cfg.processing_jitter, cfg.processing_jitter) if cfg.processing_jitter else 0.0
        outcome = None
        fault = call.sim.faults.pick({"stuck", "fail_processing"}, call.method, call.path, call.route)
        if fault is not None:
            outcome = "stuck" if fault.kind == "stuck" else f"fail:{fault.code}"
        elif cfg.stuck_fraction and rng.random() < cfg.stuck_fraction:
            outcome = "stuck"
        with s.lock:
            img.update(committed_at=now, done_at=now + max(0.0, cfg.processing_delay + jitter), outcome=outcome)
        call.sim.schedule_processing(img["id"])
        return _ok(call, "image", img)

    return handler


def delete_image(api: str) -> Any:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        img = _find(call, "image", call.rid)
        loc = s.get("localizations", img["localization_id"])
        if loc is not None:
            _require_editable(s.version_of_localization(loc), "images")
        with s.lock:
            call.sim.upload_tokens.pop(img["token"], None)
            s.delete_image(img["id"])
        return 204, None, {}

    return handler


# ------------------------------------------------------------------ route table


def routes() -> list[tuple[str, str, str, Any]]:
    """(method, path, api, handler) for every served operation (the same list as specdata.SERVED)."""
    out: list[tuple[str, str, str, Any]] = [
        ("GET", "/v1/apps/{id}/gameCenterDetail", "v1", get_related("app", "gameCenterDetail")),
        ("GET", "/v1/apps/{id}/relationships/gameCenterDetail", "v1", get_related("app", "gameCenterDetail", linkage=True)),
        ("GET", "/v1/gameCenterDetails/{id}", "v1", get_instance("detail")),
        ("GET", "/v1/gameCenterDetails/{id}/gameCenterGroup", "v1", get_related("detail", "gameCenterGroup")),
        ("GET", "/v1/gameCenterDetails/{id}/relationships/gameCenterGroup", "v1", get_related("detail", "gameCenterGroup", linkage=True)),
        ("GET", "/v1/gameCenterGroups/{id}", "v1", get_instance("group")),
    ]
    for owner, prefix in (("detail", "/v1/gameCenterDetails"), ("group", "/v1/gameCenterGroups")):
        for rel, api in (("gameCenterAchievementsV2", "v2"), ("gameCenterAchievements", "v1")):
            out.append(("GET", f"{prefix}/{{id}}/{rel}", api, get_related(owner, rel)))
            out.append(("GET", f"{prefix}/{{id}}/relationships/{rel}", api, get_related(owner, rel, linkage=True)))
    for api in ("v2", "v1"):
        ach, loc, img = (f"/{api}/{TYPES[k]}" for k in ("achievement", "localization", "image"))
        out += [
            ("POST", ach, api, create_achievement(api)),
            ("GET", f"{ach}/{{id}}", api, get_instance("achievement")),
            ("PATCH", f"{ach}/{{id}}", api, update_achievement(api)),
            ("DELETE", f"{ach}/{{id}}", api, delete_achievement(api)),
            ("POST", loc, api, create_localization(api)),
            ("GET", f"{loc}/{{id}}", api, get_instance("localization")),
            ("PATCH", f"{loc}/{{id}}", api, update_localization(api)),
            ("DELETE", f"{loc}/{{id}}", api, delete_localization(api)),
            ("POST", img, api, create_image(api)),
            ("GET", f"{img}/{{id}}", api, get_instance("image")),
            ("PATCH", f"{img}/{{id}}", api, update_image(api)),
            ("DELETE", f"{img}/{{id}}", api, delete_image(api)),
        ]
    ver = base_path("v2", "version")
    out += [
        ("GET", "/v2/gameCenterAchievements/{id}/versions", "v2", get_related("achievement", "versions")),
        ("GET", "/v2/gameCenterAchievements/{id}/relationships/versions", "v2", get_related("achievement", "versions", linkage=True)),
        ("POST", ver, "v2", create_version),
        ("GET", f"{ver}/{{id}}", "v2", get_instance("version")),
        ("GET", f"{ver}/{{id}}/localizations", "v2", get_related("version", "localizations")),
        ("GET", f"{ver}/{{id}}/relationships/localizations", "v2", get_related("version", "localizations", linkage=True)),
        ("GET", "/v2/gameCenterAchievementLocalizations/{id}/image", "v2", get_related("localization", "image")),
        ("GET", "/v2/gameCenterAchievementLocalizations/{id}/relationships/image", "v2", get_related("localization", "image", linkage=True)),
        ("GET", "/v1/gameCenterAchievements/{id}/localizations", "v1", get_related("achievement", "localizations")),
        ("GET", "/v1/gameCenterAchievements/{id}/relationships/localizations", "v1", get_related("achievement", "localizations", linkage=True)),
    ]
    for rel in ("gameCenterAchievement", "gameCenterAchievementImage"):
        out.append(("GET", f"/v1/gameCenterAchievementLocalizations/{{id}}/{rel}", "v1", get_related("localization", rel)))
        out.append(("GET", f"/v1/gameCenterAchievementLocalizations/{{id}}/relationships/{rel}", "v1", get_related("localization", rel, linkage=True)))
    return out
