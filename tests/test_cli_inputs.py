"""Bad input at the command line: a message naming the file or field and the fix, the documented exit code,
no traceback, and nothing sent to App Store Connect (a live simulator's request log stays empty and no
socket is even opened)."""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

import bulkgc.scan
from bulkgc.cli import main
from bulkgc.sim import SimConfig, Simulator

APP_ID = "6446000001"
VENDOR = "com.example.bad"


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live_sim() -> Iterator[Simulator]:
    """A simulator on 127.0.0.1 in its own thread, so the CLI can run `anyio.run` in this one."""
    with start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Simulator(SimConfig(app_id=APP_ID, seed=11))) as sim:
            yield sim


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASC_*/BULKGC_* variable of the machine running the tests may change what the CLI does."""
    for name in list(os.environ):
        if name.startswith(("ASC_", "BULKGC_")):
            monkeypatch.delenv(name)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address a socket of this process connects to while the test runs (the connect still happens)."""
    seen: list[Any] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        seen.append(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return seen


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `bulkgc argv` in-process; (exit code, stdout, stderr). No traceback may reach the user."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, out, err


def push_args(sim: Simulator, manifest: Path, tmp: Path, *extra: str, key_path: Path | None = None,
              key_id: str | None = None, issuer_id: str | None = None) -> list[str]:
    """`push` flags that point at the live simulator with its (working) key unless told otherwise."""
    if key_path is None:
        key_path = sim.key.write_p8(tmp / "keys")
    return ["push", str(manifest), "--base-url", sim.base_url, "--key-id", key_id or sim.key.key_id,
            "--issuer-id", issuer_id or sim.key.issuer_id, "--private-key-path", str(key_path),
            "--journal", str(tmp / "state" / "journal.sqlite"), "--log-format", "plain", *extra]


# ---------------------------------------------------------------------------------------------- images


def rgb(size: tuple[int, int] = (512, 512)) -> Image.Image:
    """An opaque RGB image with a little structure."""
    img = Image.new("RGB", size, (30, 90, 200))
    img.paste((250, 200, 0), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    return img


def png_bytes(img: Image.Image, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **params)
    return buf.getvalue()


def bomb_png() -> bytes:
    """A tiny PNG whose header claims 40000x40000 pixels (a decompression bomb)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", 40_000, 40_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def write_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def save(img: Callable[[], Image.Image], fmt: str = "PNG", **params: Any) -> Callable[[Path], None]:
    return lambda path: img().save(path, fmt, **params)


def animated(path: Path) -> None:
    frames = [Image.new("RGB", (512, 512), (i * 60, 0, 0)) for i in range(3)]
    frames[0].save(path, "PNG", save_all=True, append_images=frames[1:], duration=100)


def transparent() -> Image.Image:
    img = Image.new("RGBA", (512, 512), (0, 128, 0, 255))
    img.putpixel((0, 0), (0, 0, 0, 0))
    return img


def symlink_loop(path: Path) -> None:
    path.symlink_to(path.with_name("loop2.png"))
    path.with_name("loop2.png").symlink_to(path.name)


def unreadable(path: Path) -> None:
    rgb().save(path, "PNG")
    path.chmod(0)  # root reads it anyway: the test also makes the open fail with EACCES (see deny_read)


# case id -> (file name, maker, what the message says, the fix it names)
IMAGE_CASES: dict[str, tuple[str, Callable[[Path], None], str, str]] = {
    "text_named_png": ("icon.png", write_bytes(b"just some text, not an image\n"), "is a text file, not a PNG or JPEG",
                       "export it as an 8-bit RGB PNG"),
    "truncated_png": ("icon.png", lambda p: p.write_bytes(png_bytes(Image.frombytes(
        "RGB", (512, 512), os.urandom(512 * 512 * 3)))[:200_000]), "is truncated", "export or copy it again"),
    "empty": ("icon.png", write_bytes(b""), "is empty (0 bytes)", "export the icon again"),
    "511x512": ("icon.png", save(lambda: rgb((511, 512))), "is 511x512", "resize it"),
    "512x1024": ("icon.png", save(lambda: rgb((512, 1024))), "is 512x1024", "resize it"),
    "2048x2048": ("icon.png", save(lambda: rgb((2048, 2048))), "is 2048x2048", "resize it"),
    "rgba_transparent": ("icon.png", save(transparent), "has transparency", "flatten it onto an opaque background"),
    # Decision: an alpha channel is refused even when every pixel is opaque (Apple fails it after upload
    # with IMAGE_ALPHA_NOT_ALLOWED); bulkgc does not rewrite the file.
    "rgba_opaque": ("icon.png", save(lambda: Image.new("RGBA", (512, 512), (9, 9, 9, 255))),
                    "IMAGE_ALPHA_NOT_ALLOWED", "img.convert('RGB')"),
    "palette": ("icon.png", save(lambda: rgb().convert("P")), "palette (P", "convert it to 8-bit RGB"),
    "grayscale": ("icon.png", save(lambda: rgb().convert("L")), "grayscale (L)", "convert it to 8-bit RGB"),
    "16bit": ("icon.png", save(lambda: Image.new("I;16", (512, 512), 30000)), "16-bit grayscale",
              "convert it to 8-bit RGB"),
    "cmyk_jpeg": ("icon.jpg", save(lambda: rgb().convert("CMYK"), "JPEG", quality=80), "CMYK",
                  "convert it to 8-bit RGB"),
    "animated_png": ("icon.png", animated, "animated PNG (3 frames)", "export a single still frame"),
    "decompression_bomb": ("icon.png", write_bytes(bomb_png()), "decompression-bomb limit",
                           "export a 1024x1024 icon"),
    "unreadable": ("icon.png", unreadable, "permission denied", "fix its permissions"),
    "symlink_loop": ("loop.png", symlink_loop, "symbolic link loop", "point"),
}
# A non-UTF-8 file name cannot be written in a TOML manifest; JSON can name it with a \udcXX escape
# (Python's surrogateescape), which is how it is reached through `validate <manifest>` and `push`.
NON_UTF8_NAME = "caf\udce9.png"


@pytest.fixture
def deny_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a file called icon.png that has mode 000 fails with EACCES, as it does for a normal user."""
    real_open = bulkgc.scan._open_nonblocking

    def fake_open(file: Any) -> int:
        if isinstance(file, os.PathLike | str) and Path(file).exists() and Path(file).stat().st_mode & 0o777 == 0:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file)

    monkeypatch.setattr(bulkgc.scan, "_open_nonblocking", fake_open)


def manifest_text(image: str, *, fmt: str = "toml") -> str:
    """A valid one-achievement manifest whose only icon is `image` (relative to assets/)."""
    if fmt == "json":
        return json.dumps({
            "app_id": APP_ID, "assets": "assets",
            "defaults": {"points": 5, "show_before_earned": True, "repeatable": False},
            "achievement": [{"vendor_identifier": VENDOR, "reference_name": "Bad icon", "image": image,
                             "locales": {"en-US": {"name": "Bad", "before_earned_description": "Before",
                                                   "after_earned_description": "After"}}}],
        })
    return (
        f'app_id = "{APP_ID}"\nassets = "assets"\n\n[defaults]\npoints = 5\nshow_before_earned = true\n'
        f'repeatable = false\n\n[[achievement]]\nvendor_identifier = "{VENDOR}"\nreference_name = "Bad icon"\n'
        f'image = "{image}"\n\n[achievement.locales.en-US]\nname = "Bad"\nbefore_earned_description = "Before"\n'
        'after_earned_description = "After"\n'
    )


def image_workspace(tmp_path: Path, case: str) -> tuple[Path, Path, str]:
    """assets/ holding only the case's icon and a manifest naming it: (assets dir, manifest, file name)."""
    assets = tmp_path / "assets"
    assets.mkdir()
    if case == "non_utf8_name":
        name = NON_UTF8_NAME
        rgb().save(os.fsencode(assets / name), "PNG")
        manifest = tmp_path / "game.json"
        manifest.write_text(manifest_text(name, fmt="json"), encoding="utf-8")
        return assets, manifest, "caf\\xe9.png"
    name, make, _, _ = IMAGE_CASES[case]
    make(assets / name)
    manifest = tmp_path / "game.toml"
    manifest.write_text(manifest_text(name), encoding="utf-8")
    return assets, manifest, name


ALL_IMAGE_CASES = [*IMAGE_CASES, "non_utf8_name"]


def expected(case: str) -> tuple[str, str]:
    if case == "non_utf8_name":
        return "not valid UTF-8", "rename it"
    return IMAGE_CASES[case][2], IMAGE_CASES[case][3]


# ---------------------------------------------------------------------------------------------- image tests


@pytest.mark.parametrize("mode", ["validate_dir", "validate_manifest", "push"])
@pytest.mark.parametrize("case", ALL_IMAGE_CASES)
def test_bad_icon_is_refused_with_file_reason_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: Simulator, connects: list[Any],
    deny_read: None, case: str, mode: str,
) -> None:
    """Each bad icon exits 2 naming the file, what is wrong and the fix; no socket opens, the simulator sees nothing."""
    assets, manifest, shown_name = image_workspace(tmp_path, case)
    what, fix = expected(case)
    seen = len(live_sim.requests)
    if mode == "validate_dir":
        code, out, err = run_cli(capsys, "validate", str(assets))
    elif mode == "validate_manifest":
        code, out, err = run_cli(capsys, "validate", str(manifest))
    else:
        code, out, err = run_cli(capsys, *push_args(live_sim, manifest, tmp_path))
    assert code == 2, err
    line = next((ln for ln in err.splitlines() if shown_name in ln), None)
    assert line is not None, err
    assert what in line and fix in line, line
    assert "nothing was sent" in err.lower()
    assert connects == [] and len(live_sim.requests) == seen
    if mode == "push":
        assert not (tmp_path / "state").exists()  # refused before the journal was even created


def test_progressive_jpeg_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str], connects: list[Any]) -> None:
    """A progressive JPEG is standard JPEG and passes (documented decision), through a directory and a manifest."""
    assets = tmp_path / "assets"
    assets.mkdir()
    rgb().save(assets / "icon.jpg", "JPEG", quality=85, progressive=True)
    manifest = tmp_path / "game.toml"
    manifest.write_text(manifest_text("icon.jpg"), encoding="utf-8")
    for target in (assets, manifest):
        code, out, err = run_cli(capsys, "validate", str(target))
        assert code == 0 and "OK: 1 image(s) checked" in out, err
    assert connects == []


def test_every_bad_icon_is_listed_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             deny_read: None) -> None:
    """One `validate <dir>` lists every bad icon at once (one line each), not just the first."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for i, (case, (name, make, _, _)) in enumerate(IMAGE_CASES.items()):
        sub = assets / f"{i:02d}"
        sub.mkdir()
        make(sub / name)
    code, _, err = run_cli(capsys, "validate", str(assets))
    assert code == 2
    for i, case in enumerate(IMAGE_CASES):
        what, _ = expected(case)
        assert any(f"{i:02d}/" in ln and what in ln for ln in err.splitlines()), (case, err)


# ---------------------------------------------------------------------------------------------- manifests

HEAD = (f'app_id = "{APP_ID}"\nassets = "assets"\n\n[defaults]\npoints = 5\nshow_before_earned = true\n'
        "repeatable = false\n")


def ach(vid: str, *, extra: str = "", name: str = "Name", locale: str = "en-US") -> str:
    """TOML of one achievement with one localization."""
    return (f'\n[[achievement]]\nvendor_identifier = "{vid}"\nreference_name = "Ref {vid}"\n{extra}\n'
            f'[achievement.locales.{locale}]\nname = "{name}"\nbefore_earned_description = "Before"\n'
            'after_earned_description = "After"\n')


# case id -> (manifest body after HEAD, fragments that must appear on one line of stderr)
MANIFEST_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "syntax_error": (ach("com.x.a") + 'points = = 5\n', ("game.toml:17:", "TOML syntax error", "fix the syntax at that line")),
    "unknown_key": (ach("com.x.a", extra="pionts = 5"), ("pionts", "did you mean 'points'")),
    "wrong_type": (ach("com.x.a", extra='points = "five"'), (").points:", "string")),
    "duplicate_vendor_id": (ach("com.x.a") + ach("com.x.a"), ("duplicate vendor_identifier",
                                                              "already used by achievement[1]")),
    "unknown_locale": (ach("com.x.a", locale="fr_FR"), ("'fr_FR' is not a locale", "did you mean 'fr-FR'")),
    "over_long_text": (ach("com.x.a", name="n" * 500), (".locales.en-US.name", "is 500 characters", "shorten it")),
    "points_out_of_range": (ach("com.x.a", extra="points = 101"), (").points:", "0..100")),
    "over_100_achievements": ("".join(ach(f"com.x.m{i}", extra="points = 0") for i in range(101)),
                              ("101 achievements", "at most 100 per app")),
    "image_missing": (ach("com.x.a", extra='image = "nope.png"'), ("image 'nope.png' not found",
                                                                   "relative to the assets directory")),
}


def manifest_workspace(tmp_path: Path, case: str) -> Path:
    assets = tmp_path / "assets"
    assets.mkdir()
    body, _ = MANIFEST_CASES[case]
    vids = {line.split('"')[1] for line in body.splitlines() if line.startswith("vendor_identifier")}
    for vid in vids:  # every icon exists and is valid: only the manifest problem remains
        rgb().save(assets / f"{vid}.png", "PNG")
    manifest = tmp_path / "game.toml"
    manifest.write_text(HEAD + body, encoding="utf-8")
    return manifest


@pytest.mark.parametrize("mode", ["validate", "push"])
@pytest.mark.parametrize("case", list(MANIFEST_CASES))
def test_bad_manifest_is_refused_with_location_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: Simulator, connects: list[Any],
    case: str, mode: str,
) -> None:
    """Each manifest problem exits 2 with the file, the field (or line) and the fix on one line; nothing is sent."""
    manifest = manifest_workspace(tmp_path, case)
    _, fragments = MANIFEST_CASES[case]
    seen = len(live_sim.requests)
    argv = ["validate", str(manifest)] if mode == "validate" else push_args(live_sim, manifest, tmp_path)
    code, _, err = run_cli(capsys, *argv)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if str(manifest) in ln and all(f in ln for f in fragments)]
    assert len(lines) == 1, (fragments, err)
    assert "nothing was sent" in err.lower()
    assert connects == [] and len(live_sim.requests) == seen


# ---------------------------------------------------------------------------------------------- credentials


def valid_workspace(tmp_path: Path) -> Path:
    """A valid manifest with one valid icon."""
    assets = tmp_path / "assets"
    assets.mkdir()
    rgb().save(assets / f"{VENDOR}.png", "PNG")
    manifest = tmp_path / "game.toml"
    manifest.write_text(HEAD + ach(VENDOR), encoding="utf-8")
    return manifest


def p384_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP384R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


# case id -> (key file bytes or None for "no such file", key id override, issuer override, message fragments)
CREDENTIAL_CASES: dict[str, tuple[bytes | None, str | None, str | None, tuple[str, ...]]] = {
    "missing_key_file": (None, None, None, ("does not exist", "--private-key-path")),
    "malformed_pem": (b"-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n"
                      b"-----END PRIVATE KEY-----\n", None, None, ("malformed PEM private key", "download the .p8")),
    "wrong_curve_p384": (p384_pem(), None, None, ("secp384r1", "P-256")),
    "wrong_key_id": (b"", "ZZZZZZZZZZ", None, ("rejected the token", "key id matches the .p8 file")),
    "wrong_issuer": (b"", None, "00000000-0000-0000-0000-000000000000",
                     ("rejected the token", "issuer id is the one shown")),
}


@pytest.mark.parametrize("case", list(CREDENTIAL_CASES))
def test_bad_credentials_exit_3_with_one_line_and_no_retry_storm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], live_sim: Simulator, case: str,
) -> None:
    """Bad key file/PEM/curve, or a key id or issuer App Store Connect refuses (401): exit 3, one line, <= 2 requests."""
    manifest = valid_workspace(tmp_path)
    pem, key_id, issuer_id, fragments = CREDENTIAL_CASES[case]
    key_path = tmp_path / "AuthKey.p8"
    if pem == b"":
        key_path = live_sim.key.write_p8(tmp_path / "keys")  # the right key, refused for its id or issuer
    elif pem is not None:
        key_path.write_bytes(pem)
    seen = len(live_sim.requests)
    code, out, err = run_cli(capsys, *push_args(live_sim, manifest, tmp_path, "--quiet", key_path=key_path,
                                                key_id=key_id, issuer_id=issuer_id))
    assert code == 3, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("bulkgc: ") and all(f in lines[0] for f in fragments), lines[0]
    sent = live_sim.requests[seen:]
    assert len(sent) <= 2, [(r.method, r.path, r.status) for r in sent]
    assert all(r.status == 401 for r in sent)
    if pem != b"":
        assert sent == []  # a key problem found locally sends nothing at all
