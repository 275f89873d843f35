"""Each image through its states: reserve (or resume) -> parts -> commit -> batched poll.

An image fills a slot: a localization's (the slot is its locale) or, for activities and challenges, the
version's default image (slot `default`, reserved with the version as its owner and polled by reading it).

One `ImageMachine` serves the whole push: it bounds the images in flight, polls each container (version) once
for all of its images, learns App Store Connect's processing time, and redoes an image that failed, got stuck
or vanished, a bounded number of times. It reads the kind's API row from the item's plan; it names no kind.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from bulkgc.asc.ratelimit import held
from bulkgc.config import RunSettings
from bulkgc.errors import FATAL, INVALID_IMAGE, BulkgcError, FileChangedError, InvalidImageError
from bulkgc.ledger import Ledger, codes_of, key_of
from bulkgc.plan import DEFAULT_SLOT, ImageAction, ItemPlan, remote_file_name
from bulkgc.remote import RemoteImage, RemoteLocalization, RemoteReader
from bulkgc.scan import ImageInfo, PixelVerdict, check_image_data, display_path, read_image_file, stamp_of
from bulkgc.upload import (
    commit_image,
    delete_image,
    read_image,
    reserve_image,
    upload_parts,
    wait_until_processed,
)

#: `IconChecks.verdict`: an icon's verdict once it is checked in full (None: checked before, or stopped first)
IconGate = Callable[[Path], Awaitable[PixelVerdict | None]]


async def wait_for_service(client: Any) -> None:
    """No new work starts during an outage: wait until App Store Connect answers (OutageError past
    patience)."""
    outage = getattr(client, "outage", None)
    if outage is not None:
        await outage.wait_until_answering()


@dataclass
class ImageJob:
    """One image (a localization's, or a version's default image) while it is pushed."""

    plan: ItemPlan
    slot: str  # the localization's locale, or DEFAULT_SLOT
    image: ImageAction
    owner_id: str  # the localization's id; for the default image, the version's
    action: str  # upload | replace | resume | wait | none (changes as the job is redone)
    remote: RemoteImage | None
    image_id: str | None = None
    attempts: int = 0
    done: bool = False
    started: float | None = None
    committed_at: float | None = None  # monotonic time of the last commit: processing is timed from it

    @property
    def key(self) -> str:
        return key_of(self.plan, "image", self.slot)

    @property
    def is_default(self) -> bool:
        return self.slot == DEFAULT_SLOT


@dataclass
class Outcome:
    """How one image's push ended in this run (`ImageMachine.finish` records it)."""

    job: ImageJob
    outcome: str  # done | failed | interrupted
    state: str  # the state App Store Connect last showed (COMPLETE, FAILED, PROCESSING, ...)
    codes: list[str] | None = None
    message: str = ""


@dataclass
class ImageMachine:
    """Runs image jobs against App Store Connect for a whole push."""

    client: Any
    settings: RunSettings
    ledger: Ledger
    stop: anyio.Event
    reader: RemoteReader
    icons: IconGate | None = None  # waits for an icon's check in full (`IconChecks.verdict`)
    polls: int = 0
    buffers: list[bytearray] = field(default_factory=list)  # upload buffers free for reuse
    first_poll_delay: float = field(init=False)

    def __post_init__(self) -> None:
        self.first_poll_delay = self.settings.poll_interval
        self.limiter = anyio.CapacityLimiter(self.settings.images_in_flight)
        # images of all items queued for a slot at once: enough to keep every slot busy; more would only
        # wait, each holding a task (thousands at scale, while the texts of later items are being written)
        self.queued = anyio.Semaphore(2 * self.settings.images_in_flight)

    async def upload_one_queued(self, job: ImageJob) -> None:
        try:
            await self.upload_one(job)
        finally:
            self.queued.release()

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    def learn_processing_time(self, *, first_poll_sufficed: bool) -> None:
        """Tune the wait before a container's first poll toward App Store Connect's processing time.

        One poll per version is the goal: shorten the wait a little while one poll is enough, lengthen it more
        when it is not (never beyond `poll_interval`, never below a quarter second). The two steps settle
        where about nine first polls in ten suffice: waiting a little longer costs nothing while other images
        upload (no upload slot is held while a version processes), and the early tenth is polled again soon.
        The steps are small because many versions wait at once: each learns only after its own poll, and big
        steps taken on stale waits overshoot.
        """
        factor = 0.99 if first_poll_sufficed else 1.1
        self.first_poll_delay = min(self.settings.poll_interval, max(0.25, self.first_poll_delay * factor))

    async def settle(self, plan: ItemPlan, container: str, jobs: list[ImageJob]) -> None:
        """Upload what needs uploading, then poll the container until every image is final (bounded redo)."""
        unchanged: list[tuple[str, RemoteImage | None]] = []
        for job in jobs:
            if job.action == "none":
                self.ledger.record(
                    "image",
                    plan,
                    job.slot,
                    "none",
                    "unchanged",
                    image_id=job.remote.id if job.remote else None,
                    final_state="COMPLETE",
                    attempts=0,
                )
                unchanged.append((job.key, job.remote))
                job.done = True
            elif job.action == "wait" and job.remote is not None:
                job.image_id, job.started = job.remote.id, time.time()
                job.committed_at = (
                    time.monotonic()
                )  # committed by an earlier run: processing is timed from now
        await self.confirm_complete(unchanged)
        pending = [j for j in jobs if not j.done and j.action != "wait"]
        kapi = plan.kapi
        while True:
            async with anyio.create_task_group() as tg:
                for job in pending:
                    await self.queued.acquire()  # released when its upload_one ends
                    tg.start_soon(self.upload_one_queued, job)
            committed = [j for j in jobs if not j.done and j.image_id]
            if not committed:
                return

            polled = {j.is_default for j in committed}

            async def read_container(polled: set[bool] = polled) -> dict[str, RemoteLocalization]:
                seen = {}
                if False in polled:  # localizations' images: one read of the version's localizations
                    seen = await self.reader.localizations(plan.kind, kapi, container, purpose="poll")
                if True in polled:  # the default image: one read of the version's default image
                    image = await self.reader.default_image(kapi, container, purpose="poll")
                    seen[f"({DEFAULT_SLOT})"] = RemoteLocalization(container, DEFAULT_SLOT, {}, image)
                return seen

            try:
                result = await wait_until_processed(
                    read_container,
                    {j.image_id for j in committed if j.image_id},
                    interval=self.settings.poll_interval,
                    timeout=self.settings.processing_timeout,
                    first_delay=self.first_poll_delay,
                    stop=lambda: self.stopping,
                )
            except FATAL:
                raise
            except BulkgcError as exc:
                # a poll that failed for good fails these images' wait, never another item's upload
                message = f"committed, but its processing could not be checked ({exc}); run again to check"
                for job in committed:
                    job.done = True
                    await self.ledger.put(job.key, state="committed", error_codes=codes_of(exc),
                                          detail=message)
                    self.ledger.record("image", job.plan, job.slot, job.image.action, "failed",
                                       image_id=job.image_id, codes=codes_of(exc), message=message,
                                       attempts=max(job.attempts, 1), started=job.started)
                return
            self.polls += result.polls
            self.learn_processing_time(first_poll_sufficed=result.polls == 1 and not result.stuck)
            pending = []
            final: list[Outcome] = []  # journaled together below: one write (one fsync) per poll
            for job in committed:
                assert job.image_id is not None
                seen = result.states[job.image_id]
                if seen.state == "COMPLETE":
                    final.append(Outcome(job, "done", "COMPLETE"))
                elif seen.state == "FAILED":
                    codes = seen.error_codes or ["FAILED"]
                    final.append(Outcome(job, "failed", "FAILED", codes,
                                         f"App Store Connect rejected the image: {', '.join(codes)}"))
                elif self.stopping:
                    why = "still processing when the run stopped; the next run checks it"
                    final.append(Outcome(job, "interrupted", seen.state, message=why))
                elif job.attempts >= self.settings.image_attempts:
                    final.append(Outcome(job, "failed", seen.state, ["PROCESSING_TIMEOUT"],
                                         f"still {seen.state} after {job.attempts} attempt(s) of "
                                         f"{self.settings.processing_timeout:.0f}s; run again later"))
                else:  # stuck or vanished: delete and start that image over
                    self.ledger.event(
                        job.key, "poll", "retry", attempt=job.attempts, detail=f"{seen.state}; starting over"
                    )
                    if seen.state != "MISSING":
                        await delete_image(self.client, kapi, job.image_id)
                    job.action, job.remote, job.image_id = "upload", None, None
                    pending.append(job)
            await self.finish(final)

    async def confirm_complete(self, images: list[tuple[str, RemoteImage | None]]) -> None:
        """Images App Store Connect already holds COMPLETE (journal key, remote image): bring stale journal
        records up to date (a run killed after its commit, or a failure since fixed), so `bulkgc status` does
        not report them unfinished. One journal read and at most one write for all of them."""
        if not images:
            return
        records = await self.ledger.get_many([key for key, _ in images])
        stale: list[tuple[str, dict[str, Any]]] = [
            (key, {"state": "complete", "remote_id": remote.id if remote else record.remote_id,
                   "error_codes": [], "detail": "found COMPLETE in App Store Connect"})
            for key, remote in images
            if (record := records.get(key)) is not None and record.state != "complete"
        ]
        if stale:
            await self.ledger.put_many(stale)

    async def finish(self, outcomes: list[Outcome]) -> None:
        """Record images that reached their final state of this run: their journal states in one write, then
        each one's progress event and report row."""
        for o in outcomes:
            o.job.done = True
        await self.ledger.put_many([
            (o.job.key, {"state": o.state.lower() if o.outcome != "interrupted" else "committed",
                         "error_codes": list(o.codes or []), "detail": o.message})
            for o in outcomes
        ])
        for o in outcomes:
            job = o.job
            waited = None if job.committed_at is None else time.monotonic() - job.committed_at
            self.ledger.event(
                job.key,
                "processed",
                "ok" if o.outcome == "done" else o.outcome,
                attempt=max(job.attempts, 1),
                latency=waited,
                detail=", ".join(o.codes or []),
            )
            self.ledger.record(
                "image",
                job.plan,
                job.slot,
                job.image.action,
                o.outcome,
                image_id=job.image_id,
                final_state=o.state,
                codes=o.codes,
                message=o.message,
                attempts=max(job.attempts, 1),
                started=job.started,
            )

    def take_buffer(self, size: int) -> bytearray:
        """A buffer longer than `size` bytes for an icon's upload, reused from earlier uploads when one is.

        At most `images_in_flight` are in use at once, allocated on the event loop's thread: read into
        afresh by each worker thread instead, each megabyte would be freed into that thread's memory arena,
        where glibc keeps it (at scale, tens of MB of peak RSS)."""
        for i, buffer in enumerate(self.buffers):
            if len(buffer) > size:
                return self.buffers.pop(i)
        return bytearray(size + 1 + size // 8)  # room for a file that grows a little since its scan

    async def upload_one(self, job: ImageJob) -> None:
        """Reserve (or resume), upload the parts, commit, sets job.image_id once committed.

        Nothing happens before the icon is checked in full (the second half of the checks may still be going):
        an icon that failed is never sent."""
        if self.icons is not None and not await self.icon_passed(job):
            return
        async with held(self.limiter):
            await wait_for_service(self.client)
            if self.stopping:
                job.done = True
                self.ledger.record(
                    "image",
                    job.plan,
                    job.slot,
                    job.image.action,
                    "interrupted",
                    attempts=job.attempts,
                    message="not started: the run was stopped",
                )
                return
            job.started = job.started or time.time()
            last: BaseException = BulkgcError("no attempt left")
            while job.attempts < self.settings.image_attempts:
                job.attempts += 1
                try:
                    await self.upload_attempt(job)
                    return
                except FATAL:
                    raise
                except BulkgcError as exc:
                    retry = job.attempts < self.settings.image_attempts
                    self.ledger.event(
                        job.key,
                        "upload",
                        "retry" if retry else "failed",
                        attempt=job.attempts,
                        detail=str(exc),
                    )
                    if job.image_id:
                        try:
                            await delete_image(self.client, job.plan.kapi, job.image_id)
                        except FATAL:
                            raise
                        except BulkgcError:
                            pass
                    job.action, job.remote, job.image_id = "upload", None, None
                    last = exc
                    if self.stopping or (isinstance(exc, FileChangedError) and not exc.retry):
                        break
            job.done = True
            self.ledger.record(
                "image",
                job.plan,
                job.slot,
                job.image.action,
                "failed",
                codes=codes_of(last),
                message=str(last),
                attempts=job.attempts,
                started=job.started,
            )
            await self.ledger.put(job.key, state="failed", error_codes=codes_of(last), detail=str(last))

    async def icon_passed(self, job: ImageJob) -> bool:
        """Wait for the verdict on the job's icon; False (the image failed, recorded) when it did not pass."""
        assert self.icons is not None
        verdict = await self.icons(Path(job.image.path))
        if verdict is None:  # checked before the push, or the run is stopping (upload_one records that)
            return True
        if verdict.problem is None:
            if verdict.info is not None and verdict.info.sha256 != job.image.info.sha256:
                self.use_changed_file(job, verdict.info)
            return True
        problem = verdict.problem
        message = f"{problem.location} {problem.message}"
        # damaged as given: invalid input (the push exits 2); changed during the push: as at the upload
        codes = [FileChangedError.__name__] if verdict.changed else [INVALID_IMAGE]
        job.done, job.attempts = True, 1
        self.ledger.event(job.key, "check", "failed", attempt=1, detail=message)
        self.ledger.record("image", job.plan, job.slot, job.image.action, "failed", codes=codes,
                           message=message, attempts=1)
        await self.ledger.put(job.key, state="failed", error_codes=codes, detail=message)
        return False

    def use_changed_file(self, job: ImageJob, fresh: ImageInfo) -> None:
        """The job's icon changed since the plan was made and is valid as it is now: upload that content,
        under its own digest (the reservation's fileName follows the content)."""
        job.image.info = fresh
        job.image.file_name = remote_file_name(job.plan.vendor_id, job.slot, fresh)
        self.ledger.event(job.key, "changed", "ok", attempt=job.attempts,
                          detail=f"{display_path(fresh.path)} changed since the scan; uploading its new "
                                 f"content (sha256 {fresh.sha256[:12]})")

    async def read_for_upload(
        self, job: ImageJob, buffer: bytearray
    ) -> tuple[bytes | memoryview, tuple[int, ...]]:
        """The icon's bytes for this attempt, read once (into `buffer` when they fit), and the file's stamp
        when read.

        The sha256 is compared with the scan's. A file changed since the scan is checked again with the same
        rules: valid, it is uploaded under its own digest (the job's fileName follows the content); invalid or
        unreadable, the item fails with FileChangedError. Either way the bytes sent are the bytes hashed.
        """
        path = Path(job.image.info.path)  # a --fix-icons copy when the user's file was fixed

        def read() -> tuple[bytes | memoryview, str, tuple[int, ...]]:
            # stamped before the read: a swap in between makes the stamp stale, so the check before the
            # commit sees a change (the safe direction), never the reverse
            stamp = stamp_of(os.stat(path))
            data = read_image_file(path, into=buffer)
            return data, hashlib.sha256(data).hexdigest(), stamp

        try:
            data, digest, stamp = await anyio.to_thread.run_sync(read)
        except (InvalidImageError, OSError) as exc:
            why = exc.problems[0].message if isinstance(exc, InvalidImageError) else exc.strerror or str(exc)
            raise FileChangedError(f"{display_path(path)} changed during the push and can no longer be read "
                                   f"({why}); fix the file, then run the same command again",
                                   retry=False) from None
        info = job.image.info
        if digest == info.sha256 and len(data) == info.size:
            return data, stamp
        try:
            rule = job.plan.kind.default_image if job.is_default else job.plan.kind.image
            sizes = rule.sizes if rule is not None else job.plan.kind.image.sizes
            fresh = await anyio.to_thread.run_sync(check_image_data, path, bytes(data), sizes)
        except InvalidImageError as exc:
            raise FileChangedError(
                f"{display_path(path)} changed during the push and is no longer a valid icon "
                f"({exc.problems[0].message}); fix the file, then run the same command again",
                retry=False) from None
        self.use_changed_file(job, fresh)
        return data, stamp

    async def upload_attempt(self, job: ImageJob) -> None:
        k, c, books = job.plan.kapi, self.client, self.ledger
        # the bytes to upload: a --fix-icons copy when the user's file was fixed (its info.path)
        path = Path(job.image.info.path)
        key = job.key
        skip: set[int] = set()
        buffer = self.take_buffer(job.image.info.size)
        content, stamp = await self.read_for_upload(job, buffer)
        info = job.image.info
        if job.action == "resume" and job.remote is not None and (
                job.remote.file_name != job.image.file_name or job.remote.file_size != info.size):
            # the reservation was made for other bytes (the file changed since): start it over
            job.action = "replace"
        if job.action == "replace" and job.remote is not None:
            t0 = time.monotonic()
            await delete_image(c, k, job.remote.id)
            books.event(key, "delete", "ok", latency=time.monotonic() - t0, detail=job.remote.file_name)
            job.remote = None
        if job.action == "resume" and job.remote is not None:
            image = job.remote
            record = await books.get(key)
            if record and record.remote_id == image.id:
                skip = await books.parts_done(key)
            if not image.upload_operations:
                image = await read_image(c, k, image.id)
            job.image_id = image.id
            books.event(
                key,
                "resume",
                "ok",
                detail=f"{len(skip)} of {len(image.upload_operations)} parts already sent",
            )
        else:
            t0 = time.monotonic()
            image = await reserve_image(
                c, k, job.owner_id, job.image.file_name, info.size, default=job.is_default
            )
            job.image_id = image.id
            # The reservation is recorded once it exists (a kill before that leaves nothing the journal could
            # save: the next run finds the reservation by its digest fileName), durable before its upload
            # starts: `bulkgc status` counts it in flight. Parts recorded for an earlier reservation are
            # forgotten in the same transaction.
            await books.put(
                key,
                clear_parts=True,
                kind="image",
                vendor_id=job.plan.vendor_id,
                locale=job.slot,
                state="reserved",
                sha256=info.sha256,
                file_name=job.image.file_name,
                file_size=info.size,
                parent_id=job.owner_id,
                attempts=job.attempts,
                remote_id=image.id,
                upload_operations=image.upload_operations,
            )
            books.event(key, "reserve", "ok", attempt=job.attempts, latency=time.monotonic() - t0)

        async def part_done(index: int, length: int) -> None:
            await books.part_done(key, index, length)

        t0 = time.monotonic()
        sent = await upload_parts(c, image, content, skip=skip, on_part_done=part_done)
        del content
        self.buffers.append(buffer)  # every part answered: nothing reads it any more (a failure drops it)
        # every part is recorded done: that is the journal's "uploaded", no separate write needed
        books.event(key, "upload", "ok", attempt=job.attempts, latency=time.monotonic() - t0, nbytes=sent)
        # The parts are the bytes hashed, so the commit is consistent whatever happens now; a file replaced
        # while they went out would leave the remote icon behind the local one: upload that content instead.
        if not _unchanged(path, stamp):  # one stat: tiny, no worker thread needed
            raise FileChangedError(f"{display_path(path)} changed during the push while it was uploaded; "
                                   "uploading its new content (if it keeps changing: stop whatever writes "
                                   "it, then run the same command again)", retry=True)
        t0 = time.monotonic()
        await commit_image(c, k, image.id)
        job.committed_at = time.monotonic()
        books.put_soon(key, state="committed")
        books.event(key, "commit", "ok", attempt=job.attempts, latency=time.monotonic() - t0)


def _unchanged(path: Path, stamp: tuple[int, ...]) -> bool:
    try:
        return stamp_of(os.stat(path)) == stamp
    except OSError:
        return False
