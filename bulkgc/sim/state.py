"""The simulator's store (one behind v1 and v2): records by id per collection, persistence, part bytes.

Hierarchy per kind: app -> gameCenterDetail (-> optional gameCenterGroup) -> items (owned by the detail, or by
the
group when the detail belongs to one) -> versions -> localizations -> image (activities and challenges: plus a
version's default image). v1 paths see the localizations of an item's latest version; a v1-created item gets
version
1 implicitly. Which collections exist is declared by the kinds (`bulkgc/sim/kinds/`); the achievement kind
keeps the
collection names of the /sim/state contract ("achievements", "versions", "localizations", "images").
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from . import kinds as _kinds  # noqa: F401  (registers every kind's resources before a state is built)
from .resources import KINDS, RESOURCES, VERSION_STATES, collections, image_collections

STATE_FORMAT = 1


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
    """All resources as plain JSON-able dicts in collections keyed by id (one collection per resource type,
    declared by the kinds in `resources`), plus generic helpers for handlers and tests."""

    def __init__(self, seed: int, parts_dir: Path | None = None) -> None:
        self.seed = seed
        self.data: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in collections()}
        self.meta: dict[str, Any] = {
            "next": 0,
            "upload_secret": hashlib.sha256(f"secret:{seed}".encode()).hexdigest(),
        }
        self.parts = PartStore(parts_dir)
        self.lock = threading.RLock()

    # ---------------------------------------------------------------- ids

    def new_id(self, style: str) -> str:
        """A deterministic id for the seed: numeric (Apple's item/detail ids) or a UUID."""
        self.meta["next"] += 1
        digest = hashlib.sha256(f"{self.seed}:{self.meta['next']}".encode()).digest()
        if style == "numeric":
            return str(6_000_000_000 + int.from_bytes(digest[:8], "big") % 999_999_999)
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def next_seq(self) -> int:
        self.meta["seq"] = self.meta.get("seq", 0) + 1
        return int(self.meta["seq"])

    # ---------------------------------------------------------------- seed

    def seed_app(self, app_id: str, use_group: bool, bundle_id: str = "com.example.simgame") -> None:
        if app_id in self.data["apps"]:
            return
        detail_id = self.new_id("numeric")
        group_id = self.new_id("numeric") if use_group else None
        self.data["apps"][app_id] = {
            "id": app_id,
            "name": "Sim Game",
            "bundleId": bundle_id,
            "detail_id": detail_id,
        }
        self.data["details"][detail_id] = {
            "id": detail_id,
            "app_id": app_id,
            "group_id": group_id,
            "arcadeEnabled": False,
        }
        if group_id:
            self.data["groups"][group_id] = {
                "id": group_id,
                "referenceName": "Sim Group",
                "detail_ids": [detail_id],
            }

    # ---------------------------------------------------------------- generic store

    def get(self, collection: str, rid: str) -> dict[str, Any] | None:
        return self.data.setdefault(collection, {}).get(rid)

    def put(self, collection: str, rec: dict[str, Any]) -> dict[str, Any]:
        self.data.setdefault(collection, {})[rec["id"]] = rec
        return rec

    def remove(self, collection: str, rid: str) -> None:
        self.data.setdefault(collection, {}).pop(rid, None)

    def _col(self, kind: str, part: str) -> str:
        k = KINDS[kind]
        return RESOURCES[getattr(k, part)].collection

    # ---------------------------------------------------------------- queries (per kind; achievements by
    # default)

    def items_of(self, kind: str, owner_kind: str, owner_id: str) -> list[dict[str, Any]]:
        return sorted(
            (
                a
                for a in self.data[self._col(kind, "item")].values()
                if a["owner_kind"] == owner_kind and a["owner_id"] == owner_id
            ),
            key=lambda a: a["seq"],
        )

    def achievements_of(self, owner_kind: str, owner_id: str) -> list[dict[str, Any]]:
        return self.items_of("achievement", owner_kind, owner_id)

    def versions_of(self, item_id: str, kind: str = "achievement") -> list[dict[str, Any]]:
        field_name = KINDS[kind].item_field
        return sorted(
            (v for v in self.data[self._col(kind, "version")].values() if v[field_name] == item_id),
            key=lambda v: v["version"],
        )

    def latest_version(self, item_id: str, kind: str = "achievement") -> dict[str, Any] | None:
        versions = self.versions_of(item_id, kind)
        return versions[-1] if versions else None

    def localizations_of(self, version_id: str, kind: str = "achievement") -> list[dict[str, Any]]:
        return sorted(
            (
                loc
                for loc in self.data[self._col(kind, "localization")].values()
                if loc["version_id"] == version_id
            ),
            key=lambda x: x["seq"],
        )

    def image_of(self, localization_id: str, kind: str = "achievement") -> dict[str, Any] | None:
        for img in self.data[self._col(kind, "image")].values():
            if img.get("localization_id") == localization_id:
                return img
        return None

    def default_image_of(self, version_id: str, kind: str) -> dict[str, Any] | None:
        for img in self.data[self._col(kind, "image")].values():
            if img.get("localization_id") is None and img.get("version_id") == version_id:
                return img
        return None

    def version_of_localization(self, loc: dict[str, Any], kind: str = "achievement") -> dict[str, Any]:
        return self.data[self._col(kind, "version")][loc["version_id"]]

    def version_of_image(self, img: dict[str, Any], kind: str = "achievement") -> dict[str, Any] | None:
        """The version whose content an image belongs to (via its localization, or a default image's)."""
        if img.get("localization_id") is not None:
            loc = self.get(self._col(kind, "localization"), img["localization_id"])
            return self.version_of_localization(loc, kind) if loc else None
        return self.get(self._col(kind, "version"), img.get("version_id") or "")

    def image(self, image_id: str) -> dict[str, Any] | None:
        """An image of any kind by id (ids are unique across the store)."""
        for collection in image_collections():
            img = self.data[collection].get(image_id)
            if img is not None:
                return img
        return None

    def all_images(self) -> list[dict[str, Any]]:
        return [img for c in image_collections() for img in self.data[c].values()]

    def version(self, version_id: str) -> tuple[str, dict[str, Any]] | None:
        """(kind, version) of a version of any kind."""
        for kind in KINDS.values():
            found = self.get(RESOURCES[kind.version].collection, version_id)
            if found is not None:
                return kind.name, found
        return None

    # ---------------------------------------------------------------- deletes (cascade)

    def delete_image(self, image_id: str) -> None:
        for collection in image_collections():
            self.data[collection].pop(image_id, None)
        self.parts.delete(image_id)

    def delete_localization(self, loc_id: str, kind: str = "achievement") -> None:
        img = self.image_of(loc_id, kind)
        if img:
            self.delete_image(img["id"])
        self.remove(self._col(kind, "localization"), loc_id)

    def delete_item(self, item_id: str, kind: str = "achievement") -> None:
        for version in self.versions_of(item_id, kind):
            for loc in self.localizations_of(version["id"], kind):
                self.delete_localization(loc["id"], kind)
            default = self.default_image_of(version["id"], kind)
            if default:
                self.delete_image(default["id"])
            self.remove(self._col(kind, "version"), version["id"])
        self.remove(self._col(kind, "item"), item_id)

    def delete_achievement(self, achievement_id: str) -> None:
        self.delete_item(achievement_id, "achievement")

    # ---------------------------------------------------------------- helpers for tests

    def items(self, kind: str) -> list[dict[str, Any]]:
        """Every item of a kind (copies), in creation order."""
        return copy.deepcopy(sorted(self.data[self._col(kind, "item")].values(), key=lambda a: a["seq"]))

    def achievements(self) -> list[dict[str, Any]]:
        return self.items("achievement")

    def versions(self, kind: str = "achievement") -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.data[self._col(kind, "version")].values()))

    def localizations(self, kind: str = "achievement") -> list[dict[str, Any]]:
        return copy.deepcopy(
            sorted(self.data[self._col(kind, "localization")].values(), key=lambda x: x["seq"])
        )

    def images(self, kind: str = "achievement") -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.data[self._col(kind, "image")].values()))

    def image_bytes(self, image_id: str) -> bytes:
        """The bytes received for an image, reassembled in offset order (gaps are left out)."""
        img = self.image(image_id)
        if img is None:
            raise KeyError(image_id)
        out = bytearray()
        for op in sorted(img["operations"], key=lambda o: o["offset"]):
            chunk = self.parts.get(image_id, op["part"])
            if chunk is not None:
                out += chunk
        return bytes(out)

    def set_version_state(self, version_id: str, state: str) -> dict[str, Any]:
        """Move a version to `state` (e.g. LIVE after review); a new LIVE version replaces the old one."""
        if state not in VERSION_STATES:
            raise ValueError(f"unknown version state {state!r}")
        with self.lock:
            found = self.version(version_id)
            if found is None:
                raise KeyError(version_id)
            kind, version = found
            if state == "LIVE":
                for other in self.versions_of(version[KINDS[kind].item_field], kind):
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
            for name in set(collections()) | set(self.data):
                self.data[name] = document.get(name, {})
        return document
