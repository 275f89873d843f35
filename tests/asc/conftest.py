"""Fixtures for the App Store Connect client tests: generated keys and key files."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="session")
def p256_pem() -> str:
    """A fresh EC P-256 key in .p8 (PKCS#8 PEM) form, like the ones App Store Connect hands out."""
    return _pem(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="session")
def p384_pem() -> str:
    """An EC key on the wrong curve (P-384)."""
    return _pem(ec.generate_private_key(ec.SECP384R1()))


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    """An RSA key (wrong algorithm for ES256)."""
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def p8_file(tmp_path: Path, p256_pem: str) -> Path:
    """The P-256 key written to AuthKey_<id>.p8."""
    path = tmp_path / "AuthKey_ABCDE12345.p8"
    path.write_text(p256_pem)
    return path
