"""What a push records as it goes: journal writes, progress events and the report's item results.

The item steps and the image state machine write here; none of them talks to the journal, the sink or the
report directly, and nothing here names a Game Center kind (keys and rows carry the kind as data).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bulkgc.errors import ApiError
from bulkgc.journal import AsyncJournal, ItemRecord, item_key
from bulkgc.plan import DEFAULT_SLOT, ItemPlan, describe_item
from bulkgc.progress import Event, NullSink, ProgressSink
from bulkgc.report import ItemResult


def codes_of(exc: BaseException) -> list[str]:
    """Apple's error codes of a failure (or what stands in for them) for the report."""
    if isinstance(exc, ApiError):
        return [e.code for e in exc.errors if e.code] or (
            [f"HTTP_{exc.status}"] if exc.status else ["NO_RESPONSE"]
        )
    return [type(exc).__name__]


def key_of(plan: ItemPlan, level: str = "item", locale: str | None = None) -> str:
    """The journal / progress key of an item (`level` "item"), or of one of its localizations or images."""
    return item_key(level, plan.kind.name, plan.vendor_id, locale)


@dataclass
class Ledger:
    """The run's books: one per push."""

    journal: AsyncJournal | None = None
    sink: ProgressSink = field(default_factory=NullSink)
    results: list[ItemResult] = field(default_factory=list)
    step_seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # item key -> step -> seconds

    def event(
        self,
        item: str,
        step: str,
        outcome: str,
        *,
        attempt: int = 1,
        latency: float | None = None,
        nbytes: int = 0,
        detail: str = "",
    ) -> None:
        """One step of one item finished (or was retried): progress, and its time for the report."""
        if latency is not None:
            steps = self.step_seconds.setdefault(item, {})
            steps[step] = round(steps.get(step, 0.0) + latency, 3)
        self.sink.on_event(
            Event(
                time=time.time(),
                item=item,
                step=step,
                outcome=outcome,
                attempt=attempt,
                latency=latency,
                bytes=nbytes,
                detail=detail,
            )
        )

    def record(
        self,
        level: str,
        plan: ItemPlan,
        locale: str | None,
        action: str,
        outcome: str,
        *,
        image_id: str | None = None,
        final_state: str | None = None,
        codes: list[str] | None = None,
        message: str = "",
        attempts: int = 1,
        started: float | None = None,
        container_state: str | None = None,
    ) -> None:
        """The outcome of the item (`level` "item"), or of a localization or image of it, for the report."""
        now = time.time()
        key = key_of(plan, level, locale)
        timings = {
            **self.step_seconds.get(key, {}),
            **({"seconds": round(now - started, 3)} if started else {}),
        }
        result = ItemResult(
            kind=plan.kind.name if level == "item" else level,
            gc_kind=plan.kind.name,
            vendor_identifier=plan.vendor_id,
            locale=locale,
            action=action,
            outcome=outcome,
            image_id=image_id,
            final_state=final_state,
            error_codes=list(codes or []),
            message=message,
            attempts=attempts,
            started=started,
            finished=now,
            timings=timings,
            container_state=container_state,
        )
        la = next((la for la in plan.localizations if la.locale == locale), None) if locale else None
        if la is not None:
            describe_item(result, la)  # texts old -> new, icon file and digests: what the HTML report shows
        elif locale == DEFAULT_SLOT and level == "image" and plan.default_image is not None:
            result.file, result.digest = plan.default_image.path, plan.default_image.info.sha256
        self.results.append(result)
        self.sink.on_item_done(key, outcome)

    def record_untouched(
        self,
        plan: ItemPlan,
        outcome: str,
        message: str = "",
        *,
        codes: list[str] | None = None,
        container_state: str | None = None,
    ) -> None:
        """Record every localization and image of `plan` with `outcome` (they were not attempted)."""
        for la in plan.localizations:
            if outcome == "blocked" and not la.has_work:
                self.record("localization", plan, la.locale, "none", "unchanged", attempts=0)
                if la.image is not None:
                    self.record("image", plan, la.locale, "none", "unchanged", attempts=0)
                continue
            levels = [("localization", la.action)] + (
                [("image", la.image.action)] if la.image is not None else []
            )
            for level, action in levels:
                self.record(
                    level,
                    plan,
                    la.locale,
                    action,
                    outcome,
                    message=message,
                    attempts=0,
                    codes=codes,
                    container_state=container_state,
                )
        if plan.default_image is not None:
            image = plan.default_image
            unchanged = outcome == "blocked" and image.action == "none"
            self.record("image", plan, DEFAULT_SLOT, image.action, "unchanged" if unchanged else outcome,
                        message="" if unchanged else message, attempts=0, codes=None if unchanged else codes)

    async def put(self, key: str, *, clear_parts: bool = False, **fields: Any) -> None:
        """A durable journal write (nothing without a journal)."""
        if self.journal is not None:
            await self.journal.put(key, clear_parts=clear_parts, **fields)

    def put_soon(self, key: str, *, clear_parts: bool = False, **fields: Any) -> None:
        """A journal write of what App Store Connect holds (an item created, a new version, a localization
        saved, an image committed): not waited for, durable with the next transaction (`AsyncJournal.put_soon`)."""
        if self.journal is not None:
            self.journal.put_soon(key, clear_parts=clear_parts, **fields)

    async def put_many(self, writes: list[tuple[str, dict[str, Any]]]) -> None:
        """Several durable journal writes made together (one fsync), as `put` each."""
        if self.journal is not None and writes:
            await self.journal.put_many(writes)

    async def get(self, key: str) -> ItemRecord | None:
        return None if self.journal is None else await self.journal.get(key)

    async def get_many(self, keys: list[str]) -> dict[str, ItemRecord]:
        """The journal's records of `keys` that it has (one read)."""
        return {} if self.journal is None or not keys else await self.journal.get_many(keys)

    async def parts_done(self, key: str) -> set[int]:
        return set() if self.journal is None else await self.journal.parts_done(key)

    async def part_done(self, key: str, index: int, length: int) -> None:
        if self.journal is not None:
            await self.journal.mark_part_done(key, index)
        self.sink.on_bytes(length)
