"""Password hashing with argon2id (pwdlib), the password policy, and login that leaks nothing.

The policy is OWASP ASVS's: at least 12 characters (at most 128), no composition rules,
and not one of the most common passwords. It lives in the request schemas, so the API's
OpenAPI schema states it exactly and a refused password is a 422 that says why.

`Passwords.verify` costs one argon2 verification whether the account exists or not:
an unknown email is verified against a dummy hash made with the same parameters, so
the time taken does not tell an attacker which emails have accounts. A hash made with
older parameters is rehashed on a successful login.
"""

from __future__ import annotations

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

__all__ = ["COMMON_PASSWORDS", "MAX_LENGTH", "MIN_LENGTH", "Passwords", "check_policy"]

#: OWASP ASVS 2.1.1: at least 12 characters; no composition rules (2.1.9).
MIN_LENGTH = 12
#: Longer passwords are refused: argon2 would hash megabytes on request.
MAX_LENGTH = 128
#: Passwords long enough for the length rule that breach lists show first (ASVS 2.1.7);
#: refused as they are. The API's schema lists them too, so clients see the rule.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "aaaaaaaaaaaa",
        "abcdefghijkl",
        "iloveyou1234",
        "password1234",
        "Password1234",
        "password12345",
        "qwertyuiop12",
        "qwertyuiopasdf",
    }
)


def check_policy(password: str) -> str:
    """``password`` if the policy allows it (the length is checked by the schema).

    Raises:
        ValueError: the password is a common one.
    """
    if password in COMMON_PASSWORDS:
        raise ValueError("this password is among the most common ones; choose another")
    return password


class Passwords:
    """Hashes and verifies passwords off the event loop (argon2 takes tens of ms)."""

    def __init__(self, *, memory_cost: int, time_cost: int, parallelism: int) -> None:
        """Use argon2id with these parameters for new hashes (and rehashes)."""
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism),)
        )
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """The hash to store for ``password``."""
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, stored: str | None) -> tuple[bool, str | None]:
        """Whether ``password`` matches ``stored``, and a new hash when it should change.

        ``stored`` None (no such account) still costs one verification, and fails.
        """
        if stored is None:
            await asyncio.to_thread(self._hash.verify, password, self._dummy)
            return False, None
        return await asyncio.to_thread(self._hash.verify_and_update, password, stored)
