"""JSON:API parsing: resources, documents, relationships, included, ErrorResponse entries."""

from __future__ import annotations

import pytest

from bulkgc.asc.jsonapi import (
    DocumentShapeError,
    Document,
    Resource,
    make_body,
    merge_documents,
    parse_document,
    parse_errors,
)


def test_single_resource_with_null_relationship_and_included() -> None:
    """`data: null` relationships give None; included resources are found by type and id."""
    doc = parse_document(
        {
            "data": {
                "type": "gameCenterAchievementLocalizations",
                "id": "L1",
                "attributes": {"locale": "en-US", "name": "Win"},
                "relationships": {
                    "image": {"data": None},
                    "version": {"data": {"type": "gameCenterAchievementVersions", "id": "V1"}},
                },
            },
            "included": [{"type": "gameCenterAchievementVersions", "id": "V1", "attributes": None}],
            "links": {"self": "https://x/v2/l/L1"},
        }
    )
    r = doc.one
    assert r.rel_id("image") is None and r.rel_id("version") == "V1" and r.rel_id("missing") is None
    assert r.attr("locale") == "en-US" and r.attr("nope", 3) == 3
    assert doc.find("gameCenterAchievementVersions", "V1") is not None
    assert doc.included_map()[("gameCenterAchievementVersions", "V1")].attributes == {}


def test_collection_without_relationships_and_paging_meta() -> None:
    """Resources may lack attributes/relationships; links.next and meta.paging.total are exposed."""
    doc = parse_document(
        {
            "data": [{"type": "t", "id": "1"}, {"type": "t", "id": "2", "relationships": None}],
            "links": {"self": "s", "next": "https://api/v1/x?cursor=abc"},
            "meta": {"paging": {"total": 7, "limit": 2}},
        }
    )
    assert [r.id for r in doc.resources] == ["1", "2"]
    assert doc.resources[0].rel_ids("x") == [] and doc.next_url == "https://api/v1/x?cursor=abc"
    assert doc.total == 7 and doc.included == []


def test_to_many_linkage_and_null_data() -> None:
    """rel_ids lists to-many ids; a `data: null` document has no resources; an empty body is an empty Document."""
    r = Resource("t", "1", relationships={"locs": {"data": [{"type": "l", "id": "a"}, {"type": "l", "id": "b"}]}})
    assert r.rel_ids("locs") == ["a", "b"]
    assert parse_document({"data": None, "links": {}}).resources == []
    assert parse_document(None) == Document()
    with pytest.raises(DocumentShapeError):
        parse_document({"data": [{"id": "no type"}]})
    with pytest.raises(DocumentShapeError):
        Document(data=[]).one


def test_parse_errors_several_entries() -> None:
    """Every entry of `errors[]` is kept with code, title, detail, source and meta."""
    errors = parse_errors(
        {
            "errors": [
                {
                    "id": "e1", "status": "409", "code": "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE",
                    "title": "dup", "detail": "Entity with locale: 'ja' already exists.",
                    "source": {"pointer": "/data/attributes/locale"},
                },
                {"status": "400", "code": "PARAMETER_ERROR.INVALID", "title": "bad", "detail": "x",
                 "source": {"parameter": "filter[emaill]"}, "meta": {"associatedErrors": {}}},
                "junk",
            ]
        }
    )
    assert [e.code for e in errors] == ["ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE", "PARAMETER_ERROR.INVALID"]
    assert [e.where for e in errors] == ["/data/attributes/locale", "filter[emaill]"]
    assert errors[1].meta == {"associatedErrors": {}}


@pytest.mark.parametrize("body", [{"errors": None}, {"errors": []}, {}, None, "text", {"errors": "x"}])
def test_parse_errors_tolerates_absence(body: object) -> None:
    """errors null, [], missing or not a list: no entries, no crash."""
    assert parse_errors(body) == []


def test_merge_documents_deduplicates() -> None:
    """Pages are concatenated; data and included are de-duplicated by (type, id); `next` is dropped."""
    p1 = parse_document({"data": [{"type": "t", "id": "1"}], "included": [{"type": "i", "id": "x"}],
                         "links": {"self": "a", "next": "b"}, "meta": {"paging": {"total": 2}}})
    p2 = parse_document({"data": [{"type": "t", "id": "1"}, {"type": "t", "id": "2"}],
                         "included": [{"type": "i", "id": "x"}, {"type": "i", "id": "y"}], "links": {"self": "b"}})
    merged = merge_documents([p1, p2])
    assert [r.id for r in merged.resources] == ["1", "2"]
    assert [r.id for r in merged.included] == ["x", "y"]
    assert merged.next_url is None and merged.total == 2


def test_make_body() -> None:
    """Request bodies carry type, optional id, attributes and relationship linkage."""
    body = make_body("imgs", attributes={"fileSize": 3}, relationships={"loc": ("locs", "L1"), "none": None})
    assert body == {"data": {"type": "imgs", "attributes": {"fileSize": 3},
                             "relationships": {"loc": {"data": {"type": "locs", "id": "L1"}}, "none": {"data": None}}}}
