"""Submit's declarations against Apple's spec, and how versions are spread over submissions (no server)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from openapi_check import load_spec

from bulkgc.kinds import KINDS
from bulkgc.sim.kinds.review_submission import item_relationship
from bulkgc.sim.resources import KINDS as SIM_KINDS
from bulkgc.sim.resources import RESOURCES
from bulkgc.submit import Candidate, OpenSubmission, SubmissionPlan, review_relationships


def _item_relationships() -> dict[str, str]:
    """Relationship name -> the version type it takes, from Apple's ReviewSubmissionItemCreateRequest."""
    schema = load_spec()["components"]["schemas"]["ReviewSubmissionItemCreateRequest"]
    rels = schema["properties"]["data"]["properties"]["relationships"]["properties"]
    return {
        name: rel["properties"]["data"]["properties"]["type"]["enum"][0]
        for name, rel in rels.items()
        if name != "reviewSubmission"
    }


def test_every_client_kind_with_versions_names_a_spec_relationship_for_its_version_type() -> None:
    """Each client kind's review_item_rel is a relationship of Apple's item schema taking its version type."""
    spec = _item_relationships()
    declared = [k.api("v2").version for k in KINDS if k.api("v2").version is not None]
    assert declared and all(v is not None and v.review_item_rel for v in declared)
    for version in declared:
        assert version is not None and version.review_item_rel is not None
        assert spec[version.review_item_rel] == version.type
    assert review_relationships() == sorted(v.review_item_rel for v in declared if v and v.review_item_rel)


def test_the_simulator_serves_each_kinds_spec_relationship() -> None:
    """The simulator's item relationships (one per kind it serves) are exactly Apple's Game Center ones."""
    spec = _item_relationships()
    served = {item_relationship(k): RESOURCES[k.version].type for k in SIM_KINDS.values()}
    assert served == {name: t for name, t in spec.items() if name.startswith("gameCenter")}


def _candidates(n: int) -> list[Candidate]:
    plan: Any = SimpleNamespace(kind=SimpleNamespace(name="achievement"), vendor_id="v")
    return [
        Candidate(plan, "gameCenterAchievementVersion", f"id{i}", 1, "PREPARE_FOR_SUBMISSION", False)
        for i in range(n)
    ]


def test_open_submissions_with_room_are_filled_first_then_200_per_new_one() -> None:
    """450 versions: the journal's submission (150 items) first, then the other open one, then new ones."""
    subs = [
        OpenSubmission("other", "IOS", 190),
        OpenSubmission("mac", "MAC_OS", 0),
        OpenSubmission("ours", "IOS", 150),
    ]
    sp = SubmissionPlan("IOS", "app", _candidates(450), [], [], [], subs)
    sp.assign(prefer=["ours"])
    assert [(sid, len(items)) for sid, items in sp.batches] == [
        ("ours", 50),
        ("other", 10),
        (None, 200),
        (None, 190),
    ]
    assert sp.new_submissions == 2
    assert [c.version_id for _, items in sp.batches for c in items] == [f"id{i}" for i in range(450)]
