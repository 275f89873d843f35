"""One image through App Store Connect's asset workflow: reserve -> upload parts -> commit -> wait.

Each step is a pure pair, as in google-resumable-media: `prepare_*` builds the request from the kind's API row
(`KindApi`) and `process_*` reads the answer, so both can be tested without a server; the `async` functions
below only wire them to the client (which retries, paces and looks lost POSTs up). Waiting is batched: one
GET of a container's localizations with their images embedded answers for every image of that container.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from bulkgc.asc.jsonapi import Document, Resource
from bulkgc.asc.resources import KindApi
from bulkgc.errors import BulkgcError, NotFoundError, meaningful_error
from bulkgc.remote import RemoteImage, RemoteLocalization

FINAL_STATES = frozenset({"COMPLETE", "FAILED"})


@dataclass(frozen=True)
class Request:
    """One API request, built without I/O."""

    method: str  # GET | POST | PATCH | DELETE
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- pure steps


def prepare_reserve(
    kapi: KindApi, owner_id: str, file_name: str, file_size: int, *, default: bool = False
) -> Request:
    """POST the image reservation for one localization, or for a version's default image (A4 step 4, A5)."""
    if default:
        assert kapi.version is not None
        owner = {kapi.version.default_image_rel: {"data": {"type": kapi.version.type, "id": owner_id}}}
    else:
        owner = {kapi.image_loc_rel: {"data": {"type": kapi.loc_type, "id": owner_id}}}
    return Request(
        "POST",
        kapi.image_create,
        {
            "data": {
                "type": kapi.image_type,
                "attributes": {"fileName": file_name, "fileSize": file_size},
                "relationships": owner,
            }
        },
    )


def process_image(doc: Document) -> RemoteImage:
    """The image a reserve, commit or read answered with."""
    return RemoteImage.from_resource(doc.one)


def prepare_reservation_lookup(kapi: KindApi, owner_id: str, *, default: bool = False) -> Request:
    """GET the localization's (or version's default) image: after a lost reserve answer, is it reserved?"""
    if default:
        assert kapi.version is not None
        return Request("GET", kapi.path(kapi.version.default_image_read, owner_id))
    return Request("GET", kapi.path(kapi.loc_image_read, owner_id))


def process_reservation_lookup(doc: Document, file_name: str) -> Document | None:
    """The earlier reservation of this very file (by its digest fileName), or None."""
    r = doc.data
    if isinstance(r, Resource) and (r.attributes or {}).get("fileName") == file_name:
        return doc
    return None


def pending_parts(image: RemoteImage, skip: set[int]) -> list[tuple[int, dict[str, Any]]]:
    """(index, operation) of every upload operation still to send."""
    return [(index, op) for index, op in enumerate(image.upload_operations) if index not in skip]


def prepare_commit(kapi: KindApi, image_id: str) -> Request:
    """PATCH `uploaded: true` (A4 step 6: Game Center images have no checksum attribute)."""
    return Request(
        "PATCH",
        kapi.path(kapi.image_item, image_id),
        {"data": {"type": kapi.image_type, "id": image_id, "attributes": {"uploaded": True}}},
    )


def prepare_read(kapi: KindApi, image_id: str) -> Request:
    return Request("GET", kapi.path(kapi.image_item, image_id))


def prepare_delete(kapi: KindApi, image_id: str) -> Request:
    return Request("DELETE", kapi.path(kapi.image_item, image_id))


def process_poll(
    locs: dict[str, RemoteLocalization], image_ids: set[str]
) -> tuple[dict[str, RemoteImage], set[str]]:
    """(last seen state of each image, the images still processing) from one read of a container.

    An image no localization holds any more is "MISSING" (final for this poll: the caller starts it over).
    """
    seen = {loc.image.id: loc.image for loc in locs.values() if loc.image is not None}
    states = {i: seen.get(i) or RemoteImage(i, "", 0, "MISSING") for i in image_ids}
    waiting = {i for i in image_ids if states[i].state not in FINAL_STATES and states[i].state != "MISSING"}
    return states, waiting


# ---------------------------------------------------------------------------------------------- wiring


async def reserve_image(
    client: Any, kapi: KindApi, owner_id: str, file_name: str, file_size: int, *, default: bool = False
) -> RemoteImage:
    """POST the image reservation; a lost answer is looked up (the owner's image) before re-sending."""

    async def lookup() -> Document | None:
        req = prepare_reservation_lookup(kapi, owner_id, default=default)
        try:
            doc = await client.get(req.path)
        except NotFoundError:
            return None
        return process_reservation_lookup(doc, file_name)

    req = prepare_reserve(kapi, owner_id, file_name, file_size, default=default)
    return process_image(await client.post(req.path, req.body, lookup=lookup))


async def read_image(client: Any, kapi: KindApi, image_id: str) -> RemoteImage:
    return process_image(await client.get(prepare_read(kapi, image_id).path))


async def upload_parts(
    client: Any,
    image: RemoteImage,
    content: bytes | memoryview,
    *,
    skip: set[int] | None = None,
    on_part_done: Callable[[int, int], Any] | None = None,
) -> int:
    """Send every upload operation not in `skip` concurrently, each a slice of `content`; returns bytes sent.

    `content` is the file as read (and hashed) once for this attempt: the bytes sent are the bytes checked.

    `on_part_done(index, length)` is awaited after each part (journal + progress).
    """
    sent = 0

    async def one(index: int, op: dict[str, Any]) -> None:
        nonlocal sent
        await client.upload_part(op, content)
        sent += int(op.get("length") or 0)
        if on_part_done is not None:
            await on_part_done(index, int(op.get("length") or 0))

    try:
        async with anyio.create_task_group() as tg:
            for index, op in pending_parts(image, skip or set()):
                tg.start_soon(one, index, op)
    except BaseExceptionGroup as group:
        # A failed part fails this image's attempt, not the run: hand the caller the ApiError (e.g. an
        # expired URL, a part that kept failing) it handles per image, not anyio's group around it.
        raise meaningful_error(group, (BulkgcError,)) from None
    return sent


async def commit_image(client: Any, kapi: KindApi, image_id: str) -> RemoteImage:
    """PATCH `uploaded: true`; App Store Connect checks the bytes and starts processing."""
    req = prepare_commit(kapi, image_id)
    return process_image(await client.patch(req.path, req.body))


async def delete_image(client: Any, kapi: KindApi, image_id: str) -> None:
    """DELETE the image record (an already deleted one counts as deleted)."""
    try:
        await client.delete(prepare_delete(kapi, image_id).path)
    except NotFoundError:
        pass


@dataclass
class PollResult:
    states: dict[str, RemoteImage]  # image id -> last seen
    stuck: set[str]  # still not final when the timeout passed
    polls: int


async def wait_until_processed(
    read_container: Callable[[], Awaitable[dict[str, RemoteLocalization]]],
    image_ids: set[str],
    *,
    interval: float,
    timeout: float,
    first_delay: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> PollResult:
    """Poll a container's localizations (images embedded) until every image in `image_ids` is final.

    One request (`read_container`) answers for all images of the container. Images that vanish are reported
    as missing (state "MISSING"); images not final by `timeout` are returned in `stuck`.
    """
    polls = 0
    started = time.monotonic()
    first = interval if first_delay is None else first_delay
    # a first poll that came early usually misses by little: look again soon, then back off to `interval`
    pause = min(interval, max(0.25, first / 4)) / 2
    await anyio.sleep(first)
    while True:
        states, waiting = process_poll(await read_container(), image_ids)
        polls += 1
        if not waiting:
            return PollResult(states, set(), polls)
        if time.monotonic() - started >= timeout or (stop is not None and stop()):
            return PollResult(states, waiting, polls)
        pause = min(interval, pause * 2)
        await anyio.sleep(min(pause, max(0.0, timeout - (time.monotonic() - started))) or pause)
