"""The simulator's resources (one store behind both v1 and v2), their persistence, and the uploaded part bytes.

Hierarchy: app -> gameCenterDetail (-> optional gameCenterGroup) -> achievements (owned by the detail, or by the
group when the detail belongs to one) -> versions -> localizations -> image. v1 paths see the localizations of
an achievement's latest version; a v1-created achievement gets version 1 implicitly.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

VERSION_STATES = (
    "PREPARE_FOR_SUBMISSION", "READY_FOR_REVIEW", "WAITING_FOR_REVIEW", "IN_REVIEW", "DEVELOPER_REJECTED",
    "REJECTED", "ACCEPTED", "PENDING_RELEASE", "LIVE", "REPLACED_WITH_NEW_VERSION",
)
# [INFER] localizations and images of a version can be edited only in these states.
EDITABLE_STATES = frozenset({"PREPARE_FOR_SUBMISSION", "DEVELOPER_REJECTED", "REJECTED"})
# [INFER] a new version can be created only when the latest one is LIVE.
NEW_VERSION_STATES = frozenset({"LIVE"})

STATE_FORMAT = 1
COLLECTIONS = ("apps", "details", "groups", "achievements", "versions", "localizations", "images")


class PartStore:
    """Uploaded part bytes: in memory, and in `directory/<image_id>/<part>` when persistent."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._mem: dict[tuple[str, int], bytes] = {}
        self._lock = threading.Lock()

    def put(self, image_id: str, part: int, data: bytes) -> None:
        with self._lock:
            self._mem[(image_id, part)] = data
        if self.directory is not None:
            folder = self.directory / image_id
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{part}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, folder / str(part))

    def get(self, image_id: str, part: int) -> bytes | None:
        with self._lock:
            data = self._mem.get((image_id, part))
        if data is None and self.directory is not None:
            path = self.directory / image_id / str(part)
            if path.exists():
                data = path.read_bytes()
                with self._lock:
                    self._mem[(image_id, part)] = data
        return data

    def delete(self, image_id: str) -> None:
        with self._lock:
            for key in [k for k in self._mem if k[0] == image_id]:
                del self._mem[key]
        if self.directory is not None:
            shutil.rmtree(self.directory / image_id, ignore_errors=True)


class SimState:
    """All resources as plain JSON-able dicts, keyed by id, plus helpers for tests."""

    def __init__(self, seed: int, parts_dir: Path | None = None) -> None:
        self.seed = seed
        self.data: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in COLLECTIONS}
        self.meta: dict[str, Any] = {"next": 0, "upload_secret": hashlib.sha256(f"secret:{seed}".encode()).hexdigest()}
        self.parts = PartStore(parts_dir)
        self.lock = threading.RLock()

    # ---------------------------------------------------------------- ids

    def new_id(self, style: str) -> str:
        """A deterministic id for the seed: numeric (Apple's achievement/detail ids) or a UUID."""
        self.meta["next"] += 1
        digest = hashlib.sha256(f"{self.seed}:{self.meta['next']}".encode()).digest()
        if style == "numeric":
            return str(6_000_000_000 + int.from_bytes(digest[:8], "big") % 999_999_999)
        return str(uuid.UUID(bytes=digest[:16], version=4))

    # ---------------------------------------------------------------- seed

    def seed_app(self, app_id: str, use_group: bool) -> None:
        if app_id in self.data["apps"]:
            return
        detail_id = self.new_id("numeric")
        group_id = self.new_id("numeric") if use_group else None
        self.data["apps"][app_id] = {"id": app_id, "name": "Sim Game", "bundleId": "com.example.simgame", "detail_id": detail_id}
        self.data["details"][detail_id] = {"id": detail_id, "app_id": app_id, "group_id": group_id, "arcadeEnabled": False}
        if group_id:
            self.data["groups"][group_id] = {"id": group_id, "referenceName": "Sim Group", "detail_ids": [detail_id]}

    # ---------------------------------------------------------------- queries

    def get(self, collection: str, rid: str) -> dict[str, Any] | None:
        return self.data[collection].get(rid)

    def achievements_of(self, owner_kind: str, owner_id: str) -> list[dict[str, Any]]:
        return sorted(
            (a for a in self.data["achievements"].values() if a["owner_kind"] == owner_kind and a["owner_id"] == owner_id),
            key=lambda a: a["seq"],
        )

    def versions_of(self, achievement_id: str) -> list[dict[str, Any]]:
        return sorted(
            (v for v in self.data["versions"].values() if v["achievement_id"] == achievement_id), key=lambda v: v["version"]
        )

    def latest_version(self, achievement_id: str) -> dict[str, Any] | None:
        versions = self.versions_of(achievement_id)
        return versions[-1] if versions else None

    def localizations_of(self, version_id: str) -> list[dict[str, Any]]:
        return sorted(
            (loc for loc in self.data["localizations"].values() if loc["version_id"] == version_id), key=lambda x: x["seq"]
        )

    def image_of(self, localization_id: str) -> dict[str, Any] | None:
        for img in self.data["images"].values():
            if img["localization_id"] == localization_id:
                return img
        return None

    def version_of_localization(self, loc: dict[str, Any]) -> dict[str, Any]:
        return self.data["versions"][loc["version_id"]]

    def next_seq(self) -> int:
        self.meta["seq"] = self.meta.get("seq", 0) + 1
        return int(self.meta["seq"])

    # ---------------------------------------------------------------- deletes (cascade)

    def delete_image(self, image_id: str) -> None:
        self.data["images"].pop(image_id, None)
        self.parts.delete(image_id)

    def delete_localization(self, loc_id: str) -> None:
        img = self.image_of(loc_id)
        if img:
            self.delete_image(img["id"])
        self.data["localizations"].pop(loc_id, None)

    def delete_achievement(self, achievement_id: str) -> None:
        for version in self.versions_of(achievement_id):
            for loc in self.localizations_of(version["id"]):
                self.delete_localization(loc["id"])
            self.data["versions"].pop(version["id"], None)
        self.data["achievements"].pop(achievement_id, None)

    # ---------------------------------------------------------------- helpers for tests

    def achievements(self) -> list[dict[str, Any]]:
        return copy.deepcopy(sorted(self.data["achievements"].values(), key=lambda a: a["seq"]))

    def versions(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.data["versions"].values()))

    def localizations(self) -> list[dict[str, Any]]:
        return copy.deepcopy(sorted(self.data["localizations"].values(), key=lambda x: x["seq"]))

    def images(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.data["images"].values()))

    def image_bytes(self, image_id: str) -> bytes:
        """The bytes received for an image, reassembled in offset order (gaps are left out)."""
        img = self.data["images"][image_id]
        out = bytearray()
        for op in sorted(img["operations"], key=lambda o: o["offset"]):
            chunk = self.parts.get(image_id, op["part"])
            if chunk is not None:
                out += chunk
        return bytes(out)

    def set_version_state(self, version_id: str, state: str) -> dict[str, Any]:
        """Move a version to `state` (e.g. LIVE after review); a new LIVE version replaces the previous LIVE one."""
        if state not in VERSION_STATES:
            raise ValueError(f"unknown version state {state!r}")
        with self.lock:
            version = self.data["versions"][version_id]
            if state == "LIVE":
                for other in self.versions_of(version["achievement_id"]):
                    if other["id"] != version_id and other["state"] == "LIVE":
                        other["state"] = "REPLACED_WITH_NEW_VERSION"
            version["state"] = state
            return copy.deepcopy(version)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy({"format": STATE_FORMAT, "meta": self.meta, **self.data})

    # ---------------------------------------------------------------- persistence

    def save(self, path: Path, extra: dict[str, Any] | None = None) -> None:
        """Write the state atomically (temp file + rename), mode 0600 (it may hold the seeded private key)."""
        document = self.snapshot()
        if extra:
            document.update(extra)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(document, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, path: Path) -> dict[str, Any]:
        """Load a saved state; returns the whole document (callers read their extra keys)."""
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != STATE_FORMAT:
            raise ValueError(f"{path}: unknown simulator state format {document.get('format')!r}")
        with self.lock:
            self.meta = document["meta"]
            for name in COLLECTIONS:
                self.data[name] = document.get(name, {})
        return document


def now() -> float:
    return time.time()
