"""Source languages -> Game Center locales: --locale-map overrides, per-source tables, guesses, notes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bulkgc.importers.common import Collector
from bulkgc.locales import is_asc_locale, suggest_locale

SKIP = "skip"  # --locale-map LANG=skip: leave that language out on purpose


def fold_language(name: str) -> str:
    """The key languages are compared by: case-insensitive, `_` and `-` alike."""
    return name.strip().casefold().replace("_", "-")


def parse_locale_map(items: list[str]) -> tuple[dict[str, str], list[str]]:
    """`--locale-map LANG=LOCALE[,LANG=LOCALE...]` values -> ({folded language: locale or 'skip'}, errors)."""
    result: dict[str, str] = {}
    errors: list[str] = []
    for item in items:
        for pair in filter(None, (p.strip() for p in item.split(","))):
            lang, sep, locale = pair.partition("=")
            lang, locale = lang.strip(), locale.strip()
            if not sep or not lang or not locale:
                errors.append(
                    f"--locale-map {pair!r}: write LANGUAGE=LOCALE (e.g. schinese=zh-Hans) or LANGUAGE=skip"
                )
                continue
            if locale.casefold() == SKIP:
                locale = SKIP
            elif not is_asc_locale(locale):
                guess = suggest_locale(locale)
                fix = f"did you mean {guess!r}?" if guess else "see docs/IMPORT.md for the list"
                errors.append(f"--locale-map {pair!r}: {locale!r} is not a Game Center locale; {fix}")
                continue
            result[fold_language(lang)] = locale
    return result, errors


class LocaleResolver:
    """Maps a source's language names/codes to Game Center locales: overrides, then the table, then a guess.

    The table maps a language to an ASC locale, or to None for a language Game Center has no locale for
    (its texts are left out, noted). A language found nowhere is a problem naming `--locale-map` as the fix.
    """

    def __init__(
        self,
        table: Mapping[str, str | None],
        overrides: Mapping[str, str],
        guess: Callable[[str], tuple[str | None, str | None] | None] | None = None,
    ) -> None:
        self.table = {fold_language(k): v for k, v in table.items()}
        self.overrides = dict(overrides)
        self.guess = guess
        self.used_overrides: set[str] = set()
        self.dropped: dict[str, int] = {}  # language -> texts left out
        self.guessed: dict[str, str] = {}  # language -> note
        self.reported_unknown: set[str] = set()

    def resolve(self, language: str, at: str, collector: Collector) -> str | None:
        """The ASC locale for `language`, or None (left out: noted, or unknown: a problem)."""
        key = fold_language(language)
        if key in self.overrides:
            self.used_overrides.add(key)
            locale = self.overrides[key]
            if locale == SKIP:
                self.dropped[language] = self.dropped.get(language, 0) + 1
                return None
            return locale
        if key in self.table:
            mapped = self.table[key]
            if mapped is None:
                self.dropped[language] = self.dropped.get(language, 0) + 1
            return mapped
        if self.guess is not None:
            found = self.guess(language)
            if found is not None:
                guessed, note = found
                if guessed is None:
                    self.dropped[language] = self.dropped.get(language, 0) + 1
                elif note:
                    self.guessed.setdefault(language, note)
                return guessed
        if key not in self.reported_unknown:
            self.reported_unknown.add(key)
            collector.problem(
                at,
                f"unknown language {language!r}: map it to a Game Center locale with "
                f"--locale-map {language}=LOCALE (e.g. {language}=fr-FR), or leave it out "
                f"with --locale-map {language}=skip",
            )
        return None

    def notes(self) -> list[str]:
        """Global notes: languages left out, languages guessed, overrides that matched nothing."""
        out = []
        for language, count in sorted(self.dropped.items()):
            why = (
                "left out by --locale-map"
                if self.overrides.get(fold_language(language)) == SKIP
                else "has no Game Center locale"
            )
            out.append(
                f"language {language!r} {why}: its {count} text(s) were not imported "
                f"(--locale-map {language}=LOCALE keeps them under a locale you choose)"
            )
        for language, note in sorted(self.guessed.items()):
            out.append(f"language {language!r}: {note} (override with --locale-map {language}=LOCALE)")
        for key in sorted(set(self.overrides) - self.used_overrides):
            out.append(f"--locale-map {key}={self.overrides[key]} matched no language in the input")
        return out
