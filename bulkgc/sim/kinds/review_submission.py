"""Review submissions and their items: how Game Center versions reach App Review (API 4.2+), with their rules.

Facts (../shared/asc/GAME_CENTER_API.md A0 4.2 notes, A4 item 9; Apple's spec 4.4.1):
* `POST /v1/reviewSubmissions` names the app (required) and optionally a `platform` [SPEC]; states
  READY_FOR_REVIEW, WAITING_FOR_REVIEW, IN_REVIEW, UNRESOLVED_ISSUES, CANCELING, COMPLETING, COMPLETE [SPEC].
* `POST /v1/reviewSubmissionItems` names the submission and one version by a relationship of the item schema:
  the Game Center ones are gameCenterAchievementVersion, gameCenterLeaderboardVersion,
  gameCenterLeaderboardSetVersion, gameCenterActivityVersion, gameCenterChallengeVersion [SPEC]. The simulator
  derives them from the registered kinds (Apple names each after the version type, singular) and serves no
  other item type (app versions, in-app purchases... are not modelled: such an id is "not found").
* `PATCH /v1/reviewSubmissions/{id}` with `submitted: true` sends it, `canceled: true` withdraws it [SPEC].
* Up to 200 components per submission [DOC Help "Submit Game Center components"].
* `GET /v1/reviewSubmissions` needs `filter[app]` and may filter by platform and state [SPEC].

[INFER] where Apple is silent: a version may be in one open (not COMPLETE, not removed) submission only (409);
only editable versions (PREPARE_FOR_SUBMISSION, DEVELOPER_REJECTED, REJECTED) can be added, and they stay
editable until the submission is sent; sending moves the submission to WAITING_FOR_REVIEW and each of its
versions to WAITING_FOR_REVIEW; items can be added or deleted only while the submission is READY_FOR_REVIEW;
sending an empty submission is refused; sending a submission again answers 409. [DOC Help] first-time
components go with an app version: sending a submission whose Game Center version belongs to an item that
never had a live version, without an app version item, is refused (409) — the simulator models no app
versions, so such a submission cannot be sent here.
"""

from __future__ import annotations

import time
from typing import Any

from .. import errors as E
from ..call import Call, Handler, Result
from ..generic import check_id, created, find, get_instance, given, ok, related, related_routes
from ..jsonapi import paged_links
from ..resources import (
    EDITABLE_STATES,
    KINDS,
    RESOURCES,
    Kind,
    Rel,
    Resource,
    fields,
    register,
    to_many,
    to_one,
)

SUBMISSION, ITEM = "review_submission", "review_submission_item"
SUBMISSIONS, ITEMS = "reviewSubmissions", "reviewSubmissionItems"
MAX_ITEMS = 200  # [DOC] components per submission
OPEN = "READY_FOR_REVIEW"
#: submissions whose versions are taken (a version can be in one of them only)
CLOSED_STATES = frozenset({"COMPLETE"})
#: states of a version that has been released at least once ([DOC] only then may it be submitted alone)
RELEASED = frozenset({"LIVE", "REPLACED_WITH_NEW_VERSION"})


def item_relationship(kind: Kind) -> str:
    """The review item relationship of a kind's version: Apple's version type, singular."""
    return RESOURCES[kind.version].type.removesuffix("s")


def _version_of(rel_name: str) -> Any:
    def resolve(state: Any, rec: dict[str, Any]) -> Any:
        found = state.version(rec["version_id"]) if rec.get("rel") == rel_name else None
        return found[1] if found else None

    return resolve


def register_resources() -> None:
    """Declare the two resources (after every kind is registered: the item's relationships come from them)."""
    register(
        Resource(
            SUBMISSION,
            SUBMISSIONS,
            SUBMISSIONS,
            {"v1": "/v1/reviewSubmissions"},
            fields("platform", "submittedDate", "state"),
            {
                "*": (
                    Rel("app", "app", False, "data", to_one("apps", "app_id")),
                    Rel("items", ITEM, True, "links", to_many(ITEMS, "submission_id")),
                )
            },
        ),
        Resource(
            ITEM,
            ITEMS,
            ITEMS,
            {"v1": "/v1/reviewSubmissionItems"},
            fields("state"),
            {
                "*": tuple(
                    Rel(
                        item_relationship(kind),
                        kind.version,
                        False,
                        "data",
                        _version_of(item_relationship(kind)),
                    )
                    for kind in KINDS.values()
                )
            },
        ),
    )


# ------------------------------------------------------------------ rules


def _items_of(call: Call, submission_id: str) -> list[dict[str, Any]]:
    return [
        i
        for i in call.sim.state.data[ITEMS].values()
        if i["submission_id"] == submission_id and i["state"] != "REMOVED"
    ]


def _holder(call: Call, version_id: str) -> dict[str, Any] | None:
    """The open submission that already holds this version, if any."""
    s = call.sim.state
    for item in s.data[ITEMS].values():
        if item["version_id"] != version_id or item["state"] == "REMOVED":
            continue
        sub = s.get(SUBMISSIONS, item["submission_id"])
        if sub is not None and sub["state"] not in CLOSED_STATES:
            return sub
    return None


def _app_of_item(call: Call, item: dict[str, Any]) -> set[str]:
    """The app(s) a Game Center item belongs to (a group's items belong to each of its details' apps)."""
    s = call.sim.state
    if item["owner_kind"] == "detail":
        detail = s.get("details", item["owner_id"])
        return {detail["app_id"]} if detail else set()
    group = s.get("groups", item["owner_id"]) or {"detail_ids": []}
    return {s.data["details"][d]["app_id"] for d in group["detail_ids"] if d in s.data["details"]}


def _named_version(call: Call) -> tuple[str, Kind, dict[str, Any]]:
    """(relationship, kind, version) of an item create body: exactly one Game Center version relationship."""
    rels = call.body["data"]["relationships"]
    named = [n for n in rels if n != "reviewSubmission" and (rels[n] or {}).get("data") is not None]
    if not named:
        raise E.SimError(
            409,
            "ENTITY_ERROR.RELATIONSHIP.REQUIRED",
            "The provided entity is missing a required relationship",
            "A review submission item names the one thing it submits, e.g. relationships."
            "gameCenterAchievementVersion.",
            pointer="/data/relationships",
        )
    if len(named) > 1:
        raise E.relationship_invalid(
            "/data/relationships",
            f"A review submission item submits one thing; got {', '.join(sorted(named))}.",
        )
    name = named[0]
    link = rels[name]["data"]
    kind = next((k for k in KINDS.values() if item_relationship(k) == name), None)
    found = call.sim.state.version(link["id"]) if kind is not None else None
    if kind is None or found is None or found[0] != kind.name:
        raise E.relationship_invalid(
            f"/data/relationships/{name}/data/id", f"There is no {link['type']} with id '{link['id']}'."
        )
    return name, kind, found[1]


def create_submission() -> Handler:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        app = related(call, "app") or {}
        if s.get("apps", app.get("id", "")) is None:
            raise E.relationship_invalid(
                "/data/relationships/app/data/id", f"There is no apps with id '{app.get('id')}'."
            )
        platform = (call.body["data"].get("attributes") or {}).get("platform") or "IOS"  # [INFER] default
        with s.lock:
            rec = {
                "id": s.new_id("uuid"),
                "seq": s.next_seq(),
                "app_id": app["id"],
                "platform": platform,
                "state": OPEN,
                "submittedDate": None,
                "created": time.time(),
            }
            s.put(SUBMISSIONS, rec)
        return created(call, SUBMISSION, rec)

    return handler


def list_submissions() -> Handler:
    """GET /v1/reviewSubmissions: filter[app] (required by the spec's parameters), platform, state; paged."""

    async def handler(call: Call) -> Result:
        f = call.query.filters
        found = sorted(
            (
                r
                for r in call.sim.state.data[SUBMISSIONS].values()
                if r["app_id"] in f.get("app", [])
                and ("platform" not in f or r["platform"] in f["platform"])
                and ("state" not in f or r["state"] in f["state"])
            ),
            key=lambda r: r["seq"],
        )
        limit = call.query.limit or call.sim.config.default_limit
        offset = call.query.offset
        page = found[offset : offset + limit]
        next_offset = offset + limit if offset + limit < len(found) else None
        links = paged_links(call.sim.base_url, call.path, call.items, limit, next_offset)
        doc = call.renderer().document(SUBMISSION, page, links)
        doc["meta"] = {"paging": {"total": len(found), "limit": limit}}
        return 200, doc, {}

    return handler


def update_submission() -> Handler:
    async def handler(call: Call) -> Result:
        check_id(call)
        s = call.sim.state
        rec = find(call, SUBMISSION, call.rid)
        attrs = given(call.body["data"])
        if attrs.get("submitted") and attrs.get("canceled"):
            raise E.attribute_invalid("/data/attributes/canceled", "Submit or cancel a submission, not both.")
        with s.lock:
            if attrs.get("platform") is not None:
                if rec["state"] != OPEN:
                    raise E.state_invalid(
                        f"The submission is {rec['state']}; its platform can change only while it is {OPEN}.",
                        pointer="/data/attributes/platform",
                    )
                rec["platform"] = attrs["platform"]
            if attrs.get("submitted"):
                _send(call, rec)
            if attrs.get("canceled"):
                _cancel(call, rec)
        return ok(call, SUBMISSION, rec)

    return handler


def _send(call: Call, rec: dict[str, Any]) -> None:
    s = call.sim.state
    if rec["state"] != OPEN:
        raise E.state_invalid(
            f"The submission is {rec['state']}; only a {OPEN} submission can be submitted.",
            pointer="/data/attributes/submitted",
        )
    items = _items_of(call, rec["id"])
    if not items:
        raise E.state_invalid(
            "The submission has no items; add at least one before submitting it.",
            pointer="/data/attributes/submitted",
        )
    versions = []
    for item in items:
        kind_name, version = s.version(item["version_id"]) or ("", None)
        if version is None:
            continue
        field_name = KINDS[kind_name].item_field
        released = any(v["state"] in RELEASED for v in s.versions_of(version[field_name], kind_name))
        if not released:
            # [DOC Help] a component's first version goes to review together with an app version.
            raise E.state_invalid(
                f"The {KINDS[kind_name].label} of {item_relationship(KINDS[kind_name])} '{version['id']}' "
                "has never been live: first-time Game Center components must be submitted together with an "
                "app version (add the app version to this submission in App Store Connect).",
                pointer="/data/attributes/submitted",
            )
        versions.append(version)
    rec["state"] = "WAITING_FOR_REVIEW"
    rec["submittedDate"] = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())
    for version in versions:
        version["state"] = "WAITING_FOR_REVIEW"


def _cancel(call: Call, rec: dict[str, Any]) -> None:
    """[INFER] a withdrawn submission ends (COMPLETE); its versions return to PREPARE_FOR_SUBMISSION."""
    if rec["state"] not in (OPEN, "WAITING_FOR_REVIEW", "UNRESOLVED_ISSUES"):
        raise E.state_invalid(
            f"The submission is {rec['state']}; it cannot be canceled now.",
            pointer="/data/attributes/canceled",
        )
    s = call.sim.state
    for item in _items_of(call, rec["id"]):
        found = s.version(item["version_id"])
        if found is not None and found[1]["state"] == "WAITING_FOR_REVIEW":
            found[1]["state"] = "PREPARE_FOR_SUBMISSION"
        item["state"] = "REMOVED"
    rec["state"] = "COMPLETE"


def create_item() -> Handler:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        link = related(call, "reviewSubmission") or {}
        sub = s.get(SUBMISSIONS, link.get("id", ""))
        if sub is None:
            raise E.relationship_invalid(
                "/data/relationships/reviewSubmission/data/id",
                f"There is no reviewSubmissions with id '{link.get('id')}'.",
            )
        name, kind, version = _named_version(call)
        pointer = f"/data/relationships/{name}"
        with s.lock:
            if sub["state"] != OPEN:
                raise E.state_invalid(
                    f"The review submission is {sub['state']}; items can be added only while it is {OPEN}.",
                    pointer="/data/relationships/reviewSubmission",
                )
            item_rec = s.get(RESOURCES[kind.item].collection, version[kind.item_field]) or {}
            if sub["app_id"] not in _app_of_item(call, item_rec):
                raise E.relationship_invalid(
                    pointer, f"The {kind.label} of this version does not belong to the submission's app."
                )
            if version["state"] not in EDITABLE_STATES:
                raise E.state_invalid(
                    f"Version {version['version']} of this {kind.label} is {version['state']}; "
                    "only a version in "
                    f"{', '.join(sorted(EDITABLE_STATES))} can be submitted for review.",
                    pointer=pointer,
                )
            holder = _holder(call, version["id"])
            if holder is not None:
                raise E.SimError(
                    409,
                    "ENTITY_ERROR.RELATIONSHIP.INVALID",
                    "The provided entity includes a relationship with an invalid value",
                    f"This {kind.label} version is already an item of review submission '{holder['id']}' "
                    f"({holder['state']}).",
                    pointer=pointer,
                )
            if len(_items_of(call, sub["id"])) >= MAX_ITEMS:
                raise E.relationship_invalid(
                    "/data/relationships/reviewSubmission",
                    f"A review submission holds at most {MAX_ITEMS} items; create another submission.",
                )
            rec = {
                "id": s.new_id("uuid"),
                "seq": s.next_seq(),
                "submission_id": sub["id"],
                "rel": name,
                "version_id": version["id"],
                "state": "READY_FOR_REVIEW",
            }
            s.put(ITEMS, rec)
        return created(call, ITEM, rec)

    return handler


def delete_item() -> Handler:
    async def handler(call: Call) -> Result:
        s = call.sim.state
        rec = find(call, ITEM, call.rid)
        sub = s.get(SUBMISSIONS, rec["submission_id"]) or {"state": "COMPLETE"}
        if sub["state"] != OPEN:
            raise E.state_invalid(
                f"The review submission is {sub['state']}; items can be removed only while it is {OPEN}."
            )
        with s.lock:
            s.remove(ITEMS, rec["id"])
        return 204, None, {}

    return handler


register_resources()

ROUTES: list[tuple[str, str, str, Handler]] = [
    ("GET", "/v1/reviewSubmissions", "v1", list_submissions()),
    ("POST", "/v1/reviewSubmissions", "v1", create_submission()),
    ("GET", "/v1/reviewSubmissions/{id}", "v1", get_instance(SUBMISSION)),
    ("PATCH", "/v1/reviewSubmissions/{id}", "v1", update_submission()),
    *related_routes("v1", SUBMISSION, "/v1/reviewSubmissions/{id}", "items"),
    ("POST", "/v1/reviewSubmissionItems", "v1", create_item()),
    ("DELETE", "/v1/reviewSubmissionItems/{id}", "v1", delete_item()),
]
