"""API keys and JWT checks: ES256, known `kid`, `typ` JWT, `aud` appstoreconnect-v1, issuer or `sub: user`, lifetime."""

from __future__ import annotations

import os
import random
import string
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import not_authorized

AUDIENCE = "appstoreconnect-v1"


@dataclass(frozen=True)
class SimKey:
    """An App Store Connect API key the simulator accepts. `issuer_id` None = individual key (`sub: "user"`)."""

    key_id: str
    issuer_id: str | None
    private_key_pem: str = field(repr=False)

    def write_p8(self, dir_or_path: str | os.PathLike[str]) -> Path:
        """Write the private key as `AuthKey_<KEYID>.p8` (mode 0600) into a directory, or to the given file path."""
        target = Path(dir_or_path)
        if target.is_dir():
            target = target / f"AuthKey_{self.key_id}.p8"
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(self.private_key_pem)
        os.chmod(target, 0o600)
        return target

    def make_token(self, *, lifetime: int = 1200, now: float | None = None, **overrides: object) -> str:
        """A valid token for this key (tests and the plain-client example use it)."""
        iat = int(now if now is not None else time.time())
        claims: dict[str, object] = {"aud": AUDIENCE, "iat": iat, "exp": iat + lifetime}
        if self.issuer_id is None:
            claims["sub"] = "user"
        else:
            claims["iss"] = self.issuer_id
        claims.update(overrides)
        return jwt.encode(claims, self.private_key_pem, algorithm="ES256", headers={"kid": self.key_id, "typ": "JWT"})


def generate_key(rng: random.Random, *, issuer_id: str | None = "", key_id: str | None = None) -> SimKey:
    """A new P-256 key; `issuer_id` "" draws a UUID from `rng`, None makes an individual key."""
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode("ascii")
    )
    if key_id is None:
        key_id = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(10))
    if issuer_id == "":
        issuer_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return SimKey(key_id, issuer_id, pem)


class KeyRing:
    """The keys the simulator accepts, with their public halves ready for verification."""

    def __init__(self) -> None:
        self._keys: dict[str, SimKey] = {}
        self._public: dict[str, ec.EllipticCurvePublicKey] = {}

    def add(self, key: SimKey) -> None:
        private = serialization.load_pem_private_key(key.private_key_pem.encode("ascii"), password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, ec.SECP256R1):
            raise ValueError("App Store Connect keys are P-256 (ES256) keys")
        self._keys[key.key_id] = key
        self._public[key.key_id] = private.public_key()

    def all(self) -> list[SimKey]:
        return list(self._keys.values())

    def verify(self, authorization: str | None, *, max_lifetime: int, leeway: float, now: float | None = None) -> SimKey:
        """The key that signed the bearer token, or SimError 401 saying what is wrong (never echoing the token)."""
        if not authorization:
            raise not_authorized("The Authorization header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token.strip():
            raise not_authorized("The Authorization header must be 'Bearer <token>'.")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise not_authorized("The token is not a well-formed JWT.") from None
        if header.get("alg") != "ES256":
            raise not_authorized("The token must be signed with ES256.")
        if header.get("typ") != "JWT":
            raise not_authorized("The token header must have typ 'JWT'.")
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise not_authorized("The key id (kid) is not known.")
        try:
            claims = jwt.decode(
                token,
                self._public[key.key_id],
                algorithms=["ES256"],
                audience=AUDIENCE,
                leeway=leeway,
                options={"require": ["exp", "iat", "aud"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise not_authorized("The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise not_authorized(f"The token audience must be '{AUDIENCE}'.") from None
        except jwt.InvalidSignatureError:
            raise not_authorized("The token signature is not valid for this key.") from None
        except jwt.PyJWTError as exc:
            raise not_authorized(f"The token is invalid ({type(exc).__name__}).") from None
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise not_authorized("The token iat and exp must be numbers.")
        current = time.time() if now is None else now
        if iat > current + leeway:
            raise not_authorized("The token was issued in the future (iat).")
        if exp - iat > max_lifetime:
            raise not_authorized(f"The token lifetime (exp - iat) must not exceed {max_lifetime} seconds.")
        if key.issuer_id is None:
            if claims.get("sub") != "user" or "iss" in claims:
                raise not_authorized("Tokens of individual keys carry sub 'user' and no iss.")
        elif claims.get("iss") != key.issuer_id:
            raise not_authorized("The issuer (iss) does not match the key.")
        return key


