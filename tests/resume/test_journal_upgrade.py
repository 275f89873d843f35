"""A journal written by the release before kinds (schema 1) resumes after the upgrade: the old release is
checked out from git, killed between the parts of an image, and today's bulkgc finishes the job from its
journal."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
from crashbed import (
    SimProc,
    applied_writes,
    assert_exact_state,
    image_items,
    journal_known_parts,
    part_puts,
    run_push,
)
from workload import make_workload, sim_image_state

from bulkgc.journal import SCHEMA_VERSION, Journal

REPO = Path(__file__).resolve().parents[2]
#: the last release whose journal keys did not carry the kind (journal schema 1)
OLD_RELEASE = "2ba6238294f4ef34bd5c336bf14a5ca8fb286dc2"


def checkout_old_release(dest: Path) -> Path:
    """`bulkgc/` of OLD_RELEASE, extracted with `git archive` (no worktree; the repository is not changed)."""
    try:
        tar = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", OLD_RELEASE, "bulkgc"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the old release {OLD_RELEASE[:7]} is not in this checkout's git history ({exc})")
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest


@pytest.mark.slow
def test_old_release_journal_resumes_after_upgrade(tmp_path: Path) -> None:
    """The old release dies between parts; the upgraded bulkgc migrates its journal, resumes that reservation
    without resending the parts the old journal recorded, and the end state is exactly the manifest."""
    old = checkout_old_release(tmp_path / "old")
    wl = make_workload(tmp_path / "wl", 3, ("en-US", "fr-FR"))
    journal = tmp_path / "journal.sqlite"
    sim = SimProc(tmp_path, wl.app_id).start()
    try:
        env = {**sim.env(), "PYTHONPATH": str(old) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        killed = run_push(
            sim,
            wl.manifest,
            journal,
            "--images-in-flight",
            "1",
            "--upload-concurrency",
            "1",
            env=env,
            fault={"method": "PUT", "route_glob": "/upload/*", "skip": 2, "after_apply": True},
        )
        assert killed.returncode == -9, (
            f"the old release was not killed where expected:\n{killed.stderr[-2000:]}"
        )
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == 1  # really the old format
            old_keys = {key for (key,) in conn.execute("SELECT item_key FROM items WHERE kind = 'image'")}
        finally:
            conn.close()
        assert old_keys and all(k.count(":") == 2 for k in old_keys), old_keys  # image:<vendor>:<locale>
        known = journal_known_parts(journal)
        assert sum(map(len, known.values())) >= 1, "the old journal recorded no part: the case proves nothing"
        after_kill = sim.state

        rerun = run_push(sim, wl.manifest, journal)  # today's bulkgc
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert_exact_state(sim, wl)
        both = sim.requests(killed.first_seq)
        assert applied_writes(both) == {
            "POST achievement": 3,
            "POST localization": 6,
            "POST image": 6,
            "PATCH image": 6,
        }
        rerun_reqs = [r for r in both if r.started >= rerun.launched]
        state = sim.state
        items = image_items(state)
        puts = part_puts(rerun_reqs, state)
        resumed = [img for img in after_kill.images() if sim_image_state(img) == "AWAITING_UPLOAD"]
        assert resumed, "the kill left no reservation to resume"
        for img in resumed:
            sent_before = known.get(img["id"], set())
            steps = [e for e in rerun.steps("resume") if e["item"] == items[img["id"]]]
            assert [e["detail"].split(" of ")[0] for e in steps] == [str(len(sent_before))], items[img["id"]]
            again = {part for image_id, part, _ in puts if image_id == img["id"]} & sent_before
            assert again == set(), f"parts {sorted(again)} sent again though the old journal knew them"
        with Journal.open(journal, read_only=True) as j:
            assert j._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert all(i.item_key.startswith("image:achievement:") for i in j.items(kind="image"))
            assert [(i.item_key, i.state) for i in j.items(kind="image") if i.state != "complete"] == []
        assert sim.assert_conforms() > 0
    finally:
        sim.stop()
