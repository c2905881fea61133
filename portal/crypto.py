"""Encryption at rest of small secrets (authenticator secrets) with a key kept outside the database.

``DATA_ENCRYPTION_KEY`` is a comma-separated list of Fernet keys: the first one
encrypts, every one decrypts, so a new key is put first, ``flask keys rotate``
re-encrypts every stored value with it, and the old key is then dropped.
A database dump alone therefore yields no usable secret.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
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
