"""Steam: `ISteamUserStats/GetSchemaForGame` JSON and the optional localization VDF -> source achievements."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bulkgc.importers.common import (
    Collector,
    ImportedSource,
    ImportOptions,
    SourceAchievement,
    SourceText,
    read_json,
    set_text,
    show,
    where,
)
from bulkgc.importers.icons import find_icon
from bulkgc.importers.jsonlines import element_lines
from bulkgc.importers.languages import LocaleResolver
from bulkgc.importers.vdf import VdfBlock, VdfSyntaxError, load_vdf

# Steam's API language names (partner.steamgames.com "Languages") -> Game Center locale; None: no locale.
STEAM_LANGUAGES: dict[str, str | None] = {
    "arabic": "ar-SA",
    "bulgarian": None,
    "schinese": "zh-Hans",
    "tchinese": "zh-Hant",
    "czech": "cs",
    "danish": "da",
    "dutch": "nl-NL",
    "english": "en-US",
    "finnish": "fi",
    "french": "fr-FR",
    "german": "de-DE",
    "greek": "el",
    "hungarian": "hu",
    "indonesian": "id",
    "italian": "it",
    "japanese": "ja",
    "koreana": "ko",
    "norwegian": "no",
    "polish": "pl",
    "portuguese": "pt-PT",
    "brazilian": "pt-BR",
    "romanian": "ro",
    "russian": "ru",
    "spanish": "es-ES",
    "latam": "es-MX",
    "swedish": "sv",
    "thai": "th",
    "turkish": "tr",
    "ukrainian": "uk",
    "vietnamese": "vi",
}
_TOKEN_RE = re.compile(r"^(.*)_(NAME|DESC)$", re.IGNORECASE)
_POSITIONAL_RE = re.compile(r"^NEW_ACHIEVEMENT_(\d+)_(\d+)$", re.IGNORECASE)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_schema(path: Path, options: ImportOptions, collector: Collector) -> list[SourceAchievement]:
    """The achievements of a GetSchemaForGame answer, in schema order (texts in the default locale)."""
    display = show(path)
    loaded = read_json(path, display, collector, "fix the file or download the schema again")
    if loaded is None:
        return []
    text, data = loaded
    game = data.get("game") if isinstance(data, dict) else None
    stats = game.get("availableGameStats") if isinstance(game, dict) else None
    raw = stats.get("achievements") if isinstance(stats, dict) else None
    if not isinstance(raw, list):
        collector.problem(
            display,
            "no game.availableGameStats.achievements array: pass the JSON that "
            "ISteamUserStats/GetSchemaForGame/v2 returns",
        )
        return []
    lines = element_lines(text, ("game", "availableGameStats", "achievements"))
    result: list[SourceAchievement] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        at = where(display, lines[index] if index < len(lines) else None)
        if not isinstance(item, dict):
            collector.problem(at, f"achievements[{index}] is not an object")
            continue
        api_name = _string(item.get("name"))
        name = _string(item.get("displayName"))
        if not api_name:
            collector.problem(
                at, f'achievements[{index}] has no "name" (the API name); every achievement needs one'
            )
            continue
        if api_name in seen:
            collector.problem(at, f"duplicate API name {api_name!r} (first at {seen[api_name]}); keep one")
            continue
        seen[api_name] = at
        hidden = item.get("hidden", 0)
        if hidden not in (0, 1, True, False):
            collector.problem(at, f'{api_name}: "hidden" is {hidden!r}; Steam uses 0 or 1')
        ach = SourceAchievement(source_id=api_name, where=at, hidden=bool(hidden))
        if name is None or not name.strip():
            collector.problem(at, f'{api_name}: no "displayName"; give it a display name in Steamworks')
        else:
            description = _string(item.get("description")) or ""
            ach.texts[options.default_locale] = SourceText(name, description, at)
        icon_url, gray_url = _string(item.get("icon")), _string(item.get("icongray"))
        ach.icon = icon_url  # resolved against --icons later
        if icon_url and gray_url:
            ach.notes.append(
                "two Steam icons → one: the achieved icon (icon) is used, the unachieved (icongray) is not"
            )
        result.append(ach)
    return result


def _language_blocks(top: VdfBlock, display: str, collector: Collector) -> list[tuple[str, VdfBlock, int]]:
    """(language, its Tokens block, line) for each language of the file."""
    found = top.get("lang")
    if found is None or not isinstance(found[0], VdfBlock):
        collector.problem(
            where(display, 1),
            'no "lang" { ... } block: pass the file Steamworks\' "Download Localization Data" gives',
        )
        return []
    single = found[0].get("Language")
    if single is not None and isinstance(single[0], str):
        # the one-language layout: "lang" { "Language" "german" "Tokens" { ... } }
        tokens = found[0].get("Tokens")
        if tokens is None or not isinstance(tokens[0], VdfBlock):
            collector.problem(where(display, single[1]), 'no "Tokens" { ... } block next to "Language"')
            return []
        return [(single[0], tokens[0], single[1])]
    blocks = []
    for language, value, line in found[0].entries:
        if not isinstance(value, VdfBlock):
            collector.problem(where(display, line), f"language {language!r} is not a block")
            continue
        tokens = value.get("Tokens")
        if tokens is None or not isinstance(tokens[0], VdfBlock):
            collector.problem(where(display, line), f'language {language!r} has no "Tokens" {{ ... }} block')
            continue
        blocks.append((language, tokens[0], line))
    return blocks


def apply_localization(
    path: Path, achievements: list[SourceAchievement], resolver: LocaleResolver, collector: Collector
) -> None:
    """Add every language of a Steam localization VDF to the achievements its tokens name."""
    display = show(path)
    try:
        top, duplicates = load_vdf(path, display)
    except VdfSyntaxError as exc:
        collector.problems.append(exc.problem)
        return
    collector.problems.extend(duplicates)
    by_name = {a.source_id.casefold(): a for a in achievements}
    for language, tokens, line in _language_blocks(top, display, collector):
        # tokens are checked even for a language left out, so every problem shows up in one run
        locale = resolver.resolve(language, where(display, line), collector)
        texts: dict[str, dict[str, tuple[str, int]]] = {}
        for token, value, token_line in tokens.entries:
            match = _TOKEN_RE.match(token)
            if not isinstance(value, str) or not match:
                collector.problem(
                    where(display, token_line),
                    f"token {token!r} is not an achievement <API name>_NAME or _DESC string",
                )
                continue
            texts.setdefault(match.group(1), {})[match.group(2).upper()] = (value, token_line)
        for stem, parts in texts.items():
            ach, guessed = by_name.get(stem.casefold()), False
            positional = _POSITIONAL_RE.match(stem)
            if ach is None and positional:
                # Steamworks' own tokens count achievements in blocks of 32 bits per stat, in schema order
                index = (int(positional.group(1)) - 1) * 32 + int(positional.group(2))
                ach, guessed = (achievements[index] if 0 <= index < len(achievements) else None), True
            first_line = min(line for _, line in parts.values())
            if ach is None:
                collector.problem(
                    where(display, first_line),
                    f"token {stem}_NAME/_DESC matches no achievement "
                    "API name in the schema; fix the token or the schema",
                )
                continue
            if "NAME" not in parts:
                collector.problem(
                    where(display, first_line), f"{language}: {stem}_DESC has no {stem}_NAME; add the name"
                )
                continue
            if locale is None:
                continue
            name, name_line = parts["NAME"]
            description = parts.get("DESC", ("", name_line))[0]
            set_text(
                ach, locale, SourceText(name, description, where(display, name_line), language), collector
            )
            if guessed:
                note = f"{language} texts matched by position ({stem} → achievement #{index + 1})"
                if note not in ach.notes:
                    ach.notes.append(note)


def read(
    schema: Path, localization: Path | None, options: ImportOptions, collector: Collector
) -> ImportedSource:
    """Read a Steam schema (and localization file) into an ImportedSource with icons resolved in --icons."""
    resolver = LocaleResolver(STEAM_LANGUAGES, options.locale_map)
    achievements = read_schema(schema, options, collector)
    if localization is not None:
        apply_localization(localization, achievements, resolver, collector)
    inputs = [show(schema)] + ([show(localization)] if localization is not None else [])
    source = ImportedSource(
        "steam",
        inputs,
        achievements,
        options.icons,
        show(options.icons) + "/" if options.icons else "",
        notes=resolver.notes(),
    )
    if achievements and options.icons is None:
        collector.problem(
            show(schema),
            "Steam's schema only links icons (URLs) and bulkgc never downloads: "
            "save them in a folder and pass --icons DIR",
        )
        return source
    for ach in achievements:
        if options.icons is None:
            break
        url = ach.icon
        names = [Path(urlparse(url).path).name] if url else []
        found = find_icon(options.icons, names + [ach.source_id])
        if found is None:
            tried = " or ".join(f"{n}" for n in [*names, f"{ach.source_id}.png"])
            collector.problem(
                ach.where,
                f"{ach.source_id}: no icon in {show(options.icons)} (looked for {tried}); add the file",
            )
        ach.icon = found
    return source
