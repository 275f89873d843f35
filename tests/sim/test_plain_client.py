"""A script-style client (urllib + pyjwt; v1 achievements, v2 leaderboards) against `bulkgc sim` as a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from openapi_check import assert_all_conform
from simhelpers import png_bytes

RUNNER = (
    "import argparse, sys\n"
    "from bulkgc.commands import sim\n"
    "p = argparse.ArgumentParser(prog='bulkgc'); sim.register(p.add_subparsers())\n"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.run(a))\n"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[dict[str, Any], subprocess.Popen[bytes], Path]]:
    ready = tmp_path / "ready.json"
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, "sim", "--part-size", "4096", "--processing-delay", "0.05",
         "--key-dir", str(tmp_path / "keys"), "--ready-file", str(ready), "--state-file", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        yield info, proc, state
        if proc.poll() is None:  # what the script made the simulator process serve conforms to Apple's spec
            with urllib.request.urlopen(info["base_url"] + "/sim/requests", timeout=10) as resp:
                assert_all_conform(json.loads(resp.read()), "`bulkgc sim` process")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _token(info: dict[str, Any]) -> str:
    key = Path(info["private_key_path"]).read_text()
    now = int(time.time())
    claims = {"iss": info["issuer_id"], "iat": now, "exp": now + 600, "aud": "appstoreconnect-v1"}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": info["key_id"], "typ": "JWT"})


def _call(info: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    req = urllib.request.Request(info["base_url"] + path, method=method)
    req.add_header("Authorization", "Bearer " + _token(info))
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, data=data, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def test_script_style_v1_upload(served: tuple[dict[str, Any], subprocess.Popen[bytes], Path]) -> None:
    """urllib, v1 paths: detail -> list -> create achievement + localization -> list its localizations -> reserve -> parts -> commit -> COMPLETE; saved."""
    info, proc, state_file = served
    assert Path(info["private_key_path"]).stat().st_mode & 0o777 == 0o600
    detail = _call(info, "GET", f"/v1/apps/{info['app_id']}/gameCenterDetail")["data"]["id"]
    assert _call(info, "GET", f"/v1/gameCenterDetails/{detail}/gameCenterAchievements?limit=200")["data"] == []
    ach = _call(info, "POST", "/v1/gameCenterAchievements", {"data": {
        "type": "gameCenterAchievements",
        "attributes": {"referenceName": "Script", "vendorIdentifier": "script.one", "points": 10,
                       "showBeforeEarned": True, "repeatable": False},
        "relationships": {"gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": detail}}}}})["data"]["id"]
    loc = _call(info, "POST", "/v1/gameCenterAchievementLocalizations", {"data": {
        "type": "gameCenterAchievementLocalizations",
        "attributes": {"locale": "en-GB", "name": "Script", "beforeEarnedDescription": "b", "afterEarnedDescription": "a"},
        "relationships": {"gameCenterAchievement": {"data": {"type": "gameCenterAchievements", "id": ach}}}}})["data"]["id"]
    listed = _call(info, "GET", f"/v1/gameCenterAchievements/{ach}/localizations")["data"]
    assert [(x["id"], x["attributes"]["locale"]) for x in listed] == [(loc, "en-GB")]
    data = png_bytes(512)
    image = _call(info, "POST", "/v1/gameCenterAchievementImages", {"data": {
        "type": "gameCenterAchievementImages", "attributes": {"fileName": "script.png", "fileSize": len(data)},
        "relationships": {"gameCenterAchievementLocalization": {"data": {"type": "gameCenterAchievementLocalizations", "id": loc}}}}})["data"]
    ops = image["attributes"]["uploadOperations"]
    assert len(ops) > 1
    for op in ops:
        req = urllib.request.Request(op["url"], data=data[op["offset"]: op["offset"] + op["length"]], method=op["method"])
        for header in op["requestHeaders"]:
            req.add_header(header["name"], header["value"])
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
    _call(info, "PATCH", f"/v1/gameCenterAchievementImages/{image['id']}",
          {"data": {"type": "gameCenterAchievementImages", "id": image["id"], "attributes": {"uploaded": True}}})
    deadline = time.monotonic() + 5
    while True:
        attrs = _call(info, "GET", f"/v1/gameCenterAchievementImages/{image['id']}")["data"]["attributes"]
        if attrs["assetDeliveryState"]["state"] == "COMPLETE" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert attrs["assetDeliveryState"]["state"] == "COMPLETE"
    with urllib.request.urlopen(f"{info['base_url']}/sim/images/{image['id']}/bytes", timeout=10) as resp:
        assert resp.read() == data
    with urllib.request.urlopen(f"{info['base_url']}/sim/state", timeout=10) as resp:
        state = json.load(resp)
    assert [a["attributes"]["vendorIdentifier"] for a in state["achievements"].values()] == ["script.one"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    saved = json.loads(state_file.read_text())
    assert saved["images"][image["id"]]["result"]["state"] == "COMPLETE"
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "ASC_KEY_ID" in out and "PRIVATE KEY" not in out


def test_unauthenticated_script_gets_401(served: tuple[dict[str, Any], subprocess.Popen[bytes], Path]) -> None:
    """A script without a token gets Apple's 401 ErrorResponse."""
    info, _proc, _state = served
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{info['base_url']}/v1/apps/{info['app_id']}/gameCenterDetail", timeout=10)
    assert exc.value.code == 401
    assert json.loads(exc.value.read())["errors"][0]["code"] == "NOT_AUTHORIZED"
    exc.value.close()


def test_script_style_v2_leaderboard(served: tuple[dict[str, Any], subprocess.Popen[bytes], Path]) -> None:
    """urllib, v2: leaderboard with inline version -> localization -> image -> COMPLETE in the `bulkgc sim` process; saved."""
    info, proc, state_file = served
    detail = _call(info, "GET", f"/v1/apps/{info['app_id']}/gameCenterDetail")["data"]["id"]
    created = _call(info, "POST", "/v2/gameCenterLeaderboards", {
        "data": {"type": "gameCenterLeaderboards",
                 "attributes": {"referenceName": "Top", "vendorIdentifier": "script.lb", "defaultFormatter": "INTEGER",
                                "submissionType": "BEST_SCORE", "scoreSortType": "DESC"},
                 "relationships": {"gameCenterDetail": {"data": {"type": "gameCenterDetails", "id": detail}},
                                   "versions": {"data": [{"type": "gameCenterLeaderboardVersions", "id": "${v}"}]}}},
        "included": [{"type": "gameCenterLeaderboardVersions", "id": "${v}"}]})
    version = _call(info, "GET", f"/v2/gameCenterLeaderboards/{created['data']['id']}/versions")["data"][0]["id"]
    loc = _call(info, "POST", "/v2/gameCenterLeaderboardLocalizations", {
        "data": {"type": "gameCenterLeaderboardLocalizations", "attributes": {"locale": "en-US", "name": "Top"},
                 "relationships": {"version": {"data": {"type": "gameCenterLeaderboardVersions", "id": version}}}}})
    data = png_bytes(512)
    image = _call(info, "POST", "/v2/gameCenterLeaderboardImages", {
        "data": {"type": "gameCenterLeaderboardImages", "attributes": {"fileName": "top.png", "fileSize": len(data)},
                 "relationships": {"localization": {"data": {"type": "gameCenterLeaderboardLocalizations",
                                                             "id": loc["data"]["id"]}}}}})["data"]
    for op in image["attributes"]["uploadOperations"]:
        req = urllib.request.Request(op["url"], data=data[op["offset"]: op["offset"] + op["length"]], method=op["method"])
        for header in op["requestHeaders"]:
            req.add_header(header["name"], header["value"])
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
    _call(info, "PATCH", f"/v2/gameCenterLeaderboardImages/{image['id']}",
          {"data": {"type": "gameCenterLeaderboardImages", "id": image["id"], "attributes": {"uploaded": True}}})
    deadline = time.monotonic() + 5
    while True:
        attrs = _call(info, "GET", f"/v2/gameCenterLeaderboardImages/{image['id']}")["data"]["attributes"]
        if attrs["assetDeliveryState"]["state"] == "COMPLETE" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert attrs["assetDeliveryState"]["state"] == "COMPLETE"
    with urllib.request.urlopen(f"{info['base_url']}/sim/images/{image['id']}/bytes", timeout=10) as resp:
        assert resp.read() == data
    with urllib.request.urlopen(f"{info['base_url']}/sim/requests", timeout=10) as resp:
        assert_all_conform(json.loads(resp.read()), "`bulkgc sim` process")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    saved = json.loads(state_file.read_text())
    assert saved["gameCenterLeaderboardImages"][image["id"]]["result"]["state"] == "COMPLETE"
    assert [lb["attributes"]["vendorIdentifier"] for lb in saved["gameCenterLeaderboards"].values()] == ["script.lb"]
