"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
_COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    key = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
    return _hasher_for(*key)


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    # argon2-cffi's PasswordHasher uses the argon2id variant.
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so timing does not reveal unknown emails.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Reasons this password is not acceptable (empty when it is fine)."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("Use at least %(count)s characters.", count=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(_("Use at most %(count)s characters.", count=MAX_PASSWORD_LENGTH))
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(password)) < 4:
        problems.append(_("This password is too common or too easy to guess."))
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append(_("Do not use your email address in your password."))
    return problems
