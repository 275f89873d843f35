"""Scrub secrets (upload-URL signatures, JWTs, PEM keys) from text meant for humans or logs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.DOTALL)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# Pre-signed upload URLs carry their credentials in the query (Signature=, AWSAccessKeyId=, X-Amz-*=).
_URL = re.compile(r"\bhttps?://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """Drop the query string and fragment (signatures, access keys, expiry) and any user:password@."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "<redacted>" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """Replace anything that looks like a JWT, a PEM block, a bearer token or a signed URL's query."""
    text = _PEM.sub("<redacted key>", str(text))
    text = _JWT.sub("<redacted token>", text)
    text = _BEARER.sub(r"\1<redacted>", text)
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
