"""App Store Connect API credentials (key id, issuer id, .p8 key) and the ES256 JWT TokenProvider."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bulkgc.errors import ConfigError

log = logging.getLogger("bulkgc.asc.auth")

AUDIENCE = "appstoreconnect-v1"
MAX_TOKEN_LIFETIME = 1200.0  # Apple rejects tokens living longer than 20 minutes for these endpoints

ENV_KEY_ID = "ASC_KEY_ID"
ENV_ISSUER_ID = "ASC_ISSUER_ID"
ENV_KEY_PATH = "ASC_PRIVATE_KEY_PATH"
ENV_KEY_TEXT = "ASC_PRIVATE_KEY"
ENV_KEY_JSON = "ASC_API_KEY_JSON"

_AUTHKEY_NAME = re.compile(r"AuthKey_([A-Za-z0-9]+)\.p8")

_HOW_TO_GET_KEY = (
    "download the .p8 file from App Store Connect > Users and Access > Integrations > "
    "App Store Connect API (AuthKey_<KEY ID>.p8, a PEM text file; its first line is the BEGIN PRIVATE KEY marker)"
)


@dataclass(frozen=True)
class Credentials:
    """A validated App Store Connect API key. The private key never appears in repr/str."""

    key_id: str
    issuer_id: str | None  # None: an individual key (token carries sub="user" instead of iss)
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)
    source: str = "explicit arguments"  # where the key came from, for error messages
    in_house: bool = False  # fastlane's flag for Enterprise keys; kept for callers, not used in the JWT

    @property
    def individual(self) -> bool:
        """True for an individual key (no issuer id)."""
        return self.issuer_id is None

    def __repr__(self) -> str:
        kind = "individual" if self.individual else f"issuer_id={self.issuer_id!r}"
        return f"Credentials(key_id={self.key_id!r}, {kind}, source={self.source!r})"

    __str__ = __repr__

    @classmethod
    def from_pem(cls, key_id: str, issuer_id: str | None, pem: str | bytes, *, source: str = "PEM text") -> Credentials:
        """Credentials from the key text; raises ConfigError when the text is not an EC P-256 private key."""
        return cls(
            key_id=_require_id(key_id, "key id", ENV_KEY_ID),
            issuer_id=_clean(issuer_id),
            private_key=load_private_key(pem, where=source),
            source=source,
        )

    @classmethod
    def load(
        cls,
        *,
        key_id: str | None = None,
        issuer_id: str | None = None,
        private_key_path: str | os.PathLike[str] | None = None,
        private_key: str | None = None,
        api_key_json: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        key_id_origin: str | None = None,
    ) -> Credentials:
        """Gather the key from explicit args > environment (ASC_*) > fastlane API key JSON, then validate it.

        Every problem is a ConfigError naming the field or file and the fix, raised before any request.
        `env=None` means no environment lookup (pass `os.environ` to read it). `key_id_origin` says where the
        key id came from (e.g. "environment variable ASC_KEY_ID"), for messages.
        """
        env = env or {}
        json_path = api_key_json or _clean(env.get(ENV_KEY_JSON))
        fastlane = _read_fastlane_json(Path(json_path)) if json_path else {}
        json_where = f"API key JSON {json_path}"

        kid = _first(key_id, env.get(ENV_KEY_ID), fastlane.get("key_id"))
        iss = _first(issuer_id, env.get(ENV_ISSUER_ID), fastlane.get("issuer_id"))

        # The key itself: the first level (explicit, env, json) that names one wins, as for the ids.
        pem: str | bytes | None = None
        where = ""
        levels: list[tuple[str, Any, Any]] = [
            ("explicit", private_key_path, private_key),
            ("environment", _clean(env.get(ENV_KEY_PATH)), _clean(env.get(ENV_KEY_TEXT))),
        ]
        for level, path, text in levels:
            if path and text:
                names = "--private-key-path and the key text" if level == "explicit" else f"{ENV_KEY_PATH} and {ENV_KEY_TEXT}"
                raise ConfigError(f"both {names} are set; keep only one of them")
            if path:
                pem, where = _read_key_file(Path(path)), f"key file {path}"
                break
            if text:
                pem, where = text, f"{ENV_KEY_TEXT}" if level == "environment" else "private key text"
                break
        else:
            if fastlane.get("key"):
                pem, where = _fastlane_key(fastlane), f"'key' in {json_where}"

        missing = []
        if not kid:
            missing.append(f"key id (--key-id, {ENV_KEY_ID}, or 'key_id' in the API key JSON)")
        if pem is None:
            missing.append(
                f"private key (--private-key-path, {ENV_KEY_PATH}, {ENV_KEY_TEXT}, or 'key' in the API key JSON)"
            )
        if missing:
            raise ConfigError(
                "App Store Connect credentials incomplete; missing " + " and ".join(missing) + f"; {_HOW_TO_GET_KEY}"
            )
        assert pem is not None and kid is not None
        if where.startswith("key file "):
            _check_key_file_name(Path(where.removeprefix("key file ")), kid, key_id_origin)
        creds = cls(
            key_id=_require_id(kid, "key id", ENV_KEY_ID),
            issuer_id=_clean(iss),
            private_key=load_private_key(pem, where=where),
            source=where,
            in_house=bool(fastlane.get("in_house", False)),
        )
        if creds.individual:
            log.info("no issuer id given: using key %s as an individual key (JWT sub=user)", creds.key_id)
        return creds


def load_private_key(pem: str | bytes, *, where: str) -> ec.EllipticCurvePrivateKey:
    """Parse PEM text into an EC P-256 private key; ConfigError (naming `where`, never the text) otherwise."""
    if isinstance(pem, str):
        # CI secret stores often flatten newlines to a literal backslash-n.
        pem = pem.strip().replace("\\n", "\n").encode("utf-8")
    else:
        pem = pem.strip()
    pem = _unbase64(pem)
    if b"-----BEGIN" not in pem:
        raise ConfigError(f"{where} is not a PEM private key (no '-----BEGIN' line); {_HOW_TO_GET_KEY}")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigError(f"{where} is an encrypted key; App Store Connect .p8 keys are not encrypted") from None
    except Exception:
        # Any parse failure: the exception text may quote key bytes, so it is dropped (from None).
        raise ConfigError(f"{where} holds a malformed PEM private key; {_HOW_TO_GET_KEY}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = type(key).__name__.lstrip("_").replace("PrivateKey", "") or "non-EC"
        raise ConfigError(
            f"{where} holds a {kind} key, but App Store Connect API keys are EC P-256 (ES256); {_HOW_TO_GET_KEY}"
        )
    if not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(
            f"{where} holds an EC key on curve {key.curve.name}, but ES256 needs P-256 (secp256r1); {_HOW_TO_GET_KEY}"
        )
    return key


def _unbase64(text: bytes) -> bytes:
    """The PEM inside `text` when it is the base64 of a .p8 file (as CI secret stores and fastlane's
    APP_STORE_CONNECT_API_KEY_IS_KEY_CONTENT_BASE64 hold it); `text` unchanged otherwise."""
    if b"-----BEGIN" in text:
        return text
    try:
        decoded = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return text
    return decoded.strip() if b"-----BEGIN" in decoded else text


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _first(*values: Any) -> str | None:
    for v in values:
        if _clean(v):
            return _clean(v)
    return None


def _require_id(value: str, what: str, env_name: str) -> str:
    text = _clean(value)
    if not text or any(c.isspace() for c in text):
        raise ConfigError(f"the {what} {value!r} is empty or contains spaces; check {env_name}")
    return text


def _check_key_file_name(path: Path, key_id: str, origin: str | None) -> None:
    """App Store Connect names each downloaded key AuthKey_<KEY ID>.p8: a file named for another key id
    means the id or the file is wrong, which Apple would only answer with a 401 after the first request."""
    m = _AUTHKEY_NAME.fullmatch(path.name)
    if m and m.group(1) != key_id:
        given = f" (from {origin})" if origin and origin != "default" else ""
        raise ConfigError(
            f"the key file {path.name} is named for key id {m.group(1)}, but the key id given is "
            f"{key_id}{given}; App Store Connect names each .p8 after its key id, so use key id "
            f"{m.group(1)} or the .p8 of key {key_id} (rename the file if it really is key {key_id})"
        )


def _read_key_file(path: Path) -> bytes:
    try:
        return path.expanduser().read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"key file {path} does not exist; check --private-key-path / {ENV_KEY_PATH}") from None
    except OSError as e:
        raise ConfigError(f"key file {path} cannot be read ({e.strerror}); check its permissions") from None


def _read_fastlane_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"API key JSON {path} does not exist; check --api-key-json / {ENV_KEY_JSON}") from None
    except OSError as e:
        raise ConfigError(f"API key JSON {path} cannot be read ({e.strerror}); check its permissions") from None
    except ValueError:
        # No detail: the decoder's message can quote the file, which holds the key.
        raise ConfigError(
            f"API key JSON {path} is not valid JSON; expected {{\"key_id\": ..., \"issuer_id\": ..., \"key\": ...}}"
        ) from None
    if not isinstance(obj, dict):
        raise ConfigError(f"API key JSON {path} must hold an object with key_id, issuer_id and key")
    return obj


def _fastlane_key(obj: Mapping[str, Any]) -> str | bytes:
    key = obj.get("key")
    if not isinstance(key, str):
        raise ConfigError("'key' in the API key JSON must be the .p8 text as a string")
    if obj.get("is_key_content_base64"):
        try:
            return base64.b64decode(key, validate=False)
        except (binascii.Error, ValueError):
            raise ConfigError("'key' in the API key JSON is marked base64 but does not decode") from None
    return key


class TokenProvider:
    """Mints ES256 JWTs for App Store Connect, caches one, and renews it `renew_margin` s before expiry."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        lifetime: float = MAX_TOKEN_LIFETIME,
        renew_margin: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        # Clamp: a longer-lived token is rejected by Apple, so silently capping is the only useful behaviour.
        self.lifetime = int(max(2.0, min(float(lifetime), MAX_TOKEN_LIFETIME)))
        # A margin as long as the lifetime would renew on every call; keep at most half of it.
        self.renew_margin = max(0.0, min(float(renew_margin), self.lifetime / 2))
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.minted = 0

    def __repr__(self) -> str:
        return f"TokenProvider(key_id={self.credentials.key_id!r}, lifetime={self.lifetime}, minted={self.minted})"

    @property
    def renewals(self) -> int:
        """Tokens minted after the first one (expiry renewals and renewals after a 401)."""
        return max(0, self.minted - 1)

    @property
    def expires_at(self) -> float:
        """Expiry (clock seconds) of the cached token, 0 when none."""
        return self._expires_at

    def token(self) -> str:
        """The cached token, or a fresh one when none is cached or it expires within `renew_margin`."""
        now = self._clock()
        if self._token is None or now >= self._expires_at - self.renew_margin:
            self._token = self._mint(now)
        return self._token

    def invalidate(self, token: str | None = None) -> bool:
        """Drop the cached token (only if it is still `token`, when given); True when something was dropped.

        Passing the rejected token lets many tasks that got a 401 for the same token cause one renewal.
        """
        if self._token is None or (token is not None and token != self._token):
            return False
        self._token = None
        self._expires_at = 0.0
        return True

    def claims(self, now: float | None = None) -> dict[str, Any]:
        """The claims a token minted at `now` carries."""
        iat = int(self._clock() if now is None else now)
        claims: dict[str, Any] = {"iat": iat, "exp": iat + self.lifetime, "aud": AUDIENCE}
        if self.credentials.issuer_id is None:
            claims["sub"] = "user"
        else:
            claims["iss"] = self.credentials.issuer_id
        return claims

    def _mint(self, now: float) -> str:
        claims = self.claims(now)
        try:
            token = jwt.encode(
                claims,
                self.credentials.private_key,
                algorithm="ES256",
                headers={"kid": self.credentials.key_id, "typ": "JWT"},
            )
        except Exception as e:  # a jwt/cryptography failure must not leak out of bulkgc.asc
            raise ConfigError(f"cannot sign a token with key {self.credentials.key_id}: {type(e).__name__}") from None
        self.minted += 1
        self._expires_at = float(claims["exp"])
        log.debug("minted token %d for key %s, expires at %d", self.minted, self.credentials.key_id, claims["exp"])
        return token
