"""The mapping rules of docs/IMPORT.md: vendor identifiers, points, text lengths (change both together)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from fractions import Fraction

from bulkgc.kinds.achievement import ACHIEVEMENT

# Apple's limits as the achievement kind declares them (bulkgc/kinds/achievement.py)
MAX_POINTS: int = ACHIEVEMENT.attribute("points").limit or 100
MAX_TOTAL_POINTS: int = dict(ACHIEVEMENT.totals)["points"]
MAX_VENDOR_IDENTIFIER: int = ACHIEVEMENT.attribute("vendor_identifier").limit or 100

MAX_VENDOR_PREFIX = 80  # leaves room for an id and its 9-character hash suffix within Apple's 100
_INVALID_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_PREFIX_RE = re.compile(r"[A-Za-z0-9._-]*")


def vendor_identifier(prefix: str, source_id: str) -> tuple[str, str | None]:
    """(Game Center vendor identifier, note) for a source id: the same input always gives the same id.

    A source id that is already valid (ASCII letters, digits, `.`, `_`, `-`) and fits is kept as it is
    after the prefix. Otherwise accents are removed, every run of other characters becomes `_`, and
    `-` plus the first 8 hex digits of the SHA-256 of the original id are appended, so two different
    source ids can never end up with the same identifier; the result is cut to fit 100 characters.
    """
    valid = bool(source_id) and _INVALID_ID_CHARS.search(source_id) is None
    if valid and len(prefix) + len(source_id) <= MAX_VENDOR_IDENTIFIER:
        return prefix + source_id, None
    ascii_id = unicodedata.normalize("NFKD", source_id).encode("ascii", "ignore").decode("ascii")
    slug = _INVALID_ID_CHARS.sub("_", ascii_id).strip("_") or "achievement"
    suffix = "-" + hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:8]
    slug = slug[: MAX_VENDOR_IDENTIFIER - len(prefix) - len(suffix)].rstrip("_")
    result = prefix + slug + suffix
    why = "has characters Game Center refuses" if not valid else "is too long"
    return result, f"source id {source_id!r} {why}: vendor identifier {result!r} (slug + hash of the id)"


def rescale_points(source: list[int | None], fixed: int | None) -> tuple[list[int], str | None]:
    """Manifest points for each achievement and a global note, by the rule in docs/IMPORT.md.

    `--points N` sets every achievement to N. A source without points gets an equal share of 1,000,
    at most 100 each. Source points are multiplied by one factor, f = min(1, 100 / largest,
    1000 / total), and rounded down, so both of Apple's limits hold and the order is kept.
    """
    count = len(source)
    if fixed is not None:
        return [fixed] * count, f"points: every achievement set to {fixed} by --points"
    if count == 0:
        return [], None
    if all(p is None for p in source):
        share = min(MAX_POINTS, MAX_TOTAL_POINTS // count)
        return [share] * count, (
            f"points: the source has none; each of the {count} achievement(s) gets an "
            f"equal share of {MAX_TOTAL_POINTS}: {share} (set them with --points N)"
        )
    values = [p or 0 for p in source]
    largest, total = max(values), sum(values)
    factor = Fraction(1)
    if largest > MAX_POINTS:
        factor = min(factor, Fraction(MAX_POINTS, largest))
    if total > MAX_TOTAL_POINTS:
        factor = min(factor, Fraction(MAX_TOTAL_POINTS, total))
    if factor == 1:
        return values, None
    scaled = [int(v * factor) for v in values]  # int() of a non-negative Fraction rounds down
    note = (
        f"points: source points (largest {largest}, total {total}) multiplied by {factor} "
        f"(≈{float(factor):.3f}) and rounded down to meet Game Center's ≤ {MAX_POINTS} each and "
        f"≤ {MAX_TOTAL_POINTS} in total: now largest {max(scaled)}, total {sum(scaled)}"
    )
    return scaled, note


def fit_text(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary when one is near, ending in an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def validate_vendor_prefix(prefix: str) -> str | None:
    """An error message for a bad --vendor-prefix, or None."""
    if not _PREFIX_RE.fullmatch(prefix):
        return (
            f"--vendor-prefix {prefix!r}: only ASCII letters, digits, '.', '_' and '-' are allowed "
            "(e.g. com.studio.game.)"
        )
    if len(prefix) > MAX_VENDOR_PREFIX:
        return f"--vendor-prefix is {len(prefix)} characters; keep it to {MAX_VENDOR_PREFIX} or fewer"
    return None
