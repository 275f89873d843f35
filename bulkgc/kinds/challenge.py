"""Challenges (API 4.2+): attributes, the leaderboard a challenge is tied to, versions with a default image.

Attributes are Apple's (`GameCenterChallengeCreateRequest` / `UpdateRequest`, spec 4.4.1): `challengeType`
and `vendorIdentifier` only at creation, `archived` only in updates. The tied leaderboard is the
relationship `leaderboardV2` (`leaderboard` under `--api v1`): named in the create request, changed with
PATCH .../relationships/leaderboardV2, read as an include of the challenge list. Limits (A12): reference name
<= 255 characters, challenge id <= 100. Images as for activities: default 3840x2160 (documented), localized
the same (inferred). One API generation (paths under /v1, not deprecated): `--api v1` and `v2` use it.
"""

from __future__ import annotations

import dataclasses

from bulkgc.asc.resources import KindApi, ReferenceApi, VersionApi
from bulkgc.kinds.model import WIDE_SIZES, Attribute, ImageRule, Kind, Reference, TextField


def _leaderboard(rel: str) -> ReferenceApi:
    return ReferenceApi(
        key="leaderboard",
        rel=rel,
        type="gameCenterLeaderboards",
        linkage=f"/v1/gameCenterChallenges/{{id}}/relationships/{rel}",
        read="include",
    )


V2 = KindApi(
    kind="challenge",
    api="v2",
    parent_type="gameCenterChallenges",
    list_in_detail="/v1/gameCenterDetails/{id}/gameCenterChallenges",
    list_in_group="/v1/gameCenterGroups/{id}/gameCenterChallenges",
    parent_create="/v1/gameCenterChallenges",
    parent_item="/v1/gameCenterChallenges/{id}",
    version=VersionApi(
        type="gameCenterChallengeVersions",
        list_of_parent="/v1/gameCenterChallenges/{id}/versions",
        create="/v1/gameCenterChallengeVersions",
        parent_rel="challenge",
        include_on_parent_list="versions",
        default_image_read="/v1/gameCenterChallengeVersions/{id}/defaultImage",
        review_item_rel="gameCenterChallengeVersion",
    ),
    loc_type="gameCenterChallengeLocalizations",
    loc_list="/v1/gameCenterChallengeVersions/{id}/localizations",
    loc_create="/v1/gameCenterChallengeLocalizations",
    loc_item="/v1/gameCenterChallengeLocalizations/{id}",
    loc_container_rel="version",
    loc_image_rel="image",
    loc_image_read="/v1/gameCenterChallengeLocalizations/{id}/image",
    image_type="gameCenterChallengeImages",
    image_create="/v1/gameCenterChallengeImages",
    image_item="/v1/gameCenterChallengeImages/{id}",
    image_loc_rel="localization",
    references=(_leaderboard("leaderboardV2"),),
)
# the one API generation, also under --api v1, naming v1-era leaderboards by the deprecated relationship
V1 = dataclasses.replace(V2, api="v1", references=(_leaderboard("leaderboard"),))

WIDE = ImageRule(required=False, folder="challenges", sizes=WIDE_SIZES, sizes_source="inferred")

CHALLENGE = Kind(
    name="challenge",
    plural="challenges",
    attributes=(
        Attribute(key="vendor_identifier", asc="vendorIdentifier", type="string", limit=100, editable=False),
        Attribute(key="reference_name", asc="referenceName", type="string", limit=255),  # A12, documented
        Attribute(
            key="challenge_type", asc="challengeType", type="enum", enum=("LEADERBOARD",), editable=False
        ),
        Attribute(key="repeatable", asc="repeatable", type="boolean", required=False),
        Attribute(
            key="archived", asc="archived", type="boolean", required=False, on_create=False, default=False
        ),
    ),
    texts=(
        TextField(key="name", asc="name", limit=64),
        TextField(key="description", asc="description", limit=255, required=False),
    ),
    image=WIDE,
    default_image=dataclasses.replace(WIDE, sizes_source="Apple"),
    apis=(V2, V1),
    max_items=100,
    doc="App Store Connect Help, Challenges",
    locales_section="challenge_locales",
    references=(Reference(key="leaderboard", kind="leaderboard", many=False),),
    example_vendor_identifier="com.example.game.challenge.weekly",
)
