"""The benchmark's mixed workload: every Game Center kind at once, and its work counted from the kinds.

One workload holds achievements, leaderboards, leaderboard sets (ordered members), activities (a fallback URL
on the version, a localized 3840x2160 image in the first locale and a 3840x2160 default image) and challenges
(each tied to a leaderboard, with a 3840x2160 default image), each in several locales with its own icon. The
images are generated deterministically (distinct, opaque RGB PNGs) and cached like the achievement workload.

`MixedWork` counts what App Store Connect cannot do without for it, kind by kind, from the kinds'
declarations (`bulkgc.kinds`): a create per item (its first version inline when the kind has versions), what
only an update can set, a localization per locale, reserve + commit per image (localized slots and a
version's default image), one batched poll per version that got localized images plus one read per default
image, and the discovery reads (the Game Center detail, each kind's list, and for items that exist: their
localizations, a set's members, a version's default image).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkgc.kinds import KINDS, Kind
from bulkgc.kinds.model import WIDE_SIZES

#: bump when the generated images or texts change, so stale caches are not reused
MIXED_FORMAT = 1
LIST_PAGE = 200  # items per list page (limit=200 is the API's maximum)
API = "v2"  # the API generation the bench pushes with (push's default)
WIDE = WIDE_SIZES[0]  # activity and challenge images: 3840x2160
ICON = 512  # achievement, leaderboard and set icons
SHORT = {"achievement": "ach", "leaderboard": "lb", "leaderboard_set": "set", "activity": "act",
         "challenge": "ch"}
MEMBERS_PER_SET = 4


# ---------------------------------------------------------------------------------------------- the workload


@dataclass(frozen=True)
class MixedSpec:
    """The mixed workload's shape: `items` achievements and leaderboards, a third as many activities and
    challenges (their 3840x2160 images are the heavy ones), a quarter as many sets of 4 leaderboards."""

    items: int = 30
    locales: tuple[str, ...] = ("en-US", "fr-FR", "de-DE", "ja", "es-ES")
    seed: int = 7

    def count(self, kind: str) -> int:
        if kind == "leaderboard_set":
            return max(1, self.items // MEMBERS_PER_SET)
        if kind in ("activity", "challenge"):
            return max(1, self.items // 3)
        return self.items

    def vendor(self, kind: str, index: int) -> str:
        return f"com.bench.mix.{SHORT[kind]}{index:03d}"

    def vendors(self, kind: str) -> list[str]:
        return [self.vendor(kind, i) for i in range(self.count(kind))]

    def members(self, index: int) -> list[str]:
        """Set `index`'s leaderboards in the set's order (reversed: the API keeps the order it is given)."""
        boards = self.vendors("leaderboard")
        first = (index * MEMBERS_PER_SET) % len(boards)
        chosen = [boards[(first + k) % len(boards)] for k in range(min(MEMBERS_PER_SET, len(boards)))]
        return chosen[::-1]

    def board_of_challenge(self, index: int) -> str:
        return self.vendor("leaderboard", index % self.count("leaderboard"))

    def image_locales(self, kind: Kind) -> tuple[str, ...]:
        """The locales whose localization gets an image: all for icons, the first one for activities."""
        if kind.image.sizes != WIDE_SIZES:
            return self.locales
        return self.locales[:1] if kind.name == "activity" else ()

    def has_default_image(self, kind: Kind) -> bool:
        return kind.default_image is not None

    def attributes(self, kind: str, index: int) -> dict[str, Any]:
        """Manifest attributes (besides vendor_identifier and references) of one item."""
        if kind == "achievement":
            points = max(0, min(100, 1000 // self.items))  # 1,000 points at most in all
            return {"reference_name": f"Mixed achievement {index}", "points": points,
                    "show_before_earned": True, "repeatable": False}
        if kind == "leaderboard":
            return {"reference_name": f"Mixed board {index}", "default_formatter": "INTEGER",
                    "submission_type": "BEST_SCORE", "score_sort_type": "DESC"}
        if kind == "leaderboard_set":
            return {"reference_name": f"Mixed set {index}"}
        if kind == "activity":
            return {"reference_name": f"Mixed activity {index}", "play_style": "SYNCHRONOUS",
                    "minimum_players_count": 2, "maximum_players_count": 4, "supports_party_code": True,
                    "properties": {"mode": f"m{index % 3}"}}
        return {"reference_name": f"Mixed challenge {index}", "challenge_type": "LEADERBOARD",
                "repeatable": True}

    def version_attributes(self, kind: str, index: int) -> dict[str, Any]:
        return {"fallback_url": f"https://example.com/play/{index}"} if kind == "activity" else {}

    def references(self, kind: str, index: int) -> dict[str, Any]:
        if kind == "leaderboard_set":
            return {"leaderboards": self.members(index)}
        if kind == "challenge":
            return {"leaderboard": self.board_of_challenge(index)}
        return {}

    def texts(self, kind: Kind, index: int, locale: str) -> dict[str, str]:
        """A localization's texts: the kind's required texts, and its description when it has one."""
        out = {}
        for t in kind.texts:
            if t.required or t.key == "description":
                text = f"{t.key.replace('_', ' ').capitalize()} {SHORT[kind.name]} {index} {locale}"
                out[t.key] = text[: t.limit]
        return out

    def image_path(self, root: Path, kind: Kind, index: int, slot: str) -> Path:
        """Where the naming convention finds an image: <folder>/<vendor>.<locale or "default">.png."""
        folder = (kind.default_image if slot == "default" and kind.default_image else kind.image).folder
        return root / "assets" / folder / f"{self.vendor(kind.name, index)}.{slot}.png"

    def images(self, root: Path) -> list[tuple[str, Path, int, tuple[int, int]]]:
        """(kind, path, seed, size) of every image of the workload."""
        out = []
        for k, kind in enumerate(KINDS):
            wide = kind.image.sizes == WIDE_SIZES
            for i in range(self.count(kind.name)):
                slots = list(self.image_locales(kind)) + (["default"] if self.has_default_image(kind) else [])
                for s, slot in enumerate(slots):
                    seed = ((self.seed * 101 + k) * 1000 + i) * 100 + s
                    out.append((kind.name, self.image_path(root, kind, i, slot), seed,
                                WIDE if wide else (ICON, ICON)))
        return out

    def key(self) -> str:
        text = json.dumps({"format": MIXED_FORMAT, "items": self.items, "locales": self.locales,
                           "seed": self.seed}, sort_keys=True)
        return "mixed-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)  # ints, lists, strings (JSON's are TOML basic strings)


def write_mixed_manifest(path: Path, spec: MixedSpec, app_id: str) -> None:
    """The mixed workload's manifest, kinds in registry order (leaderboards before the sets naming them)."""
    lines = [f"app_id = {_toml(app_id)}", 'assets = "assets"', ""]
    for kind in KINDS:
        for i in range(spec.count(kind.name)):
            lines += [f"[[{kind.name}]]", f"vendor_identifier = {_toml(spec.vendor(kind.name, i))}"]
            values = {**spec.attributes(kind.name, i), **spec.version_attributes(kind.name, i),
                      **spec.references(kind.name, i)}
            lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
            lines.append("")
            for locale in spec.locales:
                lines.append(f"[{kind.name}.locales.{_toml(locale)}]")
                lines += [f"{key} = {_toml(text)}" for key, text in spec.texts(kind, i, locale).items()]
                lines.append("")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)


def _gradient(rng: random.Random, size: tuple[int, int]) -> Any:
    """An RGB image of `size`: a gradient rotated at random, its channels shifted at random (draws from `rng`
    in a fixed order: the bench images' bytes depend on it)."""
    from PIL import Image

    g = Image.linear_gradient("L").resize(size).rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR,
                                                       fillcolor=128)
    shift_r, shift_b = rng.randrange(256), rng.randrange(256)
    r = g.point(lambda v: (v + shift_r) % 256)
    b = g.transpose(Image.Transpose.FLIP_LEFT_RIGHT).point(lambda v: (2 * v + shift_b) % 256)
    return Image.merge("RGB", (r, g, b))


def render_icon(seed: int, size: int) -> bytes:
    """A distinct opaque RGB PNG: rotated gradient, a few shapes, light noise (compresses like a real icon)."""
    from PIL import Image, ImageChops, ImageDraw

    rng = random.Random(seed)
    img = _gradient(rng, (size, size))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(4, 9)):
        x, y = rng.randrange(size), rng.randrange(size)
        w = rng.randrange(size // 8, size // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - w, y - w, x + w, y + w), fill=colour, outline=(0, 0, 0), width=size // 128)
        else:
            draw.regular_polygon((x, y, w), rng.randint(3, 8), rotation=rng.uniform(0, 360), fill=colour)
    img = ImageChops.add(img, Image.effect_noise((size, size), 3).convert("RGB"), offset=-128)
    ImageDraw.Draw(img).text((size // 16, size // 16), f"#{seed}", fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render_wide(seed: int, size: tuple[int, int] = WIDE) -> bytes:
    """A distinct opaque RGB PNG of `size` (rotated gradient, shapes, blocky noise): ~1.5 MB at 3840x2160."""
    from PIL import Image, ImageChops, ImageDraw

    rng = random.Random(seed)
    w, h = size
    sw, sh = max(1, w // 4), max(1, h // 4)  # drawn at a quarter, scaled up: a fraction of the CPU
    img = _gradient(rng, (sw, sh))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(5, 10)):
        x, y = rng.randrange(sw), rng.randrange(sh)
        rad = rng.randrange(max(2, sh // 8), max(3, sh // 2))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=colour, outline=(0, 0, 0), width=3)
        else:
            draw.regular_polygon((x, y, rad), rng.randint(3, 8), rotation=rng.uniform(0, 360), fill=colour)
    img = img.resize(size, Image.Resampling.BILINEAR)
    noise = Image.effect_noise((sw, sh), 6).resize(size, Image.Resampling.NEAREST).convert("RGB")
    img = ImageChops.add(img, noise, offset=-128)
    ImageDraw.Draw(img).text((w // 32, h // 32), f"#{seed}", fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _write_image(path: str, seed: int, width: int, height: int) -> int:
    data = render_icon(seed, width) if width == height else render_wide(seed, (width, height))
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return len(data)


def render_images(jobs: Sequence[tuple[Path, int, tuple[int, int]]]) -> int:
    """Render (path, seed, size) images in a process pool; returns the bytes written."""
    import concurrent.futures

    if not jobs:
        return 0
    for path, _, _ in jobs:
        path.parent.mkdir(parents=True, exist_ok=True)
    workers = min(len(jobs), os.cpu_count() or 2)
    args = ([str(p) for p, _, _ in jobs], [s for _, s, _ in jobs], [z[0] for _, _, z in jobs],
            [z[1] for _, _, z in jobs])
    if workers <= 1 or len(jobs) < 8:
        return sum(map(_write_image, *args))
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_write_image, *args, chunksize=4))


def ensure_mixed_workload(spec: MixedSpec, cache_base: Path, app_id: str) -> tuple[Path, float]:
    """The cached mixed workload (generated once per spec); returns (directory, seconds spent generating)."""
    root = cache_base / spec.key()
    marker = root / "workload.json"
    if marker.exists():
        return root, 0.0
    started = time.perf_counter()
    jobs = [(path, seed, size) for _, path, seed, size in spec.images(root)]
    total = render_images([j for j in jobs if not j[0].exists()])
    (root / "assets").mkdir(parents=True, exist_ok=True)
    write_mixed_manifest(root / "manifest.toml", spec, app_id)
    marker.write_text(json.dumps({"format": MIXED_FORMAT, "images": len(jobs), "bytes_rendered": total}))
    return root, time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class KindWork:
    """What one kind's items need from App Store Connect in one phase."""

    kind: str
    existing: int = 0  # items App Store Connect holds already (listed, then read)
    created: int = 0  # one POST each; v2 creates the first version inline
    late_patches: int = 0  # a PATCH after the create, for attributes only an update can set
    versions_created: int = 0  # POST of a new version (a LIVE item that changes)
    references_patched: int = 0  # one PATCH of a whole relationship (a set's members) of an existing item
    localizations_written: int = 0  # POST or PATCH each
    bare_localizations: int = 0  # ... of which get no image (no image commit waits for them)
    images_uploaded: int = 0  # reserve + commit each (localized slots and default images)
    images_replaced: int = 0  # ... of which replace an older image (one DELETE each)
    localization_polls: int = 0  # one batched read of a version's localizations (images embedded)
    default_image_polls: int = 0  # one read of a version's default image
    localization_reads: int = 0  # discovery: one per existing item (its latest version's localizations)
    linkage_reads: int = 0  # discovery: a set's member list, per existing set
    default_image_reads: int = 0  # discovery: an existing version's default image

    @property
    def list_pages(self) -> int:
        return max(1, math.ceil(self.existing / LIST_PAGE))

    @property
    def writes(self) -> int:
        return (self.created + self.late_patches + self.versions_created + self.references_patched
                + self.localizations_written + 2 * self.images_uploaded + self.images_replaced)

    @property
    def polls(self) -> int:
        return self.localization_polls + self.default_image_polls

    @property
    def reads(self) -> int:
        """Discovery reads of this kind (its list pages and what existing items need read)."""
        return self.list_pages + self.localization_reads + self.linkage_reads + self.default_image_reads


@dataclass(frozen=True)
class MixedWork:
    """The work of a mixed phase, kind by kind, and what the bound needs to know about its longest chain."""

    kinds: tuple[KindWork, ...]
    # per kind: the largest image (bytes) and whether its items name items created in the same push
    largest_image: Mapping[str, int] = field(default_factory=dict)

    @property
    def reads(self) -> int:
        return 1 + sum(k.reads for k in self.kinds)  # + the app's Game Center detail (shared by every kind)

    @property
    def writes(self) -> int:
        return sum(k.writes for k in self.kinds)

    @property
    def polls(self) -> int:
        return sum(k.polls for k in self.kinds)

    @property
    def minimum(self) -> int:
        return self.reads + self.writes + self.polls

    @property
    def images_uploaded(self) -> int:
        return sum(k.images_uploaded for k in self.kinds)

    @property
    def bare_localizations(self) -> int:
        return sum(k.bare_localizations for k in self.kinds)

    def of(self, kind: str) -> KindWork:
        return next(k for k in self.kinds if k.kind == kind)

    def writes_by_kind(self) -> dict[str, int]:
        return {k.kind: k.writes for k in self.kinds}

    def flat(self) -> dict[str, int]:
        """Every count as `<kind>.<field>` (the phase's JSON `work`)."""
        out = {"minimum": self.minimum, "reads": self.reads, "writes": self.writes, "polls": self.polls}
        for k in self.kinds:
            for name, value in vars(k).items():
                if name != "kind":
                    out[f"{k.kind}.{name}"] = value
        return out


def _late_patches(kind: Kind, attributes: Mapping[str, Any]) -> int:
    """1 when the item wants an attribute only an update can set (e.g. `archived = true`), else 0."""
    return int(any(not a.on_create and a.editable and not a.same(None, attributes.get(a.key))
                   for a in kind.attributes))


def mixed_work(spec: MixedSpec, phase: str, image_sizes: Mapping[str, int] | None = None) -> MixedWork:
    """The work of `phase` ("mixed": nothing exists yet; "mixed-noop": everything exists and matches).

    Derived from the kinds' declarations: whether a kind has versions (created inline with the item in
    v2), which attributes only an update can set, which references are read as a linkage list (a set's
    members) or come included in the item list (a challenge's leaderboard), which kinds have a default image.
    """
    rows = []
    for kind in KINDS:
        n = spec.count(kind.name)
        kapi = kind.api(API)
        localized = len(spec.image_locales(kind))
        default = 1 if spec.has_default_image(kind) else 0
        linkage_refs = sum(1 for ref in kapi.references if ref.read == "linkage")
        if phase == "mixed":
            rows.append(KindWork(
                kind=kind.name,
                created=n,
                late_patches=sum(_late_patches(kind, spec.attributes(kind.name, i)) for i in range(n)),
                # references go in the create request (the set's members in order, the challenge's board)
                localizations_written=n * len(spec.locales),
                bare_localizations=n * (len(spec.locales) - localized),
                images_uploaded=n * (localized + default),
                localization_polls=n if localized else 0,
                default_image_polls=n * default,
            ))
        else:  # every item exists and matches: discovery only
            rows.append(KindWork(
                kind=kind.name,
                existing=n,
                localization_reads=n,  # v2: the latest version's localizations, images embedded
                linkage_reads=n * linkage_refs,
                default_image_reads=n * default,
            ))
    return MixedWork(tuple(rows), dict(image_sizes or {}))


def largest_images(spec: MixedSpec, root: Path) -> dict[str, int]:
    """Per kind, the largest image file of the workload in `root` (bytes)."""
    out: dict[str, int] = {}
    for kind, path, _, _ in spec.images(root):
        out[kind] = max(out.get(kind, 0), path.stat().st_size)
    return out


def chain_seconds(work: MixedWork, *, api: float, upload_latency: float, bandwidth: float, part_size: int,
                  processing: float) -> float:
    """The longest chain one item's requests must wait through, after discovery (detail, then the lists).

    Per kind: [the create of an item it names (a set's leaderboards, a challenge's board), when that is
    created in the same push] + its own create + [a localization create, for a localized image] + reserve +
    one part + commit + processing + one poll. A default image needs only the version (made with the item),
    so a kind with localized images takes the longer of the two chains.
    """
    names = {k.name: k for k in KINDS}
    created = {k.kind for k in work.kinds if k.created}
    longest = 0.0
    for k in work.kinds:
        if not k.images_uploaded or not k.created:
            continue
        kind = names[k.kind]
        waits = any(ref.kind in created for ref in kind.references)
        steps = (1 if waits else 0) + 1 + (1 if k.localization_polls else 0) + 2 + 1
        part = min(work.largest_image.get(k.kind, 0), part_size)
        longest = max(longest, steps * api + upload_latency + part / bandwidth + processing)
    return longest

