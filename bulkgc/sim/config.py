"""SimConfig: every knob of the local App Store Connect simulator, one frozen keyword-only object."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .faults import FaultRule


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """How the simulator listens, what it seeds, and how strict, slow and faulty it is."""

    host: str = "127.0.0.1"
    """Address to listen on (loopback only unless you know why)."""
    port: int = 0
    """TCP port; 0 picks a free one (read it back from `Simulator.base_url`)."""
    app_id: str = "6446000001"
    """Id of the seeded app (Game Center enabled: it has one gameCenterDetail)."""
    bundle_id: str = "com.example.simgame"
    """Bundle id of the seeded app (GET /v1/apps?filter[bundleId]= finds it)."""
    use_group: bool = False
    """Seed a Game Center group that the detail belongs to; achievements are then owned by the group."""
    seed: int = 0
    """Seed of every random choice (ids, jitter, fault probabilities, stuck images)."""
    state_file: Path | None = None
    """JSON file the state is loaded from on start and saved to after every write and on stop;
    uploaded part bytes go to `<state_file>.parts/`. None keeps everything in memory."""

    # --- credentials
    key_id: str | None = None
    """Key id (JWT `kid`) of the seeded team key; None generates one from the seed."""
    issuer_id: str | None = None
    """Issuer id (JWT `iss`) of the seeded team key; None generates a UUID from the seed."""
    private_key_pem: str | None = None
    """PEM of the seeded P-256 key; None generates a fresh key (written to the state file if any)."""
    max_token_lifetime: int = 1200
    """Longest accepted `exp - iat` in seconds (Apple: 20 minutes)."""
    token_leeway: float = 30.0
    """Clock skew tolerated on `exp`/`iat`, seconds."""

    # --- JSON:API paging
    default_limit: int = 50
    """Page size when a listing has no `limit` parameter [INFER: Apple does not document it]."""
    default_included_limit: int = 10
    """Related resources per relationship in `included` when `limit[<rel>]` is absent [INFER]."""

    # --- Game Center rules (App Store Connect Help: 100 achievements, 100 points each, 1000 total)
    max_achievements: int = 100
    """Achievements per detail or group; one more answers 409."""
    max_points: int = 100
    """Points of one achievement."""
    max_total_points: int = 1000
    """Sum of points of all achievements of a detail or group."""
    # [DOC A12] leaderboards: <= 100 per app without sets, <= 500 with sets; <= 100 sets, <= 100 leaderboards per set
    max_leaderboards: int = 100
    """Leaderboards per detail or group while it has no leaderboard set; one more answers 409."""
    max_leaderboards_with_sets: int = 500
    """Leaderboards per detail or group once it has a leaderboard set."""
    max_leaderboard_sets: int = 100
    """Leaderboard sets per detail or group."""
    max_leaderboards_per_set: int = 100
    """Member leaderboards of one leaderboard set."""
    max_activities: int = 100
    """Activities per detail or group [INFER: no documented limit; a bound keeps a runaway client visible]."""
    max_challenges: int = 100
    """Challenges per detail or group [INFER: no documented limit]."""

    # --- uploads and processing
    part_size: int = 5 * 1024 * 1024
    """Bytes per upload operation (the last one is shorter)."""
    upload_url_ttl: float = 7 * 24 * 3600.0
    """Seconds an upload URL stays valid after the reservation (Apple: about a week)."""
    processing_delay: float = 0.5
    """Seconds between commit and the end of processing (COMPLETE or FAILED)."""
    processing_jitter: float = 0.0
    """Uniform +/- jitter added to `processing_delay`, seconds."""
    stuck_fraction: float = 0.0
    """Fraction (0..1, seeded) of committed images that stay UPLOAD_COMPLETE forever."""

    # --- rate limits
    rate_limit: int = 3600
    """Requests per key per rolling window (`user-hour-lim`)."""
    rate_window: float = 3600.0
    """Length of the rolling window, seconds (tests compress the hour)."""
    burst_limit: int | None = None
    """Concurrent in-flight API requests per key before 429 (None: no burst limit)."""

    # --- latency model
    api_latency: float = 0.0
    """Seconds added to every API request."""
    api_jitter: float = 0.0
    """Uniform extra 0..api_jitter seconds per API request (seeded)."""
    upload_latency: float = 0.0
    """Seconds added to every part upload."""
    upload_bandwidth: float | None = None
    """Bytes per second of a part upload (None: unlimited)."""

    # --- faults and bookkeeping
    faults: tuple[FaultRule, ...] = field(default_factory=tuple)
    """Fault rules installed at start (more via `Simulator.add_fault` or POST /sim/faults)."""
    max_recorded_requests: int = 100_000
    """Request records kept in memory (oldest dropped first)."""

    def __post_init__(self) -> None:
        problems = []
        if self.part_size < 1:
            problems.append("part_size must be >= 1")
        if not 0.0 <= self.stuck_fraction <= 1.0:
            problems.append("stuck_fraction must be within 0..1")
        if self.rate_limit < 1 or self.rate_window <= 0:
            problems.append("rate_limit and rate_window must be positive")
        if self.burst_limit is not None and self.burst_limit < 1:
            problems.append("burst_limit must be >= 1 or None")
        if not 1 <= self.default_limit <= 200:
            problems.append("default_limit must be within 1..200")
        for name in ("processing_delay", "processing_jitter", "api_latency", "api_jitter", "upload_latency"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.upload_bandwidth is not None and self.upload_bandwidth <= 0:
            problems.append("upload_bandwidth must be > 0 or None")
        if problems:
            raise ValueError("invalid SimConfig: " + "; ".join(problems))
        if self.state_file is not None and not isinstance(self.state_file, Path):
            object.__setattr__(self, "state_file", Path(self.state_file))
        object.__setattr__(self, "faults", tuple(self.faults))


def field_docs() -> dict[str, str]:
    """Each SimConfig field's documentation string (the text right below it), for CLI help."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(SimConfig))
    docs: dict[str, str] = {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def config_fields() -> list[Any]:
    """The dataclass fields of SimConfig (for the CLI)."""
    return list(fields(SimConfig))
