"""One API call as handlers see it, and the small view of the server they use (handlers never import app)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .jsonapi import Query, self_url
from .render import Renderer

if TYPE_CHECKING:  # the store imports the kinds, which import this module
    from .config import SimConfig
    from .faults import FaultPlan
    from .state import SimState


class Host(Protocol):
    """What handlers use of the running simulator (`app.Simulator` provides it)."""

    state: SimState
    config: SimConfig
    faults: FaultPlan
    rng: random.Random
    base_url: str
    upload_tokens: dict[str, str]

    def schedule_processing(self, image_id: str) -> None: ...


@dataclass
class Call:
    sim: Host
    method: str
    path: str
    route: str
    api: str
    query: Query
    items: list[tuple[str, str]]
    body: Any
    rid: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def renderer(self, api: str | None = None) -> Renderer:
        return Renderer(
            self.sim.state,
            self.sim.base_url,
            api or self.api,
            self.query,
            self.sim.config.default_included_limit,
        )

    @property
    def self_url(self) -> str:
        return self_url(self.sim.base_url, self.path, self.items)


Result = tuple[int, Any, dict[str, str]]
Handler = Callable[[Call], Awaitable[Result]]
Route = tuple[str, str, str, Handler]
"""(method, path template, API version, handler)."""
