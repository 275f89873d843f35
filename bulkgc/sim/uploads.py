"""Upload reservations (operations, signed URLs) and image processing (Pillow decode off the event loop).

Processing error codes: `IMAGE_INCORRECT_DIMENSIONS` and `IMAGE_ALPHA_NOT_ALLOWED` are observed in the wild [3P];
`IMAGE_INVALID` (undecodable bytes) and `IMAGE_TYPE_MISMATCH` (content is not what the file name says, or
neither PNG nor JPEG) are [INFER] names — Apple publishes no list.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from typing import Any

ALLOWED_SIZES = ((512, 512), (1024, 1024))
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def content_type_for(file_name: str) -> str:
    lower = file_name.lower()
    for ext, ctype in CONTENT_TYPES.items():
        if lower.endswith(ext):
            return ctype
    return "application/octet-stream"


def plan_parts(file_size: int, part_size: int) -> list[dict[str, int]]:
    """Contiguous parts covering [0, file_size): [{part, offset, length}], part numbers from 1."""
    parts = []
    offset = 0
    number = 1
    while offset < file_size:
        length = min(part_size, file_size - offset)
        parts.append({"part": number, "offset": offset, "length": length})
        offset += length
        number += 1
    return parts


def new_upload_token() -> str:
    return secrets.token_urlsafe(18)


def sign(secret: str, token: str, part: int, expires: int) -> str:
    return hmac.new(secret.encode(), f"{token}:{part}:{expires}".encode(), hashlib.sha256).hexdigest()


def signature_ok(secret: str, token: str, part: int, expires: int, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, token, part, expires), signature)


def upload_operations(base_url: str, image: dict[str, Any], secret: str) -> list[dict[str, Any]]:
    """The `uploadOperations` of a reserved image (same answer on every read, so clients can resume)."""
    expires = int(image["expires"])
    ops = []
    for part in image["operations"]:
        sig = sign(secret, image["token"], part["part"], expires)
        ops.append(
            {
                "method": "PUT",
                "url": f"{base_url}/upload/{image['token']}?partNumber={part['part']}&Expires={expires}&Signature={sig}",
                "length": part["length"],
                "offset": part["offset"],
                "requestHeaders": [{"name": "Content-Type", "value": content_type_for(image["fileName"])}],
            }
        )
    return ops


def analyse_image(
    data: bytes, file_name: str, sizes: tuple[tuple[int, int], ...] | None = None, label: str | None = None
) -> dict[str, Any]:
    """Decode the reassembled file (blocking: run it in a thread) and list every processing error.

    `sizes` are the dimensions the image's slot accepts and `label` says so in words (default: achievement images).
    """
    sizes = sizes or ALLOWED_SIZES
    label = label or "achievement images must be 512x512 or 1024x1024 pixels"
    from PIL import Image, UnidentifiedImageError

    errors: list[dict[str, str]] = []
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            fmt, width, height, mode = im.format, im.width, im.height, im.mode
            has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return {
            "state": "FAILED",
            "errors": [{"code": "IMAGE_INVALID", "description": "The file could not be decoded as an image."}],
        }
    ext = next((e for e in FORMATS if file_name.lower().endswith(e)), None)
    if fmt not in ("PNG", "JPEG") or (ext is not None and FORMATS[ext] != fmt) or ext is None:
        errors.append(
            {
                "code": "IMAGE_TYPE_MISMATCH",
                "description": f"The file is {fmt}; '{file_name}' must be a PNG (.png) or JPEG (.jpg, .jpeg) file.",
            }
        )
    if (width, height) not in sizes:
        errors.append(
            {
                "code": "IMAGE_INCORRECT_DIMENSIONS",
                "description": f"The image is {width}x{height}; {label}.",
            }
        )
    if has_alpha:
        errors.append({"code": "IMAGE_ALPHA_NOT_ALLOWED", "description": "Alpha channel not allowed"})
    if errors:
        return {"state": "FAILED", "errors": errors}
    return {"state": "COMPLETE", "width": width, "height": height, "format": "png" if fmt == "PNG" else "jpg"}
