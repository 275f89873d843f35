"""The demo: push the sample icons to an embedded App Store Connect simulator, then show a re-run has nothing to do."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkgc.config import RunSettings
from bulkgc.manifest import load_manifest
from bulkgc.pipeline import push
from bulkgc.progress import NullSink, ProgressSink
from bulkgc.report import RunReport
from bulkgc.sim import SimConfig, Simulator


@dataclass
class DemoResult:
    first: RunReport
    second: RunReport
    base_url: str
    first_writes: int
    second_writes: int
    images_complete: int
    localizations: int


def _writes(sim: Any) -> int:
    return sum(1 for r in sim.requests if r.kind == "api" and r.method in ("POST", "PATCH", "DELETE"))


async def run_demo(
    manifest: Path,
    *,
    assets: Path | None = None,
    sink: ProgressSink | None = None,
    second_sink: ProgressSink | None = None,
    processing_delay: float = 0.8,
    settings_overrides: dict[str, Any] | None = None,
    before_push: Callable[[int], None] | None = None,
    after_push: Callable[[int, RunReport], None] | None = None,
) -> DemoResult:
    """Start the simulator in-process on a free port with a generated key, push, push again.

    `before_push(n)` / `after_push(n, report)` run around push n (1, 2), so its output can be framed."""
    before = before_push or (lambda n: None)
    after = after_push or (lambda n, report: None)
    app_id = load_manifest(manifest, assets_dir=assets).app_id
    with tempfile.TemporaryDirectory(prefix="bulkgc-demo-") as tmp:
        config = SimConfig(app_id=app_id, processing_delay=processing_delay, part_size=8192)
        async with Simulator(config) as sim:
            key_path = sim.key.write_p8(Path(tmp))
            settings = RunSettings(
                manifest=manifest, assets=assets, base_url=sim.base_url, key_id=sim.key.key_id,
                issuer_id=sim.key.issuer_id, private_key_path=key_path, journal=Path(tmp) / "journal.sqlite",
                poll_interval=max(0.2, processing_delay), **(settings_overrides or {}),
            )
            before(1)
            first = await push(settings, sink=sink or NullSink())
            after(1, first)
            writes_before = _writes(sim)
            before(2)
            second = await push(settings, sink=second_sink or NullSink())
            after(2, second)
            kinds = sorted({i.kind.name for i in load_manifest(manifest, assets_dir=assets).items})
            complete = sum(1 for k in kinds for i in sim.state.images(k) if _state_of(i) == "COMPLETE")
            localizations = sum(len(sim.state.localizations(k)) for k in kinds)
            return DemoResult(first, second, sim.base_url, writes_before, _writes(sim) - writes_before, complete,
                              localizations)


def _state_of(image: dict[str, Any]) -> str:
    """The assetDeliveryState of one of the simulator's image records."""
    if image.get("committed_at") is None:
        return "AWAITING_UPLOAD"
    result = image.get("result")
    return "UPLOAD_COMPLETE" if result is None else str(result["state"])
