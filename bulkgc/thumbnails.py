"""Small icon thumbnails (~96 px WebP) for the HTML report, cached beside the journal by content digest.

Why a cache: a card for a replaced icon shows the old icon beside the new one, but the old file is gone from
the assets by then (it was changed) and App Store Connect only offers it through its CDN, which a report must
not depend on. So every icon an HTML report shows (push, plan or status) leaves its thumbnail here, named by
the first 12 hex digits of the file's sha256 -- the same digest bulkgc puts in the remote `fileName`, so the
digest of the image being replaced finds its thumbnail. A thumbnail is only ever made from a file whose bytes
have that digest. Making one costs ~5 ms of CPU (a full decode), so pushes without an HTML report make none.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, features

#: longest edge of a thumbnail, in pixels (cards show them at this size)
THUMB_EDGE = 96
#: hex digits of the sha256 that name a thumbnail (the digest carried by bulkgc's remote file names)
KEY_LEN = 12
_WEBP = features.check("webp")  # Pillow built without libwebp falls back to JPEG
FORMAT, MIME, SUFFIX = ("WEBP", "image/webp", ".webp") if _WEBP else ("JPEG", "image/jpeg", ".jpg")


def thumbnail_bytes(data: bytes) -> bytes:
    """A THUMB_EDGE-pixel thumbnail of the image `data` in FORMAT (about 1-2 KB)."""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (THUMB_EDGE * 2, THUMB_EDGE * 2))  # JPEG decodes at a reduced scale: far less work
        rgb = im.convert("RGB")
    rgb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    if _WEBP:
        rgb.save(out, FORMAT, quality=75, method=4)
    else:
        rgb.save(out, FORMAT, quality=80, optimize=True)
    return out.getvalue()


class ThumbnailCache:
    """Thumbnails by digest, in `directory` (None: no cache on disk, thumbnails are made each time)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.made = 0  # thumbnails rendered from files by this instance (the rest came from the cache)
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}{SUFFIX}"

    def cached(self, digest: str) -> bytes | None:
        """The cached thumbnail of the image whose sha256 starts with `digest`, or None."""
        path = self._path(digest[:KEY_LEN].lower())
        if path is None:
            return None
        try:
            return path.read_bytes() or None
        except OSError:
            return None

    def get(self, digest: str, file: str | os.PathLike[str] | None = None) -> bytes | None:
        """The thumbnail for `digest`: from the cache, else made from `file` when its bytes have that digest
        (and then cached); None when neither can give it (e.g. the file changed since the run)."""
        key = digest[:KEY_LEN].lower()
        found = self.cached(key)
        if found is not None or file is None:
            return found
        try:
            data = Path(file).read_bytes()
        except OSError:
            return None
        if not hashlib.sha256(data).hexdigest().startswith(key):
            return None  # not the bytes the report is about: showing them would mislead
        try:
            thumb = thumbnail_bytes(data)
        except Exception:  # noqa: BLE001 - a broken file gets no thumbnail, never a failed report
            return None
        with self._lock:
            self.made += 1
        self._store(key, thumb)
        return thumb

    def _store(self, key: str, thumb: bytes) -> None:
        path = self._path(key)
        if path is None:
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:  # best effort: a cache that cannot be written is just not kept
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.write_bytes(thumb)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def get_many(self, wanted: Iterable[tuple[str, str | None]], *,
                 workers: int | None = None) -> dict[str, bytes]:
        """Thumbnails for (digest, file or None) pairs, by 12-digit key; missing ones are left out.

        Decoding releases the GIL, so a few threads make the thumbnails of a thousand new icons in parallel.
        """
        todo: dict[str, str | None] = {}
        for digest, file in wanted:
            key = digest[:KEY_LEN].lower()
            if todo.get(key) is None:
                todo[key] = file
        if workers is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
            workers = min(4, cores)
        out: dict[str, bytes] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for key, thumb in zip(todo, pool.map(lambda kv: self.get(*kv), todo.items()), strict=True):
                if thumb is not None:
                    out[key] = thumb
        return out


def cache_for(journal_path: Path) -> ThumbnailCache:
    """The thumbnail cache kept beside the resume journal `journal_path`."""
    return ThumbnailCache(journal_path.parent / "thumbnails")
