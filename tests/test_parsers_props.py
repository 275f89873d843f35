"""Property tests of everything that parses what App Store Connect sends back (X-Rate-Limit, ErrorResponse,
JSON:API documents and the resources read from them): any input gives a value or a clear error
(DocumentShapeError / ApiError), never an unexpected exception. The manifest has its own: test_manifest_props.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bulkgc.asc.client import build_api_error
from bulkgc.asc.jsonapi import Document, DocumentShapeError, Resource, parse_document, parse_errors
from bulkgc.asc.ratelimit import RateLimit, parse_rate_limit
from bulkgc.kinds import kind, kind_api
from bulkgc.errors import (
    ApiError,
    AuthError,
    ConflictError,
    ErrorDetail,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from bulkgc.remote import RemoteImage, RemoteLocalization

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
FAKE_JWT = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
# JSON:API-ish objects: the keys a parser looks at, holding anything
KEYS = ["data", "included", "links", "meta", "errors", "type", "id", "attributes", "relationships", "next",
        "paging", "total", "status", "code", "title", "detail", "source", "pointer", "parameter",
        "fileName", "fileSize", "assetDeliveryState", "state", "uploadOperations", "locale", "image"]
shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(KEYS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=30,
)
any_json = json_values | shaped


# ---------------------------------------------------------------------------------------------- X-Rate-Limit


@given(st.one_of(st.none(), st.text(), st.binary().map(lambda b: b.decode("latin-1"))))
@example("user-hour-lim:3500;user-hour-rem:500;")
@example("user-hour-lim:1e400;user-hour-rem:5")
@example("user-hour-lim:nan;user-hour-rem:5")
@example("user-hour-lim:-1;user-hour-rem:5")
@example(";;;:::===,,,")
def test_rate_limit_parser_never_raises(header: str | None) -> None:
    """Any header text gives None or a RateLimit with 0 <= remaining <= limit."""
    parsed = parse_rate_limit(header)
    assert parsed is None or (isinstance(parsed, RateLimit) and parsed.limit > 0
                              and 0 <= parsed.remaining <= parsed.limit)


pieces = st.sampled_from([" ", "", "\t"])


@given(st.integers(1, 10**7), st.integers(0, 10**7), st.booleans(), pieces, pieces, st.sampled_from([":", "="]),
       st.lists(st.tuples(st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True), st.text("0123456789ab", max_size=5)),
                max_size=3))
def test_rate_limit_parser_reads_every_well_formed_variant(
    limit: int, remaining: int, swap: bool, pad1: str, pad2: str, sep: str, extra: list[tuple[str, str]],
) -> None:
    """Both numbers are read whatever the order, spacing, separator and unknown keys around them."""
    parts = [f"user-hour-lim{sep}{pad1}{limit}", f"user-hour-rem{pad2}{sep}{remaining}"]
    if swap:
        parts.reverse()
    parts += [f"{k}:{v}" for k, v in extra if not k.startswith("user-hour-")]
    parsed = parse_rate_limit(";".join(parts) + ";")
    assert parsed == RateLimit(limit, min(remaining, limit), parsed.extra if parsed else {})


# ---------------------------------------------------------------------------------------------- ErrorResponse


@given(any_json)
def test_error_response_parser_never_raises(obj: Any) -> None:
    """Any decoded body gives a list of ErrorDetail with string fields (empty when it is no ErrorResponse)."""
    errors = parse_errors(obj)
    assert isinstance(errors, list)
    for e in errors:
        assert isinstance(e, ErrorDetail)
        assert all(isinstance(getattr(e, f), str) for f in ("status", "code", "title", "detail"))
        assert e.where is None or e.where is not None  # computing it must not raise
        assert e.source is None or isinstance(e.source, dict)


CLASS_FOR = {401: AuthError, 403: AuthError, 404: NotFoundError, 409: ConflictError, 429: RateLimitedError}


@settings(max_examples=300)
@given(st.integers(400, 599), st.one_of(st.binary(max_size=300), any_json.map(lambda o: json.dumps(o).encode())),
       st.sampled_from(["application/json", "text/plain", "text/html", "", "application/json; charset=utf-8"]))
@example(500, b"[" * 100_000, "application/json")  # nested deeper than the decoder's recursion limit
@example(401, json.dumps({"errors": [{"code": "NOT_AUTHORIZED", "detail": f"Bearer {FAKE_JWT}"}]}).encode(),
         "application/json")
@example(502, f"<html>token {FAKE_JWT}</html>".encode(), "text/html")
@example(400, b"\xff\xfe{", "application/json")
def test_error_answer_always_becomes_an_api_error_without_tokens(status: int, body: bytes, content_type: str) -> None:
    """Any error body and status give the right ApiError subclass with a message that holds no JWT."""
    err = build_api_error(status, "POST", "/v2/x", body, content_type)
    expected = CLASS_FOR.get(status, ServerError if status >= 500 else ApiError)
    assert type(err) is expected
    assert err.status == status and isinstance(str(err), str) and str(err)
    assert not JWT.search(str(err))
    assert isinstance(err.code, str)


# ---------------------------------------------------------------------------------------------- JSON:API


def exercise(doc: Document) -> None:
    """Every accessor the pipeline uses, on every resource of the document."""
    assert isinstance(doc.resources, list)
    doc.next_url, doc.total, doc.included_map()  # noqa: B018
    try:
        doc.one  # noqa: B018
    except DocumentShapeError:
        pass
    for r in [*doc.resources, *doc.included]:
        assert isinstance(r, Resource) and isinstance(r.type, str) and isinstance(r.id, str)
        for name in ("image", "versions", "localizations", "x"):
            assert r.rel_id(name) is None or isinstance(r.rel_id(name), str)
            assert all(isinstance(i, str) for i in r.rel_ids(name))
        doc.find(r.type, r.id), doc.of_type(r.type), r.attr("fileName")  # noqa: B018


@settings(max_examples=400)
@given(any_json)
@example({"data": {"type": "t", "id": "1", "attributes": [1]}})
@example({"data": {"type": "t", "id": "1", "links": "abc"}})
@example({"data": [], "included": 5})
@example({"data": {"type": "t", "id": "1", "relationships": {"image": {"data": [{"id": None}]}}}})
def test_document_parser_gives_a_document_or_a_shape_error(obj: Any) -> None:
    """Any decoded body gives a Document whose accessors work, or a DocumentShapeError; nothing else."""
    try:
        doc = parse_document(obj)
    except DocumentShapeError:
        return
    exercise(doc)


@settings(max_examples=400)
@given(st.dictionaries(st.sampled_from(KEYS), any_json, max_size=6), any_json)
@example({"fileSize": "twelve"}, None)
@example({"assetDeliveryState": "COMPLETE"}, None)
@example({"assetDeliveryState": {"state": 5, "errors": "IMAGE_BAD"}, "uploadOperations": 3}, None)
@example({"locale": 7}, {"image": {"data": {"type": "gameCenterAchievementImages", "id": "i"}}})
def test_remote_image_and_localization_are_read_or_refused_clearly(attributes: Any, relationships: Any) -> None:
    """Whatever attributes App Store Connect returns, reading an image or localization gives a value or a
    DocumentShapeError naming the resource; never a TypeError/ValueError/AttributeError from deep inside."""
    kapi = kind_api("achievement", "v2")
    raw = {"type": kapi.image_type, "id": "img-1", "attributes": attributes}
    try:
        doc = parse_document({"data": {**raw, "type": kapi.loc_type, "id": "loc-1", "relationships": relationships},
                              "included": [raw]})
    except DocumentShapeError:
        return
    for read in (lambda: RemoteImage.from_resource(doc.included[0]),
                 lambda: RemoteLocalization.from_resource(doc.one, doc, kind("achievement"), kapi)):
        try:
            value = read()
        except DocumentShapeError as exc:
            assert "img-1" in str(exc) or "loc-1" in str(exc)
            continue
        if isinstance(value, RemoteImage):
            assert isinstance(value.state, str) and isinstance(value.file_size, int)
            assert all(isinstance(op, dict) for op in value.upload_operations)
            assert all(isinstance(c, str) for c in value.error_codes)
        else:
            assert isinstance(value.locale, str)
