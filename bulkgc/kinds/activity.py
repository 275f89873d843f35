"""Activities (API 4.2+): attributes, a version with its fallback URL and default image, localized texts.

Attributes are Apple's (`GameCenterActivityCreateRequest` / `UpdateRequest`, spec 4.4.1): `vendorIdentifier`
only at creation, `archived` only in updates. The version carries `fallbackUrl` (create and update requests)
and a default image; each localization has a name, an optional description and an optional image.
Images (A12, App Store Connect Help "Game activities"): the default image is 3840x2160, PNG or JPEG, RGB, no
transparency (documented); the localized image's row is cut off in the stored Help page, so the same rule is
inferred. Activities have one API generation (paths under /v1, not deprecated): `--api v1` and `v2` use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bulkgc.asc.resources import KindApi, VersionApi
from bulkgc.kinds.model import WIDE_SIZES, Attribute, ImageRule, Kind, TextField

V2 = KindApi(
    kind="activity",
    api="v2",
    parent_type="gameCenterActivities",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterActivities",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterActivities",
    parent_create="/v1/gameCenterActivities",
    parent_item="/v1/gameCenterActivities/{id}",
    version=VersionApi(
        type="gameCenterActivityVersions",
        list_of_parent="/v1/gameCenterActivities/{id}/versions",
        create="/v1/gameCenterActivityVersions",
        parent_rel="activity",
        include_on_parent_list="versions",
        item="/v1/gameCenterActivityVersions/{id}",
        default_image_read="/v1/gameCenterActivityVersions/{id}/defaultImage",
        review_item_rel="gameCenterActivityVersion",
    ),
    loc_type="gameCenterActivityLocalizations",
    loc_list="/v1/gameCenterActivityVersions/{id}/localizations",
    loc_create="/v1/gameCenterActivityLocalizations",
    loc_item="/v1/gameCenterActivityLocalizations/{id}",
    loc_container_rel="version",
    loc_image_rel="image",
    loc_image_read="/v1/gameCenterActivityLocalizations/{id}/image",
    image_type="gameCenterActivityImages",
    image_create="/v1/gameCenterActivityImages",
    image_item="/v1/gameCenterActivityImages/{id}",
    image_loc_rel="localization",
    list_filters_id=False,
)
# the one API generation, also under --api v1
V1 = dataclasses.replace(V2, api="v1")


def players_in_order(attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The minimum player count must not exceed the maximum (the simulator's [INFER] rule; Apple's form)."""
    low, high = attributes.get("minimum_players_count"), attributes.get("maximum_players_count")
    if low is not None and high is not None and low > high:
        return [
            (
                "minimum_players_count",
                f"{low} is more than maximum_players_count ({high}); lower "
                "minimum_players_count or raise maximum_players_count",
            )
        ]
    return []


WIDE = ImageRule(required=False, folder="activities", sizes=WIDE_SIZES, sizes_source="inferred")

ACTIVITY = Kind(
    name="activity",
    plural="activities",
    attributes=(
        Attribute(key="vendor_identifier", asc="vendorIdentifier", type="string", limit=100, editable=False),
        Attribute(key="reference_name", asc="referenceName", type="string", limit=64, limit_source="bulkgc"),
        Attribute(
            key="play_style",
            asc="playStyle",
            type="enum",
            enum=("ASYNCHRONOUS", "SYNCHRONOUS"),
            required=False,
        ),
        Attribute(
            key="minimum_players_count",
            asc="minimumPlayersCount",
            type="integer",
            minimum=1,
            required=False,
            limit_source="bulkgc",
        ),
        Attribute(
            key="maximum_players_count",
            asc="maximumPlayersCount",
            type="integer",
            minimum=1,
            required=False,
            limit_source="bulkgc",
        ),
        Attribute(key="supports_party_code", asc="supportsPartyCode", type="boolean", required=False),
        Attribute(key="properties", asc="properties", type="map", required=False),
        Attribute(
            key="archived", asc="archived", type="boolean", required=False, on_create=False, default=False
        ),
    ),
    version_attributes=(
        Attribute(
            key="fallback_url",
            asc="fallbackUrl",
            type="url",
            required=False,
            limit=1024,
            limit_source="bulkgc",
        ),
    ),
    texts=(
        TextField(key="name", asc="name", limit=64),
        TextField(key="description", asc="description", limit=255, required=False),
    ),
    # localized image (optional): activities/<vendor>.<locale>.png or activities/<vendor>.png, or `image`
    image=WIDE,
    # the version's default image (optional): activities/<vendor>.default.png, or `default_image`
    default_image=dataclasses.replace(WIDE, sizes_source="Apple"),
    apis=(V2, V1),
    max_items=100,
    doc="App Store Connect Help, Game activities",
    locales_section="activity_locales",
    rules=(players_in_order,),
    example_vendor_identifier="com.example.game.activity.raid",
)
