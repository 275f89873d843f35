"""End to end: the real pipeline pushes a generated workload to the real simulator over 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import fast_sim_config, settings_for
from workload import assert_matches_manifest, localization_id, make_icon, make_workload, writes

from bulkgc.pipeline import push
from bulkgc.sim import Simulator


@pytest.mark.parametrize("api", ["v2", "v1"])
async def test_fresh_push_then_noop_then_one_change(tmp_path: Path, api: str) -> None:
    """100 images across 4 locales land COMPLETE with matching bytes; a re-run writes nothing; one change = one fix."""
    wl = make_workload(tmp_path / "wl", 25)
    async with Simulator(fast_sim_config(app_id=wl.app_id, part_size=4096)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path, api=api)

        report = await push(settings)
        assert report.exit_code == 0, [r for r in report.items if r.outcome == "failed"][:3]
        assert_matches_manifest(sim, wl)
        parts = [r for r in sim.requests if r.kind == "upload"]
        assert len(parts) > 100  # several parts per image: the part size is smaller than the icons
        assert len({(r.path, r.query.get("partNumber")) for r in parts}) == len(parts)  # no part sent twice

        mark = len(sim.requests)
        again = await push(settings)
        assert again.exit_code == 0
        assert writes(sim, mark) == []
        assert not [r for r in sim.requests[mark:] if r.kind == "upload"]
        reads = [r for r in sim.requests[mark:] if r.kind == "api"]
        assert len(reads) <= len(wl.vendors) + 3  # one read per achievement plus discovery

        vendor, locale = wl.vendors[3], "fr-FR"
        make_icon(wl.icon(vendor, locale), 999, variant=1)
        wl.set_text(wl.vendors[7], "de-DE", "name", "Ganz neuer Name")
        mark = len(sim.requests)
        third = await push(settings)
        assert third.exit_code == 0
        changed = [(r.method, r.route) for r in writes(sim, mark)]
        prefix = "/v2" if api == "v2" else "/v1"
        assert sorted(changed) == sorted([
            ("DELETE", f"{prefix}/gameCenterAchievementImages/{{id}}"),
            ("PATCH", f"{prefix}/gameCenterAchievementImages/{{id}}"),
            ("PATCH", f"{prefix}/gameCenterAchievementLocalizations/{{id}}"),
            ("POST", f"{prefix}/gameCenterAchievementImages"),
        ])
        patched = [r for r in writes(sim, mark) if r.method == "PATCH" and "Localizations" in r.route]
        assert patched[0].request_body["data"]["attributes"] == {"name": "Ganz neuer Name"}
        target = localization_id(sim, wl.vendors[7], "de-DE")
        assert [r.path for r in patched] == [f"{prefix}/gameCenterAchievementLocalizations/{target}"]
        assert_matches_manifest(sim, wl)
