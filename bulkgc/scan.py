"""Local checks of Game Center images with Pillow (format, size, colour, alpha) before any network call."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import overload

import anyio
import anyio.to_thread
from PIL import Image, JpegImagePlugin, PngImagePlugin

from bulkgc.errors import InvalidImageError, Problem

ALLOWED_SIZES: tuple[tuple[int, int], ...] = ((512, 512), (1024, 1024))
# In the order the manifest naming convention tries them.
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg")
_EXTENSIONS_BY_FORMAT = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg")}
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}
# No real icon comes near this; bigger files are refused without being read into memory.
MAX_FILE_BYTES = 32 * 1024 * 1024
# Decode fully only when the pixel count is plausible for an icon; bigger files fail on size anyway.
_MAX_DECODE_PIXELS = 4096 * 4096
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "a GIF"),
    (b"BM", "a BMP"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"%PDF", "a PDF"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"\x00\x00\x01\x00", "an ICO file"),
)
_MODE_NAMES = {
    "P": "palette (P, indexed colour)",
    "L": "grayscale (L)",
    "LA": "grayscale with alpha (LA)",
    "1": "1-bit black and white (1)",
    "I": "32-bit integer grayscale (I)",
    "I;16": "16-bit grayscale (I;16)",
    "I;16B": "16-bit grayscale (I;16B)",
    "F": "floating point (F)",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "LAB": "Lab",
}


@dataclass(frozen=True)
class ImageInfo:
    """What the checks learned about one valid icon (the upload uses size, sha256 and mime)."""

    path: Path
    format: str  # "PNG" | "JPEG"
    width: int
    height: int
    size: int  # bytes
    sha256: str  # hex digest of the file's bytes
    mime: str  # "image/png" | "image/jpeg"
    notes: tuple[str, ...] = ()  # harmless observations, e.g. "progressive JPEG"
    fixed_from: Path | None = None  # --fix-icons: the user's file this converted copy (`path`) stands for
    fixes: tuple[str, ...] = ()  # --fix-icons: what the conversion changed


def display_path(path: str | os.PathLike[str]) -> str:
    """A path printable on any terminal: undecodable bytes of the file name appear as \\xNN."""
    text = os.fsdecode(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _has_undecodable_name(path: Path) -> bool:
    try:
        os.fsdecode(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _sniff_other(data: bytes) -> str:
    for magic, name in _OTHER_MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP"
    if data[4:8] == b"ftyp":
        return "a HEIF/HEIC or MP4 file"
    head = data[:64]
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return "not a recognised image"


def _png_bit_depth(data: bytes) -> int | None:
    """Bit depth from the IHDR chunk (Pillow maps 16-bit RGB to 8-bit 'RGB' mode, hiding it)."""
    if len(data) >= 26 and data[12:16] == b"IHDR":
        return data[24]
    return None


_TRUNCATED = "is truncated (the file ends before the image data does)"


def _png_pixel_data_problem(data: bytes, width: int, height: int, channels: int) -> str | None:
    """For a non-interlaced 8-bit PNG: None when its pixel data decodes completely, else what is wrong.

    It checks what decoding needs, without building the pixel buffer: each chunk's CRC (as libpng does), the
    IDAT chunks inflated as one zlib stream to at least height x (1 + channels x width) bytes, and a valid
    filter type (0-4) opening every row. With those, the decoder (Pillow's, or App Store Connect's) cannot fail
    on the file; this costs about 40% less CPU than a full decode, which a thousand icons notice.
    """
    view = memoryview(data)
    at = 8  # after the signature

    def read(n: int) -> memoryview:
        nonlocal at
        at += n
        return view[at - n:at]

    return _png_pixel_stream_problem(read, width, height, channels)


# Bytes read (and inflated) at a time by the pixel-stream check: each piece is checked, then dropped
_PIECE = 64 * 1024


def _png_pixel_stream_problem(
    read: Callable[[int], bytes | memoryview], width: int, height: int, channels: int
) -> str | None:
    """`_png_pixel_data_problem` over a PNG read piece by piece after its signature (`read(n)` gives at most
    n bytes, fewer at the end): a file is checked without being held in memory, every verdict the same."""
    stride = 1 + channels * width
    needed = height * stride
    inflater = zlib.decompressobj()
    seen = 0  # pixel-stream bytes inflated so far
    bad_filter = False
    while True:
        head = read(8)
        if len(head) < 8:
            break  # the end of the file (a missing IEND is harmless; missing pixel data is not)
        length = int.from_bytes(head[:4], "big")
        kind = bytes(head[4:8])
        crc = zlib.crc32(kind)
        broken: zlib.error | None = None  # an inflate error counts only in a chunk whose CRC holds
        remaining = length
        while remaining:
            piece = read(min(remaining, _PIECE))
            if not piece:
                return _TRUNCATED
            remaining -= len(piece)
            crc = zlib.crc32(piece, crc)
            compressed: bytes | memoryview = piece
            while kind == b"IDAT" and broken is None and compressed and seen < needed:
                try:
                    # at most _PIECE bytes out at a time, however well the data compresses
                    inflated = inflater.decompress(compressed, min(needed - seen, _PIECE))
                except zlib.error as exc:
                    broken = exc
                    break
                compressed = inflater.unconsumed_tail
                row_starts = inflated[(-seen) % stride::stride]  # the filter-type bytes in this piece
                if row_starts and max(row_starts) > 4:
                    bad_filter = True
                seen += len(inflated)
        tail = read(4)
        if len(tail) < 4:
            return _TRUNCATED
        if crc != int.from_bytes(tail, "big"):
            return f"is damaged (its {kind.decode('latin-1')} chunk fails its checksum)"
        if broken is not None:
            return f"cannot be decoded (broken data stream: {broken})"
        if kind == b"IEND":
            break
    if seen < needed:
        return _TRUNCATED
    if bad_filter:
        return "cannot be decoded (a row has an unknown filter type)"
    return None


class TooLargeError(Exception):
    """The file is far bigger than any icon; it is not read into memory."""


class NotRegularFileError(OSError):
    """The path names something other than a regular file (FIFO, device, socket, directory)."""


_KIND_NAMES = (
    (stat.S_ISDIR, "a directory", "point at the icon file"),
    (stat.S_ISFIFO, "a FIFO (named pipe)", "replace it with the icon file"),
    (stat.S_ISCHR, "a character device", "point at the icon file"),
    (stat.S_ISBLK, "a block device", "point at the icon file"),
    (stat.S_ISSOCK, "a socket", "replace it with the icon file"),
)


def _kind_of(mode: int) -> tuple[str, str]:
    for test, name, fix in _KIND_NAMES:
        if test(mode):
            return name, fix
    return "not a regular file", "point at the icon file"


def _open_nonblocking(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor opened without waiting (for a FIFO swapped in after the stat)."""
    return os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))


@contextlib.contextmanager
def open_regular_file(
    path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES
) -> Iterator[io.BufferedReader]:
    """A regular file (symbolic links followed) opened for reading; never blocks on an odd file.

    The kind is decided from `stat` before anything is opened (opening a FIFO blocks until a writer comes),
    and the open itself is non-blocking in case the path is swapped meanwhile. Raises NotRegularFileError (a
    FIFO, device, socket or directory), TooLargeError (over `limit` by `fstat`), or the OSError of stat or
    open. Reading past `limit` is the caller's to stop: a file may grow.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(errno.EINVAL, _kind_of(st.st_mode)[0])
    fd = _open_nonblocking(path)
    with open(fd, "rb", closefd=True) as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for something else between stat and open
            raise NotRegularFileError(errno.EINVAL, _kind_of(st.st_mode)[0])
        if st.st_size > limit:
            raise TooLargeError(st.st_size)
        yield handle


@overload
def read_regular_file(path: str | os.PathLike[str], limit: int = ..., *, into: None = None) -> bytes: ...
@overload
def read_regular_file(
    path: str | os.PathLike[str], limit: int = ..., *, into: bytearray
) -> bytes | memoryview: ...
def read_regular_file(
    path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES, *, into: bytearray | None = None
) -> bytes | memoryview:
    """The bytes of a regular file (symbolic links followed), at most `limit`; never blocks on an odd file.

    Opened by `open_regular_file`; the read stops at `limit + 1` bytes, whatever `fstat` claims (a link to
    /dev/zero reports size 0 and never ends). Raises NotRegularFileError (a FIFO, device, socket or
    directory), TooLargeError, or the OSError of stat, open or read. With `into`, a buffer longer than the
    file (its caller's, reused from read to read), the bytes are read into it and a view of them returned.
    """
    with open_regular_file(path, limit) as handle:
        size = os.fstat(handle.fileno()).st_size
        if into is not None and len(into) > size:
            with memoryview(into) as whole:
                got = handle.readinto(whole[:size + 1])
            if got <= size:  # else it grew since the fstat: read on below, the usual way
                return memoryview(into)[:got]
            handle.seek(0)
        # sized by fstat (a read(limit + 1) would allocate the whole limit for every icon); only a file that
        # grew since, or one whose size fstat cannot tell (0), is read on, in chunks, still capped
        data = handle.read(size + 1)
        if len(data) > size:
            parts, total = [data], len(data)
            while total <= limit:
                more = handle.read(min(1 << 20, limit + 1 - total))
                if not more:
                    break
                parts.append(more)
                total += len(more)
            data = b"".join(parts)
    if len(data) > limit:
        raise TooLargeError(len(data))
    return data


def _read(path: Path, into: bytearray | None = None) -> bytes | memoryview:
    """The file's bytes, read once (the hash and the decoder share them)."""
    return read_regular_file(path, MAX_FILE_BYTES, into=into)


def _problem(path: Path, reasons: list[str]) -> InvalidImageError:
    return InvalidImageError(Problem(display_path(path), "; ".join(reasons)))


def size_problem(width: int, height: int, sizes: tuple[tuple[int, int], ...]) -> str | None:
    """Why `width` x `height` is not one of `sizes` (the slot's rule, e.g. 512x512 or 1024x1024), or None."""
    if (width, height) in sizes:
        return None
    if not sizes:  # one file used for two slots with different sizes
        return f"is {width}x{height}, but it fills image slots that need different sizes: use one file each"
    wanted = " or ".join(f"{w}x{h}" for w, h in sizes)
    return f"is {width}x{height}: App Store Connect needs {wanted} pixels; resize it"


def _wanted(sizes: tuple[tuple[int, int], ...]) -> str:
    """"a 1024x1024 icon" (the largest size the slot takes) for messages."""
    if not sizes:
        return "one file per image slot"
    w, h = max(sizes)
    return f"a {w}x{h} {'icon' if w == h else 'image'}"


def check_image(
    path: str | os.PathLike[str], sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES
) -> ImageInfo:
    """Check one image; return its ImageInfo or raise InvalidImageError with one Problem naming every fault.

    `sizes` are the pixel sizes its slot takes (icons: 512x512 or 1024x1024; default images: 3840x2160).
    Synchronous and CPU-bound: call it through `anyio.to_thread.run_sync` (as `scan_images` does).
    """
    path = Path(path)
    return check_image_data(path, read_image_file(path), sizes)


@overload
def read_image_file(path: Path, into: None = None) -> bytes: ...
@overload
def read_image_file(path: Path, into: bytearray) -> bytes | memoryview: ...
def read_image_file(path: Path, into: bytearray | None = None) -> bytes | memoryview:
    """Read an icon to check or upload it; InvalidImageError naming the file and the fix if it cannot be.

    With `into` (a buffer longer than the file, reused by the caller) the bytes are read into it: a view."""
    reasons: list[str] = []
    if _has_undecodable_name(path):
        reasons.append("the file name is not valid UTF-8 (App Store Connect needs UTF-8 names): rename it")
    try:
        data = _read(path, into)
    except TooLargeError as exc:
        why = f"is {exc.args[0]} bytes, far more than an icon needs (limit {MAX_FILE_BYTES}): export it again"
        raise _problem(path, [*reasons, why]) from None
    except NotRegularFileError as exc:
        what = exc.strerror or "not a regular file"
        fix = next((f for _, n, f in _KIND_NAMES if n == what), "point at the icon file")
        if os.path.islink(path):
            what += f" (the symbolic link points at {os.readlink(path)})"
        raise _problem(path, [*reasons, f"is {what}, not an image file: {fix}"]) from None
    except IsADirectoryError:
        raise _problem(path, [*reasons, "is a directory, not an image file: point at the icon file"])
    except PermissionError:
        raise _problem(path, [*reasons, "cannot be read (permission denied): fix its permissions"])
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            why = "is a symbolic link loop: point the link at a real file"
        elif exc.errno == errno.ENOENT:
            why = "does not exist (or is a broken symbolic link): add the file or fix the path"
        else:
            why = f"cannot be read ({exc.strerror or exc}): check the file"
        raise _problem(path, [*reasons, why])
    return data  # a name problem alone is reported by check_image_data, with every other problem


def check_image_data(
    path: Path, data: bytes, sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES
) -> ImageInfo:
    """Check the bytes of one image read from `path` (the upload checks a changed file with the same rules);
    `sizes` are its slot's pixel sizes."""
    reasons: list[str] = []
    if _has_undecodable_name(path):
        reasons.append("the file name is not valid UTF-8 (App Store Connect needs UTF-8 names): rename it")
    if not data:
        raise _problem(path, [*reasons, "is empty (0 bytes): export the icon again"])

    if data.startswith(_PNG_MAGIC):
        fmt = "PNG"
    elif data.startswith(_JPEG_MAGIC):
        fmt = "JPEG"
    else:
        what = _sniff_other(data)
        why = f"is {what}, not a PNG or JPEG: export it as an 8-bit RGB PNG or JPEG"
        raise _problem(path, [*reasons, why])

    suffix = path.suffix.lower()
    if suffix not in _EXTENSIONS_BY_FORMAT[fmt]:
        proper = _EXTENSIONS_BY_FORMAT[fmt][0]
        reasons.append(
            f"the content is {fmt} but the name ends in {suffix or '(no extension)'!r}: rename it to "
            f"{display_path(path.with_suffix(proper).name)}"
        )

    try:
        # Opening through the format plugin (content already identified) skips Image.open's global
        # decompression-bomb *warning*; the pixel limit is enforced explicitly below, thread-safely.
        opener = PngImagePlugin.PngImageFile if fmt == "PNG" else JpegImagePlugin.JpegImageFile
        img = opener(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a valid image"
        raise _problem(path, [*reasons, f"is a damaged {fmt} ({exc}): export it again"]) from None

    notes: list[str] = []
    with img:
        width, height = img.size
        limit = Image.MAX_IMAGE_PIXELS
        if limit is not None and width * height > limit:
            raise _problem(
                path,
                [*reasons, f"declares {width}x{height} pixels, over the decompression-bomb limit of {limit} "
                 f"pixels (refused without decoding): export {_wanted(sizes)}"],
            )
        wrong_size = size_problem(width, height, sizes)
        if wrong_size is not None:
            reasons.append(wrong_size)

        if fmt == "PNG" and getattr(img, "n_frames", 1) > 1:
            reasons.append(
                f"is an animated PNG ({img.n_frames} frames): export a single still frame"
            )
        depth = _png_bit_depth(data) if fmt == "PNG" else None
        mode = img.mode
        if mode in ("RGB", "RGBA") and depth not in (None, 8):
            reasons.append(f"has {depth} bits per channel: convert it to 8-bit RGB")
        elif mode not in ("RGB", "RGBA"):
            name = _MODE_NAMES.get(mode, mode)
            reasons.append(f"is in {name} mode: convert it to 8-bit RGB (e.g. img.convert('RGB'))")
        if fmt == "JPEG" and (img.info.get("progressive") or img.info.get("progression")):
            notes.append("progressive JPEG")

        plain_png = (fmt == "PNG" and mode == "RGB" and depth == 8 and not img.info.get("interlace")
                     and "transparency" not in img.info)
        if plain_png and width * height <= _MAX_DECODE_PIXELS:
            # the common case (a valid icon): the whole pixel stream is inflated and checked, not unpacked
            why = _png_pixel_data_problem(data, width, height, channels=3)
            if why is not None:
                raise _problem(path, [*reasons, f"{why}: export or copy it again"])
        elif width * height <= _MAX_DECODE_PIXELS:
            try:
                img.load()  # decode everything: truncated or corrupt data fails here
            except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError, ...
                if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
                    why = _TRUNCATED
                else:
                    why = f"cannot be decoded ({exc})"
                raise _problem(path, [*reasons, f"{why}: export or copy it again"]) from None
            if mode == "RGBA" or (mode == "RGB" and "transparency" in img.info):
                alpha = img.getchannel("A") if mode == "RGBA" else img.convert("RGBA").getchannel("A")
                # 255 - alpha is all zero (no bounding box) exactly when every pixel is fully opaque
                if alpha.point(lambda value: 255 - value).getbbox() is not None:
                    reasons.append("has transparency; flatten it onto an opaque background and save as RGB")
                else:
                    reasons.append(
                        "has an alpha channel (fully opaque): App Store Connect rejects alpha channels "
                        "(IMAGE_ALPHA_NOT_ALLOWED); remove it, e.g. img.convert('RGB')"
                    )
        if reasons:
            raise _problem(path, reasons)
    return ImageInfo(
        path=path,
        format=fmt,
        width=width,
        height=height,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mime=_MIME[fmt],
        notes=tuple(notes),
    )


def _check_or_problem(path: Path, sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES) -> ImageInfo | Problem:
    try:
        return check_image(path, sizes)
    except InvalidImageError as exc:
        return exc.problems[0]
    except Exception as exc:  # noqa: BLE001 - a scan reports; it never crashes on one odd file
        return Problem(display_path(path), f"unexpected error while checking ({type(exc).__name__}: {exc})")


# ---------------------------------------------------------------------------------------------------------
# The same checks in two halves (push): the cheap one before any request, digest and pixel data later

# The first half reads this much of a PNG: every chunk before the first IDAT of an ordinary PNG fits
_PREFIX_BYTES = 64 * 1024


@dataclass(frozen=True)
class PendingIcon:
    """A plain 8-bit RGB PNG that passed the first half of the checks (`first_half`): file, name, format,
    pixel size, colour mode and chunk structure. Its sha256 (`digest_icon`) and its pixel data
    (`pixel_problem`) are checked later; until then it is not known to be valid."""

    path: Path
    sizes: tuple[tuple[int, int], ...]  # the pixel sizes its slots take
    width: int
    height: int
    size: int
    stamp: tuple[int, ...]  # `stamp_of` its stat before the first half read it: later reads compare with it


def first_half(path: Path, sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES) -> PendingIcon | None:
    """The cheap half of a plain PNG's checks, from its first 64 KB and one 8-byte header per chunk (no
    inflate, no hash); None for any other file and for one that fails any of these checks (the full check
    then says what is wrong, or checks it in full when the shortcut does not apply)."""
    if path.suffix.lower() != ".png" or _has_undecodable_name(path):
        return None
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or not 0 < st.st_size <= MAX_FILE_BYTES:
            return None
        fd = _open_nonblocking(path)
        with open(fd, "rb", closefd=True) as handle:
            if stamp_of(os.fstat(fd)) != stamp_of(st):  # replaced since the stat: the full check decides
                return None
            prefix = handle.read(_PREFIX_BYTES)
            if not prefix.startswith(_PNG_MAGIC):
                return None
            with PngImagePlugin.PngImageFile(io.BytesIO(prefix)) as img:
                width, height = img.size
                plain = (img.mode == "RGB" and _png_bit_depth(prefix) == 8 and not img.info.get("interlace")
                         and "transparency" not in img.info and getattr(img, "n_frames", 1) == 1)
            limit = Image.MAX_IMAGE_PIXELS
            pixels = width * height
            if (not plain or size_problem(width, height, sizes) is not None or pixels > _MAX_DECODE_PIXELS
                    or (limit is not None and pixels > limit)):
                return None
            pos = 8
            while pos + 12 <= st.st_size:  # chunk lengths followed to IEND (a cut file never gets there)
                head = prefix[pos:pos + 8] if pos + 8 <= len(prefix) else os.pread(fd, 8, pos)
                end = pos + 12 + int.from_bytes(head[:4], "big")
                if len(head) < 8 or end > st.st_size:
                    return None
                if head[4:8] == b"IEND":
                    return PendingIcon(path, sizes, width, height, st.st_size, stamp_of(st))
                pos = end
    except Exception:  # noqa: BLE001 - anything odd: the full check decides and explains
        return None
    return None


def stamp_of(st: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is rewritten or replaced (the rule of ScanCache, git's index and rsync)."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def digest_icon(icon: PendingIcon) -> tuple[ImageInfo, tuple[int, ...] | None]:
    """The icon's ImageInfo with the sha256 of what the file holds now, and the file's stamp before it was
    read (None when it could not be read: `pixel_check` says why). Nothing is checked here: the plan needs
    the digest, `pixel_check` says whether those bytes may be uploaded. Read piece by piece (no buffer of the
    whole file: a thread's freed megabytes stay with its memory arena)."""
    digest = hashlib.sha256()
    size = 0
    try:
        st = os.stat(icon.path)  # before the read: a change during it makes the stamp stale (the safe side)
        with open_regular_file(icon.path) as handle:
            while piece := handle.read(_PIECE):
                digest.update(piece)
                size += len(piece)
                if size > MAX_FILE_BYTES:
                    raise TooLargeError(size)
    except (OSError, TooLargeError):
        digest, size, stamp = hashlib.sha256(), 0, None
    else:
        stamp = stamp_of(st)
    info = ImageInfo(path=icon.path, format="PNG", width=icon.width, height=icon.height, size=size,
                     sha256=digest.hexdigest(), mime=_MIME["PNG"])
    return info, stamp


@dataclass(frozen=True)
class PixelVerdict:
    """The outcome of an icon's second half (`pixel_check`)."""

    problem: Problem | None = None  # None: the bytes may be uploaded
    changed: bool = False  # changed since the first half (a problem then reads "changed during the push")
    info: ImageInfo | None = None  # changed, and valid as it is now: this describes it (digest included)


def pixel_check(icon: PendingIcon, hashed: tuple[int, ...] | None) -> PixelVerdict:
    """The second half of a plain PNG's checks: its pixel data (every chunk's CRC, the inflated stream, each
    row's filter), for the bytes `digest_icon` hashed when it read them at stamp `hashed` (read piece by
    piece).

    A file that changed since the first half or since it was hashed (or while this read it) is checked in
    full as it is now; valid, the verdict carries its new ImageInfo (the push uploads it under its own
    digest), else it is "changed during the push", as an icon that changes under the upload is."""
    path = icon.path
    try:
        st = os.stat(path)
        if stamp_of(st) == hashed == icon.stamp:
            with open_regular_file(path) as handle:
                unchanged = handle.read(len(_PNG_MAGIC)) == _PNG_MAGIC
                damage = _png_pixel_stream_problem(handle.read, icon.width, icon.height, channels=3)
            if unchanged and stamp_of(os.stat(path)) == stamp_of(st):  # and not while it was read
                if damage is None:
                    return PixelVerdict()
                return PixelVerdict(Problem(display_path(path), f"{damage}: export or copy it again"))
    except (OSError, TooLargeError):
        pass  # gone or replaced by something odd: the full read below says what
    try:
        data = read_image_file(path)
    except InvalidImageError as exc:
        return PixelVerdict(_changed(path, f"can no longer be read ({exc.problems[0].message})"),
                            changed=True)
    try:
        return PixelVerdict(changed=True, info=check_image_data(path, data, icon.sizes))
    except InvalidImageError as exc:
        why = f"is no longer a valid icon ({exc.problems[0].message})"
        return PixelVerdict(_changed(path, why), changed=True)


def _changed(path: Path, why: str) -> Problem:
    return Problem(display_path(path), f"changed during the push and {why}; fix the file, then run the same "
                                       "command again")


# Bump when a check changes, so results cached by an older bulkgc are not trusted.
CHECKS_VERSION = 1


class ScanCache:
    """Results of earlier checks, trusted only while a file's size, mtime, ctime and inode are unchanged.

    The same rule git's index and rsync use: a re-run (or a resumed run) decodes only icons that changed,
    which is most of a no-op run's CPU otherwise. Only valid icons are remembered; a file with a problem is
    checked again every time. Stored as JSON (mode 0600) next to the resume journal.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, object]] = {}
        self._dirty = False
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("checks") == CHECKS_VERSION and isinstance(doc.get("entries"), dict):
                self._entries = doc["entries"]
        except (OSError, ValueError, AttributeError):
            pass  # missing or unreadable: start empty, it is only a cache

    @staticmethod
    def _stamp(st: os.stat_result) -> list[int]:
        return list(stamp_of(st))

    def get(self, path: Path) -> ImageInfo | None:
        entry = self._entries.get(os.fsdecode(path.absolute()))
        if entry is None:
            return None
        try:
            if entry.get("stamp") != self._stamp(path.stat()):
                return None
            info = dict(entry["info"])  # type: ignore[call-overload]
            return ImageInfo(path=path, format=info["format"], width=info["width"], height=info["height"],
                             size=info["size"], sha256=info["sha256"], mime=info["mime"],
                             notes=tuple(info.get("notes") or ()))
        except (OSError, KeyError, TypeError):
            return None

    def put(self, info: ImageInfo, stat_before: os.stat_result | tuple[int, ...]) -> None:
        """Remember a valid icon, checked from bytes read after `stat_before` (a stat or its `stamp_of`)."""
        # (a stat_result is a tuple too)
        before = self._stamp(stat_before) if isinstance(stat_before, os.stat_result) else list(stat_before)
        try:
            if self._stamp(info.path.stat()) != before:
                return  # changed while it was being checked: do not remember
        except OSError:
            return
        self._entries[os.fsdecode(info.path.absolute())] = {
            "stamp": before,
            "info": {"format": info.format, "width": info.width, "height": info.height, "size": info.size,
                     "sha256": info.sha256, "mime": info.mime, "notes": list(info.notes)},
        }
        self._dirty = True

    def save(self) -> None:
        """Write the cache atomically (best effort: a cache that cannot be written is just not kept)."""
        if not self._dirty:
            return
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"checks": CHECKS_VERSION, "entries": self._entries}, f)
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _check_cached(
    path: Path,
    cache: ScanCache | None,
    sizes: tuple[tuple[int, int], ...] = ALLOWED_SIZES,
) -> ImageInfo | Problem:
    hit = cache.get(path) if cache is not None else None
    if hit is not None:
        return _size_checked(path, hit, sizes)
    if cache is None:
        return _check_or_problem(path, sizes)
    try:
        before = path.stat()
    except OSError:
        return _check_or_problem(path, sizes)
    outcome = _check_or_problem(path, sizes)
    if isinstance(outcome, ImageInfo):
        cache.put(outcome, before)
    return outcome


def _size_checked(path: Path, hit: ImageInfo, sizes: tuple[tuple[int, int], ...]) -> ImageInfo | Problem:
    """A cache hit, its size checked again: the cache remembers a valid file, not the slot it was checked for."""
    wrong_size = size_problem(hit.width, hit.height, sizes)
    return hit if wrong_size is None else Problem(display_path(path), wrong_size)


async def scan_images(
    paths: Iterable[str | os.PathLike[str]],
    *,
    concurrency: int | None = None,
    cache: ScanCache | None = None,
    sizes: Mapping[Path, tuple[tuple[int, int], ...]] | None = None,
    pending: list[PendingIcon] | None = None,
) -> tuple[dict[Path, ImageInfo], list[Problem]]:
    """Check every path (each once) in worker threads: the valid ones and every problem, in input order.

    `sizes` gives a path's allowed pixel sizes (its slot's rule; `Manifest.image_sizes()`); others are icons
    (512x512 or 1024x1024). With a `cache`, images unchanged since an earlier check are not decoded again
    (`cache.save()` keeps what this scan learned). With a `pending` list, plain PNGs get only the first half
    of the checks (`first_half`) and go there, in input order, instead of into the valid ones.
    """
    unique = list(dict.fromkeys(Path(p) for p in paths))
    results: dict[Path, ImageInfo | Problem | PendingIcon] = {}
    limiter = anyio.CapacityLimiter(max(1, concurrency or check_threads()))

    def allowed(path: Path) -> tuple[tuple[int, int], ...]:
        return (sizes or {}).get(path, ALLOWED_SIZES)

    def cheap(batch_paths: list[Path]) -> list[Path]:
        """Cache hits and first halves (Python work that holds the GIL: one thread, no contention); the paths
        that need a full check. Files to be read (not cache hits: a re-run reads none) are asked for
        `_READ_AHEAD` files ahead, so the disk reads them while this thread works (one thread waiting for one
        file at a time took 7.5 s for 3,900 1 MB icons not in the page cache, 3.2 s reading ahead)."""
        full = []
        to_read = []
        for path in batch_paths:
            hit = cache.get(path) if cache is not None else None
            if hit is not None:
                results[path] = _size_checked(path, hit, allowed(path))
            else:
                to_read.append(path)
        for ahead in to_read[:_READ_AHEAD]:
            _prefetch(ahead)
        for index, path in enumerate(to_read):
            if index + _READ_AHEAD < len(to_read):
                _prefetch(to_read[index + _READ_AHEAD])
            if (half := first_half(path, allowed(path))) is not None:
                results[path] = half
            else:
                full.append(path)
        return full

    def check_one(path: Path) -> None:
        results[path] = _check_cached(path, cache, allowed(path))

    # with halves, nearly every icon is settled by its cheap half (≈0.05 ms): all in one trip to one worker
    # thread (several threads would only fight over the GIL: 1,000 icons took 87 ms on two, 50 on one);
    # the rest (decoded by Pillow, which releases the GIL) one by one on every core
    needing_full = await anyio.to_thread.run_sync(cheap, unique) if pending is not None else unique
    async with anyio.create_task_group() as tg:
        for path in needing_full:
            tg.start_soon(partial(anyio.to_thread.run_sync, check_one, path, limiter=limiter))
    infos: dict[Path, ImageInfo] = {}
    problems: list[Problem] = []
    for path in unique:
        outcome = results[path]
        if isinstance(outcome, ImageInfo):
            infos[path] = outcome
        elif isinstance(outcome, PendingIcon):
            assert pending is not None
            pending.append(outcome)
        else:
            problems.append(outcome)
    return infos, problems


_READ_AHEAD = 32  # files asked for ahead of the one being checked (`_prefetch`)


def _prefetch(path: Path) -> None:
    """Ask the kernel to start reading a regular file (all of it: its digest is taken next) without waiting
    for it (POSIX_FADV_WILLNEED); nothing where that does not exist, or for anything odd."""
    if not hasattr(os, "posix_fadvise"):
        return
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or a device for this
            return
        fd = _open_nonblocking(path)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)
    except OSError:
        pass


def check_threads() -> int:
    """Worker threads for icon checks: inflate, hashing and Pillow work without the GIL, so one per core (at
    most 4) keeps every core busy; more only adds switching."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores))


def walk_images(directory: str | os.PathLike[str]) -> tuple[list[Path], list[Problem]]:
    """Icon candidates (*.png, *.jpg, *.jpeg, any case) below `directory`, sorted; hidden entries skipped.

    Symbolic links are followed, but a link that leads back into a directory being walked (a loop), a
    link to itself and a broken link are reported as problems instead.
    """
    root = Path(directory)
    found: list[Path] = []
    problems: list[Problem] = []
    try:
        root_stat = root.stat()
    except OSError as exc:
        return [], [Problem(display_path(root), f"cannot open the directory ({exc.strerror or exc})")]
    if not stat.S_ISDIR(root_stat.st_mode):
        return [], [Problem(display_path(root), "is not a directory")]

    def walk(current: Path, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            names = sorted(os.listdir(current))
        except OSError as exc:
            why = f"cannot list the directory ({exc.strerror or exc})"
            problems.append(Problem(display_path(current), why))
            return
        for name in names:
            if name.startswith("."):
                continue
            entry = current / name
            try:
                st = entry.stat()
            except OSError as exc:
                if entry.is_symlink():
                    loop = exc.errno == errno.ELOOP
                    why = "is a symbolic link loop" if loop else "is a broken symbolic link"
                    fix = "point it at a real file or remove it"
                    problems.append(Problem(display_path(entry), f"{why}: {fix}"))
                else:
                    why = f"cannot be examined ({exc.strerror or exc})"
                    problems.append(Problem(display_path(entry), why))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    why = "is a symbolic link loop (leads back to a parent directory): remove the link"
                    problems.append(Problem(display_path(entry), why))
                    continue
                walk(entry, ancestors | {key})
            elif entry.suffix.lower() in IMAGE_EXTENSIONS:
                found.append(entry)

    walk(root, frozenset({(root_stat.st_dev, root_stat.st_ino)}))
    return found, problems


async def scan_directory(
    directory: str | os.PathLike[str], *, concurrency: int = 4
) -> tuple[dict[Path, ImageInfo], list[Problem]]:
    """Walk `directory` (see `walk_images`) and check every icon; walk and image problems together."""
    paths, walk_problems = await anyio.to_thread.run_sync(walk_images, directory)
    infos, problems = await scan_images(paths, concurrency=concurrency)
    return infos, walk_problems + problems

