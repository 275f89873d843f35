"""A push's icon checks in two halves, so that App Store Connect is not kept waiting for pixel data.

The first half (`IconChecks.first_half`) runs before any request: the manifest's icons are checked in full,
except plain 8-bit RGB PNGs (nearly every icon), which get every check but their digest and their pixel data
(file, name, format, pixel size, colour mode, chunk structure: `scan.first_half`). Every problem it finds
stops the push before anything is sent, as a full check would.

The second half (`IconChecks.run`) runs in worker threads while the push reads and writes: first the sha256 of
every pending icon (the plan compares digests with App Store Connect's file names), then the pixel data of
each one, in manifest order. Each icon's upload waits for its own verdict (`verdict`): an icon whose pixel
data is damaged is never uploaded (its image fails with INVALID_IMAGE and the push exits 2 listing every such
icon), while texts, other icons and other items go on. A file that changes during the push is checked again
as it is then: valid, it is uploaded under its own digest; invalid, its image fails "changed during the push"
(exit 1), as at the upload itself (`images.ImageMachine.read_for_upload`).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from bulkgc.config import RunSettings
from bulkgc.errors import InvalidImageError, Problem
from bulkgc.fixicons import check_icons
from bulkgc.manifest import Manifest
from bulkgc.scan import (
    ImageInfo,
    PendingIcon,
    PixelVerdict,
    ScanCache,
    check_threads,
    digest_icon,
    pixel_check,
)

T = TypeVar("T")
W = TypeVar("W")
_DIGEST_BATCH = 32  # icons hashed per trip to a worker thread


class IconChecks:
    """The icon checks of one push: what the first half settled, and the second half as it goes."""

    def __init__(self, infos: dict[Path, ImageInfo], pending: list[PendingIcon], cache: ScanCache) -> None:
        self.infos = dict(infos)  # every icon's ImageInfo once its digest is known
        self.pending = pending  # in manifest order: the order their items are pushed in
        self.cache = cache
        self._hashed: dict[Path, tuple[int, ...] | None] = {}  # the file's stamp when its digest was taken
        self._digested = anyio.Event()
        self._verdicts: dict[Path, PixelVerdict] = {}
        self._checked = {icon.path: anyio.Event() for icon in pending}
        self._over = anyio.Event()
        self._images: dict[str, ImageInfo] | None = None

    @classmethod
    async def first_half(cls, settings: RunSettings, manifest: Manifest) -> IconChecks:
        """Check every icon the manifest names as far as it is cheap; raises InvalidImageError listing every
        problem found. With `fix_icons`, refused icons are converted as `pipeline.load_inputs` does."""
        sizes = manifest.image_sizes()
        state_dir = settings.journal_path.parent
        # icons unchanged since the last run are not checked again (most of a no-op run's CPU otherwise)
        cache = ScanCache(state_dir / "scan-cache.json")
        pending: list[PendingIcon] = []
        infos, problems = await check_icons(list(sizes), fix=settings.fix_icons,
                                            background=settings.icon_background,
                                            fix_dir=state_dir / "fixed-icons", cache=cache, sizes=sizes,
                                            pending=pending)
        if problems:
            raise InvalidImageError(problems)
        return cls(infos, pending, cache)

    async def run(self) -> None:
        """The second half: every pending icon's digest, then their pixel data in order; saves the cache."""
        try:
            # a digest takes a fraction of a millisecond: handed to the threads in batches, not one by one
            batches = [self.pending[i:i + _DIGEST_BATCH] for i in range(0, len(self.pending), _DIGEST_BATCH)]
            for batch in await _in_threads(batches, lambda icons: [digest_icon(icon) for icon in icons]):
                for info, stamp in batch:
                    self.infos[info.path], self._hashed[info.path] = info, stamp
            self._digested.set()
            # one icon per trip: a verdict is published as soon as it is known (an upload waits for it)
            await _in_threads(self.pending, self._check_pixels, self._publish)
        finally:
            self._over.set()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.cache.save)

    def _check_pixels(self, icon: PendingIcon) -> PixelVerdict:
        """One icon's second half (in a worker thread)."""
        verdict = pixel_check(icon, self._hashed[icon.path])
        if verdict.problem is None and not verdict.changed:
            self.cache.put(self.infos[icon.path], icon.stamp)  # not remembered if it changed since
        return verdict

    def _publish(self, icon: PendingIcon, verdict: PixelVerdict) -> None:
        self._verdicts[icon.path] = verdict
        self._checked[icon.path].set()

    async def images(self) -> dict[str, ImageInfo]:
        """Every icon's ImageInfo, digest included, once the digests are known (what the plan compares; one
        mapping for every item's comparison)."""
        if self._images is None:
            await self._digested.wait()
            if self._images is None:
                self._images = {str(path): info for path, info in self.infos.items()}
        return self._images

    async def verdict(self, path: Path) -> PixelVerdict | None:
        """The verdict of the icon at `path` once it is checked in full; None for an icon that was checked in
        full before the push (or whose check was cached), and once the push stops waiting (`abandon`)."""
        checked = self._checked.get(path)
        if checked is None:
            return None
        if not checked.is_set():  # (waiting for a set event would still cost a trip through the event loop)
            await checked.wait()
        return self._verdicts.get(path)

    async def abandon_when(self, stop: anyio.Event) -> None:
        """Once `stop` is set, nobody waits for a verdict any more (the push is stopping: starts nothing)."""
        await stop.wait()
        for checked in self._checked.values():
            checked.set()

    async def finished(self) -> list[Problem]:
        """Once the second half is over: the problems of icons that did not change during the push (damaged
        pixel data: invalid input), in manifest order."""
        await self._over.wait()
        return [v.problem for i in self.pending if (v := self._verdicts.get(i.path)) is not None
                and v.problem is not None and not v.changed]


async def _in_threads(
    icons: list[W],
    work: Callable[[W], T],
    done: Callable[[W, T], None] | None = None,
) -> list[T]:
    """`work(icon)` for every icon (or batch of them) in worker threads, started in order (one thread per
    core); the results in order, each also handed to `done` as soon as it is there."""
    results: dict[int, T] = {}
    queue = collections.deque(enumerate(icons))

    async def worker() -> None:
        while queue:
            index, icon = queue.popleft()
            results[index] = await anyio.to_thread.run_sync(work, icon)
            if done is not None:
                done(icon, results[index])

    async with anyio.create_task_group() as tg:
        for _ in range(min(check_threads(), len(icons))):
            tg.start_soon(worker)
    return [results[i] for i in range(len(icons))]

