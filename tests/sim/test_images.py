"""Localizations and images v2 over real HTTP: locales, duplicates, states, reservations, part uploads, commit, processing."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from simhelpers import Api, png_bytes, sim_config

from bulkgc.sim import FaultRule, Simulator


async def test_localization_rules(api: Api) -> None:
    """Unknown locale and duplicate locale are 409 with pointer /data/attributes/locale; locale cannot be patched."""
    _ach, version_id, loc_id = await api.localized_version()
    status, doc = await api.create_localization(version_id, "en-US")
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE"
    assert doc["errors"][0]["source"]["pointer"] == "/data/attributes/locale"
    status, doc = await api.create_localization(version_id, "xx-YY")
    assert status == 409 and doc["errors"][0]["code"] == "ENTITY_ERROR.ATTRIBUTE.INVALID"
    body = {"data": {"type": "gameCenterAchievementLocalizations", "id": loc_id, "attributes": {"locale": "fr-FR"}}}
    status, doc, _ = await api.patch(f"/v2/gameCenterAchievementLocalizations/{loc_id}", body)
    assert status == 409 and doc["errors"][0]["source"]["pointer"] == "/data/attributes/locale"
    body["data"]["attributes"] = {"name": "Renamed"}
    status, doc, _ = await api.patch(f"/v2/gameCenterAchievementLocalizations/{loc_id}", body)
    assert status == 200 and doc["data"]["attributes"]["name"] == "Renamed"


async def test_live_version_is_not_editable(api: Api) -> None:
    """Creating, editing or deleting localizations/images of a LIVE version answers 409 STATE_ERROR.ENTITY_STATE_INVALID."""
    _ach, version_id, loc_id = await api.localized_version()
    api.sim.state.set_version_state(version_id, "LIVE")
    status, doc = await api.create_localization(version_id, "fr-FR")
    assert status == 409 and doc["errors"][0]["code"] == "STATE_ERROR.ENTITY_STATE_INVALID"
    assert (await api.delete(f"/v2/gameCenterAchievementLocalizations/{loc_id}"))[0] == 409
    status, doc = await api.reserve_image(loc_id, 100)
    assert status == 409 and doc["errors"][0]["code"] == "STATE_ERROR.ENTITY_STATE_INVALID"


# data: null for an empty to-one is [INFER] (GAME_CENTER_API.md A1); tests/openapi_check.py allows it.
async def test_image_of_localization_is_null_until_reserved(api: Api) -> None:
    """/image and /relationships/image answer data null without an image, then the reserved image."""
    _a, _v, loc_id = await api.localized_version()
    for path in (f"/v2/gameCenterAchievementLocalizations/{loc_id}/image", f"/v2/gameCenterAchievementLocalizations/{loc_id}/relationships/image"):
        status, doc, _ = await api.get(path)
        assert status == 200 and doc["data"] is None
    status, img = await api.reserve_image(loc_id, 10)
    status, doc, _ = await api.get(f"/v2/gameCenterAchievementLocalizations/{loc_id}/relationships/image")
    assert doc["data"] == {"type": "gameCenterAchievementImages", "id": img["data"]["id"]}


async def test_full_upload_to_complete(api: Api) -> None:
    """Reserve -> parts (several, out of order, concurrently) -> commit -> COMPLETE with imageAsset 512x512; bytes stored."""
    _a, _v, loc_id = await api.localized_version()
    data = png_bytes(512)
    status, doc = await api.reserve_image(loc_id, len(data))
    assert status == 201
    attrs = doc["data"]["attributes"]
    ops = attrs["uploadOperations"]
    assert attrs["assetDeliveryState"]["state"] == "AWAITING_UPLOAD"
    assert len(ops) >= 2 and ops[0]["offset"] == 0 and sum(o["length"] for o in ops) == len(data)
    assert all(a["offset"] + a["length"] == b["offset"] for a, b in zip(ops, ops[1:]))
    assert all(o["method"] == "PUT" and o["requestHeaders"] == [{"name": "Content-Type", "value": "image/png"}] for o in ops)
    image_id = doc["data"]["id"]
    status, again, _ = await api.get(f"/v2/gameCenterAchievementImages/{image_id}")
    assert again["data"]["attributes"]["uploadOperations"] == ops
    results = await asyncio.gather(*(api.put_parts([op], data) for op in reversed(ops)))
    assert all(r == [200] for r in results)
    status, doc = await api.commit(image_id)
    assert status == 200 and doc["data"]["attributes"]["assetDeliveryState"]["state"] == "UPLOAD_COMPLETE"
    doc = await api.wait_processed(image_id)
    attrs = doc["data"]["attributes"]
    assert attrs["assetDeliveryState"] == {"errors": None, "warnings": None, "state": "COMPLETE"}
    assert attrs["imageAsset"]["width"] == 512 and "{w}x{h}bb.{f}" in attrs["imageAsset"]["templateUrl"]
    assert attrs["uploadOperations"] == []
    assert api.sim.state.image_bytes(image_id) == data
    assert api.sim.counters["bytes_uploaded"] == len(data)
    assert (await api.put_parts(ops[:1], data)) == [404]  # no parts after commit


async def test_commit_with_missing_part_is_409(api: Api) -> None:
    """Committing before every part arrived answers 409 naming the missing part; re-sending a part overwrites it."""
    _a, _v, loc_id = await api.localized_version()
    data = png_bytes(512)
    _s, doc = await api.reserve_image(loc_id, len(data))
    ops, image_id = doc["data"]["attributes"]["uploadOperations"], doc["data"]["id"]
    await api.put_parts(ops[:-1], data)
    status, err = await api.commit(image_id)
    assert status == 409 and err["errors"][0]["source"]["pointer"] == "/data/attributes/uploaded"
    assert str(len(ops)) in err["errors"][0]["detail"]
    await api.put_parts(ops, data)
    assert api.sim.counters["parts_overwritten"] == len(ops) - 1
    assert (await api.commit(image_id))[0] == 200


async def test_second_image_for_localization_is_409(api: Api) -> None:
    """A localization with an image refuses another reservation until the first is deleted."""
    _a, _v, loc_id = await api.localized_version()
    _s, doc = await api.reserve_image(loc_id, 10)
    status, err = await api.reserve_image(loc_id, 10)
    assert status == 409
    assert (await api.delete(f"/v2/gameCenterAchievementImages/{doc['data']['id']}"))[0] == 204
    assert (await api.reserve_image(loc_id, 10))[0] == 201


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (png_bytes(300), "a.png", "IMAGE_INCORRECT_DIMENSIONS"),
        (png_bytes(512, mode="RGBA"), "a.png", "IMAGE_ALPHA_NOT_ALLOWED"),
        (b"not an image at all" * 10, "a.png", "IMAGE_INVALID"),
        (png_bytes(512, fmt="JPEG"), "a.png", "IMAGE_TYPE_MISMATCH"),
    ],
)
async def test_processing_failures(api: Api, data: bytes, name: str, code: str) -> None:
    """Bad images end FAILED with the matching assetDeliveryState error code."""
    _a, _v, loc_id = await api.localized_version()
    _s, doc = await api.reserve_image(loc_id, len(data), name)
    await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data)
    await api.commit(doc["data"]["id"])
    doc = await api.wait_processed(doc["data"]["id"])
    state = doc["data"]["attributes"]["assetDeliveryState"]
    assert state["state"] == "FAILED" and code in [e["code"] for e in state["errors"]]


async def test_jpeg_1024_completes(api: Api) -> None:
    """A 1024x1024 JPEG named .jpg completes and its operations ask for image/jpeg."""
    _a, _v, loc_id = await api.localized_version()
    data = png_bytes(1024, fmt="JPEG")
    _s, doc = await api.reserve_image(loc_id, len(data), "a.jpg")
    ops = doc["data"]["attributes"]["uploadOperations"]
    assert ops[0]["requestHeaders"][0]["value"] == "image/jpeg"
    await api.put_parts(ops, data)
    await api.commit(doc["data"]["id"])
    doc = await api.wait_processed(doc["data"]["id"])
    assert doc["data"]["attributes"]["imageAsset"]["height"] == 1024


async def test_upload_url_rules(api: Api) -> None:
    """Part uploads refuse an Authorization header, a wrong length, a bad signature and a wrong Content-Type."""
    _a, _v, loc_id = await api.localized_version()
    data = png_bytes(512)
    _s, doc = await api.reserve_image(loc_id, len(data))
    op = doc["data"]["attributes"]["uploadOperations"][0]
    chunk = data[: op["length"]]
    ctype = {"Content-Type": "image/png"}
    async with api.session.put(op["url"], data=chunk, headers={**ctype, "Authorization": f"Bearer {api.token}"}) as r:
        assert r.status == 400 and "InvalidArgument" in await r.text()
    async with api.session.put(op["url"], data=chunk[:-1], headers=ctype) as r:
        assert r.status == 400
    async with api.session.put(op["url"].replace("Signature=", "Signature=0"), data=chunk, headers=ctype) as r:
        assert r.status == 403 and "SignatureDoesNotMatch" in await r.text()
    async with api.session.put(op["url"], data=chunk, headers={"Content-Type": "image/jpeg"}) as r:
        assert r.status == 403
    assert api.sim.counters["bytes_uploaded"] == 0


async def test_expired_upload_urls() -> None:
    """With expire_upload the reservation's URLs are already expired: parts get 403 and the commit 409."""
    async with Simulator(sim_config(faults=(FaultRule(kind="expire_upload", route_glob="/v2/gameCenterAchievementImages"),))) as sim, aiohttp.ClientSession() as s:
        api = Api(sim, s)
        _a, _v, loc_id = await api.localized_version()
        _s, doc = await api.reserve_image(loc_id, 10)
        ops = doc["data"]["attributes"]["uploadOperations"]
        assert await api.put_parts(ops, b"0123456789") == [403]
        assert (await api.commit(doc["data"]["id"]))[0] == 409


async def test_stuck_and_fail_processing_faults(api: Api) -> None:
    """A stuck fault leaves UPLOAD_COMPLETE past the processing delay; fail_processing ends FAILED with its code."""
    api.sim.add_fault(FaultRule(kind="stuck", method="PATCH", count=1))
    api.sim.add_fault(FaultRule(kind="fail_processing", method="PATCH", code="IMAGE_BAD_ASPECT_RATIO"))
    data = png_bytes(512)
    ids = []
    for locale in ("en-US", "fr-FR"):
        _a, _v, loc_id = await api.localized_version(f"com.example.{locale}", locale)
        _s, doc = await api.reserve_image(loc_id, len(data))
        await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data)
        await api.commit(doc["data"]["id"])
        ids.append(doc["data"]["id"])
    await asyncio.sleep(0.2)
    first = await api.wait_processed(ids[0], timeout=0.1)
    assert first["data"]["attributes"]["assetDeliveryState"]["state"] == "UPLOAD_COMPLETE"
    second = await api.wait_processed(ids[1])
    assert second["data"]["attributes"]["assetDeliveryState"]["errors"][0]["code"] == "IMAGE_BAD_ASPECT_RATIO"


async def test_concurrent_reads_decide_a_due_image_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every GET brings due images up to date; ten GETs at once while three images are due decode each image
    once (the others wait for that decision, none decodes it again), and every GET then shows it COMPLETE."""
    import time

    from bulkgc.sim import app as sim_app

    decoded: list[str] = []
    real = sim_app.analyse_image

    def slow_analyse(data: bytes, file_name: str, *args: object) -> object:
        decoded.append(file_name)
        time.sleep(0.2)  # a 3840x2160 image takes about this long
        return real(data, file_name, *args)

    monkeypatch.setattr(sim_app, "analyse_image", slow_analyse)
    async with Simulator(sim_config(processing_delay=0.3)) as sim, aiohttp.ClientSession() as session:
        api = Api(sim, session)
        images = []
        for n in range(3):
            _a, _v, loc_id = await api.localized_version(f"com.example.d{n}")
            data = png_bytes(512)
            _s, doc = await api.reserve_image(loc_id, len(data), f"d{n}.png")
            await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data)
            await api.commit(doc["data"]["id"])
            images.append(doc["data"]["id"])
        await asyncio.sleep(0.35)  # all three due; their own processing tasks may be deciding them too
        answers = await asyncio.gather(*(api.get(f"/v2/gameCenterAchievementImages/{images[i % 3]}")
                                         for i in range(10)))
        assert sorted(decoded) == ["d0.png", "d1.png", "d2.png"], decoded
        assert {a[1]["data"]["attributes"]["assetDeliveryState"]["state"] for a in answers} == {"COMPLETE"}
