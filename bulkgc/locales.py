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


# Languages written by name (English and native spellings, accents optional), as people write them in a
# manifest: `french`, `Deutsch`, `Brazilian Portuguese`.
_BY_NAME = {
    "arabic": "ar-SA", "catalan": "ca", "chinese": "zh-Hans", "simplified chinese": "zh-Hans",
    "chinese simplified": "zh-Hans", "traditional chinese": "zh-Hant", "chinese traditional": "zh-Hant",
    "croatian": "hr", "czech": "cs", "danish": "da", "dutch": "nl-NL", "english": "en-US",
    "american english": "en-US", "british english": "en-GB", "australian english": "en-AU",
    "canadian english": "en-CA", "finnish": "fi", "french": "fr-FR", "canadian french": "fr-CA",
    "german": "de-DE", "greek": "el", "hebrew": "he", "hindi": "hi", "hungarian": "hu", "indonesian": "id",
    "italian": "it", "japanese": "ja", "korean": "ko", "malay": "ms", "norwegian": "no", "polish": "pl",
    "portuguese": "pt-BR", "brazilian portuguese": "pt-BR", "european portuguese": "pt-PT", "romanian": "ro",
    "russian": "ru", "slovak": "sk", "spanish": "es-ES", "mexican spanish": "es-MX", "swedish": "sv",
    "thai": "th", "turkish": "tr", "ukrainian": "uk", "vietnamese": "vi",
    "francais": "fr-FR", "deutsch": "de-DE", "espanol": "es-ES", "italiano": "it", "nederlands": "nl-NL",
    "portugues": "pt-BR", "svenska": "sv", "norsk": "no", "dansk": "da", "suomi": "fi", "polski": "pl",
    "turkce": "tr", "russkiy": "ru", "nihongo": "ja", "hangul": "ko",
}
_ACCENTS = str.maketrans("áàâäãåçéèêëíìîïñóòôöõúùûüýÿ", "aaaaaaceeeeiiiinooooouuuuyy")


def is_asc_locale(code: str) -> bool:
    """True when `code` is spelled exactly as App Store Connect expects (case-sensitive)."""
    return code in _LOCALE_SET


def suggest_locale(code: str) -> str | None:
    """The App Store Connect code the user most likely meant by `code`, or None.

    `fr_FR` -> `fr-FR`, `EN-us` -> `en-US`, `en` -> `en-US`, `ja-JP` -> `ja`, `zh-CN` -> `zh-Hans`;
    a language written by name: `french` -> `fr-FR`, `Deutsch` -> `de-DE`, `frensh` -> `fr-FR`.
    """
    if not isinstance(code, str) or not code:
        return None
    folded = code.strip().replace("_", "-").casefold()
    if folded in _BY_FOLDED:
        return _BY_FOLDED[folded]
    special = {"zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "nb-no": "no"}
    if folded in special:
        return special[folded]
    name = " ".join(folded.translate(_ACCENTS).replace("-", " ").replace("_", " ").split())
    if name in _BY_NAME:
        return _BY_NAME[name]
    language = folded.split("-", 1)[0]
    if language in _PREFERRED_FOR_LANGUAGE:
        return _PREFERRED_FOR_LANGUAGE[language]
    if language in _BY_FOLDED:  # e.g. ja-JP -> ja
        return _BY_FOLDED[language]
    regional = [c for c in ASC_LOCALES if c.casefold().startswith(language + "-")]
    if regional:
        return regional[0]
    close = difflib.get_close_matches(folded, list(_BY_FOLDED), n=1, cutoff=0.6)
    if close:
        return _BY_FOLDED[close[0]]
    if len(name) > 3:  # a misspelt language name ("frensh", "japanesse"); short strings match too easily
        named = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.75)
        if named:
            return _BY_NAME[named[0]]
    return None
