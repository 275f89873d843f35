"""`bulkgc pull --api v1` round trips over 127.0.0.1, through the real CLI: push with `--api v1` (the deprecated
endpoints for achievements, leaderboards and sets; activities and challenges on their one API, the challenge's
board by the v1 relationship) -> pull --api v1 (toml, json, gamekit) -> push --api v1 of what was pulled
writes nothing and leaves App Store Connect as it was."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from allkinds import (
    KIND_NAMES,
    assert_all_kinds_exact,
    assert_nothing_written,
    make_all_kinds,
    pixels,
    pulled_entries,
    uploaded,
)
from conftest import fast_sim_config
from live import cli_args, last_seq, live_sim, logged_since, run_cli
from workload import sim_image_state

from bulkgc.gamekit import DEFAULT_BUNDLE_NAME, RESOURCES_FILE, SECTIONS
from bulkgc.kinds import BY_NAME, KINDS
from bulkgc.pull import FORMATS, MANIFEST_NAMES
from bulkgc.sim import Simulator

V1 = ("--api", "v1")
OUT_FILES = {**MANIFEST_NAMES, "gamekit": DEFAULT_BUNDLE_NAME}


def held_content(sim: Simulator) -> dict[tuple[str, str], dict[str, Any]]:
    """What the simulator holds per (kind, vendor): Apple-named attributes (the item's and its latest
    version's, non-null), references by vendor id, and each locale's texts of the latest version."""
    state = sim.state
    boards = {b["id"]: b["attributes"]["vendorIdentifier"] for b in state.items("leaderboard")}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in KINDS:
        for item in state.items(kind.name):
            attrs = item["attributes"]
            latest = state.latest_version(item["id"], kind.name) or {}
            values = {a.asc: attrs.get(a.asc) for a in kind.attributes}
            values |= {a.asc: latest.get(a.asc) for a in kind.version_attributes}
            refs: dict[str, list[str]] = {}
            for ref in kind.references:
                ids = item.get("leaderboard_ids") if ref.many else [item.get("leaderboard_id")]
                refs[ref.key] = [boards[i] for i in ids or [] if i is not None]
            texts = {
                loc["locale"]: {t.asc: loc.get(t.asc) for t in kind.texts if loc.get(t.asc) is not None}
                for loc in state.localizations_of(latest["id"], kind.name)
            }
            out[(kind.name, attrs["vendorIdentifier"])] = {
                "attributes": {k: v for k, v in values.items() if v is not None},
                "references": refs,
                "texts": texts,
            }
    return out


def pulled_content(manifest: Path, fmt: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The same shape as `held_content`, read back from what pull wrote (manifest keys mapped to Apple's
    names through the kinds' declarations; gamekit already uses Apple's names)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if fmt == "gamekit":
        res = json.loads((manifest / RESOURCES_FILE).read_text(encoding="utf-8"))["resources"]
        for s in SECTIONS:
            kind = s.kind
            names = {a.asc for a in (*kind.attributes, *kind.version_attributes)}
            for entry in res.get(s.items, []):
                vendor = entry["vendorIdentifier"]
                refs = {}
                for ref, key in s.references:
                    value = entry.get(key)
                    refs[ref.key] = list(value) if ref.many else ([value] if value else [])
                texts = {
                    loc["locale"]: {t.asc: loc[t.asc] for t in kind.texts if loc.get(t.asc) is not None}
                    for loc in res.get(s.localizations, {}).get(vendor, [])
                }
                out[(kind.name, vendor)] = {
                    "attributes": {k: v for k, v in entry.items() if k in names and v is not None},
                    "references": refs,
                    "texts": texts,
                }
        return out
    text = manifest.read_text(encoding="utf-8")
    data = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    for kind in KINDS:
        for entry in data.get(kind.name, []):
            attrs = {a.asc: entry[a.key] for a in (*kind.attributes, *kind.version_attributes) if a.key in entry}
            refs = {}
            for ref in kind.references:
                value = entry.get(ref.key)
                refs[ref.key] = list(value) if ref.many else ([value] if value else [])
            texts = {
                locale: {t.asc: given[t.key] for t in kind.texts if given.get(t.key) is not None}
                for locale, given in entry["locales"].items()
            }
            out[(kind.name, entry["vendor_identifier"])] = {
                "attributes": attrs,
                "references": refs,
                "texts": texts,
            }
    return out


def v2_paths(logged: list[dict[str, Any]]) -> list[str]:
    """Requests that went to the current (v2) generation: /v2/ paths and the detail's ...V2 lists."""
    return [r["path"] for r in logged if r["path"].startswith("/v2/") or r["path"].endswith("V2")]


def test_pull_v1_into_every_format_then_push_v1_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Everything pushed with --api v1 is pulled with --api v1 (reads only, v1 endpoints only) into toml, json
    and gamekit: every attribute, reference, locale text and image slot the simulator holds, each image the
    picture it holds; a push --api v1 of each result sends no write and no upload and changes nothing."""
    wl = make_all_kinds(tmp_path / "wl", locales=("en-US", "fr-FR"), localized_wide=False)
    with live_sim(fast_sim_config(app_id=wl.app_id, part_size=64 * 1024)) as sim:
        conn = cli_args(sim, tmp_path)
        seq = last_seq(sim)
        code, out, err = run_cli(
            ["push", str(wl.manifest), *conn, *V1, "--journal", str(tmp_path / "j1")], capsys
        )
        assert code == 0, out + err
        first = logged_since(sim, seq)
        created = {r["route"] for r in first if r["method"] == "POST"}
        assert {k.api("v1").parent_create for k in KINDS} <= created  # every kind created on its v1 path
        assert v2_paths(first) == []
        assert_all_kinds_exact(sim.state, wl)
        held, content, before = uploaded(sim), held_content(sim), sim.state.snapshot()
        slots = {
            (kind, vendor, slot) for kind in KIND_NAMES for vendor in wl.of_kind(kind) for slot in wl.slots(kind)
        }
        n_complete = sum(sim_image_state(i) == "COMPLETE" for k in KIND_NAMES for i in sim.state.images(k))
        assert n_complete == len(held) == len(slots)

        for fmt in FORMATS:
            dest = tmp_path / f"pulled-{fmt}"
            manifest = dest / OUT_FILES[fmt]
            seq, mark = last_seq(sim), len(sim.requests)
            code, out, err = run_cli(
                ["pull", *conn[:8], *V1, "--app-id", wl.app_id, "--out", str(dest), "--format", fmt,
                 "--log-format", "json"],
                capsys,
            )
            assert code == 0, out + err
            assert f"wrote {manifest} for app {wl.app_id}" in out, out
            hint = next(line for line in out.splitlines() if line.startswith("Push it with: "))
            assert hint.endswith(" --api v1"), hint  # the push of the result reads the same generation
            (planned,) = [e for e in map(json.loads, err.splitlines()) if e["event"] == "plan"]
            assert planned["images"] == n_complete and planned["items"] == len(content), planned

            # reads only, on the v1 generation: each kind's v1 list, and the versionless kinds' v1 localizations
            logged = logged_since(sim, seq)
            assert {r["method"] for r in logged} == {"GET"}, fmt
            assert [r for r in logged if r["kind"] == "upload"] == []
            assert v2_paths(logged) == [], fmt
            read = {r["route"] for r in logged}
            for kind in KINDS:
                kapi = kind.api("v1")
                assert {kapi.list_in_detail, kapi.list_in_group} & read, (fmt, kind.name)
                if kapi.version is None:
                    assert kapi.loc_list in read, (fmt, kind.name)
            renditions = [r for r in sim.requests[mark:] if r.path.startswith("/sim/assets/")]
            assert len(renditions) == n_complete, fmt
            assert sim.state.snapshot() == before, fmt

            # what was written is what the simulator holds: attributes, references, texts, pictures
            assert pulled_content(manifest, fmt) == content, fmt
            record = pulled_entries(dest / "bulkgc-pulled.json")
            assert set(record) == slots, fmt
            files = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in dest.rglob("*.png")}
            for (kind, vendor, slot), sha in record.items():
                assert pixels(files[sha]) == pixels(wl.image(kind, vendor, slot)), (fmt, kind, vendor, slot)

            # pushing the pulled result with --api v1: reads (v1 only), no write, no upload, nothing changed
            seq = last_seq(sim)
            extra = ["--app-id", wl.app_id] if fmt == "gamekit" else []
            code, out, err = run_cli(
                ["push", str(manifest), *conn, *V1, *extra, "--journal", str(tmp_path / f"j-{fmt}")], capsys
            )
            assert code == 0, out + err
            again = logged_since(sim, seq)
            assert again and v2_paths(again) == [], fmt
            assert_nothing_written(again)
            assert sim.state.snapshot() == before, fmt
            assert uploaded(sim) == held
        assert_all_kinds_exact(sim.state, wl)
        assert sorted(BY_NAME) == sorted(KIND_NAMES)  # the round trip covered every kind bulkgc declares
