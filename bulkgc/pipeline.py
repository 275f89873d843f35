"""Run a push: validate inputs, read the remote state, plan, then hand the plan to the executor.

The pieces: `manifest` + `scan` (inputs), `remote` + `plan` (what to do), `executor` (one task per item) with
`steps` (item -> version -> localizations) and `images` (each icon's state machine), `ledger` (journal,
progress, report rows). Every Game Center kind goes through the same path; `bulkgc.kinds` declares them.

Stopping (SIGINT/SIGTERM via the CLI, or `--deadline`) sets `stop`: no new item starts, in-flight requests
finish, every transition a resumed run needs is already durable in the journal (the queued records of what
App Store Connect holds are written on the way out), and the run reports itself interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from bulkgc.asc.auth import Credentials, TokenProvider
from bulkgc.asc.burstmemory import FILE_NAME as BURST_MEMORY_FILE
from bulkgc.asc.client import AscClient, ClientConfig
from bulkgc.config import RunSettings
from bulkgc.errors import (
    EXIT_INTERRUPTED,
    EXIT_INVALID_INPUT,
    EXIT_ITEMS_FAILED,
    EXIT_OK,
    FATAL,
    BulkgcError,
    ConfigError,
    InvalidImageError,
    OutageError,
    Problem,
    meaningful_error,
)
from bulkgc.executor import Executor
from bulkgc.fixicons import check_icons, fixed_icons
from bulkgc.iconchecks import IconChecks
from bulkgc.journal import AsyncJournal, Journal
from bulkgc.ledger import Ledger, key_of
from bulkgc.manifest import Manifest, load_manifest
from bulkgc.plan import Plan, build_plan
from bulkgc.progress import NullSink, ProgressSink
from bulkgc.remote import RemoteReader
from bulkgc.report import RunReport, save_last_report
from bulkgc.scan import ImageInfo, ScanCache

# ---------------------------------------------------------------------------------------------- inputs


async def load_inputs(settings: RunSettings) -> tuple[Manifest, dict[str, ImageInfo]]:
    """Load the manifest and check every icon; raises ManifestError / InvalidImageError listing every problem.

    With `fix_icons`, refused icons a conversion cures are converted into `fixed-icons/` beside the journal
    and their ImageInfo describes the copy (the bytes that are uploaded). The app id may still be empty when
    it is to be looked up by bundle id (`resolve_app_id`).
    """
    manifest = await read_manifest(settings)
    sizes = manifest.image_sizes()
    paths = sorted(sizes)
    # icons unchanged since the last run are not decoded again (most of a no-op run's CPU otherwise)
    state_dir = settings.journal_path.parent
    cache = ScanCache(state_dir / "scan-cache.json")
    infos, problems = await check_icons(paths, fix=settings.fix_icons, background=settings.icon_background,
                                        fix_dir=state_dir / "fixed-icons", cache=cache,
                                        sizes=sizes)
    if problems:
        raise InvalidImageError(problems)
    await anyio.to_thread.run_sync(cache.save)
    return manifest, {str(p): info for p, info in infos.items()}


async def read_manifest(settings: RunSettings) -> Manifest:
    """The manifest (read in a worker thread); raises ManifestError listing every problem, ConfigError when
    it names no app and no bundle id is given to look it up by."""
    manifest = await anyio.to_thread.run_sync(
        lambda: load_manifest(settings.manifest_file, assets_dir=settings.assets, app_id=settings.app_id,
                              app_id_optional=settings.bundle_id is not None)
    )
    if manifest.items and not manifest.app_id and settings.bundle_id is None:
        raise ConfigError(f"{manifest.path} names no App Store Connect app: pass --app-id ID (or set "
                          "BULKGC_APP_ID), or --bundle-id com.example.game to look it up")
    return manifest


async def resolve_app_id(client: AscClient, manifest: Manifest, bundle_id: str | None) -> Manifest:
    """The manifest with its app id, looked up by bundle id when it has none (one read)."""
    if manifest.app_id or bundle_id is None:
        return manifest
    return dataclasses.replace(manifest, app_id=await RemoteReader(client).app_id_for_bundle(bundle_id))


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
        burst_memory=_burst_memory_path(settings),
    )


def _burst_memory_path(settings: RunSettings) -> Path | None:
    """burst-limits.json beside the journal, so a build farm that caches the journal's folder keeps the learned
    limit too; None (nothing remembered) for a command without a journal location (pull: no manifest)."""
    if settings.journal is None and settings.manifest is None:
        return None
    return settings.journal_path.parent / BURST_MEMORY_FILE


# ---------------------------------------------------------------------------------------------- entry points


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

    `on_target(app_id, key_id)` is called once the inputs and key are checked, before any request.

    The icons are checked in two halves (`IconChecks`): every cheap check before any request (a problem stops
    the push with nothing sent), digests and pixel data while App Store Connect is read and written. An item
    is written only once its own icons passed in full; an item with an icon whose pixel data is damaged is
    left untouched while the others are pushed, and the run exits 2 listing every such icon."""
    sink = sink or NullSink()
    stop = stop or anyio.Event()
    started = time.time()
    # a refused base URL (plain http to a real host) stops before anything is written: journal, scan cache
    config = client_config(settings)
    manifest = await read_manifest(settings)
    checks = await IconChecks.first_half(settings, manifest)
    if not manifest.items:  # e.g. a gamekit with empty resources: nothing to compare, nothing is sent
        sink.close()
        return RunReport(command="push", started=started, finished=time.time(), items=[], totals={},
                         exit_code=EXIT_OK, interrupted=False, resume_hint="")
    creds = credentials or credentials_from(settings)
    if on_target is not None:
        on_target(manifest.app_id or f"bundle id {settings.bundle_id}", creds.key_id)
    tokens = TokenProvider(creds, lifetime=settings.token_lifetime)
    journal = await anyio.to_thread.run_sync(lambda: Journal.open(settings.journal_path, run_command="push"))
    ajournal = AsyncJournal(journal)
    interrupted = False
    budget_bound = False
    plan: Plan | None = None
    executor: Executor | None = None
    images: dict[str, ImageInfo] = {}
    icon_problems: list[Problem] = []
    outage: OutageError | None = None
    try:
        run_id = await ajournal.start_run(str(settings.manifest), {"api": settings.api, "base_url": settings.base_url})
        async with AscClient(config, tokens) as client:
            ledger = Ledger(journal=ajournal, sink=sink)
            try:
                async with anyio.create_task_group() as tg:
                    if settings.deadline is not None:
                        tg.start_soon(_deadline, settings.deadline, stop)
                    tg.start_soon(checks.run)  # the second half of the icon checks, while requests go
                    tg.start_soon(checks.abandon_when, stop)
                    try:
                        manifest = await resolve_app_id(client, manifest, settings.bundle_id)
                        plan = await build_plan(client, settings.api, manifest, checks.images,
                                                on_live=settings.on_live)
                        images = await checks.images()
                        executor = Executor(client, settings, images, ledger, stop, icons=checks.verdict)
                        if on_plan is not None:
                            on_plan(plan)
                        # the pacer goes at full speed while the window has room and then admits one request
                        # per freed slot; the hint tells the report whether the budget, not the work, set the
                        # duration
                        client.budget.expect(plan.expected_requests(polls_per_container=2))
                        budget_bound = client.budget.budget_bound
                        work = [la.image for p in plan.items if p.has_work for la in p.localizations
                                if la.image is not None and la.image.action != "none"]
                        sink.on_plan(images=len(work), bytes_total=sum(i.info.size for i in work),
                                     items=len(plan.items), stages=stage_items(plan))
                        await executor.run(plan)
                        if not stop.is_set():  # every icon checked in full: every problem is listed
                            icon_problems = await checks.finished()
                    except BaseExceptionGroup as eg:
                        raise meaningful_error(eg, (*FATAL, BulkgcError)) from None
                    finally:
                        tg.cancel_scope.cancel()
            except BaseException as exc:  # noqa: BLE001 - only an outage is handled here; the rest re-raised
                # patience ran out: the run ends resumable, with its summary and reports, the cause named
                outage = _outage_in(exc)
                if outage is None:
                    raise
                stop.set()
                if plan is not None and executor is not None:
                    executor.record_unfinished(plan, f"not finished: {exc}")
            interrupted = outage is not None or (
                stop.is_set() and any(r.outcome == "interrupted" for r in ledger.results))
            stats = client.stats.as_dict()
            stats["outages"] = client.outage.outages
            stats["outage_seconds"] = round(client.outage.waited_seconds, 3)
        stats["requests_by_method"] = stats.get("by_method", {})
        stats["requests_by_purpose"] = stats.get("by_purpose", {})
        stats["polls"] = executor.polls if executor is not None else 0
        stats["budget_bound"] = budget_bound
        stats["plan_reads"] = plan.reads if plan is not None else 0
        stats["icons_fixed"] = [{"file": f, "fixes": list(fx)} for f, fx in fixed_icons(images.values())]
        stats["journal_writes"], stats["journal_transactions"] = ajournal.writes, ajournal.transactions
        report = RunReport(command="push", started=started, finished=time.time(), items=ledger.results,
                           totals=stats, exit_code=EXIT_OK, interrupted=interrupted, resume_hint="",
                           target=target_of(settings, manifest, creds))
        failed = any(r.outcome in ("failed", "blocked") for r in ledger.results)
        if interrupted:
            report.exit_code = EXIT_INTERRUPTED
            report.resume_hint = "run the same command again to resume; finished items are not redone"
            report.stop_reason = str(outage) if outage is not None else ""
        elif icon_problems:  # their items were left untouched (the report lists each icon): invalid input
            report.exit_code = EXIT_INVALID_INPUT
        elif failed:
            report.exit_code = EXIT_ITEMS_FAILED
        await ajournal.finish_run(run_id, "interrupted" if interrupted else ("failed" if failed else "ok"),
                                  {k: v for k, v in report.counts_by_outcome().items()})
        # `bulkgc status --html` renders this run from here later, without the network
        await anyio.to_thread.run_sync(save_last_report, report, settings.journal_path)
        return report
    finally:
        sink.close()
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(Exception):  # the records App Store Connect holds: the next run finds them
                await ajournal.flush()
            await anyio.to_thread.run_sync(journal.close)


def _outage_in(exc: BaseException) -> OutageError | None:
    """The OutageError that ended the run (also inside a task group's exception group), or None."""
    if isinstance(exc, OutageError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        found = meaningful_error(exc, (*FATAL, BulkgcError))
        return found if isinstance(found, OutageError) else None
    return None


def stage_items(plan: Plan) -> dict[str, list[str]]:
    """The item keys each progress stage has work for (`bulkgc.progress.STAGES`); only what will be sent."""
    texts: list[str] = []
    uploads: list[str] = []
    processing: list[str] = []
    for p in plan.items:
        if not p.has_work:
            continue
        if p.action != "none" or p.version_action == "create":
            texts.append(key_of(p))
        for la in p.localizations:
            if la.action != "none":
                texts.append(key_of(p, "localization", la.locale))
            if la.image is None:
                continue
            if la.image.action in ("upload", "replace", "resume"):
                uploads.append(key_of(p, "image", la.locale))
            if la.image.action != "none":
                processing.append(key_of(p, "image", la.locale))
    return {"texts": texts, "uploads": uploads, "processing": processing}


def target_of(settings: RunSettings, manifest: Manifest, creds: Credentials) -> dict[str, str]:
    """Where a run sends its requests, for reports: base URL, app id, API version, key id (never the key)."""
    return {"base_url": settings.base_url, "app_id": manifest.app_id, "api": settings.api,
            "key_id": creds.key_id}


async def _deadline(seconds: float, stop: anyio.Event) -> None:
    await anyio.sleep(seconds)
    stop.set()


async def plan_only(settings: RunSettings, *, credentials: Credentials | None = None,
                    on_target: Callable[[str, str], None] | None = None) -> Plan:
    """Read App Store Connect and return the plan; changes nothing and writes no journal.

    `on_target(app_id, key_id)` is called once the inputs and key are checked, before any request."""
    config = client_config(settings)
    manifest, images = await load_inputs(settings)
    if not manifest.items:
        return Plan(settings.api, manifest.app_id, "", None, [])
    creds = credentials or credentials_from(settings)
    if on_target is not None:
        on_target(manifest.app_id or f"bundle id {settings.bundle_id}", creds.key_id)
    async with AscClient(config, TokenProvider(creds, lifetime=settings.token_lifetime)) as client:
        manifest = await resolve_app_id(client, manifest, settings.bundle_id)
        return await build_plan(client, settings.api, manifest, images, on_live=settings.on_live)
