"""Run a push: validate inputs, read the remote state, plan, then execute the plan with bounded concurrency.

Structure (anyio task groups): one task per achievement; inside it, one task per localization (texts),
then its images go through reserve -> parts -> commit under the `images_in_flight` limiter, and one poller
per container (version) waits for all of them together. A failure that belongs to one item is caught in
that item's task and recorded; only failures that doom the whole run (credentials, journal) cancel it.

Stopping (SIGINT/SIGTERM via the CLI, or `--deadline`) sets `stop`: no new item starts, in-flight requests
finish, the journal is already durable after every transition, and the run reports itself interrupted.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from bulkgc.asc.auth import Credentials, TokenProvider
from bulkgc.asc.client import AscClient, ClientConfig
from bulkgc.asc.jsonapi import Document, Resource
from bulkgc.asc.resources import KindApi, kind_api
from bulkgc.config import RunSettings
from bulkgc.errors import (
    EXIT_INTERRUPTED,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    ApiError,
    AuthError,
    BulkgcError,
    ConflictError,
    FileChangedError,
    InvalidImageError,
    JournalError,
    OutageError,
)
from bulkgc.journal import AsyncJournal, Journal, item_key
from bulkgc.manifest import Manifest, load_manifest
from bulkgc.plan import (
    AchievementPlan,
    ImageAction,
    LocalizationAction,
    Plan,
    RemoteImage,
    RemoteReader,
    build_plan,
    describe_item,
    localization_actions,
    remote_file_name,
)
from bulkgc.progress import Event, NullSink, ProgressSink
from bulkgc.report import ItemResult, RunReport, save_last_report
from bulkgc.scan import ImageInfo, ScanCache, check_image_data, display_path, read_image_file, scan_images
from bulkgc.upload import (
    commit_image,
    delete_image,
    read_image,
    reserve_image,
    upload_parts,
    wait_until_processed,
)

FATAL = (AuthError, JournalError, OutageError)
VERSION_BATCH = 50  # achievement ids per filter[id] read of just-created achievements' versions


# ---------------------------------------------------------------------------------------------- inputs


async def load_inputs(settings: RunSettings) -> tuple[Manifest, dict[str, ImageInfo]]:
    """Load the manifest and check every icon; raises ManifestError / InvalidImageError listing every problem."""
    manifest = await anyio.to_thread.run_sync(lambda: load_manifest(settings.manifest_file, assets_dir=settings.assets))
    paths = sorted({Path(p) for p in manifest.images()})
    # icons unchanged since the last run are not decoded again (most of a no-op run's CPU otherwise)
    cache = ScanCache(settings.journal_path.parent / "scan-cache.json")
    infos, problems = await scan_images(paths, cache=cache)
    if problems:
        raise InvalidImageError(problems)
    await anyio.to_thread.run_sync(cache.save)
    return manifest, {str(p): info for p, info in infos.items()}


def credentials_from(settings: RunSettings) -> Credentials:
    return Credentials.load(
        key_id=settings.key_id,
        issuer_id=settings.issuer_id,
        private_key_path=settings.private_key_path,
        private_key=settings.private_key,
        api_key_json=settings.api_key_json,
        key_id_origin=settings.origin("key_id"),
    )


def client_config(settings: RunSettings) -> ClientConfig:
    return ClientConfig(
        base_url=settings.base_url,
        api_concurrency=settings.api_concurrency,
        upload_concurrency=settings.upload_concurrency,
        request_timeout=settings.request_timeout,
        rate_limit_margin=settings.rate_margin,
        window_seconds=settings.rate_window,
        outage_patience=settings.outage_patience,
    )


# ---------------------------------------------------------------------------------------------- execution


@dataclass
class ImageJob:
    """One localization's icon while it is pushed."""

    plan: AchievementPlan
    la: LocalizationAction
    localization_id: str
    action: str
    remote: RemoteImage | None
    image_id: str | None = None
    attempts: int = 0
    done: bool = False
    started: float | None = None
    committed_at: float | None = None  # monotonic time of the last commit: processing is timed from it

    @property
    def key(self) -> str:
        return item_key("image", self.plan.vendor_id, self.la.locale)

    @property
    def image(self) -> ImageAction:
        return self.la.image


@dataclass
class Executor:
    """Carries out a Plan against App Store Connect."""

    client: Any
    kapi: KindApi
    settings: RunSettings
    images: dict[str, ImageInfo]
    journal: AsyncJournal | None = None
    sink: ProgressSink = field(default_factory=NullSink)
    stop: anyio.Event = field(default_factory=anyio.Event)
    results: list[ItemResult] = field(default_factory=list)
    step_seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # item -> step -> seconds (report)
    polls: int = 0

    def learn_processing_time(self, *, first_poll_sufficed: bool) -> None:
        """Tune the wait before a container's first poll toward App Store Connect's processing time.

        One poll per version is the goal: shorten the wait a little while one poll is enough, lengthen it more
        when it is not (never beyond `poll_interval`, never below a quarter second). The two steps settle where
        about nine first polls in ten suffice: waiting a little longer costs nothing while other images upload
        (no upload slot is held while a version processes), and the early tenth is polled again soon. The steps
        are small because many versions wait at once: each learns only after its own poll, and big steps taken
        on stale waits overshoot.
        """
        factor = 0.99 if first_poll_sufficed else 1.1
        self.first_poll_delay = min(self.settings.poll_interval, max(0.25, self.first_poll_delay * factor))

    def __post_init__(self) -> None:
        self._created_waiting: list[str] = []  # created achievements whose version id is wanted
        self._created_versions: dict[str, str] = {}  # achievement id -> its version, read in a batch
        self._created_lock = anyio.Lock()
        self.first_poll_delay = self.settings.poll_interval
        self.reader = RemoteReader(self.client, self.kapi)
        self.image_limiter = anyio.CapacityLimiter(self.settings.images_in_flight)

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    async def wait_for_service(self) -> None:
        """No new work starts during an outage: wait until App Store Connect answers (OutageError past
        patience)."""
        outage = getattr(self.client, "outage", None)
        if outage is not None:
            await outage.wait_until_answering()

    # -- bookkeeping ---------------------------------------------------------------------------------

    def event(self, item: str, step: str, outcome: str, *, attempt: int = 1, latency: float | None = None,
              nbytes: int = 0, detail: str = "") -> None:
        if latency is not None:
            steps = self.step_seconds.setdefault(item, {})
            steps[step] = round(steps.get(step, 0.0) + latency, 3)
        self.sink.on_event(Event(time=time.time(), item=item, step=step, outcome=outcome, attempt=attempt,
                                 latency=latency, bytes=nbytes, detail=detail))

    def record(self, kind: str, ap: AchievementPlan, locale: str | None, action: str, outcome: str, *,
               image_id: str | None = None, final_state: str | None = None, codes: list[str] | None = None,
               message: str = "", attempts: int = 1, started: float | None = None,
               container_state: str | None = None) -> None:
        now = time.time()
        result = ItemResult(
            kind=kind, vendor_identifier=ap.vendor_id, locale=locale, action=action, outcome=outcome,
            image_id=image_id, final_state=final_state, error_codes=list(codes or []), message=message,
            attempts=attempts, started=started, finished=now,
            timings={**self.step_seconds.get(item_key(kind, ap.vendor_id, locale), {}),
                     **({"seconds": round(now - started, 3)} if started else {})},
            gc_kind=self.kapi.kind, container_state=container_state,
        )
        la = next((la for la in ap.localizations if la.locale == locale), None) if locale else None
        if la is not None:
            describe_item(result, la)
        self.results.append(result)
        self.sink.on_item_done(item_key(kind, ap.vendor_id, locale), outcome)

    async def jput(self, key: str, *, clear_parts: bool = False, **fields: Any) -> None:
        if self.journal is not None:
            await self.journal.put(key, clear_parts=clear_parts, **fields)

    def skip_rest(self, ap: AchievementPlan, outcome: str, message: str, *, codes: list[str] | None = None,
                  container_state: str | None = None) -> None:
        """Record every localization and image of `ap` with `outcome` (they were not attempted)."""
        for la in ap.localizations:
            if outcome == "blocked" and la.action == "none" and la.image.action == "none":
                self.record("localization", ap, la.locale, "none", "unchanged", attempts=0)
                self.record("image", ap, la.locale, "none", "unchanged", attempts=0)
                continue
            for level, action in (("localization", la.action), ("image", la.image.action)):
                self.record(level, ap, la.locale, action, outcome, message=message, attempts=0, codes=codes,
                            container_state=container_state)

    # -- achievements ----------------------------------------------------------------------------------

    async def run(self, plan: Plan) -> None:
        async with anyio.create_task_group() as tg:
            for ap in plan.achievements:
                tg.start_soon(self.run_achievement, plan, ap)

    async def run_achievement(self, plan: Plan, ap: AchievementPlan) -> None:
        akey = item_key("achievement", ap.vendor_id)
        if ap.action == "blocked":
            # a change App Store Connect cannot take now (version in review) is not done: it counts like a
            # failure for the exit code; one the user chose to skip (--on-live skip) does not
            outcome = "skipped" if ap.blocked_by_choice else "blocked"
            codes = [] if ap.blocked_by_choice else ["VERSION_NOT_EDITABLE"]
            self.record("achievement", ap, None, "none", outcome, message=ap.version_note, attempts=0,
                        codes=codes, container_state=ap.version_state)
            self.skip_rest(ap, outcome, f"not changed: {ap.version_note}", codes=codes,
                           container_state=ap.version_state)
            return
        if not ap.has_work:
            self.record("achievement", ap, None, "none", "unchanged", attempts=0)
            for la in ap.localizations:
                self.record("localization", ap, la.locale, "none", "unchanged", attempts=0)
                self.record("image", ap, la.locale, "none", "unchanged", final_state="COMPLETE",
                            image_id=la.image.remote.id if la.image.remote else None, attempts=0)
                await self.confirm_complete(item_key("image", ap.vendor_id, la.locale), la.image.remote)
            return
        await self.wait_for_service()
        if self.stopping:
            self.record("achievement", ap, None, ap.action, "interrupted", attempts=0)
            self.skip_rest(ap, "interrupted", "not started: the run was stopped")
            return
        started = time.time()
        try:
            container = await self.ensure_achievement(plan, ap)
        except FATAL:
            raise
        except BulkgcError as exc:
            self.event(akey, ap.action, "failed", detail=str(exc))
            self.record("achievement", ap, None, ap.action, "failed", codes=_codes(exc), message=str(exc),
                        started=started)
            self.skip_rest(ap, "skipped", "achievement could not be created or updated")
            return
        action = ap.action if (ap.action != "none" or ap.version_action != "create") else "new-version"
        outcome = "done" if (ap.action != "none" or ap.version_action == "create") else "unchanged"
        self.record("achievement", ap, None, action, outcome, started=started)

        jobs: list[ImageJob] = []
        async with anyio.create_task_group() as tg:
            for la in ap.localizations:
                tg.start_soon(self.run_localization, ap, la, container, jobs)
        await self.settle_images(ap, container, jobs)

    async def ensure_achievement(self, plan: Plan, ap: AchievementPlan) -> str:
        """Create or update the achievement (and a new version if needed); returns the localizations' container id."""
        k, c = self.kapi, self.client
        akey = item_key("achievement", ap.vendor_id)
        ach_id = ap.remote_id
        version_id = ap.version_id
        if ap.action == "create":
            t0 = time.monotonic()
            doc = await c.post(k.parent_create, self.achievement_create_body(plan, ap),
                               lookup=lambda: self.find_achievement(plan, ap.vendor_id))
            ach_id = doc.one.id
            version_id = None
            if k.version:
                ids = doc.one.rel_ids(k.version.include_on_parent_list)
                version_id = ids[-1] if ids else await self.version_of_created(plan, ach_id)
            await self.jput(akey, kind="achievement", vendor_id=ap.vendor_id, state="created", remote_id=ach_id,
                            parent_id=version_id)
            self.event(akey, "create", "ok", latency=time.monotonic() - t0)
        elif ap.attribute_changes:
            assert ach_id is not None
            t0 = time.monotonic()
            await c.patch(k.path(k.parent_item, ach_id), {
                "data": {"type": k.parent_type, "id": ach_id, "attributes": dict(ap.attribute_changes)}})
            self.event(akey, "update", "ok", latency=time.monotonic() - t0)
        assert ach_id is not None
        if k.version and ap.action != "create" and ap.version_action == "create":
            version_id = await self.create_version(ach_id, ap)
            # whatever the new version starts with (copied or empty), diff against it
            locs = await self.reader.localizations(version_id)
            ap.localizations = localization_actions(ap.achievement, locs, self.images)
        return version_id if k.version else ach_id  # type: ignore[return-value]

    def achievement_create_body(self, plan: Plan, ap: AchievementPlan) -> dict[str, Any]:
        k = self.kapi
        rel_name, owner_id = plan.owner
        owner_type = "gameCenterGroups" if rel_name == "gameCenterGroup" else "gameCenterDetails"
        attrs = ap.achievement.asc_attributes()
        body: dict[str, Any] = {"data": {
            "type": k.parent_type,
            "attributes": {a: attrs[a] for a in k.parent_create_attributes},
            "relationships": {rel_name: {"data": {"type": owner_type, "id": owner_id}}},
        }}
        if k.version:
            local_id = "${new-version}"
            body["data"]["relationships"][k.version.include_on_parent_list] = {
                "data": [{"type": k.version.type, "id": local_id}]}
            body["included"] = [{"type": k.version.type, "id": local_id}]
        return body

    async def find_achievement(self, plan: Plan, vendor_id: str) -> Document | None:
        """Lookup after a lost create: is the achievement there already?"""
        remote = await self.reader.achievements(plan.detail_id, plan.group_id)
        found = remote.get(vendor_id)
        if found is None:
            return None
        return Document(data=Resource(type=self.kapi.parent_type, id=found.id, attributes=found.attributes,
                                      relationships={"versions": {"data": [
                                          {"type": self.kapi.version.type, "id": v.id}
                                          for v in sorted(found.versions, key=lambda v: v.number)]}}
                                      if self.kapi.version else {}))

    async def version_of_created(self, plan: Plan, ach_id: str) -> str:
        """The version App Store Connect made with a just-created achievement (its create answer names no ids).

        Reads coalesce: the achievements created while one read is in flight are asked for together in the
        next one (the owner's achievement list, `filter[id]`, versions included), so a fresh push of a hundred
        achievements costs a handful of reads, not a hundred.
        """
        self._created_waiting.append(ach_id)
        async with self._created_lock:
            if ach_id not in self._created_versions:
                others = [i for i in self._created_waiting if i != ach_id][:VERSION_BATCH - 1]
                batch = [ach_id, *others]
                self._created_waiting = [i for i in self._created_waiting if i not in batch]
                found = await self.reader.achievements(plan.detail_id, plan.group_id, ids=batch)
                for ra in found.values():
                    if ra.id in batch and ra.versions:
                        self._created_versions[ra.id] = max(ra.versions, key=lambda v: v.number).id
        if ach_id in self._created_versions:
            return self._created_versions.pop(ach_id)
        return await self.latest_version_id(ach_id)  # not listed yet: ask the achievement itself

    async def latest_version_id(self, ach_id: str) -> str:
        assert self.kapi.version is not None
        doc = await self.client.get_all(self.kapi.path(self.kapi.version.list_of_parent, ach_id), {"limit": "200"})
        versions = sorted(doc.resources, key=lambda r: int((r.attributes or {}).get("version") or 0))
        if not versions:
            raise ApiError(f"achievement {ach_id} has no version; create one in App Store Connect and run again")
        return versions[-1].id

    async def create_version(self, ach_id: str, ap: AchievementPlan) -> str:
        k = self.kapi
        assert k.version is not None
        known = {ap.version_id}

        async def lookup() -> Document | None:
            doc = await self.client.get_all(k.path(k.version.list_of_parent, ach_id), {"limit": "200"})
            fresh = [r for r in doc.resources if r.id not in known]
            return Document(data=fresh[-1]) if fresh else None

        t0 = time.monotonic()
        doc = await self.client.post(k.version.create, {"data": {
            "type": k.version.type,
            "relationships": {k.version.parent_rel: {"data": {"type": k.parent_type, "id": ach_id}}},
        }}, lookup=lookup)
        self.event(item_key("achievement", ap.vendor_id), "new-version", "ok", latency=time.monotonic() - t0)
        await self.jput(item_key("achievement", ap.vendor_id), kind="achievement", vendor_id=ap.vendor_id,
                        state="new-version", remote_id=ach_id, parent_id=doc.one.id)
        return doc.one.id

    # -- localizations ---------------------------------------------------------------------------------

    async def run_localization(self, ap: AchievementPlan, la: LocalizationAction, container: str,
                               jobs: list[ImageJob]) -> None:
        lkey = item_key("localization", ap.vendor_id, la.locale)
        started = time.time()
        if self.stopping and la.action != "none":
            self.record("localization", ap, la.locale, la.action, "interrupted", attempts=0)
            self.record("image", ap, la.locale, la.image.action, "interrupted", attempts=0)
            return
        try:
            loc_id = await self.ensure_localization(la, container)
        except FATAL:
            raise
        except BulkgcError as exc:
            self.event(lkey, la.action, "failed", detail=str(exc))
            self.record("localization", ap, la.locale, la.action, "failed", codes=_codes(exc), message=str(exc),
                        started=started)
            self.record("image", ap, la.locale, la.image.action, "skipped", attempts=0,
                        message="localization could not be saved")
            return
        if la.action != "none":
            await self.jput(lkey, kind="localization", vendor_id=ap.vendor_id, locale=la.locale, state="saved",
                            remote_id=loc_id, parent_id=container)
            self.event(lkey, la.action, "ok", latency=time.time() - started)
        self.record("localization", ap, la.locale, la.action, "done" if la.action != "none" else "unchanged",
                    started=started, attempts=1 if la.action != "none" else 0)
        jobs.append(ImageJob(ap, la, loc_id, la.image.action, la.image.remote))

    async def ensure_localization(self, la: LocalizationAction, container: str) -> str:
        k, c = self.kapi, self.client
        if la.action == "none":
            assert la.remote_id is not None
            return la.remote_id
        if la.action == "update":
            assert la.remote_id is not None
            await c.patch(k.path(k.loc_item, la.remote_id),
                          {"data": {"type": k.loc_type, "id": la.remote_id, "attributes": dict(la.changes)}})
            return la.remote_id

        async def lookup() -> Document | None:
            locs = await self.reader.localizations(container)
            found = locs.get(la.locale)
            return Document(data=Resource(type=k.loc_type, id=found.id, attributes=dict(found.texts))) if found else None

        body = {"data": {
            "type": k.loc_type,
            "attributes": {"locale": la.locale, **{a: _text(la, a) for a in k.loc_text_attributes}},
            "relationships": {k.loc_container_rel: {"data": {"type": k.container_type, "id": container}}},
        }}
        try:
            doc = await c.post(k.loc_create, body, lookup=lookup)
        except ConflictError as exc:
            # created meanwhile (another run, or a lost answer nobody looked up): adopt it and set its texts
            existing = await lookup()
            if existing is None:
                raise exc
            loc_id = existing.one.id
            await c.patch(k.path(k.loc_item, loc_id), {"data": {"type": k.loc_type, "id": loc_id, "attributes": {
                a: _text(la, a) for a in k.loc_text_attributes}}})
            return loc_id
        return doc.one.id

    # -- images ----------------------------------------------------------------------------------------

    async def settle_images(self, ap: AchievementPlan, container: str, jobs: list[ImageJob]) -> None:
        """Upload what needs uploading, then poll the container until every image is final (bounded redo)."""
        for job in jobs:
            if job.action == "none":
                self.record("image", ap, job.la.locale, "none", "unchanged", image_id=job.remote.id if job.remote
                            else None, final_state="COMPLETE", attempts=0)
                await self.confirm_complete(job.key, job.remote)
                job.done = True
            elif job.action == "wait" and job.remote is not None:
                job.image_id, job.started = job.remote.id, time.time()
                job.committed_at = time.monotonic()  # committed by an earlier run: processing is timed from now
        pending = [j for j in jobs if not j.done and j.action != "wait"]
        while True:
            async with anyio.create_task_group() as tg:
                for job in pending:
                    tg.start_soon(self.upload_one, job)
            committed = [j for j in jobs if not j.done and j.image_id]
            if not committed:
                return
            try:
                result = await wait_until_processed(
                    self.reader, container, {j.image_id for j in committed if j.image_id},
                    interval=self.settings.poll_interval, timeout=self.settings.processing_timeout,
                    first_delay=self.first_poll_delay, stop=lambda: self.stopping,
                )
            except FATAL:
                raise
            except BulkgcError as exc:
                # a poll that failed for good fails these images' wait, never another item's upload
                message = f"committed, but its processing could not be checked ({exc}); run again to check"
                for job in committed:
                    job.done = True
                    await self.jput(job.key, state="committed", error_codes=_codes(exc), detail=message)
                    self.record("image", job.plan, job.la.locale, job.la.image.action, "failed",
                                image_id=job.image_id, codes=_codes(exc), message=message,
                                attempts=max(job.attempts, 1), started=job.started)
                return
            self.polls += result.polls
            self.learn_processing_time(first_poll_sufficed=result.polls == 1 and not result.stuck)
            pending = []
            for job in committed:
                assert job.image_id is not None
                seen = result.states[job.image_id]
                if seen.state == "COMPLETE":
                    await self.finish_image(job, "done", "COMPLETE")
                elif seen.state == "FAILED":
                    codes = seen.error_codes or ["FAILED"]
                    await self.finish_image(job, "failed", "FAILED", codes=codes,
                                            message=f"App Store Connect rejected the image: {', '.join(codes)}")
                elif self.stopping:
                    await self.finish_image(job, "interrupted", seen.state,
                                            message="still processing when the run stopped; the next run checks it")
                elif job.attempts >= self.settings.image_attempts:
                    await self.finish_image(job, "failed", seen.state, codes=["PROCESSING_TIMEOUT"],
                                            message=f"still {seen.state} after {job.attempts} attempt(s) of "
                                                    f"{self.settings.processing_timeout:.0f}s; run again later")
                else:  # stuck or vanished: delete and start that image over
                    self.event(job.key, "poll", "retry", attempt=job.attempts, detail=f"{seen.state}; starting over")
                    if seen.state != "MISSING":
                        await delete_image(self.client, self.kapi, job.image_id)
                    job.action, job.remote, job.image_id = "upload", None, None
                    pending.append(job)

    async def confirm_complete(self, key: str, remote: RemoteImage | None) -> None:
        """An image App Store Connect already holds COMPLETE: bring a stale journal record up to date (a run killed
        after its commit, or a failure since fixed), so `bulkgc status` does not report it unfinished."""
        if self.journal is None:
            return
        record = await self.journal.get(key)
        if record is not None and record.state != "complete":
            await self.journal.put(key, state="complete", remote_id=remote.id if remote else record.remote_id,
                                   error_codes=[], detail="found COMPLETE in App Store Connect")

    async def finish_image(self, job: ImageJob, outcome: str, state: str, *, codes: list[str] | None = None,
                           message: str = "") -> None:
        job.done = True
        await self.jput(job.key, state=state.lower() if outcome != "interrupted" else "committed",
                        error_codes=list(codes or []), detail=message)
        waited = None if job.committed_at is None else time.monotonic() - job.committed_at
        self.event(job.key, "processed", "ok" if outcome == "done" else outcome, attempt=max(job.attempts, 1),
                   latency=waited, detail=", ".join(codes or []))
        self.record("image", job.plan, job.la.locale, job.la.image.action, outcome, image_id=job.image_id,
                    final_state=state, codes=codes, message=message, attempts=max(job.attempts, 1),
                    started=job.started)

    async def upload_one(self, job: ImageJob) -> None:
        """Reserve (or resume), upload the parts, commit; bounded attempts; leaves job.image_id set when committed."""
        async with self.image_limiter:
            await self.wait_for_service()
            if self.stopping:
                job.done = True
                self.record("image", job.plan, job.la.locale, job.la.image.action, "interrupted", attempts=job.attempts,
                            message="not started: the run was stopped")
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
                    self.event(job.key, "upload", "retry" if job.attempts < self.settings.image_attempts else "failed",
                               attempt=job.attempts, detail=str(exc))
                    if job.image_id:
                        try:
                            await delete_image(self.client, self.kapi, job.image_id)
                        except FATAL:
                            raise
                        except BulkgcError:
                            pass
                    job.action, job.remote, job.image_id = "upload", None, None
                    last = exc
                    if self.stopping or (isinstance(exc, FileChangedError) and not exc.retry):
                        break
            job.done = True
            self.record("image", job.plan, job.la.locale, job.la.image.action, "failed", codes=_codes(last),
                        message=str(last), attempts=job.attempts, started=job.started)
            await self.jput(job.key, state="failed", error_codes=_codes(last), detail=str(last))

    async def read_for_upload(self, job: ImageJob) -> tuple[bytes, tuple[int, ...]]:
        """The icon's bytes for this attempt, read once, and the file's stamp when read.

        The sha256 is compared with the scan's. A file changed since the scan is checked again with the same
        rules: valid, it is uploaded under its own digest (the job's fileName follows the content); invalid or
        unreadable, the item fails with FileChangedError. Either way the bytes sent are the bytes hashed.
        """
        path = Path(job.image.path)

        def read() -> tuple[bytes, str, tuple[int, ...]]:
            # stamped before the read: a swap in between makes the stamp stale, so the check before the
            # commit sees a change (the safe direction), never the reverse
            stamp = _stamp(os.stat(path))
            data = read_image_file(path)
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
            fresh = await anyio.to_thread.run_sync(check_image_data, path, data)
        except InvalidImageError as exc:
            raise FileChangedError(
                f"{display_path(path)} changed during the push and is no longer a valid icon "
                f"({exc.problems[0].message}); fix the file, then run the same command again",
                retry=False) from None
        job.image.info = fresh
        job.image.file_name = remote_file_name(job.plan.vendor_id, job.la.locale, fresh)
        self.event(job.key, "changed", "ok", attempt=job.attempts,
                   detail=f"{display_path(path)} changed since the scan; uploading its new content "
                          f"(sha256 {fresh.sha256[:12]})")
        return data, stamp

    async def upload_attempt(self, job: ImageJob) -> None:
        k, c = self.kapi, self.client
        path = Path(job.image.path)
        key = job.key
        skip: set[int] = set()
        content, stamp = await self.read_for_upload(job)
        info = job.image.info
        if job.action == "resume" and job.remote is not None and (
                job.remote.file_name != job.image.file_name or job.remote.file_size != info.size):
            # the reservation was made for other bytes (the file changed since): start it over
            job.action = "replace"
        if job.action == "replace" and job.remote is not None:
            t0 = time.monotonic()
            await delete_image(c, k, job.remote.id)
            self.event(key, "delete", "ok", latency=time.monotonic() - t0, detail=job.remote.file_name)
            job.remote = None
        if job.action == "resume" and job.remote is not None:
            image = job.remote
            record = self.journal and await self.journal.get(key)
            if record and record.remote_id == image.id and self.journal is not None:
                skip = await self.journal.parts_done(key)
            if not image.upload_operations:
                image = await read_image(c, k, image.id)
            job.image_id = image.id
            self.event(key, "resume", "ok", detail=f"{len(skip)} of {len(image.upload_operations)} parts already sent")
        else:
            t0 = time.monotonic()
            image = await reserve_image(c, k, job.localization_id, job.image.file_name, info.size)
            job.image_id = image.id
            # The reservation is recorded once it exists (a kill before that leaves nothing the journal could
            # save: the next run finds the reservation by its digest fileName). Parts recorded for an earlier
            # reservation are forgotten in the same transaction.
            await self.jput(key, clear_parts=True, kind="image", vendor_id=job.plan.vendor_id, locale=job.la.locale,
                            state="reserved", sha256=info.sha256, file_name=job.image.file_name, file_size=info.size,
                            parent_id=job.localization_id, attempts=job.attempts, remote_id=image.id,
                            upload_operations=image.upload_operations)
            self.event(key, "reserve", "ok", attempt=job.attempts, latency=time.monotonic() - t0)

        async def part_done(index: int, length: int) -> None:
            if self.journal is not None:
                await self.journal.mark_part_done(key, index)
            self.sink.on_bytes(length)

        t0 = time.monotonic()
        sent = await upload_parts(c, image, content, skip=skip, on_part_done=part_done)
        # every part is recorded done: that is the journal's "uploaded", no separate write needed
        self.event(key, "upload", "ok", attempt=job.attempts, latency=time.monotonic() - t0, nbytes=sent)
        # The parts are the bytes hashed, so the commit is consistent whatever happens now; a file replaced
        # while they went out would leave the remote icon behind the local one: upload that content instead.
        if not _unchanged(path, stamp):  # one stat: tiny, no worker thread needed
            raise FileChangedError(f"{display_path(path)} changed during the push while it was uploaded; "
                                   "uploading its new content (if it keeps changing: stop whatever writes "
                                   "it, then run the same command again)", retry=True)
        t0 = time.monotonic()
        await commit_image(c, k, image.id)
        job.committed_at = time.monotonic()
        await self.jput(key, state="committed")
        self.event(key, "commit", "ok", attempt=job.attempts, latency=time.monotonic() - t0)


def _stamp(st: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is rewritten or replaced (the rule ScanCache, git's index and rsync use)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _unchanged(path: Path, stamp: tuple[int, ...]) -> bool:
    try:
        return _stamp(os.stat(path)) == stamp
    except OSError:
        return False


def _text(la: LocalizationAction, asc_name: str) -> str:
    from bulkgc.plan import TEXT_ATTRS

    return str(getattr(la.desired, TEXT_ATTRS[asc_name]))


def _codes(exc: BaseException) -> list[str]:
    if isinstance(exc, ApiError):
        return [e.code for e in exc.errors if e.code] or ([f"HTTP_{exc.status}"] if exc.status else ["NO_RESPONSE"])
    return [type(exc).__name__]


# ---------------------------------------------------------------------------------------------- entry points


def _fatal_from_group(eg: BaseExceptionGroup[Any]) -> BaseException:
    """The most meaningful exception inside an exception group (fatal first)."""
    flat: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for sub in e.exceptions:
                walk(sub)
        else:
            flat.append(e)

    walk(eg)
    for cls in (*FATAL, BulkgcError):
        for e in flat:
            if isinstance(e, cls):
                return e
    return flat[0] if flat else eg


async def make_plan(settings: RunSettings, client: Any, manifest: Manifest, images: dict[str, ImageInfo]) -> Plan:
    return await build_plan(client, kind_api("achievement", settings.api), manifest, images, on_live=settings.on_live)


async def push(
    settings: RunSettings,
    *,
    sink: ProgressSink | None = None,
    stop: anyio.Event | None = None,
    credentials: Credentials | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_target: Callable[[str, str], None] | None = None,
) -> RunReport:
    """The whole push. Returns a RunReport; raises BulkgcError subclasses for run-level failures.

    `on_target(app_id, key_id)` is called once the inputs and key are checked, before any request."""
    sink = sink or NullSink()
    stop = stop or anyio.Event()
    started = time.time()
    # a refused base URL (plain http to a real host) stops before anything is written: journal, scan cache
    config = client_config(settings)
    manifest, images = await load_inputs(settings)
    creds = credentials or credentials_from(settings)
    if on_target is not None:
        on_target(manifest.app_id, creds.key_id)
    tokens = TokenProvider(creds, lifetime=settings.token_lifetime)
    journal = await anyio.to_thread.run_sync(lambda: Journal.open(settings.journal_path, run_command="push"))
    ajournal = AsyncJournal(journal)
    kapi = kind_api("achievement", settings.api)
    interrupted = False
    budget_bound = False
    plan: Plan | None = None
    outage: OutageError | None = None
    try:
        run_id = await ajournal.start_run(str(settings.manifest), {"api": settings.api, "base_url": settings.base_url})
        async with AscClient(config, tokens) as client:
            executor = Executor(client, kapi, settings, images, journal=ajournal, sink=sink, stop=stop)
            try:
                async with anyio.create_task_group() as tg:
                    if settings.deadline is not None:
                        tg.start_soon(_deadline, settings.deadline, stop)
                    try:
                        plan = await build_plan(client, kapi, manifest, images, on_live=settings.on_live)
                        if on_plan is not None:
                            on_plan(plan)
                        # the pacer goes at full speed while the window has room and then admits one request
                        # per freed slot; the hint tells the report whether the budget, not the work, set the
                        # duration
                        client.budget.expect(plan.expected_requests(polls_per_container=2))
                        budget_bound = client.budget.budget_bound
                        work = [la.image for ap in plan.achievements if ap.has_work for la in ap.localizations
                                if la.image.action != "none"]
                        sink.on_plan(images=len(work), bytes_total=sum(i.info.size for i in work),
                                     items=len(plan.achievements), stages=stage_items(plan))
                        await executor.run(plan)
                    except BaseExceptionGroup as eg:
                        raise _fatal_from_group(eg) from None
                    finally:
                        tg.cancel_scope.cancel()
            except BaseException as exc:  # noqa: BLE001 - only an outage is handled here; the rest re-raised
                # patience ran out: the run ends resumable, with its summary and reports, the cause named
                outage = _outage_in(exc)
                if outage is None:
                    raise
                stop.set()
                if plan is not None:
                    _record_unfinished(executor, plan, f"not finished: {exc}")
            interrupted = outage is not None or (
                stop.is_set() and any(r.outcome == "interrupted" for r in executor.results))
            stats = client.stats.as_dict()
            stats["outages"] = client.outage.outages
            stats["outage_seconds"] = round(client.outage.waited_seconds, 3)
        stats["requests_by_method"] = stats.get("by_method", {})
        stats["requests_by_purpose"] = stats.get("by_purpose", {})
        stats["polls"] = executor.polls
        stats["budget_bound"] = budget_bound
        stats["plan_reads"] = plan.reads if plan is not None else 0
        stats["journal_writes"], stats["journal_transactions"] = ajournal.writes, ajournal.transactions
        report = RunReport(command="push", started=started, finished=time.time(), items=executor.results,
                           totals=stats, exit_code=EXIT_OK, interrupted=interrupted, resume_hint="",
                           target=target_of(settings, manifest, creds))
        failed = any(r.outcome in ("failed", "blocked") for r in executor.results)
        if interrupted:
            report.exit_code = EXIT_INTERRUPTED
            report.resume_hint = "run the same command again to resume; finished items are not redone"
            report.stop_reason = str(outage) if outage is not None else ""
        elif failed:
            report.exit_code = EXIT_ITEMS_FAILED
        await ajournal.finish_run(run_id, "interrupted" if interrupted else ("failed" if failed else "ok"),
                                  {k: v for k, v in report.counts_by_outcome().items()})
        # `bulkgc status --html` renders this run from here later, without the network
        await anyio.to_thread.run_sync(save_last_report, report, settings.journal_path)
        return report
    finally:
        sink.close()
        await anyio.to_thread.run_sync(journal.close)


def stage_items(plan: Plan) -> dict[str, list[str]]:
    """The item keys each progress stage has work for (see `bulkgc.progress.STAGES`); only what will be sent."""
    texts: list[str] = []
    uploads: list[str] = []
    processing: list[str] = []
    for ap in plan.achievements:
        if not ap.has_work:
            continue
        if ap.action != "none" or ap.version_action == "create":
            texts.append(item_key("achievement", ap.vendor_id))
        for la in ap.localizations:
            if la.action != "none":
                texts.append(item_key("localization", ap.vendor_id, la.locale))
            if la.image.action in ("upload", "replace", "resume"):
                uploads.append(item_key("image", ap.vendor_id, la.locale))
            if la.image.action != "none":
                processing.append(item_key("image", ap.vendor_id, la.locale))
    return {"texts": texts, "uploads": uploads, "processing": processing}


def target_of(settings: RunSettings, manifest: Manifest, creds: Credentials) -> dict[str, str]:
    """Where a run sends its requests, for reports: base URL, app id, API version, key id (never the key)."""
    return {"base_url": settings.base_url, "app_id": manifest.app_id, "api": settings.api,
            "key_id": creds.key_id}


def _outage_in(exc: BaseException) -> OutageError | None:
    """The OutageError that ended the run (also inside a task group's exception group), or None."""
    if isinstance(exc, OutageError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        found = _fatal_from_group(exc)
        return found if isinstance(found, OutageError) else None
    return None


def _record_unfinished(executor: Executor, plan: Plan, message: str) -> None:
    """Record every planned item the run did not get to as interrupted (the report lists every item)."""
    seen = {(r.kind, r.vendor_identifier, r.locale) for r in executor.results}
    for ap in plan.achievements:
        if ("achievement", ap.vendor_id, None) not in seen:
            executor.record("achievement", ap, None, ap.action, "interrupted", attempts=0, message=message)
        for la in ap.localizations:
            for kind, action in (("localization", la.action), ("image", la.image.action)):
                if (kind, ap.vendor_id, la.locale) not in seen:
                    executor.record(kind, ap, la.locale, action, "interrupted", attempts=0, message=message)


async def _deadline(seconds: float, stop: anyio.Event) -> None:
    await anyio.sleep(seconds)
    stop.set()


async def plan_only(settings: RunSettings, *, credentials: Credentials | None = None,
                    on_target: Callable[[str, str], None] | None = None) -> Plan:
    """Read App Store Connect and return the plan; changes nothing and writes no journal.

    `on_target(app_id, key_id)` is called once the inputs and key are checked, before any request."""
    config = client_config(settings)
    manifest, images = await load_inputs(settings)
    creds = credentials or credentials_from(settings)
    if on_target is not None:
        on_target(manifest.app_id, creds.key_id)
    async with AscClient(config, TokenProvider(creds, lifetime=settings.token_lifetime)) as client:
        return await build_plan(client, kind_api("achievement", settings.api), manifest, images,
                                on_live=settings.on_live)
