"""Per-kind rules of the simulator: one module per Game Center kind (declarations, rules, route table).

Adding a kind: a module here that declares its resources (`_shape.declare`), registers its `Kind` and exposes
`ROUTES`; list it in `KIND_MODULES`. Nothing shared names a kind.
"""

from __future__ import annotations

from ..call import Route
from . import achievement, activity, challenge, leaderboard, leaderboard_set
from .gamecenter import register_owners
from .gamecenter import routes as owner_routes

KIND_MODULES = (achievement, leaderboard, leaderboard_set, activity, challenge)

register_owners()


def routes() -> list[Route]:
    """(method, path, api, handler) of every served operation: the owners' reads, then each kind's table."""
    out: list[Route] = list(owner_routes())
    for module in KIND_MODULES:
        out += module.ROUTES
    return out
