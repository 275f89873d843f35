"""Mapped achievements -> manifest text (TOML or JSON), the mapping report, and an all-or-nothing write."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkgc.errors import ManifestError, Problem
from bulkgc.importers.common import (
    Collector,
    ImportedSource,
    ImportOptions,
    ImportProblemsError,
    SourceAchievement,
    show,
)
from bulkgc.importers.icons import triage_icon
from bulkgc.importers.rules import MAX_TOTAL_POINTS, fit_text, rescale_points, vendor_identifier
from bulkgc.kinds.achievement import ACHIEVEMENT
from bulkgc.manifest import TEXT_LIMITS, load_manifest

MAX_ACHIEVEMENTS = ACHIEVEMENT.max_items

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Mapped:
    """One achievement as it goes into the manifest, plus its report entry."""

    source: SourceAchievement
    vendor_identifier: str
    reference_name: str
    points: int
    locales: dict[str, tuple[str, str]]  # locale -> (name, description)
    notes: list[str]


def _map_achievements(
    source: ImportedSource, options: ImportOptions, collector: Collector, global_notes: list[str]
) -> list[Mapped]:
    achievements = source.achievements
    if len(achievements) > MAX_ACHIEVEMENTS:
        collector.problem(
            source.inputs[0],
            f"{len(achievements)} achievements: Game Center allows at most "
            f"{MAX_ACHIEVEMENTS} per app; remove some from the source",
        )
    if not achievements and not collector.problems:
        collector.problem(source.inputs[0], "no achievements found; check that this is the right file")
    if options.points is not None and options.points * len(achievements) > MAX_TOTAL_POINTS:
        collector.problem(
            "--points",
            f"{options.points} × {len(achievements)} achievements = "
            f"{options.points * len(achievements)} points, over Game Center's "
            f"{MAX_TOTAL_POINTS}; use --points {MAX_TOTAL_POINTS // len(achievements)} "
            "or less",
        )
    points, points_note = rescale_points([a.points for a in achievements], options.points)
    if points_note:
        global_notes.append(points_note)
    mapped: list[Mapped] = []
    by_vid: dict[str, SourceAchievement] = {}
    for ach, pts in zip(achievements, points, strict=True):
        notes = list(ach.notes)
        bad = [
            t
            for t in (ach.source_id, *(x for v in ach.texts.values() for x in (v.name, v.description)))
            if _SURROGATE.search(t)
        ]
        if bad:  # JSON "\ud800" escapes decode to text no file can hold
            collector.problem(
                ach.where,
                f"{bad[0]!r} holds a lone UTF-16 surrogate (a broken \\u escape); fix the text in the source",
            )
            continue
        vid, vid_note = vendor_identifier(options.vendor_prefix, ach.source_id)
        if vid_note:
            notes.append(vid_note)
        first = by_vid.setdefault(vid, ach)
        if first is not ach:
            collector.problem(
                ach.where,
                f"vendor identifier {vid!r} is also made from {first.source_id!r} "
                f"({first.where}); rename one of them in the source",
            )
        if not ach.texts:
            collector.problem(
                ach.where,
                f"achievement {ach.source_id!r} has no texts in any language Game "
                "Center has a locale for; add them or map a language with --locale-map",
            )
            continue
        if ach.points is not None and ach.points != pts:
            notes.append(f"points {ach.points} → {pts} (rescaled, see the points note)")
        if ach.hidden:
            notes.append("hidden → show_before_earned = false")
        if ach.steps is not None:
            notes.append(
                f"incremental ({ach.steps} steps): Game Center has no steps; the game must report "
                f"progress as a percentage (steps done × 100 / {ach.steps})"
            )
        locales: dict[str, tuple[str, str]] = {}
        ordered = sorted(ach.texts, key=lambda loc: (loc != options.default_locale, loc))
        if options.default_locale not in ach.texts:
            notes.append(f"no {options.default_locale} texts: reference name taken from {ordered[0]}")
        for locale in ordered:
            text = ach.texts[locale]
            name = fit_text(text.name, TEXT_LIMITS["name"])
            if name != text.name.strip():
                notes.append(f"{locale} name cut to {TEXT_LIMITS['name']} characters: {name!r}")
            description = text.description.strip()
            if not description:
                description = text.name.strip()
                notes.append(f"{locale}: no description in the source; the name is used as the description")
            fitted = fit_text(description, TEXT_LIMITS["before_earned_description"])
            if fitted != description:
                notes.append(
                    f"{locale} description cut to {TEXT_LIMITS['before_earned_description']} characters"
                )
            if not name:
                collector.problem(
                    text.where,
                    f"achievement {ach.source_id!r} has an empty {locale} name; give it a name in the source",
                )
            locales[locale] = (name, fitted)
        notes.append(
            "one description → both Game Center descriptions (before and after earned); edit "
            "after_earned_description if it should differ"
        )
        reference = fit_text(ach.texts[ordered[0]].name, TEXT_LIMITS["reference_name"])
        mapped.append(Mapped(ach, vid, reference, pts, locales, notes))
    return mapped


def _toml_string(value: str) -> str:
    """A TOML basic string (escapes quotes, backslashes and control characters)."""
    out = ['"']
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _manifest_data(mapped: list[Mapped], options: ImportOptions, assets: str) -> dict[str, Any]:
    return {
        "app_id": options.app_id,
        "assets": assets,
        "achievement": [
            {
                "vendor_identifier": m.vendor_identifier,
                "reference_name": m.reference_name,
                "points": m.points,
                "show_before_earned": not m.source.hidden,
                "repeatable": False,
                "image": m.source.icon,
                "locales": {
                    locale: {
                        "name": name,
                        "before_earned_description": desc,
                        "after_earned_description": desc,
                    }
                    for locale, (name, desc) in m.locales.items()
                },
            }
            for m in mapped
        ],
    }


def render_manifest(mapped: list[Mapped], options: ImportOptions, source: ImportedSource, assets: str) -> str:
    """The manifest text: TOML (hand-written, stable layout) or JSON, by the output's extension."""
    data = _manifest_data(mapped, options, assets)
    if options.out.suffix.lower() == ".json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    lines = [
        f"# Made by `bulkgc import {source.kind}` from {', '.join(Path(i).name for i in source.inputs)}.",
        "# Every lossy or guessed step is in the mapping report (stdout, --report); see docs/IMPORT.md.",
        f"app_id = {_toml_string(options.app_id)}",
        f"assets = {_toml_string(assets)}",
    ]
    for m, ach in zip(mapped, data["achievement"], strict=True):
        lines += [
            "",
            f"# {source.kind}: {m.source.source_id} ({Path(m.source.where).name})",
            "[[achievement]]",
        ]
        for key in (
            "vendor_identifier",
            "reference_name",
            "points",
            "show_before_earned",
            "repeatable",
            "image",
        ):
            value = ach[key]
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{key} = {value}")
            elif value is not None:
                lines.append(f"{key} = {_toml_string(value)}")
        for locale, texts in ach["locales"].items():
            lines += ["", f"[achievement.locales.{locale}]"]
            lines += [f"{key} = {_toml_string(value)}" for key, value in texts.items()]
    return "\n".join(lines) + "\n"


def _report(
    source: ImportedSource,
    mapped: list[Mapped],
    notes: list[str],
    options: ImportOptions,
    icons_to_fix: dict[str, str],
) -> dict[str, Any]:
    return {
        "source": source.kind,
        "inputs": source.inputs,
        "manifest": show(options.out),
        "achievements": [
            {
                "source_id": m.source.source_id,
                "where": m.source.where,
                "vendor_identifier": m.vendor_identifier,
                "points": {"source": m.source.points, "manifest": m.points},
                "show_before_earned": not m.source.hidden,
                "locales": list(m.locales),
                "icon": m.source.icon,
                "notes": m.notes,
            }
            for m in mapped
        ],
        "notes": notes,
        "icons_to_fix": [{"icon": name, "problem": why} for name, why in sorted(icons_to_fix.items())],
    }


@dataclass
class ImportResult:
    """What `run_import` wrote and the mapping report (also written as JSON with --report)."""

    manifest: Path
    report: dict[str, Any]

    def summary_lines(self) -> list[str]:
        """The mapping report as the CLI prints it: one block per achievement, then global notes."""
        r = self.report
        achievements = r["achievements"]
        locales = sorted({loc for a in achievements for loc in a["locales"]})
        total = sum(a["points"]["manifest"] for a in achievements)
        lines = [
            f"Imported {len(achievements)} achievement(s) from {r['source']} "
            f"({', '.join(r['inputs'])}) into {r['manifest']}: {len(locales)} locale(s) "
            f"({', '.join(locales)}), {total} points.",
            "Mapping report (every lossy or guessed step):",
        ]
        for a in achievements:
            lines.append(f"  {a['source_id']} → {a['vendor_identifier']} ({a['where']})")
            lines += [f"    - {note}" for note in a["notes"]]
        if r["notes"]:
            lines.append("  all achievements:")
            lines += [f"    - {note}" for note in r["notes"]]
        if r["icons_to_fix"]:
            lines.append(
                f"{len(r['icons_to_fix'])} icon(s) need a mechanical fix: run `bulkgc validate --fix-icons` "
                "and `bulkgc push --fix-icons` (fixed copies go beside the journal; your files stay as they "
                "are), or convert each to an 8-bit RGB PNG of 512x512 or 1024x1024 without alpha:"
            )
            lines += [f"  - {i['icon']}: {i['problem']}" for i in r["icons_to_fix"]]
        return lines


def _check_icons(
    source: ImportedSource, mapped: list[Mapped], staged: Path | None, collector: Collector
) -> dict[str, str]:
    """Triage each distinct icon; fixable ones are returned (name -> why), others become problems."""
    to_fix: dict[str, str] = {}
    seen: set[str] = set()
    base = staged if staged is not None else source.icons_dir
    for m in mapped:
        name = m.source.icon
        if name is None or name in seen or base is None:
            continue
        seen.add(name)
        verdict = triage_icon(base / name)
        shown = source.icons_display + name
        if verdict.ok:
            continue
        if verdict.fixable:
            to_fix[shown] = verdict.message
        else:
            collector.problem(shown, f"{verdict.message} (icon of {m.source.source_id!r}, {m.source.where})")
    for m in mapped:
        shown = source.icons_display + str(m.source.icon)
        if shown in to_fix:
            m.notes.append(
                f"icon {m.source.icon} needs fixing before validate accepts it (see the icons list)"
            )
    return to_fix


def _relative(target: Path, start: Path) -> str:
    """`target` relative to `start` with forward slashes (the manifest stays portable)."""
    try:
        text = os.path.relpath(target.resolve(), start.resolve())
    except ValueError:  # another drive on Windows
        text = str(target.resolve())
    return text.replace(os.sep, "/")


def _publish(temp: Path, out: Path, force: bool) -> None:
    """Move the finished manifest into place; without `force` never replace an existing file (no race)."""
    if force:
        os.replace(temp, out)
        return
    exists = ImportProblemsError(
        Problem(show(out), "already exists; choose another --out or pass --force to overwrite it")
    )
    try:
        os.link(temp, out)
    except FileExistsError:
        raise exists from None
    except OSError:  # no hard links on this file system: exclusive create instead
        try:
            with open(out, "xb") as handle:
                handle.write(temp.read_bytes())
        except FileExistsError:
            raise exists from None
    temp.unlink()


def build_and_write(source: ImportedSource, options: ImportOptions, collector: Collector) -> ImportResult:
    """Map, check and write the manifest (+ extracted icons, --report): all or nothing, every problem."""
    out = options.out
    if out.suffix.lower() not in (".toml", ".json"):
        collector.problem(show(out), "--out must end in .toml or .json (the extension picks the format)")
    elif out.exists() and not options.force:
        collector.problem(show(out), "already exists; choose another --out or pass --force to overwrite it")
    elif not out.parent.is_dir():
        collector.problem(show(out), f"the folder {show(out.parent)} does not exist; create it first")
    if options.report is not None and (options.report.is_dir() or not options.report.parent.is_dir()):
        collector.problem(show(options.report), "--report must name a file in an existing folder")
    global_notes = list(source.notes)
    mapped = _map_achievements(source, options, collector, global_notes)
    extract_dir = out.parent / f"{out.stem}.icons" if source.extract else None
    if extract_dir is not None and extract_dir.exists() and not options.force:
        collector.problem(
            show(extract_dir),
            "already exists (icons from the archive go there); remove it, "
            "choose another --out, or pass --force",
        )
    staged: Path | None = None
    stage_root = out.parent / f".{out.name}.importing-{os.getpid()}"
    try:
        shutil.rmtree(stage_root, ignore_errors=True)  # a leftover of a killed run with the same pid
        if source.extract and out.parent.is_dir():
            staged = stage_root / "icons"
            staged.mkdir(parents=True)
            for name, data in sorted(source.extract.items()):
                (staged / name).write_bytes(data)
        icons_to_fix = _check_icons(source, mapped, staged, collector)
        if collector.problems:
            raise ImportProblemsError(collector.problems)
        icons_dir = extract_dir if extract_dir is not None else source.icons_dir
        assets = _relative(icons_dir, out.parent) if icons_dir is not None else "."
        text = render_manifest(mapped, options, source, assets)
        stage_root.mkdir(exist_ok=True)
        temp = stage_root / out.name
        temp.write_text(text, encoding="utf-8", newline="\n")
        try:  # the manifest must load exactly as `bulkgc validate` will load it; anything else is a bug here
            load_manifest(temp, assets_dir=staged if staged is not None else icons_dir)
        except ManifestError as exc:
            raise ImportProblemsError(
                [
                    Problem(
                        show(out),
                        f"the manifest bulkgc would write is invalid ({p}); "
                        "this is a bug in bulkgc import, please report it",
                    )
                    for p in exc.problems
                ]
            ) from None
        report = _report(source, mapped, global_notes, options, icons_to_fix)
        if staged is not None and extract_dir is not None:
            if options.force and extract_dir.exists():
                shutil.rmtree(extract_dir)
            os.replace(staged, extract_dir)
        try:
            _publish(temp, out, options.force)
        except ImportProblemsError:  # lost a race for --out: take back the icons just put in place
            if extract_dir is not None and not options.force:
                shutil.rmtree(extract_dir, ignore_errors=True)
            raise
        if options.report is not None:
            try:
                options.report.write_text(
                    json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
                )
            except OSError:  # all or nothing: without its report the import did not happen
                out.unlink(missing_ok=True)
                if extract_dir is not None:
                    shutil.rmtree(extract_dir, ignore_errors=True)
                raise
        return ImportResult(out, report)
    except OSError as exc:
        why = f"cannot write there ({exc.strerror or exc}); check the folder and its permissions"
        raise ImportProblemsError(Problem(show(str(exc.filename or out)), why)) from None
    finally:
        shutil.rmtree(stage_root, ignore_errors=True)
