"""The upload steps as pure request builders and response handlers, tested without a server, per kind row."""

from __future__ import annotations

import pytest

from bulkgc.asc.jsonapi import Document, Resource
from bulkgc.asc.resources import KindApi
from bulkgc.kinds import KINDS, kind_api
from bulkgc.remote import RemoteImage, RemoteLocalization
from bulkgc.upload import (
    pending_parts,
    prepare_commit,
    prepare_delete,
    prepare_reservation_lookup,
    prepare_reserve,
    process_image,
    process_poll,
    process_reservation_lookup,
)

ROWS = [row for kind in KINDS for row in kind.apis]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.kind}-{r.api}")
def test_reserve_and_commit_requests_follow_the_kind_row(row: KindApi) -> None:
    """Reserve POSTs fileName/fileSize tied to the localization; commit PATCHes uploaded=true (A4, A5)."""
    req = prepare_reserve(row, "loc-1", "a.en-US.0123456789ab.png", 2048)
    assert (req.method, req.path) == ("POST", row.image_create)
    assert req.body == {
        "data": {
            "type": row.image_type,
            "attributes": {"fileName": "a.en-US.0123456789ab.png", "fileSize": 2048},
            "relationships": {row.image_loc_rel: {"data": {"type": row.loc_type, "id": "loc-1"}}},
        }
    }
    commit = prepare_commit(row, "img-9")
    assert (commit.method, commit.path) == ("PATCH", row.image_item.replace("{id}", "img-9"))
    assert commit.body == {"data": {"type": row.image_type, "id": "img-9", "attributes": {"uploaded": True}}}
    assert prepare_delete(row, "img-9").method == "DELETE"
    assert prepare_reservation_lookup(row, "loc-1").path == row.loc_image_read.replace("{id}", "loc-1")


def test_leaderboard_rows_use_apples_leaderboard_paths() -> None:
    """The leaderboard rows are Apple's leaderboard endpoints (A5), distinct from the achievement ones."""
    v2, v1 = kind_api("leaderboard", "v2"), kind_api("leaderboard", "v1")
    assert prepare_reserve(v2, "l", "f.png", 1).path == "/v2/gameCenterLeaderboardImages"
    assert prepare_reserve(v1, "l", "f.png", 1).body["data"]["relationships"] == {  # type: ignore[index]
        "gameCenterLeaderboardLocalization": {
            "data": {"type": "gameCenterLeaderboardLocalizations", "id": "l"}
        }
    }
    assert v2.version is not None and v2.version.create == "/v2/gameCenterLeaderboardVersions"
    assert v1.loc_list == "/v1/gameCenterLeaderboards/{id}/localizations"


def _image(state: str, name: str = "a.png", ops: int = 0) -> Resource:
    return Resource(
        type="gameCenterLeaderboardImages",
        id="img-1",
        attributes={
            "fileName": name,
            "fileSize": 10,
            "assetDeliveryState": {"state": state, "errors": []},
            "uploadOperations": [
                {"method": "PUT", "url": f"https://u/{i}", "offset": i, "length": 1} for i in range(ops)
            ],
        },
    )


def test_lookup_after_a_lost_reserve_answer_adopts_only_the_same_file() -> None:
    """The localization's image is adopted only when its fileName (with the digest) is this file's."""
    doc = Document(data=_image("AWAITING_UPLOAD", "x.en-US.0123456789ab.png"))
    assert process_reservation_lookup(doc, "x.en-US.0123456789ab.png") is doc
    assert process_reservation_lookup(doc, "x.en-US.ffffffffffff.png") is None
    assert process_reservation_lookup(Document(data=None), "x.png") is None


def test_pending_parts_skip_what_the_journal_knows() -> None:
    """Only the operations not recorded as sent are sent again."""
    image = process_image(Document(data=_image("AWAITING_UPLOAD", ops=4)))
    assert [i for i, _ in pending_parts(image, {0, 2})] == [1, 3]
    assert pending_parts(image, {0, 1, 2, 3}) == []


def test_one_poll_answers_for_every_image_of_a_container() -> None:
    """COMPLETE and FAILED are final, UPLOAD_COMPLETE waits, an image no localization holds is MISSING."""

    def loc(locale: str, image_id: str, state: str) -> RemoteLocalization:
        return RemoteLocalization(f"l-{locale}", locale, {}, RemoteImage(image_id, "f.png", 1, state))

    locs = {
        "en-US": loc("en-US", "a", "COMPLETE"),
        "fr-FR": loc("fr-FR", "b", "UPLOAD_COMPLETE"),
        "ja": loc("ja", "c", "FAILED"),
    }
    states, waiting = process_poll(locs, {"a", "b", "c", "gone"})
    assert {i: s.state for i, s in states.items()} == {
        "a": "COMPLETE",
        "b": "UPLOAD_COMPLETE",
        "c": "FAILED",
        "gone": "MISSING",
    }
    assert waiting == {"b"}
