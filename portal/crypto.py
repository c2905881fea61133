"""Encryption at rest of small secrets (authenticator secrets) with a key kept outside the database.

``DATA_ENCRYPTION_KEY`` is a comma-separated list of Fernet keys: the first one
encrypts, every one decrypts, so a new key is put first, ``flask keys rotate``
re-encrypts every stored value with it, and the old key is then dropped.
A database dump alone therefore yields no usable secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

# Development and tests only (production refuses it, see config.ProductionConfig.validate):
# a fixed key, so a local database keeps working across restarts.
DEVELOPMENT_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"holistiq-coach local development data key").digest()
).decode()


class EncryptionKeyError(ValueError):
    """The configured keys are missing or malformed, or none of them opens a stored value."""


def parse_keys(value: str) -> list[str]:
    """The keys of a comma-separated DATA_ENCRYPTION_KEY, checked to be valid Fernet keys."""
    keys = [part.strip() for part in (value or "").split(",") if part.strip()]
    if not keys:
        raise EncryptionKeyError("DATA_ENCRYPTION_KEY holds no key.")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as error:
            raise EncryptionKeyError("DATA_ENCRYPTION_KEY holds a value that is not a Fernet key.") from error
    return keys


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in parse_keys(keys)])


def _current() -> MultiFernet:
    return _fernet(current_app.config["DATA_ENCRYPTION_KEY"])


def new_key() -> str:
    """A fresh random key, for the operator to add in front of DATA_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except InvalidToken as error:
        # A wrong or dropped key is an operator error: fail loudly rather than treat the secret as absent.
        raise EncryptionKeyError("No key in DATA_ENCRYPTION_KEY decrypts a stored secret.") from error


def rotate(token: str) -> str:
    """The same plaintext, encrypted with the first key."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as error:
        raise EncryptionKeyError("No key in DATA_ENCRYPTION_KEY decrypts a stored secret.") from error


def is_encrypted(value: str) -> bool:
    """Whether a stored value is a token of ours (for the migration of plaintext values)."""
    try:
        _current().decrypt(value.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


# --- the web push (VAPID) key ------------------------------------------------------------
# One P-256 key signs every push request (RFC 8292); browsers subscribe with its public half.


def new_vapid_key() -> str:
    """A fresh VAPID private key: the 32-byte P-256 scalar, base64url without padding."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def parse_vapid_key(value: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key in ``value`` (base64url of the raw 32-byte scalar); ValueError when it is not one."""
    raw = b64url_decode((value or "").strip())
    if len(raw) != 32:
        raise ValueError("a VAPID private key is 32 bytes, base64url-encoded")
    scalar = int.from_bytes(raw, "big")
    if scalar == 0:
        raise ValueError("not a P-256 private key")
    return ec.derive_private_key(scalar, ec.SECP256R1())


def vapid_public_key(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The application server key browsers subscribe with: the uncompressed public point, base64url."""
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(value: str) -> bytes:
    """Decode unpadded base64url (ValueError on anything else, or on more than 200 characters)."""
    if not value or len(value) > 200:
        raise ValueError("empty or too long")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error
