"""Per-kind rules of the simulator: one module per Game Center kind (declarations, rules, route table).

Adding a kind: a module here that declares its resources (`_shape.declare`), registers its `Kind` and exposes
`ROUTES`; list it in `KIND_MODULES`. Nothing shared names a kind. `review_submission` is not a kind but reads
them: its item's relationships are the registered kinds' versions, so it is imported after them.
"""

from __future__ import annotations

from ..call import Route
from . import achievement, activity, challenge, leaderboard, leaderboard_set
from .gamecenter import register_owners
from .gamecenter import routes as owner_routes

KIND_MODULES = (achievement, leaderboard, leaderboard_set, activity, challenge)

register_owners()

from . import review_submission  # noqa: E402  (after the kinds: its item relationships come from them)

OTHER_MODULES = (review_submission,)


def routes() -> list[Route]:
    """(method, path, api, handler) of every served operation: the owners' reads, then each kind's table."""
    out: list[Route] = list(owner_routes())
    for module in (*KIND_MODULES, *OTHER_MODULES):
        out += module.ROUTES
    return out
