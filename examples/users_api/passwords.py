"""Password hashing with argon2id (pwdlib), a policy, and login that leaks nothing.

`Passwords.verify` costs one argon2 verification whether the account exists or not:
an unknown email is verified against a dummy hash made with the same parameters, so
the time taken does not tell an attacker which emails have accounts. A hash made with
older parameters is rehashed on a successful login.
"""

from __future__ import annotations

import asyncio
import re
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "Passwords", "policy_problems"]

MIN_LENGTH = 12
#: Longer passwords are refused: argon2 would hash megabytes on request.
MAX_LENGTH = 128
_CLASSES = tuple(re.compile(p) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))


def policy_problems(password: str, *, email: str | None = None) -> list[str]:
    """What the password lacks, in words; empty when it passes the policy."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    if sum(1 for c in _CLASSES if c.search(password)) < 3:  # noqa: PLR2004
        problems.append("three of: lower case, upper case, digits, symbols")
    if email and email.partition("@")[0].lower() in password.lower():
        problems.append("not containing the email's name")
    return problems


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
