"""Generic App Store Connect operations over the store, parameterized by a `Kind` declaration.

Reads, relationship reads, and the create/update/delete rules shared by every Game Center kind (items,
versions,
localizations, images).

Each factory returns a handler: it gets a `Call` (validated query, parsed body, path id) and returns
(status, body, headers). Kind-specific rules come in through the Kind's hooks (`check_item`, `prepare`,
`on_delete`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection
from typing import Any

from . import errors as E
from .call import Call, Handler, Result
from .jsonapi import apply_filters, paged_links
from .resources import EDITABLE_STATES, LOCALES, NEW_VERSION_STATES, RESOURCES, Kind, resource
from .uploads import new_upload_token, plan_parts


def find(call: Call, key: str, rid: str | None) -> dict[str, Any]:
    res = resource(key)
    rec = call.sim.state.get(res.collection, rid or "")
    if rec is None:
        raise E.not_found(res.type, rid or "")
    return rec


# ------------------------------------------------------------------ generic reads


def get_instance(key: str) -> Handler:
    async def handler(call: Call) -> Result:
        rec = find(call, key, call.rid)
        return 200, call.renderer().document(key, rec, {"self": call.self_url}), {}

    return handler


def get_related(parent: str, rel_name: str, *, linkage: bool = False) -> Handler:
    """GET /{parent}/{id}/{rel} (resources) or /{parent}/{id}/relationships/{rel} (linkage only)."""

    async def handler(call: Call) -> Result:
        parent_rec = find(call, parent, call.rid)
        r = call.renderer()
        rel = resource(parent).relationship(call.api, rel_name)
        target = r.resolve(parent, parent_rec, rel)
        assert rel.target is not None
        if not rel.many:
            if linkage:
                data = r.linkage(rel.target, target) if target else None
                return 200, {"data": data, "links": {"self": call.self_url}}, {}
            return 200, r.document(rel.target, target, {"self": call.self_url}), {}
        return paged_document(call, rel.target, target, linkage=linkage)

    return handler


def get_collection(key: str) -> Handler:
    """GET /{collection}: every record of a top-level resource (apps), filtered and paged."""

    async def handler(call: Call) -> Result:
        records = list(call.sim.state.data[resource(key).collection].values())
        return paged_document(call, key, records)

    return handler


def paged_document(call: Call, target_key: str, target: list[dict[str, Any]], *, linkage: bool = False) -> Result:
    """A collection answer: the query's filters, then one page with Apple's paging links and meta."""
    r = call.renderer()
    target = apply_filters(
        target, call.query.filters, lambda rec, name: r.attribute(target_key, rec, name)
    )
    limit = call.query.limit or call.sim.config.default_limit
    page = target[call.query.offset : call.query.offset + limit]
    next_offset = call.query.offset + limit if call.query.offset + limit < len(target) else None
    links = paged_links(call.sim.base_url, call.path, call.items, limit, next_offset)
    paging: dict[str, Any] = {"total": len(target), "limit": limit}
    if next_offset is not None:
        paging["nextCursor"] = links["next"].split("cursor=", 1)[1].split("&", 1)[0]
    if linkage:
        doc = {"data": [r.linkage(target_key, t) for t in page], "links": links}
    else:
        doc = r.document(target_key, page, links)
    doc["meta"] = {"paging": paging}
    return 200, doc, {}


# ------------------------------------------------------------------ helpers for writes


def check_id(call: Call) -> None:
    if call.body["data"].get("id") != call.rid:
        raise E.SimError(
            409,
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            "The provided entity includes an attribute with an invalid value",
            f"The id in the request body ('{call.body['data'].get('id')}') does not match the id in the URL "
            f"('{call.rid}').",
            pointer="/data/id",
        )


def given(resource_object: dict[str, Any]) -> dict[str, Any]:
    """The attributes a request's resource object sets: a null attribute means "not given"."""
    return {k: v for k, v in (resource_object.get("attributes") or {}).items() if v is not None}


def reject_blank(
    attrs: dict[str, Any], names: Collection[str] | None = None, at: str = "/data/attributes"
) -> None:
    """A text attribute that is given must not be blank (only those in `names`, when named)."""
    for name, value in attrs.items():
        if (names is None or name in names) and isinstance(value, str) and not value.strip():
            raise E.attribute_invalid(f"{at}/{name}", f"{name} must not be empty.")


def related(call: Call, name: str) -> dict[str, Any] | None:
    """The linkage object of a to-one relationship in the request body (None when absent or null)."""
    rels = call.body["data"].get("relationships") or {}
    data = (rels.get(name) or {}).get("data")
    return data if isinstance(data, dict) else None


def related_id(call: Call, name: str) -> str | None:
    data = related(call, name)
    return data.get("id") if data else None


def require_editable(kind: Kind, version: dict[str, Any], what: str) -> None:
    # [INFER] Apple answers 409 STATE_ERROR when content of a submitted/live version is edited.
    if version["state"] not in EDITABLE_STATES:
        raise E.state_invalid(
            f"Version {version['version']} of this {kind.label} is {version['state']}; {what} can only be "
            "changed while "
            f"the version is {', '.join(sorted(EDITABLE_STATES))}. Create a new version first."
        )


def created(call: Call, key: str, rec: dict[str, Any]) -> Result:
    r = call.renderer()
    doc = r.document(key, rec, {"self": r.self_link(key, rec)})
    return 201, doc, {"Location": r.self_link(key, rec)}


def ok(call: Call, key: str, rec: dict[str, Any]) -> Result:
    return 200, call.renderer().document(key, rec, {"self": call.self_url}), {}


def owner_of(call: Call, kind: Kind) -> tuple[str, str]:
    """(owner kind, owner id) named by a create body: a gameCenterDetail or a gameCenterGroup, exactly one."""
    s = call.sim.state
    detail_id = related_id(call, "gameCenterDetail")
    group_id = related_id(call, "gameCenterGroup")
    if detail_id and group_id:
        raise E.relationship_invalid(
            "/data/relationships",
            f"Relate the {kind.label} to a gameCenterDetail or a gameCenterGroup, not both.",
        )
    if not detail_id and not group_id:
        raise E.SimError(
            409,
            "ENTITY_ERROR.RELATIONSHIP.REQUIRED",
            "The provided entity is missing a required relationship",
            f"{article(kind)} {kind.label} needs a gameCenterDetail or a gameCenterGroup relationship.",
            pointer="/data/relationships/gameCenterDetail",
        )
    if detail_id:
        detail = s.get("details", detail_id)
        if detail is None:
            raise E.relationship_invalid(
                "/data/relationships/gameCenterDetail",
                f"There is no gameCenterDetails with id '{detail_id}'.",
            )
        if detail.get("group_id"):
            # [INFER] a grouped detail's Game Center content belongs to its group.
            raise E.relationship_invalid(
                "/data/relationships/gameCenterDetail",
                f"This Game Center detail belongs to group '{detail['group_id']}'; create {kind.label}s "
                "in the group "
                "(relationships.gameCenterGroup).",
            )
        return "detail", detail_id
    assert group_id is not None
    if s.get("groups", group_id) is None:
        raise E.relationship_invalid(
            "/data/relationships/gameCenterGroup", f"There is no gameCenterGroups with id '{group_id}'."
        )
    return "group", group_id


def _inline_version(call: Call, kind: Kind, api: str) -> dict[str, Any]:
    """Check the inline first version of an item create; returns its attributes (activity: fallbackUrl)."""
    required = kind.inline_version.get(api)
    data = call.body["data"]
    included = call.body.get("included") or []
    if required is None:
        return {}
    local = ((data.get("relationships") or {}).get("versions") or {}).get("data")
    if local is None and not required:
        if included:
            raise E.SimError(
                409,
                "ENTITY_ERROR.INCLUDED.INVALID",
                "The provided entity includes an invalid included resource",
                "Every included resource must be referenced by relationships.versions.",
                pointer="/included",
            )
        return {}
    local_ids = [v.get("id") for v in local or []]
    inline_ids = [i.get("id") for i in included]
    if len(local_ids) != 1:
        raise E.relationship_invalid(
            "/data/relationships/versions", f"Create exactly one inline version with the {kind.label}."
        )
    if local_ids[0] not in inline_ids:
        raise E.relationship_invalid(
            "/data/relationships/versions/data/0/id",
            f"The version '{local_ids[0]}' is not in 'included' "
            f"(its id must match an included {resource(kind.version).type}).",
        )
    if len(included) != 1:
        raise E.SimError(
            409,
            "ENTITY_ERROR.INCLUDED.INVALID",
            "The provided entity includes an invalid included resource",
            "Every included resource must be referenced by relationships.versions (exactly one).",
            pointer="/included",
        )
    attrs = given(included[0])
    reject_blank(attrs, at="/included/0/attributes")
    return attrs


def article(kind: Kind) -> str:
    return "An" if kind.label[0] in "aeiou" else "A"


def retired(call: Call, kind: Kind) -> list[str]:
    key = "retired_vendor_ids" if kind.name == "achievement" else f"retired_vendor_ids:{kind.name}"
    retired_ids: list[str] = call.sim.state.meta.setdefault(key, [])
    return retired_ids


# ------------------------------------------------------------------ items


def create_item(kind: Kind, api: str) -> Handler:
    item = resource(kind.item)

    async def handler(call: Call) -> Result:
        s = call.sim.state
        attrs = {k: v for k, v in call.body["data"]["attributes"].items() if v is not None}
        owner = owner_of(call, kind)
        version_attrs = _inline_version(call, kind, api)
        vendor = attrs["vendorIdentifier"]
        if not vendor.strip() or len(vendor) > kind.max_vendor_id:
            raise E.attribute_invalid(
                "/data/attributes/vendorIdentifier",
                f"vendorIdentifier must be 1 to {kind.max_vendor_id} characters.",
            )
        if not attrs["referenceName"].strip():
            raise E.attribute_invalid("/data/attributes/referenceName", "referenceName must not be empty.")
        siblings = s.items_of(kind.name, *owner)
        used = {a["attributes"]["vendorIdentifier"] for a in siblings} | set(retired(call, kind))
        if vendor in used:
            # [DOC] Game Center IDs are permanent: even a deleted item's ID cannot be used again.
            raise E.duplicate(
                "/data/attributes/vendorIdentifier",
                f"{article(kind)} {kind.label} with vendorIdentifier '{vendor}' already exists or existed.",
            )
        limit = kind.max_items(call.sim.config)
        if len(siblings) >= limit:
            raise E.relationship_invalid(
                f"/data/relationships/{'gameCenterDetail' if owner[0] == 'detail' else 'gameCenterGroup'}",
                f"At most {limit} {kind.label}s are allowed.",
            )
        if kind.check_item is not None:
            kind.check_item(call, owner, attrs, None)
        with s.lock:
            rec: dict[str, Any] = {
                "id": s.new_id(item.id_style),
                "seq": s.next_seq(),
                "owner_kind": owner[0],
                "owner_id": owner[1],
                "created": time.time(),
                "attributes": {**kind.item_defaults, **attrs},
            }
            if kind.prepare is not None:
                kind.prepare(call, rec, True)
            s.put(item.collection, rec)
            new_version(call, kind, rec["id"], 1, version_attrs)
        return created(call, kind.item, rec)

    return handler


def update_item(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        check_id(call)
        rec = find(call, kind.item, call.rid)
        attrs = given(call.body["data"])
        reject_blank(attrs, ("referenceName",))
        if kind.check_item is not None:
            kind.check_item(call, (rec["owner_kind"], rec["owner_id"]), attrs, rec)
        with call.sim.state.lock:
            if kind.prepare is not None:
                kind.prepare(call, rec, False)
            rec["attributes"].update(attrs)
        return ok(call, kind.item, rec)

    return handler


def delete_item(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        rec = find(call, kind.item, call.rid)
        shipped = [v for v in s.versions_of(rec["id"], kind.name) if v["state"] not in EDITABLE_STATES]
        if shipped:
            # [INFER] a submitted or live item cannot be deleted (archive it instead).
            raise E.state_invalid(
                f"The {kind.label} has a {shipped[-1]['state']} version and cannot be deleted; "
                "archive it instead."
            )
        with s.lock:
            retired(call, kind).append(rec["attributes"]["vendorIdentifier"])
            if kind.on_delete is not None:
                kind.on_delete(call, rec)
            s.delete_item(rec["id"], kind.name)
        return 204, None, {}

    return handler


# ------------------------------------------------------------------ versions


def new_version(
    call: Call, kind: Kind, item_id: str, number: int, attrs: dict[str, Any] | None = None
) -> dict[str, Any]:
    s = call.sim.state
    version: dict[str, Any] = {
        "id": s.new_id("uuid"),
        kind.item_field: item_id,
        "version": number,
        "state": "PREPARE_FOR_SUBMISSION",
        "created": time.time(),
    }
    for name in kind.version_attributes:
        version[name] = (attrs or {}).get(name)
    s.put(resource(kind.version).collection, version)
    return version


def create_version(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        item = resource(kind.item)
        iid = related_id(call, kind.version_parent_rel)
        rec = s.get(item.collection, iid or "")
        if rec is None:
            raise E.relationship_invalid(
                f"/data/relationships/{kind.version_parent_rel}", f"There is no {item.type} with id '{iid}'."
            )
        latest = s.latest_version(rec["id"], kind.name)
        if latest is not None and latest["state"] not in NEW_VERSION_STATES:
            # [INFER] one version in flight at a time: a new version needs the latest one to be LIVE.
            raise E.state_invalid(
                f"Version {latest['version']} is {latest['state']}; a new version can only be created "
                "when the latest version is LIVE.",
                pointer=f"/data/relationships/{kind.version_parent_rel}",
            )
        attrs = given(call.body["data"])
        with s.lock:
            if latest is not None:
                attrs = {**{n: latest.get(n) for n in kind.version_attributes}, **attrs}
            version = new_version(call, kind, rec["id"], (latest["version"] + 1) if latest else 1, attrs)
            if latest is not None:
                copy_content(call, kind, latest, version)
        return created(call, kind.version, version)

    return handler


def update_version(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        check_id(call)
        version = find(call, kind.version, call.rid)
        require_editable(kind, version, "its attributes")
        attrs = given(call.body["data"])
        reject_blank(attrs)
        version.update(attrs)
        return ok(call, kind.version, version)

    return handler


def _copy_image(call: Call, kind: Kind, img: dict[str, Any] | None, **links: Any) -> None:
    s = call.sim.state
    if img and (img.get("result") or {}).get("state") == "COMPLETE":
        new_img = {**img, "id": s.new_id("uuid"), "token": new_upload_token(), **links}
        s.put(resource(kind.image).collection, new_img)
        for op in img["operations"]:
            chunk = s.parts.get(img["id"], op["part"])
            if chunk is not None:
                s.parts.put(new_img["id"], op["part"], chunk)


def copy_content(call: Call, kind: Kind, source: dict[str, Any], target: dict[str, Any]) -> None:
    """[INFER] a new version starts with copies of the last version's localizations and COMPLETE images."""
    s = call.sim.state
    for loc in s.localizations_of(source["id"], kind.name):
        new_loc = {**loc, "id": s.new_id("uuid"), "seq": s.next_seq(), "version_id": target["id"]}
        s.put(resource(kind.localization).collection, new_loc)
        _copy_image(call, kind, s.image_of(loc["id"], kind.name), localization_id=new_loc["id"])
    if kind.default_image_rule is not None:
        _copy_image(
            call,
            kind,
            s.default_image_of(source["id"], kind.name),
            localization_id=None,
            version_id=target["id"],
        )


# ------------------------------------------------------------------ localizations


def _parent_version(call: Call, kind: Kind, rel_name: str) -> dict[str, Any]:
    """The version a localization create names: directly (v2 `version`), or the item's latest version (v1)."""
    s = call.sim.state
    data = related(call, rel_name) or {}
    version_res, item_res = resource(kind.version), resource(kind.item)
    if data.get("type") == version_res.type:
        version = s.get(version_res.collection, data.get("id") or "")
        if version is None:
            raise E.relationship_invalid(
                f"/data/relationships/{rel_name}",
                f"There is no {version_res.type} with id '{data.get('id')}'.",
            )
        return version
    item = s.get(item_res.collection, data.get("id") or "")
    latest = s.latest_version(item["id"], kind.name) if item else None
    if latest is None:
        raise E.relationship_invalid(
            f"/data/relationships/{rel_name}", f"There is no {item_res.type} with id '{data.get('id')}'."
        )
    return latest


def _check_texts(kind: Kind, attrs: dict[str, Any]) -> None:
    reject_blank(attrs, {f.name for f in kind.text_fields if f.required})


def create_localization(kind: Kind, api: str) -> Handler:
    rel_name = kind.loc_parent_rels[api]

    async def handler(call: Call) -> Result:
        s = call.sim.state
        attrs = call.body["data"]["attributes"]
        version = _parent_version(call, kind, rel_name)
        require_editable(kind, version, "localizations")
        locale = attrs["locale"]
        if locale not in LOCALES:
            raise E.attribute_invalid(
                "/data/attributes/locale",
                f"'{locale}' is not a valid App Store Connect locale (e.g. en-US, fr-FR, ja, zh-Hans).",
            )
        if any(loc["locale"] == locale for loc in s.localizations_of(version["id"], kind.name)):
            raise E.duplicate(
                "/data/attributes/locale", f"Entity with locale: '{locale}' already exists. Try updating."
            )
        _check_texts(kind, attrs)
        with s.lock:
            rec = {"id": s.new_id("uuid"), "seq": s.next_seq(), "version_id": version["id"], "locale": locale}
            rec.update({f.name: attrs.get(f.name) for f in kind.text_fields})
            s.put(resource(kind.localization).collection, rec)
        return created(call, kind.localization, rec)

    return handler


def update_localization(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        check_id(call)
        rec = find(call, kind.localization, call.rid)
        require_editable(kind, call.sim.state.version_of_localization(rec, kind.name), "localizations")
        attrs = given(call.body["data"])
        _check_texts(kind, attrs)
        rec.update(attrs)
        return ok(call, kind.localization, rec)

    return handler


def delete_localization(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        rec = find(call, kind.localization, call.rid)
        require_editable(kind, call.sim.state.version_of_localization(rec, kind.name), "localizations")
        with call.sim.state.lock:
            call.sim.state.delete_localization(rec["id"], kind.name)
        return 204, None, {}

    return handler


# ------------------------------------------------------------------ images


def _image_parent(call: Call, kind: Kind, api: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(relationship name, localization or version record, its version) an image reservation names."""
    s = call.sim.state
    loc_rel = kind.image_parent_rels[api]
    loc_res, version_res = resource(kind.localization), resource(kind.version)
    lid, vid = related_id(call, loc_rel), related_id(call, "version") if kind.default_image_rule else None
    if kind.default_image_rule is not None:
        if bool(lid) == bool(vid):
            # [INFER] both relationships are optional in the schema; an image belongs to exactly one of them.
            raise E.SimError(
                409,
                "ENTITY_ERROR.RELATIONSHIP.REQUIRED",
                "The provided entity is missing a required relationship",
                "Relate the image to a localization (its localized image) or a version (its default image), "
                "exactly one.",
                pointer=f"/data/relationships/{loc_rel}",
            )
        if vid:
            version = s.get(version_res.collection, vid)
            if version is None:
                raise E.relationship_invalid(
                    "/data/relationships/version", f"There is no {version_res.type} with id '{vid}'."
                )
            return "version", version, version
    loc = s.get(loc_res.collection, lid or "")
    if loc is None:
        raise E.relationship_invalid(
            f"/data/relationships/{loc_rel}", f"There is no {loc_res.type} with id '{lid}'."
        )
    return loc_rel, loc, s.version_of_localization(loc, kind.name)


def create_image(kind: Kind, api: str) -> Handler:
    image_res = resource(kind.image)

    async def handler(call: Call) -> Result:
        s = call.sim.state
        cfg = call.sim.config
        attrs = call.body["data"]["attributes"]
        rel_name, parent, version = _image_parent(call, kind, api)
        require_editable(kind, version, "images")
        default = parent is version
        existing = (
            s.default_image_of(version["id"], kind.name) if default else s.image_of(parent["id"], kind.name)
        )
        if existing is not None:
            # [INFER] one image per localization (and one default image per version): delete the old one
            # first.
            raise E.relationship_invalid(
                f"/data/relationships/{rel_name}",
                f"The {'version already has default' if default else 'localization already has'} image "
                f"'{existing['id']}'. "
                "Delete it before reserving a new one.",
            )
        if attrs["fileSize"] < 1:
            raise E.attribute_invalid(
                "/data/attributes/fileSize", "fileSize must be a positive number of bytes."
            )
        if not attrs["fileName"].strip():
            raise E.attribute_invalid("/data/attributes/fileName", "fileName must not be empty.")
        rule = kind.default_image_rule if default else kind.image_rule
        assert rule is not None
        now = time.time()
        expired = call.sim.faults.pick({"expire_upload"}, call.method, call.path, call.route) is not None
        with s.lock:
            rec = {
                "id": s.new_id("uuid"),
                "localization_id": None if default else parent["id"],
                "fileName": attrs["fileName"],
                "fileSize": attrs["fileSize"],
                "created": now,
                "expires": int(now - 1) if expired else int(now + cfg.upload_url_ttl),
                "token": new_upload_token(),
                "operations": plan_parts(attrs["fileSize"], cfg.part_size),
                "received": {},
                "committed_at": None,
                "done_at": None,
                "outcome": None,
                "result": None,
                "sizes": [list(size) for size in rule.sizes],
                "label": rule.label,
            }
            if default:
                rec["version_id"] = version["id"]
            s.put(image_res.collection, rec)
            call.sim.upload_tokens[rec["token"]] = rec["id"]
        return created(call, kind.image, rec)

    return handler


def update_image(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        check_id(call)
        s = call.sim.state
        img = find(call, kind.image, call.rid)
        uploaded = (call.body["data"].get("attributes") or {}).get("uploaded")
        if uploaded is not True or img["committed_at"] is not None:
            # [INFER] uploaded false/null changes nothing; committing twice answers the current state (safe
            # retries).
            return ok(call, kind.image, img)
        version = s.version_of_image(img, kind.name)
        assert version is not None
        require_editable(kind, version, "images")
        if time.time() > img["expires"]:
            raise E.state_invalid(
                "The upload reservation has expired. Delete the image and reserve it again.",
                pointer="/data/attributes/uploaded",
            )
        received = sum(img["received"].values())
        if received != img["fileSize"]:
            missing = [str(op["part"]) for op in img["operations"] if str(op["part"]) not in img["received"]]
            # [INFER] 409 with a pointer at `uploaded`: the commit cannot succeed until every part is
            # uploaded.
            raise E.attribute_invalid(
                "/data/attributes/uploaded",
                f"{received} of {img['fileSize']} bytes were uploaded "
                f"(missing parts: {', '.join(missing) or 'none'}). "
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
            img.update(
                committed_at=now, done_at=now + max(0.0, cfg.processing_delay + jitter), outcome=outcome
            )
        call.sim.schedule_processing(img["id"])
        return ok(call, kind.image, img)

    return handler


def delete_image(kind: Kind) -> Handler:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        img = find(call, kind.image, call.rid)
        version = s.version_of_image(img, kind.name)
        if version is not None:
            require_editable(kind, version, "images")
        with s.lock:
            call.sim.upload_tokens.pop(img["token"], None)
            s.delete_image(img["id"])
        return 204, None, {}

    return handler


# ------------------------------------------------------------------ the standard route table of a kind


def kind_routes(kind: Kind) -> list[tuple[str, str, str, Handler]]:
    """CRUD on item, localization and image per API version, version create/read, related reads.

    Paths come from the Resource declarations; a kind adds its own extra routes beside these.
    """
    item, version, loc, image = (
        RESOURCES[k] for k in (kind.item, kind.version, kind.localization, kind.image)
    )
    out: list[tuple[str, str, str, Handler]] = []
    for api in kind.apis:
        ip, lp, mp = item.path(api), loc.path(api), image.path(api)
        out += [
            ("POST", ip, api, create_item(kind, api)),
            ("GET", f"{ip}/{{id}}", api, get_instance(kind.item)),
            ("PATCH", f"{ip}/{{id}}", api, update_item(kind)),
            ("DELETE", f"{ip}/{{id}}", api, delete_item(kind)),
            ("POST", lp, api, create_localization(kind, api)),
            ("GET", f"{lp}/{{id}}", api, get_instance(kind.localization)),
            ("PATCH", f"{lp}/{{id}}", api, update_localization(kind)),
            ("DELETE", f"{lp}/{{id}}", api, delete_localization(kind)),
            ("POST", mp, api, create_image(kind, api)),
            ("GET", f"{mp}/{{id}}", api, get_instance(kind.image)),
            ("PATCH", f"{mp}/{{id}}", api, update_image(kind)),
            ("DELETE", f"{mp}/{{id}}", api, delete_image(kind)),
        ]
        # the item's and the localization's related reads (versions/localizations, the image)
        for res in (item, loc):
            for rel in res.relationships(api):
                if rel.mode == "links" and rel.target is not None and rel.served:
                    out += related_routes(api, res.key, f"{res.path(api)}/{{id}}", rel.name)
    vapi = next(a for a in kind.apis if a not in kind.legacy_apis)
    vp = version.path(vapi)
    out += [
        ("POST", vp, vapi, create_version(kind)),
        ("GET", f"{vp}/{{id}}", vapi, get_instance(kind.version)),
    ]
    for rel in version.relationships(vapi):
        if rel.mode == "links" and rel.target is not None and rel.served:
            out += related_routes(vapi, version.key, f"{vp}/{{id}}", rel.name)
    return out


def related_routes(api: str, key: str, prefix: str, rel: str) -> list[tuple[str, str, str, Handler]]:
    """GET {prefix}/{rel} and GET {prefix}/relationships/{rel}."""
    return [
        ("GET", f"{prefix}/{rel}", api, get_related(key, rel)),
        ("GET", f"{prefix}/relationships/{rel}", api, get_related(key, rel, linkage=True)),
    ]
