"""Local App Store Connect simulator (aiohttp.web) for Game Center content of every kind.

Achievements, leaderboards, leaderboard sets, activities and challenges, with their versions, localizations and
images; one rules module per kind in `kinds/`.

    from bulkgc.sim import Simulator, SimConfig, FaultRule
    async with Simulator(SimConfig(part_size=4096, processing_delay=0.05)) as sim:
        sim.base_url, sim.app_id, sim.detail_id, sim.key, sim.requests, sim.counters, sim.state

`observers` (a module-level list) is called with every finished API exchange.
"""

from .app import RequestRecord, Simulator, observers
from .auth import SimKey
from .config import SimConfig
from .faults import FaultRule
from .state import SimState

__all__ = ["FaultRule", "RequestRecord", "SimConfig", "SimKey", "SimState", "Simulator", "observers"]
