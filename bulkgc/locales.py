"""The locale codes App Store Connect accepts for Game Center localizations, and a 'did you mean' helper."""

from __future__ import annotations

import difflib

# The App Store Connect localization codes (App Store Connect Help, "App Store localizations").
# Game Center achievement localizations use the same codes. Order: as Apple lists them.
ASC_LOCALES: tuple[str, ...] = (
    "ar-SA",
    "ca",
    "zh-Hans",
    "zh-Hant",
    "hr",
    "cs",
    "da",
    "nl-NL",
    "en-AU",
    "en-CA",
    "en-GB",
    "en-US",
    "fi",
    "fr-FR",
    "fr-CA",
    "de-DE",
    "el",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "ms",
    "no",
    "pl",
    "pt-BR",
    "pt-PT",
    "ro",
    "ru",
    "sk",
    "es-MX",
    "es-ES",
    "sv",
    "th",
    "tr",
    "uk",
    "vi",
)

_LOCALE_SET = frozenset(ASC_LOCALES)
_BY_FOLDED = {code.casefold(): code for code in ASC_LOCALES}
# When only a language is given, the region App Store Connect users most often mean.
_PREFERRED_FOR_LANGUAGE = {
    "en": "en-US",
    "fr": "fr-FR",
    "de": "de-DE",
    "es": "es-ES",
    "pt": "pt-BR",
    "nl": "nl-NL",
    "ar": "ar-SA",
    "zh": "zh-Hans",
    "nb": "no",
    "iw": "he",
    "in": "id",
}


def is_asc_locale(code: str) -> bool:
    """True when `code` is spelled exactly as App Store Connect expects (case-sensitive)."""
    return code in _LOCALE_SET


def suggest_locale(code: str) -> str | None:
    """The App Store Connect code the user most likely meant by `code`, or None.

    `fr_FR` -> `fr-FR`, `EN-us` -> `en-US`, `en` -> `en-US`, `ja-JP` -> `ja`, `zh-CN` -> `zh-Hans`.
    """
    if not isinstance(code, str) or not code:
        return None
    folded = code.strip().replace("_", "-").casefold()
    if folded in _BY_FOLDED:
        return _BY_FOLDED[folded]
    special = {"zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "nb-no": "no"}
    if folded in special:
        return special[folded]
    language = folded.split("-", 1)[0]
    if language in _PREFERRED_FOR_LANGUAGE:
        return _PREFERRED_FOR_LANGUAGE[language]
    if language in _BY_FOLDED:  # e.g. ja-JP -> ja
        return _BY_FOLDED[language]
    regional = [c for c in ASC_LOCALES if c.casefold().startswith(language + "-")]
    if regional:
        return regional[0]
    close = difflib.get_close_matches(folded, list(_BY_FOLDED), n=1, cutoff=0.6)
    return _BY_FOLDED[close[0]] if close else None
