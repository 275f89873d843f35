"""The registry of Game Center kinds bulkgc pushes, in the order a manifest's sections are read and pushed."""

from __future__ import annotations

from bulkgc.asc.resources import KindApi
from bulkgc.kinds.achievement import ACHIEVEMENT
from bulkgc.kinds.activity import ACTIVITY
from bulkgc.kinds.challenge import CHALLENGE
from bulkgc.kinds.leaderboard import LEADERBOARD
from bulkgc.kinds.leaderboard_set import LEADERBOARD_SET
from bulkgc.kinds.model import Attribute, ImageRule, Kind, Reference, TextField

# referenced kinds come before the kinds that name them (leaderboards before sets and challenges)
KINDS: tuple[Kind, ...] = (ACHIEVEMENT, LEADERBOARD, LEADERBOARD_SET, ACTIVITY, CHALLENGE)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}

__all__ = ["KINDS", "BY_NAME", "Attribute", "ImageRule", "Kind", "Reference", "TextField", "kind", "kind_api"]


def kind(name: str) -> Kind:
    """The declaration of the kind called `name` ("achievement", "leaderboard")."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown Game Center kind {name!r} (known: {', '.join(BY_NAME)})") from None


def kind_api(name: str, api: str) -> KindApi:
    """The API row of kind `name` in API version `api` ("v1" or "v2")."""
    return kind(name).api(api)
