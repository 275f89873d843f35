"""Credentials loading/validation and the ES256 TokenProvider."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bulkgc.asc.auth import AUDIENCE, Credentials, TokenProvider
from bulkgc.errors import ConfigError
from bulkgc.redact import redact_text

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KID = "ABCDE12345"


def _body(pem: str) -> str:
    """The base64 body line of a PEM (a fragment that must never show up in text)."""
    return pem.strip().splitlines()[1]


def test_load_from_path(p8_file: Path) -> None:
    """Explicit key id, issuer id and .p8 path give a team key."""
    c = Credentials.load(key_id=KID, issuer_id=ISSUER, private_key_path=p8_file)
    assert (c.key_id, c.issuer_id, c.individual) == (KID, ISSUER, False)
    assert str(p8_file) in c.source


def test_load_from_pem_text_with_escaped_newlines(p256_pem: str) -> None:
    """Key text from a CI secret with literal \\n is accepted."""
    c = Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=p256_pem.replace("\n", "\\n"))
    assert c.private_key.curve.name == "secp256r1"


def test_load_from_env(p8_file: Path, p256_pem: str) -> None:
    """ASC_* variables are read when no explicit value is given, by path or by text."""
    c = Credentials.load(env={"ASC_KEY_ID": KID, "ASC_ISSUER_ID": ISSUER, "ASC_PRIVATE_KEY_PATH": str(p8_file)})
    assert c.key_id == KID and "key file" in c.source
    c = Credentials.load(env={"ASC_KEY_ID": KID, "ASC_ISSUER_ID": ISSUER, "ASC_PRIVATE_KEY": p256_pem})
    assert c.source == "ASC_PRIVATE_KEY"


def test_load_fastlane_json(tmp_path: Path, p256_pem: str) -> None:
    """fastlane's API key JSON (key_id, issuer_id, key, in_house) works via argument and via env."""
    path = tmp_path / "api_key.json"
    path.write_text(json.dumps({"key_id": KID, "issuer_id": ISSUER, "key": p256_pem, "in_house": True}))
    c = Credentials.load(api_key_json=path)
    assert (c.key_id, c.issuer_id, c.in_house) == (KID, ISSUER, True)
    c = Credentials.load(env={"ASC_API_KEY_JSON": str(path)})
    assert c.key_id == KID


def test_precedence_explicit_env_json(tmp_path: Path, p256_pem: str, p8_file: Path) -> None:
    """Explicit beats environment beats the JSON file, field by field."""
    path = tmp_path / "api_key.json"
    path.write_text(json.dumps({"key_id": "JSONKEY111", "issuer_id": "json-issuer", "key": p256_pem}))
    env = {"ASC_API_KEY_JSON": str(path), "ASC_ISSUER_ID": "env-issuer"}
    c = Credentials.load(key_id="ARGKEY1111", env=env)
    assert (c.key_id, c.issuer_id) == ("ARGKEY1111", "env-issuer")
    assert "api_key.json" in c.source  # the key itself came from the JSON
    neutral = tmp_path / "team.p8"  # AuthKey_ABCDE12345.p8 with key id JSONKEY111 is refused as a mismatch
    neutral.write_bytes(p8_file.read_bytes())
    c = Credentials.load(env={**env, "ASC_PRIVATE_KEY_PATH": str(neutral)})
    assert (c.key_id, "key file" in c.source) == ("JSONKEY111", True)


def test_individual_key_uses_sub_user(p256_pem: str) -> None:
    """Without an issuer id the key is individual: the JWT carries sub=user and no iss."""
    c = Credentials.load(key_id=KID, private_key=p256_pem)
    assert c.individual
    claims = jwt.decode(TokenProvider(c).token(), options={"verify_signature": False})
    assert claims["sub"] == "user" and "iss" not in claims


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"issuer_id": ISSUER}, "key id"),
        ({"key_id": KID, "issuer_id": ISSUER}, "private key"),
        ({"key_id": KID, "private_key_path": "/nonexistent/AuthKey.p8"}, "/nonexistent/AuthKey.p8 does not exist"),
        ({"key_id": KID, "private_key": "not a key"}, "no '-----BEGIN'"),
        ({"key_id": KID, "api_key_json": "/nonexistent/key.json"}, "key.json does not exist"),
    ],
)
def test_missing_or_unreadable_pieces(kwargs: dict[str, str], needle: str) -> None:
    """Each missing piece is a ConfigError naming the field or file, whose guidance survives the redaction
    every printed message goes through (nothing in it looks like key material)."""
    with pytest.raises(ConfigError) as info:
        Credentials.load(**kwargs)
    assert needle in str(info.value)
    assert redact_text(str(info.value)) == str(info.value)


def test_malformed_pem_never_echoed(p256_pem: str) -> None:
    """A truncated PEM is a ConfigError that does not quote the key."""
    broken = p256_pem[: len(p256_pem) // 2] + "\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigError, match="malformed PEM") as info:
        Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=broken)
    assert _body(p256_pem)[:20] not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_wrong_curve_rejected(p384_pem: str) -> None:
    """A P-384 EC key is refused: ES256 needs P-256."""
    with pytest.raises(ConfigError, match="secp384r1.*P-256"):
        Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=p384_pem)


def test_rsa_key_rejected(tmp_path: Path, rsa_pem: str) -> None:
    """An RSA key is refused and the message names the file."""
    path = tmp_path / "rsa.p8"
    path.write_text(rsa_pem)
    with pytest.raises(ConfigError, match="RSA key") as info:
        Credentials.load(key_id=KID, issuer_id=ISSUER, private_key_path=path)
    assert str(path) in str(info.value)


def test_both_path_and_text_is_ambiguous(p8_file: Path, p256_pem: str) -> None:
    """Two key sources at the same level are refused instead of silently picking one."""
    with pytest.raises(ConfigError, match="keep only one"):
        Credentials.load(key_id=KID, env={"ASC_PRIVATE_KEY": p256_pem, "ASC_PRIVATE_KEY_PATH": str(p8_file)})


def test_key_not_in_repr(p256_pem: str) -> None:
    """repr/str of credentials and provider never show key material."""
    c = Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=p256_pem)
    for text in (repr(c), str(c), repr(TokenProvider(c))):
        assert "BEGIN" not in text and _body(p256_pem)[:20] not in text and KID in text


def test_token_header_and_claims(p256_pem: str) -> None:
    """ES256 with kid/typ; iss, iat, exp, aud; verifies with the public key."""
    c = Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=p256_pem)
    tokens = TokenProvider(c, lifetime=600, clock=lambda: 1_000_000.0)
    token = tokens.token()
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": KID, "typ": "JWT"}
    public = c.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE, options={"verify_exp": False})
    assert claims == {"iss": ISSUER, "iat": 1_000_000, "exp": 1_000_600, "aud": AUDIENCE}


def test_lifetime_clamped_to_20_minutes(p256_pem: str) -> None:
    """A lifetime over 1200 s is clamped (Apple rejects longer tokens)."""
    c = Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=p256_pem)
    claims = jwt.decode(TokenProvider(c, lifetime=7200).token(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1200


def test_token_cached_renewed_and_invalidated(p256_pem: str) -> None:
    """Reused until renew_margin before expiry, then renewed; invalidate(token) drops only that token."""
    c = Credentials.load(key_id=KID, issuer_id=ISSUER, private_key=p256_pem)
    now = [1000.0]
    tokens = TokenProvider(c, lifetime=100, renew_margin=10, clock=lambda: now[0])
    first = tokens.token()
    now[0] = 1089.0
    assert tokens.token() == first and tokens.renewals == 0
    now[0] = 1090.0
    second = tokens.token()
    assert second != first and tokens.renewals == 1
    assert tokens.invalidate(first) is False  # a stale 401 does not throw away the fresh token
    assert tokens.token() == second
    assert tokens.invalidate(second) is True
    assert tokens.token() != second and tokens.renewals == 2
