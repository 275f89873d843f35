"""`bulkgc plan` shows what changes field by field (old -> new), like `terraform plan`; --json has both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from conftest import fast_sim_config, settings_for
from workload import make_icon, make_workload, writes

from bulkgc.cli import main
from bulkgc.pipeline import push
from bulkgc.sim import Simulator

LONG = "A very long description " * 8  # 192 characters: the table shortens it, --json keeps it whole


async def _plan(args: list[str], capsys: Any, *extra: str) -> tuple[int, str]:
    code = await anyio.to_thread.run_sync(lambda: main(["plan", *extra, *args]))
    return code, capsys.readouterr().out


async def test_plan_shows_text_change_old_to_new_and_hides_unchanged(tmp_path: Path, capsys: Any) -> None:
    """A text-only change reads as an update, old -> new per field, unchanged ones only counted."""
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        assert (await push(settings)).exit_code == 0
        vendor = wl.vendors[1]
        wl.set_text(vendor, "fr-FR", "name", "Nouveau nom")
        wl.set_text(vendor, "fr-FR", "before", LONG)
        args = [str(wl.manifest), "--base-url", sim.base_url, "--key-id", settings.key_id or "",
                "--issuer-id", settings.issuer_id or "", "--private-key-path", str(settings.private_key_path)]
        mark = len(sim.requests)

        code, table = await _plan(args, capsys)
        assert code == 0
        assert f"~ {vendor}: update texts; edit v1 (PREPARE_FOR_SUBMISSION)" in table
        assert "  ~ fr-FR: update localization" in table
        assert '      name: "Name 1 fr-FR" -> "Nouveau nom"' in table
        long_line = next(line for line in table.splitlines() if "before_earned_description" in line)
        assert long_line.startswith('      before_earned_description: "Do thing 1 (fr-FR)" -> "A very long')
        assert long_line.endswith('…"') and LONG not in table
        assert "2 achievement(s) already match the manifest (not shown)." in table
        for other in (wl.vendors[0], wl.vendors[2]):
            assert other not in table  # no rows (and no version notes) for achievements with nothing to do
        assert "en-US" not in table and "Nothing to do" not in table

        code, out = await _plan(args, capsys, "--json")
        doc = json.loads(out)
        assert code == 0 and doc["schema"] == "bulkgc-plan/2" and doc["noop"] is False
        ach = next(a for a in doc["achievements"] if a["vendor_identifier"] == vendor)
        assert ach["has_work"] is True and ach["action"] == "none" and ach["changes"] == []
        fr = next(loc for loc in ach["localizations"] if loc["locale"] == "fr-FR")
        assert fr["action"] == "update"
        assert {c["field"]: (c["old"], c["new"]) for c in fr["changes"]} == {
            "name": ("Name 1 fr-FR", "Nouveau nom"),
            "before_earned_description": ("Do thing 1 (fr-FR)", LONG),
        }
        assert {c["attribute"] for c in fr["changes"]} == {"name", "beforeEarnedDescription"}
        assert writes(sim, mark) == []  # plan only reads


async def test_plan_shows_new_achievement_values_and_setting_change(tmp_path: Path, capsys: Any) -> None:
    """A new achievement lists its values; a changed setting shows old -> new in the table and in --json."""
    wl = make_workload(tmp_path / "wl", 2, ("en-US",))
    async with Simulator(fast_sim_config(app_id=wl.app_id)) as sim:
        settings = settings_for(sim, wl.manifest, tmp_path)
        args = [str(wl.manifest), "--base-url", sim.base_url, "--key-id", settings.key_id or "",
                "--issuer-id", settings.issuer_id or "", "--private-key-path", str(settings.private_key_path)]
        code, table = await _plan(args, capsys)
        assert code == 0 and f"+ {wl.vendors[0]}: create; new achievement (v1)" in table
        assert '    reference_name: "Achievement 0"' in table and "    points: 5" in table
        assert "  + en-US: create localization" in table and "      icon: upload " in table
        assert (await push(settings)).exit_code == 0
        wl.manifest.write_text(wl.manifest.read_text().replace("points = 5", "points = 7", 1))
        code, table = await _plan(args, capsys)
        assert code == 0 and f"~ {wl.vendors[0]}: update settings; edit v1" in table
        assert "    points: 5 -> 7" in table and "1 achievement(s) already match" in table
        doc = json.loads((await _plan(args, capsys, "--json"))[1])
        first = doc["achievements"][0]
        assert first["changes"] == [{"field": "points", "attribute": "points", "old": 5, "new": 7}]

        make_icon(wl.icon(wl.vendors[1], "en-US"), 99, variant=1)  # changed: old remote name -> new file
        code, table = await _plan(args, capsys)
        icon = next(line for line in table.splitlines() if line.startswith("      icon: "))
        assert icon.startswith("      icon: com_example_e2e_ach001.en-US.") and icon.endswith(
            f"-> {wl.icon(wl.vendors[1], 'en-US')} (replace: content differs)")
        assert f"~ {wl.vendors[1]}: update icons; edit v1" in table and "  ~ en-US: icon only" in table
