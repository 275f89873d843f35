"""Carry out a Plan: one task per item, whatever its kind; inside it the item steps, then its images.

Structure (anyio task groups): one task per item; inside it, one task per localization (texts), then its
images go through the image machine (reserve -> parts -> commit under the `images_in_flight` limiter, and
one batched poll per container). A failure that belongs to one item is caught in that item's task and
recorded; only failures that doom the whole run (credentials, journal) cancel it.

An item whose requests name other items of the push (a set's member leaderboards, a challenge's leaderboard)
waits until those exist: each item's task signals once its own create or update is over, so a set is created
as soon as its members are, while everything else runs alongside.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from bulkgc.config import RunSettings
from bulkgc.errors import FATAL, BulkgcError
from bulkgc.images import IconGate, ImageJob, ImageMachine, wait_for_service
from bulkgc.ledger import Ledger, codes_of, key_of
from bulkgc.plan import DEFAULT_SLOT, ItemPlan, LocalizationAction, Plan
from bulkgc.remote import RemoteImage, RemoteReader
from bulkgc.scan import ImageInfo
from bulkgc.steps import ItemSteps


class Executor:
    """Runs a Plan against App Store Connect; kind-blind (the plan's rows carry the kind)."""

    def __init__(
        self,
        client: Any,
        settings: RunSettings,
        images: dict[str, ImageInfo],
        ledger: Ledger,
        stop: anyio.Event,
        icons: IconGate | None = None,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.stop = stop
        reader = RemoteReader(client)
        self.steps = ItemSteps(client, reader, ledger, images)
        self.machine = ImageMachine(client, settings, ledger, stop, reader, icons=icons)
        # localizations of all items being written at once: enough to keep every API slot busy; more would
        # only wait for one, each holding a task and a built request (3,900 at once at scale: tens of MB)
        self.localizations = anyio.Semaphore(2 * settings.api_concurrency)

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    @property
    def polls(self) -> int:
        return self.machine.polls

    async def run(self, plan: Plan) -> None:
        self.ready = {(p.kind.name, p.vendor_id): anyio.Event() for p in plan.items}
        async with anyio.create_task_group() as tg:
            for p in plan.items:
                tg.start_soon(self.run_item_then_signal, plan, p)

    async def run_item_then_signal(self, plan: Plan, p: ItemPlan) -> None:
        try:
            await self.run_item(plan, p)
        finally:
            self.ready[(p.kind.name, p.vendor_id)].set()

    async def run_item(self, plan: Plan, p: ItemPlan) -> None:
        books = self.ledger
        if p.action == "blocked":
            # a change App Store Connect cannot take now (version in review) is not done: it counts like a
            # failure for the exit code; one the user chose to skip (--on-live skip) does not
            outcome = "skipped" if p.blocked_by_choice else "blocked"
            codes = [] if p.blocked_by_choice else [p.blocked_code]
            books.record("item", p, None, "none", outcome, message=p.version_note, attempts=0, codes=codes,
                         container_state=p.version_state)
            books.record_untouched(p, outcome, f"not changed: {p.version_note}", codes=codes,
                                   container_state=p.version_state)
            return
        if not p.has_work:
            books.record("item", p, None, "none", "unchanged", attempts=0)
            complete: list[tuple[str, RemoteImage | None]] = []
            for la in p.localizations:
                books.record("localization", p, la.locale, "none", "unchanged", attempts=0)
                if la.image is not None:
                    books.record(
                        "image",
                        p,
                        la.locale,
                        "none",
                        "unchanged",
                        final_state="COMPLETE",
                        image_id=la.image.remote.id if la.image.remote else None,
                        attempts=0,
                    )
                    complete.append((key_of(p, "image", la.locale), la.image.remote))
            if p.default_image is not None:
                remote = p.default_image.remote
                books.record("image", p, DEFAULT_SLOT, "none", "unchanged", final_state="COMPLETE",
                             image_id=remote.id if remote else None, attempts=0)
                complete.append((key_of(p, "image", DEFAULT_SLOT), remote))
            await self.machine.confirm_complete(complete)
            return
        await wait_for_service(self.client)
        if self.stopping:
            books.record("item", p, None, p.action, "interrupted", attempts=0)
            books.record_untouched(p, "interrupted", "not started: the run was stopped")
            return
        for named in p.waits_for:
            if named in self.ready:  # an item of this push: wait until its create (or update) is over
                await self.ready[named].wait()
        started = time.time()
        try:
            try:
                container = await self.steps.ensure_item(plan, p)
            finally:
                # what names this item may go on: it exists (or will not); its texts and images need not wait
                self.ready[(p.kind.name, p.vendor_id)].set()
        except FATAL:
            raise
        except BulkgcError as exc:
            books.event(key_of(p), p.action, "failed", detail=str(exc))
            books.record(
                "item", p, None, p.action, "failed", codes=codes_of(exc), message=str(exc), started=started
            )
            books.record_untouched(p, "skipped", f"{p.kind.name} could not be created or updated")
            return
        action = p.action if (p.action != "none" or p.version_action != "create") else "new-version"
        outcome = "done" if (p.action != "none" or p.version_action == "create") else "unchanged"
        books.record("item", p, None, action, outcome, started=started)

        jobs: list[ImageJob] = []
        async with anyio.create_task_group() as tg:
            for la in p.localizations:
                await self.localizations.acquire()  # released by the localization's task
                tg.start_soon(self.run_localization, p, la, container, jobs)
        if p.default_image is not None:  # the version's own image: its owner is the container itself
            image = p.default_image
            jobs.append(ImageJob(p, DEFAULT_SLOT, image, container, image.action, image.remote))
        await self.machine.settle(p, container, jobs)

    async def run_localization(self, p: ItemPlan, la: LocalizationAction, container: str,
                               jobs: list[ImageJob]) -> None:
        try:
            await self.steps.run_localization(p, la, container, jobs, self.stopping)
        finally:
            self.localizations.release()

    def record_unfinished(self, plan: Plan, message: str) -> None:
        """Record every planned item the run did not get to as interrupted (the report lists every item)."""
        books = self.ledger
        seen = {(r.gc_kind, r.kind, r.vendor_identifier, r.locale) for r in books.results}
        for p in plan.items:
            name = p.kind.name
            if (name, name, p.vendor_id, None) not in seen:
                books.record("item", p, None, p.action, "interrupted", attempts=0, message=message)
            for la in p.localizations:
                levels = [("localization", la.action)] + ([("image", la.image.action)] if la.image else [])
                for level, action in levels:
                    if (name, level, p.vendor_id, la.locale) not in seen:
                        books.record(level, p, la.locale, action, "interrupted", attempts=0, message=message)
