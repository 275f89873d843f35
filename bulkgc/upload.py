"""One image through App Store Connect's asset workflow: reserve -> upload parts -> commit -> wait until processed.

Each step is a small function over the resource table row (`KindApi`), so the v1 and v2 APIs share it.
Waiting is batched: one GET of a container's localizations with their images embedded answers for every
image of that container, instead of one GET per image per poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from bulkgc.asc.jsonapi import Document, Resource
from bulkgc.asc.resources import KindApi
from bulkgc.errors import BulkgcError, NotFoundError
from bulkgc.plan import RemoteImage, RemoteLocalization, RemoteReader

FINAL_STATES = frozenset({"COMPLETE", "FAILED"})


def reserve_body(kapi: KindApi, localization_id: str, file_name: str, file_size: int) -> dict[str, Any]:
    return {
        "data": {
            "type": kapi.image_type,
            "attributes": {"fileName": file_name, "fileSize": file_size},
            "relationships": {kapi.image_loc_rel: {"data": {"type": kapi.loc_type, "id": localization_id}}},
        }
    }


def commit_body(kapi: KindApi, image_id: str) -> dict[str, Any]:
    return {"data": {"type": kapi.image_type, "id": image_id, "attributes": {"uploaded": True}}}


async def reserve_image(client: Any, kapi: KindApi, localization_id: str, file_name: str, file_size: int) -> RemoteImage:
    """POST the image reservation; a lost answer is looked up (the localization's image) before re-sending."""

    async def lookup() -> Document | None:
        try:
            doc = await client.get(kapi.path(kapi.loc_image_read, localization_id))
        except NotFoundError:
            return None
        r = doc.data
        if isinstance(r, Resource) and (r.attributes or {}).get("fileName") == file_name:
            return doc
        return None

    doc = await client.post(kapi.image_create, reserve_body(kapi, localization_id, file_name, file_size), lookup=lookup)
    return RemoteImage.from_resource(doc.one)


async def read_image(client: Any, kapi: KindApi, image_id: str) -> RemoteImage:
    doc = await client.get(kapi.path(kapi.image_item, image_id))
    return RemoteImage.from_resource(doc.one)


async def upload_parts(
    client: Any,
    image: RemoteImage,
    content: bytes,
    *,
    skip: set[int] | None = None,
    on_part_done: Callable[[int, int], Any] | None = None,
) -> int:
    """Send every upload operation not in `skip` concurrently, each a slice of `content`; returns bytes sent.

    `content` is the file as read (and hashed) once for this attempt: the bytes sent are the bytes checked.

    `on_part_done(index, length)` is awaited after each part (journal + progress).
    """
    skip = skip or set()
    sent = 0

    async def one(index: int, op: dict[str, Any]) -> None:
        nonlocal sent
        await client.upload_part(op, content)
        sent += int(op.get("length") or 0)
        if on_part_done is not None:
            await on_part_done(index, int(op.get("length") or 0))

    try:
        async with anyio.create_task_group() as tg:
            for index, op in enumerate(image.upload_operations):
                if index not in skip:
                    tg.start_soon(one, index, op)
    except BaseExceptionGroup as group:
        # A failed part fails this image's attempt, not the run: hand the caller the ApiError (e.g. an
        # expired URL, a part that kept failing) it handles per image, not anyio's group around it.
        raise _first_bulkgc_error(group) from None
    return sent


def _first_bulkgc_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first BulkgcError inside `group` (the group itself when there is none: a bug stays visible)."""
    for exc in group.exceptions:
        found = _first_bulkgc_error(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(found, BulkgcError):
            return found
    return group


async def commit_image(client: Any, kapi: KindApi, image_id: str) -> RemoteImage:
    """PATCH `uploaded: true`; App Store Connect checks the bytes and starts processing."""
    doc = await client.patch(kapi.path(kapi.image_item, image_id), commit_body(kapi, image_id))
    return RemoteImage.from_resource(doc.one)


async def delete_image(client: Any, kapi: KindApi, image_id: str) -> None:
    """DELETE the image record (an already deleted one counts as deleted)."""
    try:
        await client.delete(kapi.path(kapi.image_item, image_id))
    except NotFoundError:
        pass


@dataclass
class PollResult:
    states: dict[str, RemoteImage]  # image id -> last seen
    stuck: set[str]  # still not final when the timeout passed
    polls: int


async def wait_until_processed(
    reader: RemoteReader,
    container_id: str,
    image_ids: set[str],
    *,
    interval: float,
    timeout: float,
    first_delay: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> PollResult:
    """Poll the container's localizations (images embedded) until every image in `image_ids` is final.

    One request answers for all images of the container. Images that vanish are reported as missing
    (state "MISSING"); images not final by `timeout` are returned in `stuck`.
    """
    states: dict[str, RemoteImage] = {}
    polls = 0
    started = time.monotonic()
    first = interval if first_delay is None else first_delay
    # a first poll that came early usually misses by little: look again soon, then back off to `interval`
    pause = min(interval, max(0.25, first / 4)) / 2
    await anyio.sleep(first)
    while True:
        locs: dict[str, RemoteLocalization] = await reader.localizations(container_id, purpose="poll")
        polls += 1
        seen = {loc.image.id: loc.image for loc in locs.values() if loc.image is not None}
        for image_id in image_ids:
            states[image_id] = seen.get(image_id) or RemoteImage(image_id, "", 0, "MISSING")
        waiting = {i for i in image_ids if states[i].state not in FINAL_STATES and states[i].state != "MISSING"}
        if not waiting:
            return PollResult(states, set(), polls)
        if time.monotonic() - started >= timeout or (stop is not None and stop()):
            return PollResult(states, waiting, polls)
        pause = min(interval, pause * 2)
        await anyio.sleep(min(pause, max(0.0, timeout - (time.monotonic() - started))) or pause)
