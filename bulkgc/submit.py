"""Submit what was pushed for review: the manifest's editable versions become review submission items.

The flow (GAME_CENTER_API.md A4 item 9; Apple's spec: reviewSubmissions, reviewSubmissionItems):
1. read App Store Connect as a push plan does; an item that still differs from the manifest blocks the run
   (push first), an image still processing is waited for, a FAILED one blocks the run and is named;
2. find each manifest item's latest version: in an editable state it is a candidate, unless an open
   (READY_FOR_REVIEW) submission of the app already holds it (look before adding: a re-run adds nothing);
3. fill the app's open submissions of `--platform` (up to 200 items each), then create new ones;
4. add each candidate as a `reviewSubmissionItem` with its kind's relationship (`VersionApi.review_item_rel`:
   nothing here names a kind); a POST whose answer was lost is looked up before it is sent again;
5. with `--send`, PATCH each submission holding the manifest's versions `submitted: true`; without it, the
   submission is left READY_FOR_REVIEW for a person to send.

Every added item is journalled (`review:<kind>:<vendor>`, the submission as its parent) and reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from bulkgc.asc.auth import Credentials, TokenProvider
from bulkgc.asc.client import AscClient
from bulkgc.asc.jsonapi import Document, Resource
from bulkgc.asc.resources import (
    REVIEW_ITEMS,
    REVIEW_SUBMISSION,
    REVIEW_SUBMISSION_ITEMS,
    REVIEW_SUBMISSION_MAX_ITEMS,
    REVIEW_SUBMISSIONS,
)
from bulkgc.config import RunSettings
from bulkgc.errors import (
    EXIT_INTERRUPTED,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    FATAL,
    ApiError,
    BulkgcError,
    ConflictError,
    UsageError,
    meaningful_error,
)
from bulkgc.journal import AsyncJournal, Journal, item_key
from bulkgc.kinds import KINDS
from bulkgc.ledger import codes_of
from bulkgc.manifest import Manifest
from bulkgc.pipeline import client_config, credentials_from, load_inputs
from bulkgc.plan import ItemPlan, Plan, build_plan
from bulkgc.remote import RemoteImage, RemoteItem, RemoteReader
from bulkgc.report import ItemResult, RunReport
from bulkgc.scan import ImageInfo

OPEN = "READY_FOR_REVIEW"
#: version states of an item that has been released ([DOC Help] only then may a version go to review alone)
RELEASED = frozenset({"LIVE", "REPLACED_WITH_NEW_VERSION"})


def refuse_v1(settings: RunSettings) -> None:
    """`--api v1` has no versions, so nothing can be submitted: say so before anything is read or sent."""
    if settings.api != "v2":
        raise UsageError(
            "submit needs the v2 API: review submissions take an item's version, and the deprecated v1 "
            "endpoints (--api v1) have no versions. Run it without --api v1 (or with --api v2). Nothing was "
            "sent to App Store Connect."
        )


# ---------------------------------------------------------------------------------------------- model


@dataclass
class Candidate:
    """One manifest item's version that belongs in a review submission."""

    plan: ItemPlan
    relationship: str  # the review item relationship of the kind ("gameCenterAchievementVersion")
    version_id: str | None  # None: the version does not exist yet (plan preview before a push)
    number: int | None
    state: str
    first_time: bool  # no version of the item was ever released
    submission_id: str | None = None  # the open submission that holds it already

    @property
    def label(self) -> str:
        return f"{self.plan.kind.name} {self.plan.vendor_id}"

    @property
    def version_text(self) -> str:
        return f"v{self.number}" if self.number else "new version"


@dataclass
class OpenSubmission:
    """An open (READY_FOR_REVIEW) review submission of the app."""

    id: str
    platform: str
    items: int  # items it holds (not removed), whatever they submit
    versions: dict[str, str] = field(default_factory=dict)  # version id -> its review item id


@dataclass
class SubmissionPlan:
    """What submit would do: the versions to add, where, and what stands in the way."""

    platform: str
    app_id: str
    to_add: list[Candidate]
    already: list[Candidate]  # in an open submission already
    not_editable: list[tuple[ItemPlan, str]]  # (item, why): live, in review, ... nothing to submit
    pending: list[Candidate]  # items a push still has to change (preview only: added after the push)
    submissions: list[OpenSubmission]  # open submissions of the app (every platform)
    batches: list[tuple[str | None, list[Candidate]]] = field(
        default_factory=list
    )  # (id or None = new, items)

    @property
    def new_submissions(self) -> int:
        return sum(1 for sid, _ in self.batches if sid is None)

    def assign(self, prefer: list[str] | None = None) -> None:
        """Spread `to_add` over the open submissions of the platform with room, then new ones (200 each)."""
        rest = list(self.to_add)
        self.batches = []
        first = prefer or []
        order = sorted(  # stable: the submissions this manifest used before, then the others as listed
            (s for s in self.submissions if s.platform == self.platform),
            key=lambda s: first.index(s.id) if s.id in first else len(first),
        )
        for sub in order:
            room = REVIEW_SUBMISSION_MAX_ITEMS - sub.items
            if rest and room > 0:
                self.batches.append((sub.id, rest[:room]))
                rest = rest[room:]
        while rest:
            self.batches.append((None, rest[:REVIEW_SUBMISSION_MAX_ITEMS]))
            rest = rest[REVIEW_SUBMISSION_MAX_ITEMS:]

    def to_dict(self) -> dict[str, Any]:
        """For `bulkgc plan --json` (key `submit`)."""

        def row(c: Candidate) -> dict[str, Any]:
            return {
                "kind": c.plan.kind.name,
                "vendor_identifier": c.plan.vendor_id,
                "version_id": c.version_id,
                "version": c.number,
                "state": c.state,
                "first_time": c.first_time,
                "submission_id": c.submission_id,
            }

        return {
            "platform": self.platform,
            "add": [row(c) for c in self.to_add],
            "after_push": [row(c) for c in self.pending],
            "already_in_submission": [row(c) for c in self.already],
            "submissions": [
                {"id": sid, "new": sid is None, "items": len(items)} for sid, items in self.batches
            ],
        }

    def format_lines(self) -> list[str]:
        """For `bulkgc plan`: what `bulkgc submit` would add, counted (the table lists items with work only;
        `plan --json` lists each version under `submit`)."""
        wanted = self.to_add + self.pending
        if not wanted:
            return [
                f"Review submission ({self.platform}): nothing for bulkgc submit to add (every version of "
                f"the manifest is in a submission, in review or live; {len(self.already)} in a submission)"
            ]
        per_kind: dict[str, int] = {}
        for c in wanted:
            per_kind[c.plan.kind.plural] = per_kind.get(c.plan.kind.plural, 0) + 1
        kinds = ", ".join(f"{n} {plural}" for plural, n in per_kind.items())
        line = (
            f"Review submission ({self.platform}): bulkgc submit would add {len(wanted)} version(s) ({kinds})"
        )
        parts = []
        if self.pending:
            parts.append(f"{len(self.pending)} of them once pushed")
        if self.batches:
            new = self.new_submissions
            used = len(self.batches) - new
            into = [f"{used} open submission(s)"] if used else []
            into += [f"{new} new submission(s)"] if new else []
            parts.append("into " + " and ".join(into))
        first = sum(1 for c in wanted if c.first_time)
        if first:
            parts.append(f"{first} first version(s): App Review takes them only with an app version")
        if self.already:
            parts.append(f"{len(self.already)} already in a submission")
        return [line + ("; " + "; ".join(parts) if parts else "")]


# ---------------------------------------------------------------------------------------------- reading


def review_relationships() -> list[str]:
    """The review item relationship of every kind that declares one (the kinds' versions bulkgc submits)."""
    out = set()
    for kind in KINDS:
        version = kind.api("v2").version
        if version is not None and version.review_item_rel is not None:
            out.add(version.review_item_rel)
    return sorted(out)


class SubmissionReader:
    """Reads the app's open review submissions and the manifest's versions."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def open_submissions(self, app_id: str) -> list[OpenSubmission]:
        """Every READY_FOR_REVIEW submission of the app with the version ids its items submit."""
        rels = review_relationships()
        doc = await self.client.get_all(
            REVIEW_SUBMISSIONS,
            {
                "filter[app]": app_id,
                "filter[state]": OPEN,
                "fields[reviewSubmissions]": "platform,state",
                "limit": "200",
            },
        )
        out = []
        for r in doc.resources:
            sub = OpenSubmission(r.id, str(r.attr("platform", "")), 0)
            items = await self.client.get_all(
                REVIEW_SUBMISSION_ITEMS.replace("{id}", r.id),
                {"fields[reviewSubmissionItems]": ",".join(["state", *rels]), "limit": "200"},
            )
            for item in items.resources:
                if item.attr("state") == "REMOVED":
                    continue
                sub.items += 1
                for rel in rels:
                    vid = item.rel_id(rel)
                    if vid:
                        sub.versions[vid] = item.id
            out.append(sub)
        return out


async def read_submission_plan(
    client: Any, plan: Plan, manifest: Manifest, platform: str, *, preview: bool = False
) -> SubmissionPlan:
    """The manifest's versions against the app's open submissions. `preview`: items a push still changes are
    listed as `pending` (they are added after the push) instead of being left out."""
    reader = RemoteReader(client)
    remote: dict[tuple[str, str], RemoteItem] = {}
    for kind in KINDS:
        kapi = kind.api("v2")
        if not manifest.of_kind(kind.name) or kapi.version is None or kapi.version.review_item_rel is None:
            continue
        for vendor, found in (await reader.items(kapi, plan.detail_id, plan.group_id)).items():
            remote[(kind.name, vendor)] = found
    submissions = await SubmissionReader(client).open_submissions(plan.app_id)
    held = {vid: sub.id for sub in submissions for vid in sub.versions}
    sp = SubmissionPlan(platform, plan.app_id, [], [], [], [], submissions)
    for p in plan.items:
        version = p.kapi.version
        if version is None or version.review_item_rel is None:
            continue
        item = remote.get((p.kind.name, p.vendor_id))
        latest = item.latest if item else None
        released = item is not None and any(v.state in RELEASED for v in item.versions)
        if not pushed(p) or p.action == "blocked":  # (images processing were waited for before)
            if preview and p.action != "blocked":
                editable = latest is not None and latest.state in version.editable_states
                number = latest.number if editable and latest else None
                sp.pending.append(
                    Candidate(
                        p,
                        version.review_item_rel,
                        latest.id if editable and latest else None,
                        number,
                        "after push",
                        not released,
                    )
                )
            continue
        if latest is None:
            continue
        if latest.state not in version.editable_states:
            sp.not_editable.append((p, f"v{latest.number} is {latest.state}"))
            continue
        c = Candidate(
            p,
            version.review_item_rel,
            latest.id,
            latest.number,
            latest.state,
            not released,
            held.get(latest.id),
        )
        (sp.already if c.submission_id else sp.to_add).append(c)
    sp.assign()
    return sp


# ---------------------------------------------------------------------------------------------- readiness


async def wait_for_images(
    client: Any, plan: Plan, settings: RunSettings, stop: anyio.Event
) -> list[ItemResult]:
    """Wait for the manifest's images still processing; the ones not COMPLETE in the end, as blocking rows.

    A FAILED image of the manifest's file, or an image a push has yet to send, blocks the submission.
    """
    out: list[ItemResult] = []
    waiting: list[tuple[ItemPlan, str, RemoteImage]] = []
    for p in plan.items:
        for la in p.localizations:
            img = la.image
            if img is None or img.action == "none":
                continue
            if _failed_same(img) and img.remote is not None:
                out.append(_image_row(p, la.locale, img.remote, "IMAGE_FAILED"))
            elif img.action == "wait" and img.remote is not None:
                waiting.append((p, la.locale, img.remote))
    deadline = time.monotonic() + settings.processing_timeout
    while waiting and not stop.is_set():
        still = []
        for p, locale, remote in waiting:
            doc = await client.get(p.kapi.path(p.kapi.image_item, remote.id), purpose="poll")
            now = RemoteImage.from_resource(doc.one)
            if now.state == "FAILED":
                out.append(_image_row(p, locale, now, "IMAGE_FAILED"))
            elif now.state != "COMPLETE":
                still.append((p, locale, now))
        waiting = still
        if waiting:
            if time.monotonic() > deadline:
                break
            with anyio.move_on_after(settings.poll_interval):
                await stop.wait()
    for p, locale, remote in waiting:
        row = _image_row(p, locale, remote, "IMAGE_NOT_COMPLETE")
        if stop.is_set():  # stopped while waiting (signal, --deadline): resumable, not a failure
            row.outcome, row.error_codes, row.message = "interrupted", [], "stopped while it was processing"
        out.append(row)
    return out


def _image_row(p: ItemPlan, locale: str, remote: RemoteImage, why: str) -> ItemResult:
    codes = remote.error_codes if why == "IMAGE_FAILED" and remote.error_codes else [why]
    message = (
        f"image {remote.file_name or remote.id} is {remote.state}: no version of this manifest is "
        "submitted until every image is COMPLETE"
    )
    return ItemResult(
        kind="image",
        gc_kind=p.kind.name,
        vendor_identifier=p.vendor_id,
        locale=locale,
        action="submit",
        outcome="blocked",
        image_id=remote.id,
        final_state=remote.state,
        error_codes=codes,
        message=message,
        attempts=0,
        finished=time.time(),
    )


def _failed_same(image: Any) -> bool:
    """The manifest's own file was uploaded and App Store Connect failed it (waiting changes nothing)."""
    remote = image.remote
    return remote is not None and remote.state == "FAILED" and remote.file_name == image.file_name


def pushed(p: ItemPlan) -> bool:
    """Whether App Store Connect holds the item as the manifest says, but for images processing or failed."""
    if p.action != "none" or p.attribute_changes or p.version_action == "create":
        return False
    for la in p.localizations:
        if la.action != "none":
            return False
        if la.image is not None and la.image.action not in ("none", "wait") and not _failed_same(la.image):
            return False
    return True


def unpushed_rows(plan: Plan) -> list[ItemResult]:
    """Items whose remote state differs from the manifest in more than an image processing (or failed)."""
    out = []
    for p in plan.items:
        if p.action == "blocked":
            why, codes = f"cannot be submitted: {p.version_note}", [p.blocked_code]
        elif not pushed(p):
            why, codes = (
                "App Store Connect does not hold what the manifest says yet: push it first",
                ["NOT_PUSHED"],
            )
        else:
            continue
        out.append(
            ItemResult(
                kind=p.kind.name,
                gc_kind=p.kind.name,
                vendor_identifier=p.vendor_id,
                action="submit",
                outcome="blocked",
                error_codes=codes,
                message=why,
                attempts=0,
                finished=time.time(),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- writing


class Submitter:
    """Adds candidates to submissions (creating them as needed) and sends them; records everything."""

    def __init__(
        self,
        client: Any,
        journal: AsyncJournal | None,
        settings: RunSettings,
        stop: anyio.Event,
        out: list[str],
    ) -> None:
        self.client = client
        self.journal = journal
        self.settings = settings
        self.stop = stop
        self.results: list[ItemResult] = []
        self.added: dict[str, int] = {}  # submission id -> items this run added to it
        self.out = out  # lines for people: each submission used, created, sent or left open

    async def create_submission(self, app_id: str, known: set[str]) -> str:
        """POST a new submission; a lost answer is found as an open, empty submission that was not there."""
        body = {
            "data": {
                "type": "reviewSubmissions",
                "attributes": {"platform": self.settings.platform},
                "relationships": {"app": {"data": {"type": "apps", "id": app_id}}},
            }
        }

        async def lookup() -> Document | None:
            for sub in await SubmissionReader(self.client).open_submissions(app_id):
                if sub.id not in known and sub.platform == self.settings.platform and sub.items == 0:
                    return await self.client.get(REVIEW_SUBMISSION.replace("{id}", sub.id))
            return None

        doc = await self.client.post(REVIEW_SUBMISSIONS, body, lookup=lookup)
        return doc.one.id

    async def add(self, submission_id: str, c: Candidate) -> None:
        """Add one version to one submission (looked up first when an earlier send may have been applied)."""
        assert c.version_id is not None
        version_type = c.plan.kapi.version.type  # type: ignore[union-attr]
        key = item_key("review", c.plan.kind.name, c.plan.vendor_id)
        body = {
            "data": {
                "type": "reviewSubmissionItems",
                "relationships": {
                    "reviewSubmission": {"data": {"type": "reviewSubmissions", "id": submission_id}},
                    c.relationship: {"data": {"type": version_type, "id": c.version_id}},
                },
            }
        }

        async def lookup() -> Document | None:
            items = await self.client.get_all(
                REVIEW_SUBMISSION_ITEMS.replace("{id}", submission_id),
                {"fields[reviewSubmissionItems]": f"state,{c.relationship}", "limit": "200"},
            )
            found = [r for r in items.resources if r.rel_id(c.relationship) == c.version_id]
            return Document(data=found[0]) if found else None

        started = time.time()
        row = ItemResult(
            kind="review",
            gc_kind=c.plan.kind.name,
            vendor_identifier=c.plan.vendor_id,
            action="add",
            started=started,
            attempts=1,
        )
        try:
            if self.journal is not None:
                await self.journal.put(
                    key,
                    kind="review",
                    state="adding",
                    parent_id=submission_id,
                    detail=f"version {c.version_id}",
                )
            doc = await self.client.post(REVIEW_ITEMS, body, lookup=lookup)
        except ApiError as exc:
            if isinstance(exc, FATAL):
                raise
            row.outcome, row.error_codes, row.message = "failed", codes_of(exc), str(exc)
            if self.journal is not None:
                await self.journal.put(key, state="failed", error_codes=row.error_codes)
        else:
            item: Resource = doc.one
            row.outcome, row.image_id = "done", None
            row.message = f"{c.version_text} added to review submission {submission_id} (item {item.id})"
            self.added[submission_id] = self.added.get(submission_id, 0) + 1
            if self.journal is not None:
                await self.journal.put(key, state="added", remote_id=item.id, parent_id=submission_id)
        row.finished = time.time()
        self.results.append(row)

    async def fill(self, sp: SubmissionPlan, batch: list[Candidate], wanted: str | None) -> str | None:
        """Add a batch to its submission (created first when None); None when stopped before creating it."""
        if self.stop.is_set():
            return None
        submission_id = wanted
        if submission_id is None:
            submission_id = await self.create_submission(sp.app_id, {s.id for s in sp.submissions})
            sp.submissions.append(OpenSubmission(submission_id, sp.platform, 0))
            self.out.append(f"created review submission {submission_id} ({sp.platform})")
        target: str = submission_id
        limiter = anyio.CapacityLimiter(max(1, min(8, self.settings.api_concurrency)))

        async def one(c: Candidate) -> None:
            async with limiter:
                if self.stop.is_set():
                    return
                await self.add(target, c)

        async with anyio.create_task_group() as tg:
            for c in batch:
                tg.start_soon(one, c)
        return submission_id

    async def send(self, submission_id: str, first_time: list[Candidate]) -> None:
        """PATCH `submitted: true`; first-time components are not sent alone (Apple refuses them)."""
        row = ItemResult(
            kind="submission",
            gc_kind="submission",
            vendor_identifier=submission_id,
            action="send",
            started=time.time(),
            attempts=1,
        )
        if first_time:
            names = ", ".join(c.label for c in first_time[:5]) + (" ..." if len(first_time) > 5 else "")
            row.outcome, row.error_codes = "blocked", ["FIRST_TIME_NEEDS_APP_VERSION"]
            row.message = (
                f"not sent: {len(first_time)} item(s) have never been live ({names}); App Review takes "
                "a first version only with an app version"
            )
        else:
            path = REVIEW_SUBMISSION.replace("{id}", submission_id)
            body = {
                "data": {"type": "reviewSubmissions", "id": submission_id, "attributes": {"submitted": True}}
            }
            try:
                doc = await self.client.patch(path, body)
                row.outcome, row.final_state = "done", str(doc.one.attr("state", ""))
            except ConflictError as exc:
                # an earlier send whose answer was lost leaves it sent: the state says so
                now = await self.client.get(path)
                state = str(now.one.attr("state", ""))
                if state != OPEN:
                    row.outcome, row.final_state = "done", state
                else:
                    row.outcome, row.error_codes, row.message = "failed", codes_of(exc), str(exc)
            except ApiError as exc:
                if isinstance(exc, FATAL):
                    raise
                row.outcome, row.error_codes, row.message = "failed", codes_of(exc), str(exc)
            if row.outcome == "done":
                row.message = f"sent to App Review ({row.final_state})"
        row.finished = time.time()
        self.results.append(row)
        self.out.append(f"review submission {submission_id}: {row.message}")


# ---------------------------------------------------------------------------------------------- entry points


async def submit(
    settings: RunSettings,
    *,
    stop: anyio.Event | None = None,
    credentials: Credentials | None = None,
    inputs: tuple[Manifest, dict[str, ImageInfo]] | None = None,
    on_target: Callable[[str, str], None] | None = None,
) -> tuple[RunReport, list[str]]:
    """The whole submit: (report, lines for people). Raises BulkgcError subclasses for run-level failures."""
    refuse_v1(settings)
    stop = stop or anyio.Event()
    started = time.time()
    config = client_config(settings)
    manifest, images = inputs or await load_inputs(settings)
    creds = credentials or credentials_from(settings)
    if on_target is not None:
        on_target(manifest.app_id, creds.key_id)
    journal = await anyio.to_thread.run_sync(
        lambda: Journal.open(settings.journal_path, run_command="submit")
    )
    ajournal = AsyncJournal(journal)
    lines: list[str] = []
    try:
        run_id = await ajournal.start_run(
            str(settings.manifest_file),
            {"api": settings.api, "command": "submit", "platform": settings.platform, "send": settings.send},
        )
        async with AscClient(config, TokenProvider(creds, lifetime=settings.token_lifetime)) as client:
            try:
                async with anyio.create_task_group() as tg:
                    if settings.deadline is not None:
                        tg.start_soon(_deadline, settings.deadline, stop)
                    results, lines = await _submit(client, settings, manifest, images, stop, ajournal)
                    tg.cancel_scope.cancel()
            except BaseExceptionGroup as eg:
                raise meaningful_error(eg, (*FATAL, BulkgcError)) from None
            stats = client.stats.as_dict()
        stats["requests_by_method"] = stats.get("by_method", {})
        report = RunReport(
            command="submit", started=started, finished=time.time(), items=results, totals=stats
        )
        interrupted = stop.is_set() and any(r.outcome == "interrupted" for r in results)
        failed = any(r.outcome in ("failed", "blocked") for r in results)
        report.interrupted = interrupted
        report.exit_code = EXIT_INTERRUPTED if interrupted else (EXIT_ITEMS_FAILED if failed else EXIT_OK)
        if interrupted:
            report.resume_hint = "run the same command again to resume; added items are not added again"
        await ajournal.finish_run(
            run_id,
            "interrupted" if interrupted else ("failed" if failed else "ok"),
            dict(report.counts_by_outcome()),
        )
        return report, lines
    finally:
        await anyio.to_thread.run_sync(journal.close)


async def _deadline(seconds: float, stop: anyio.Event) -> None:
    await anyio.sleep(seconds)
    stop.set()


def _unsent_row(p: ItemPlan, action: str, outcome: str, message: str = "") -> ItemResult:
    """A review row for an item this run sent nothing for (already in, nothing to submit, interrupted)."""
    return ItemResult(
        kind="review",
        gc_kind=p.kind.name,
        vendor_identifier=p.vendor_id,
        action=action,
        outcome=outcome,
        attempts=0,
        message=message,
    )


async def _submit(
    client: Any,
    settings: RunSettings,
    manifest: Manifest,
    images: dict[str, ImageInfo],
    stop: anyio.Event,
    journal: AsyncJournal,
) -> tuple[list[ItemResult], list[str]]:
    lines: list[str] = []
    plan = await build_plan(client, "v2", manifest, images, on_live=settings.on_live)
    blocking = unpushed_rows(plan) + await wait_for_images(client, plan, settings, stop)
    if blocking:
        lines.append(f"nothing submitted: {len(blocking)} item(s) of the manifest are not ready for review")
        return blocking, lines
    sp = await read_submission_plan(client, plan, manifest, settings.platform)
    ours = [r.parent_id for r in await journal.items(kind="review") if r.parent_id]
    sp.assign(prefer=list(dict.fromkeys(ours)))  # a resumed run keeps filling the submission it started
    results: list[ItemResult] = []
    items_by_version = {vid: (s.id, iid) for s in sp.submissions for vid, iid in s.versions.items()}
    for c in sp.already:
        sid, iid = items_by_version[c.version_id or ""]
        # the journal learns where it is, also when the run that added it died before hearing back
        await journal.put(
            item_key("review", c.plan.kind.name, c.plan.vendor_id),
            kind="review",
            state="added",
            remote_id=iid,
            parent_id=sid,
            detail=f"version {c.version_id}",
        )
        message = f"{c.version_text} already in review submission {c.submission_id}"
        results.append(_unsent_row(c.plan, "none", "unchanged", message))
    for p, why in sp.not_editable:
        results.append(_unsent_row(p, "none", "unchanged", f"nothing to submit: {why}"))
    n = len(sp.to_add)
    if len(sp.batches) > 1:
        lines.append(
            f"{n} versions to add: more than {REVIEW_SUBMISSION_MAX_ITEMS} per submission, so "
            f"{len(sp.batches)} submissions"
        )
    submitter = Submitter(client, journal, settings, stop, lines)
    holding: dict[str, list[Candidate]] = {}
    for c in sp.already:
        holding.setdefault(c.submission_id or "", []).append(c)
    for into, batch in sp.batches:
        used = await submitter.fill(sp, batch, into)
        if used is not None:
            holding.setdefault(used, []).extend(batch)
            lines.append(
                f"review submission {used} ({sp.platform}): {submitter.added.get(used, 0)} item(s) added"
            )
    done = {(r.gc_kind, r.vendor_identifier) for r in submitter.results}
    for c in sp.to_add:
        if (c.plan.kind.name, c.plan.vendor_id) not in done:
            submitter.results.append(_unsent_row(c.plan, "add", "interrupted"))
    results += submitter.results
    added_ok = not any(r.outcome in ("failed", "interrupted") for r in submitter.results)
    for sid, members in holding.items():
        if not sid:
            continue
        if settings.send and not (added_ok and not stop.is_set()):
            lines.append(f"review submission {sid} is not sent: not every item could be added (see below)")
        elif settings.send:
            await submitter.send(sid, [c for c in members if c.first_time])
            results.append(submitter.results[-1])
        elif not settings.send:
            lines.append(
                f"review submission {sid} holds this manifest's versions and is left {OPEN}: send it in "
                "App Store Connect (or run again with --send)"
            )
    if not sp.to_add and not sp.already:
        lines.append("nothing to submit: no version of the manifest is waiting to be submitted")
    return results, lines


async def plan_with_submission(
    settings: RunSettings,
    *,
    credentials: Credentials | None = None,
    on_target: Callable[[str, str], None] | None = None,
) -> tuple[Plan, SubmissionPlan | None]:
    """`bulkgc plan`: the push plan and (v2) what `bulkgc submit` would add. Changes nothing.

    `on_target(app_id, key_id)` is called once the inputs and key are checked, before any request."""
    config = client_config(settings)
    manifest, images = await load_inputs(settings)
    creds = credentials or credentials_from(settings)
    if on_target is not None:
        on_target(manifest.app_id, creds.key_id)
    async with AscClient(config, TokenProvider(creds, lifetime=settings.token_lifetime)) as client:
        plan = await build_plan(client, settings.api, manifest, images, on_live=settings.on_live)
        if settings.api != "v2":
            return plan, None
        return plan, await read_submission_plan(client, plan, manifest, settings.platform, preview=True)
