"""What bulkgc pull and an Xcode project need from the simulator: apps by bundle id, image renditions."""

from __future__ import annotations

import io

from PIL import Image
from simhelpers import Api, png_bytes


async def test_apps_filter_by_bundle_id(api: Api) -> None:
    """GET /v1/apps?filter[bundleId]= answers the seeded app; another bundle id answers an empty list."""
    status, doc, _ = await api.get("/v1/apps", params={"filter[bundleId]": "com.example.simgame"})
    assert status == 200 and [r["id"] for r in doc["data"]] == [api.sim.app_id]
    assert doc["data"][0]["attributes"]["bundleId"] == "com.example.simgame"
    status, doc, _ = await api.get("/v1/apps", params={"filter[bundleId]": "com.example.other"})
    assert status == 200 and doc["data"] == [] and doc["meta"]["paging"]["total"] == 0
    status, doc, _ = await api.get("/v1/apps", params={"filter[colour]": "red"})
    assert status == 400 and doc["errors"][0]["code"] == "PARAMETER_ERROR.INVALID"


async def test_template_url_serves_a_re_encoded_rendition(api: Api) -> None:
    """A COMPLETE image's templateUrl, filled in, serves the same picture as other bytes at that size."""
    _a, _v, loc_id = await api.localized_version()
    data = png_bytes(512)
    status, doc = await api.reserve_image(loc_id, len(data))
    image_id = doc["data"]["id"]
    assert status == 201 and doc["data"]["attributes"].get("imageAsset") is None  # not processed yet
    rendition = f"{api.sim.base_url}/sim/assets/{image_id}/512x512bb.png"
    async with api.session.get(rendition) as resp:
        assert resp.status == 404  # not processed yet
    await api.put_parts(doc["data"]["attributes"]["uploadOperations"], data)
    await api.commit(image_id)
    done = await api.wait_processed(image_id)
    url = done["data"]["attributes"]["imageAsset"]["templateUrl"]
    for w, fmt, kind in ((512, "png", "PNG"), (256, "jpg", "JPEG")):
        async with api.session.get(
            url.replace("{w}", str(w)).replace("{h}", str(w)).replace("{f}", fmt)
        ) as resp:
            assert resp.status == 200
            body = await resp.read()
        assert body != data
        with Image.open(io.BytesIO(body)) as got:
            assert got.format == kind and got.size == (w, w) and got.mode == "RGB"
            if w == 512:
                with Image.open(io.BytesIO(data)) as src:
                    assert got.tobytes() == src.convert("RGB").tobytes()
    async with api.session.get(url.replace("{w}x{h}bb.{f}", "big.gif")) as resp:
        assert resp.status == 400
